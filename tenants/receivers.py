"""allauth integration (the only signal receivers in the project).

A person who set their password through the emailed link has proven that they
own the address, so that address counts as verified.

Whether the person must use two-factor authentication, and has it, is worked
out again when they sign in and when they add or remove a factor; a new
membership of an organization that requires it makes every session look again
(tenants.mfa).

A changed, set or reset password ends every other session of the person
(tenants.sessions; docs/security.md, "Sessions").
"""

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from tenants.mfa import mfa_state_refresh, policy_changed, tenant_requires_mfa
from tenants.models import Membership
from tenants.services import user_email_verified
from tenants.sessions import users_sessions_end


@receiver(password_reset)
def mark_email_verified_on_password_reset(sender, request, user, **kwargs) -> None:
    user_email_verified(user=user)


@receiver(password_reset)
@receiver(password_changed)
@receiver(password_set)
def end_other_sessions_on_password_change(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    users_sessions_end(user_ids=[user.pk], keep_session_key=session and session.session_key)


@receiver(user_logged_in)
def mfa_state_on_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        mfa_state_refresh(request, user)


@receiver(authenticator_added)
@receiver(authenticator_removed)
def mfa_state_on_factor_changed(sender, request, user, **kwargs) -> None:
    mfa_state_refresh(request, user)


@receiver(post_save, sender=Membership)
def mfa_policy_on_new_membership(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw and tenant_requires_mfa(instance.tenant):
        policy_changed()
