"""The emails of the tenancy core, built on the outbox in emails.py."""

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.urls import reverse

from tenants.emails import absolute_url, email_queue
from tenants.models import Membership, OutboundEmail, Role


def set_password_url(user) -> str:
    """A signed, single-use, expiring link (allauth's password reset) to choose a password."""
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    return absolute_url(path.replace("UID-KEY", key))


def membership_invitation_queue(*, membership: Membership) -> OutboundEmail:
    user = membership.user
    needs_password = not user.has_usable_password()
    return email_queue(
        key=f"membership-invitation:{membership.id}",
        to=user.email,
        template="membership_invitation",
        context={
            "organization": membership.tenant.name,
            "role": Role(membership.role).label,  # lazy: in the recipient's language
            "inviter": membership.invited_by.email if membership.invited_by else "",
            "needs_password": needs_password,
            "action_url": set_password_url(user)
            if needs_password
            else absolute_url(reverse("account_login")),
            "console_url": absolute_url(
                reverse("org_dashboard", kwargs={"slug": membership.tenant.slug})
            ),
        },
    )
