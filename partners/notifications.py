"""The emails of partnerships. Each is queued in the outbox within the service's
transaction, keyed by the history event and the recipient, so it goes out once."""

from django.urls import reverse

from partners.grants import grant_differences, grant_text
from partners.models import Partnership, PartnershipEvent, Side
from tenants.emails import absolute_url, email_queue
from tenants.models import Membership, Role, Tenant, User


def _recipients(tenant: Tenant, *roles: str) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(tenant=tenant, role__in=roles).select_related("user")
    ]


def _partnership_url(partnership: Partnership, tenant: Tenant) -> str:
    return absolute_url(
        reverse(
            "partnership_detail", kwargs={"slug": tenant.slug, "partnership_id": partnership.pk}
        )
    )


def _notify(
    *,
    event: PartnershipEvent,
    users: list[User],
    subject: str,
    lines: list[str],
    url: str,
    label: str,
) -> None:
    for user in {u.pk: u for u in users}.values():
        email_queue(
            key=f"partnership-event:{event.pk}:{user.pk}",
            to=user.email,
            template="notification",
            context={"subject": subject, "lines": lines, "action_url": url, "action_label": label},
        )


def _side(partnership: Partnership, side: str) -> tuple[Tenant, list[User]]:
    if side == Side.PARTNER:
        return partnership.partner, _recipients(partnership.partner, Role.OWNER, Role.ADMIN)
    return partnership.customer, _recipients(partnership.customer, Role.OWNER)


def invitation_to_customer(*, partnership: Partnership, event: PartnershipEvent) -> None:
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
    tenant = partnership.partner
    lines = [
        f"{partnership.customer.name} invites {tenant.name} to manage its organization.",
        f"Offered: {grant_text(partnership.requested)}.",
    ]
    if partnership.message:
        lines.append(f"Their message: “{partnership.message}”")
    lines.append(f"The invitation stays open until {partnership.invitation_expires_at:%d %B %Y}.")
    _notify(
        event=event,
        users=_recipients(tenant, Role.OWNER),
        subject=f"{partnership.customer.name} invites you",
        lines=lines,
        url=_partnership_url(partnership, tenant),
        label="Accept or decline",
    )


def answered(*, partnership: Partnership, event: PartnershipEvent) -> None:
    """Tell the inviting side how its invitation was answered (with the difference, if any)."""
    inviting = partnership.initiated_by
    tenant, users = _side(partnership, inviting)
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
    _notify(
        event=event,
        users=users + ([partnership.invited_by] if partnership.invited_by else []),
        subject=subject,
        lines=lines,
        url=_partnership_url(partnership, tenant),
        label="See the partnership",
    )


def changed(*, partnership: Partnership, event: PartnershipEvent) -> None:
    tenant, users = _side(partnership, Side.PARTNER)
    lines = [
        f"{partnership.customer.name} changed your access: {grant_text(event.after)}.",
        *grant_differences(event.before, event.after),
        "The change applies at once, to orders from now on.",
    ]
    _notify(
        event=event,
        users=users,
        subject=f"{partnership.customer.name} changed your access",
        lines=lines,
        url=_partnership_url(partnership, tenant),
        label="See the partnership",
    )


def ended(*, partnership: Partnership, event: PartnershipEvent, by_side: str) -> None:
    other_side = Side.CUSTOMER if by_side == Side.PARTNER else Side.PARTNER
    tenant, users = _side(partnership, other_side)
    ender = partnership.partner if by_side == Side.PARTNER else partnership.customer
    _notify(
        event=event,
        users=users,
        subject=f"{ender.name} ended the partnership",
        lines=[
            f"{ender.name} ended the partnership between {partnership.partner.name} and "
            f"{partnership.customer.name}. Access stopped at once; the history stays readable."
        ],
        url=_partnership_url(partnership, tenant),
        label="See the history",
    )


def expired(*, partnership: Partnership, event: PartnershipEvent) -> None:
    for side in (Side.PARTNER, Side.CUSTOMER):
        tenant, users = _side(partnership, side)
        _notify(
            event=event,
            users=users,
            subject="A partnership reached its end date",
            lines=[
                f"The partnership between {partnership.partner.name} and {partnership.customer.name} "
                f"ended on {partnership.ends_on:%d %B %Y}, as agreed. Access has stopped."
            ],
            url=_partnership_url(partnership, tenant),
            label="See the history",
        )


def extension_requested(*, partnership: Partnership, event: PartnershipEvent) -> None:
    tenant, users = _side(partnership, Side.CUSTOMER)
    _notify(
        event=event,
        users=users,
        subject=f"{partnership.partner.name} asks to extend its access",
        lines=[
            f"{partnership.partner.name}'s access ends on {partnership.ends_on:%d %B %Y}. "
            f"They ask to keep it until {partnership.extension_requested_until:%d %B %Y}."
        ],
        url=_partnership_url(partnership, tenant),
        label="Approve in one click",
    )


def extended(*, partnership: Partnership, event: PartnershipEvent) -> None:
    tenant, users = _side(partnership, Side.PARTNER)
    _notify(
        event=event,
        users=users,
        subject=f"{partnership.customer.name} extended your access",
        lines=[
            f"Your access to {partnership.customer.name} now ends on {partnership.ends_on:%d %B %Y}."
        ],
        url=_partnership_url(partnership, tenant),
        label="See the partnership",
    )


def reminder(*, partnership: Partnership, days: int) -> None:
    for side in (Side.PARTNER, Side.CUSTOMER):
        tenant, users = _side(partnership, side)
        for user in users:
            email_queue(
                key=f"partnership-reminder:{partnership.pk}:{partnership.ends_on}:{days}:{user.pk}",
                to=user.email,
                template="notification",
                context={
                    "subject": f"A partnership ends in {days} day{'s' if days != 1 else ''}",
                    "lines": [
                        f"The partnership between {partnership.partner.name} and {partnership.customer.name} "
                        f"ends on {partnership.ends_on:%d %B %Y}; access stops then by itself.",
                        "The partner can ask for an extension, which the customer approves in one click.",
                    ],
                    "action_url": _partnership_url(partnership, tenant),
                    "action_label": "See the partnership",
                },
            )
