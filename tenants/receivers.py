"""allauth integration (the only signal receivers in the project).

A person who set their password through the emailed link has proven that they
own the address, so that address counts as verified.
"""

from allauth.account.signals import password_reset
from django.dispatch import receiver

from tenants.services import user_email_verified


@receiver(password_reset)
def mark_email_verified_on_password_reset(sender, request, user, **kwargs) -> None:
    user_email_verified(user=user)
