"""allauth integration (the only signal receivers in the project).

A person who set their password through the emailed link has proven that they
own the address, so that address counts as verified.
"""

from allauth.account.models import EmailAddress
from allauth.account.signals import password_reset
from django.dispatch import receiver


@receiver(password_reset)
def mark_email_verified_on_password_reset(sender, request, user, **kwargs) -> None:
    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
