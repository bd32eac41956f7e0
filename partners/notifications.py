"""The emails of partnerships. Each is queued in the outbox within the service's
transaction, keyed by the history event (or reminder) and the recipient, so it
goes out once whatever retries happen."""

from django.urls import reverse

from partners.grants import grant_differences, grant_text
from partners.models import Partnership, PartnershipEvent, Side
from tenants.emails import absolute_url, email_queue
from tenants.models import Membership, Role, User


def _recipients(partnership: Partnership, side: str, *, owners_only: bool = False) -> list[User]:
    """Who hears for a side: the partner's owners and admins, the customer's owners."""
    tenant = partnership.partner if side == Side.PARTNER else partnership.customer
    roles = (Role.OWNER,) if owners_only or side == Side.CUSTOMER else (Role.OWNER, Role.ADMIN)
    return [
        m.user
        for m in Membership.objects.filter(tenant=tenant, role__in=roles).select_related("user")
    ]


def _tell(
    *,
    key: str,
    partnership: Partnership,
    side: str,
    subject: str,
    lines: list[str],
    label: str,
    users: list[User] | None = None,
) -> None:
    """Email one side, each person once per `key`, with a link to the partnership page."""
    tenant = partnership.partner if side == Side.PARTNER else partnership.customer
    url = absolute_url(
        reverse(
            "partnership_detail", kwargs={"slug": tenant.slug, "partnership_id": partnership.pk}
        )
    )
    recipients = users if users is not None else _recipients(partnership, side)
    for user in {u.pk: u for u in recipients}.values():
        email_queue(
            key=f"{key}:{user.pk}",
            to=user.email,
            template="notification",
            context={"subject": subject, "lines": lines, "action_url": url, "action_label": label},
        )


def _event_key(event: PartnershipEvent) -> str:
    return f"partnership-event:{event.pk}"


def invitation_to_customer(*, partnership: Partnership, event: PartnershipEvent) -> None:
    """The signed link to the invitation landing, to the invited owner's address."""
    from partners.selectors import invitation_token

    url = absolute_url(reverse("invitation", kwargs={"token": invitation_token(partnership)}))
    email_queue(
        key=f"partnership-invitation:{event.pk}",
        to=partnership.invitation_email,
        template="partnership_invitation",
        context={
            "partner": partnership.partner.name,
            "customer": partnership.customer.name,
            "asked": grant_text(partnership.requested),
            "message": partnership.message,
            "action_url": url,
            "expires_at": partnership.invitation_expires_at,
        },
    )


def invitation_to_partner(*, partnership: Partnership, event: PartnershipEvent) -> None:
    lines = [
        f"{partnership.customer.name} invites {partnership.partner.name} to manage its organization.",
        f"Offered: {grant_text(partnership.requested)}.",
    ]
    if partnership.message:
        lines.append(f"Their message: “{partnership.message}”")
    lines.append(f"The invitation stays open until {partnership.invitation_expires_at:%d %B %Y}.")
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.PARTNER,
        users=_recipients(partnership, Side.PARTNER, owners_only=True),
        subject=f"{partnership.customer.name} invites you",
        lines=lines,
        label="Accept or decline",
    )


def answered(*, partnership: Partnership, event: PartnershipEvent) -> None:
    """Tell the inviting side how its invitation was answered (with the difference, if any)."""
    inviting = partnership.initiated_by
    other = partnership.customer if inviting == Side.PARTNER else partnership.partner
    if event.kind == PartnershipEvent.Kind.DECLINED:
        subject = f"{other.name} declined your invitation"
        lines = [subject + "."] + ([f"Their reason: “{event.note}”"] if event.note else [])
    else:
        subject = f"{other.name} accepted your invitation"
        lines = [subject + f": {grant_text(event.after)}."]
        differences = grant_differences(event.before, event.after)
        if differences:
            lines += ["They granted other access than you asked for:", *differences]
    inviter = [partnership.invited_by] if partnership.invited_by else []
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=inviting,
        users=_recipients(partnership, inviting) + inviter,
        subject=subject,
        lines=lines,
        label="See the partnership",
    )


def changed(*, partnership: Partnership, event: PartnershipEvent) -> None:
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.PARTNER,
        subject=f"{partnership.customer.name} changed your access",
        lines=[
            f"{partnership.customer.name} changed your access: {grant_text(event.after)}.",
            *grant_differences(event.before, event.after),
            "The change applies at once, to orders from now on.",
        ],
        label="See the partnership",
    )


def ended(*, partnership: Partnership, event: PartnershipEvent, by_side: str) -> None:
    ender = partnership.partner if by_side == Side.PARTNER else partnership.customer
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.CUSTOMER if by_side == Side.PARTNER else Side.PARTNER,
        subject=f"{ender.name} ended the partnership",
        lines=[
            f"{ender.name} ended the partnership between {partnership.partner.name} and "
            f"{partnership.customer.name}. Access stopped at once; the history stays readable."
        ],
        label="See the history",
    )


def expired(*, partnership: Partnership, event: PartnershipEvent) -> None:
    for side in (Side.PARTNER, Side.CUSTOMER):
        _tell(
            key=_event_key(event),
            partnership=partnership,
            side=side,
            subject="A partnership reached its end date",
            lines=[
                f"The partnership between {partnership.partner.name} and {partnership.customer.name} "
                f"ended on {partnership.ends_on:%d %B %Y}, as agreed. Access has stopped."
            ],
            label="See the history",
        )


def extension_requested(*, partnership: Partnership, event: PartnershipEvent) -> None:
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.CUSTOMER,
        subject=f"{partnership.partner.name} asks to extend its access",
        lines=[
            f"{partnership.partner.name}'s access ends on {partnership.ends_on:%d %B %Y}. "
            f"They ask to keep it until {partnership.extension_requested_until:%d %B %Y}."
        ],
        label="Approve in one click",
    )


def extended(*, partnership: Partnership, event: PartnershipEvent) -> None:
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.PARTNER,
        subject=f"{partnership.customer.name} extended your access",
        lines=[
            f"Your access to {partnership.customer.name} now ends on {partnership.ends_on:%d %B %Y}."
        ],
        label="See the partnership",
    )


def reminder(*, partnership: Partnership, days: int) -> None:
    """Keyed by partnership, end date and threshold: one reminder each, however often beat runs."""
    for side in (Side.PARTNER, Side.CUSTOMER):
        _tell(
            key=f"partnership-reminder:{partnership.pk}:{partnership.ends_on}:{days}",
            partnership=partnership,
            side=side,
            subject=f"A partnership ends in {days} day{'s' if days != 1 else ''}",
            lines=[
                f"The partnership between {partnership.partner.name} and {partnership.customer.name} "
                f"ends on {partnership.ends_on:%d %B %Y}; access stops then by itself.",
                "The partner can ask for an extension, which the customer approves in one click.",
            ],
            label="See the partnership",
        )
