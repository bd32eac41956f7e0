"""The emails of partnerships. Each is queued in the outbox within the service's
transaction, keyed by the history event (or reminder) and the recipient, so it
goes out once whatever retries happen.

The texts are lazy (format_lazy over gettext_lazy): the email is rendered in
each recipient's language."""

from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext

from partners.grants import grant_differences, grant_text
from partners.models import Partnership, PartnershipEvent, Side
from partners.selectors import invitation_token
from tenants.emails import absolute_url, email_queue
from tenants.models import Membership, Role, User


def _recipients(partnership: Partnership, side: str, *, owners_only: bool = False) -> list[User]:
    """Who hears for a side: the partner's owners and admins, the customer's owners."""
    tenant = partnership.partner if side == Side.PARTNER else partnership.customer
    roles = (Role.OWNER,) if owners_only or side == Side.CUSTOMER else (Role.OWNER, Role.ADMIN)
    return [
        m.user
        for m in Membership.unscoped.filter(tenant=tenant, role__in=roles).select_related("user")
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


def _day_text(value) -> str:
    # Translators: a date format (Django's `date` filter letters): "05 November 2026".
    return date_format(value, pgettext("long date", "d F Y"))


# A day in words, in the language the email is rendered in.
long_date = lazy(_day_text, str)


def _event_key(event: PartnershipEvent) -> str:
    return f"partnership-event:{event.pk}"


def invitation_to_customer(*, partnership: Partnership, event: PartnershipEvent) -> None:
    """The signed link to the invitation landing, to the invited owner's address."""
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
        format_lazy(
            _("{customer} invites {partner} to manage its organization."),
            customer=partnership.customer.name,
            partner=partnership.partner.name,
        ),
        format_lazy(_("Offered: {grant}."), grant=grant_text(partnership.requested)),
    ]
    if partnership.message:
        lines.append(format_lazy(_("Their message: “{message}”"), message=partnership.message))
    lines.append(
        format_lazy(
            _("The invitation stays open until {date}."),
            date=long_date(partnership.invitation_expires_at),
        )
    )
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.PARTNER,
        users=_recipients(partnership, Side.PARTNER, owners_only=True),
        subject=format_lazy(_("{customer} invites you"), customer=partnership.customer.name),
        lines=lines,
        label=_("Accept or decline"),
    )


def answered(*, partnership: Partnership, event: PartnershipEvent) -> None:
    """Tell the inviting side how its invitation was answered (with the difference, if any)."""
    inviting = partnership.initiated_by
    other = partnership.customer if inviting == Side.PARTNER else partnership.partner
    if event.kind == PartnershipEvent.Kind.DECLINED:
        subject = format_lazy(_("{name} declined your invitation"), name=other.name)
        lines = [format_lazy(_("{name} declined your invitation."), name=other.name)] + (
            [format_lazy(_("Their reason: “{reason}”"), reason=event.note)] if event.note else []
        )
    else:
        subject = format_lazy(_("{name} accepted your invitation"), name=other.name)
        lines = [
            format_lazy(
                _("{name} accepted your invitation: {grant}."),
                name=other.name,
                grant=grant_text(event.after),
            )
        ]
        differences = grant_differences(event.before, event.after)
        if differences:
            lines += [_("They granted other access than you asked for:"), *differences]
    inviter = [partnership.invited_by] if partnership.invited_by else []
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=inviting,
        users=_recipients(partnership, inviting) + inviter,
        subject=subject,
        lines=lines,
        label=_("See the partnership"),
    )


def changed(*, partnership: Partnership, event: PartnershipEvent) -> None:
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.PARTNER,
        subject=format_lazy(
            _("{customer} changed your access"), customer=partnership.customer.name
        ),
        lines=[
            format_lazy(
                _("{customer} changed your access: {grant}."),
                customer=partnership.customer.name,
                grant=grant_text(event.after),
            ),
            *grant_differences(event.before, event.after),
            _("The change applies at once, to orders from now on."),
        ],
        label=_("See the partnership"),
    )


def ended(*, partnership: Partnership, event: PartnershipEvent, by_side: str) -> None:
    ender = partnership.partner if by_side == Side.PARTNER else partnership.customer
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.CUSTOMER if by_side == Side.PARTNER else Side.PARTNER,
        subject=format_lazy(_("{name} ended the partnership"), name=ender.name),
        lines=[
            format_lazy(
                _(
                    "{name} ended the partnership between {partner} and {customer}. "
                    "Access stopped at once; the history stays readable."
                ),
                name=ender.name,
                partner=partnership.partner.name,
                customer=partnership.customer.name,
            )
        ],
        label=_("See the history"),
    )


def expired(*, partnership: Partnership, event: PartnershipEvent) -> None:
    for side in (Side.PARTNER, Side.CUSTOMER):
        _tell(
            key=_event_key(event),
            partnership=partnership,
            side=side,
            subject=_("A partnership reached its end date"),
            lines=[
                format_lazy(
                    _(
                        "The partnership between {partner} and {customer} ended on {date}, "
                        "as agreed. Access has stopped."
                    ),
                    partner=partnership.partner.name,
                    customer=partnership.customer.name,
                    date=long_date(partnership.ends_on),
                )
            ],
            label=_("See the history"),
        )


def extension_requested(*, partnership: Partnership, event: PartnershipEvent) -> None:
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.CUSTOMER,
        subject=format_lazy(
            _("{partner} asks to extend its access"), partner=partnership.partner.name
        ),
        lines=[
            format_lazy(
                _("{partner}'s access ends on {date}. They ask to keep it until {until}."),
                partner=partnership.partner.name,
                date=long_date(partnership.ends_on),
                until=long_date(partnership.extension_requested_until),
            )
        ],
        label=_("Approve in one click"),
    )


def extended(*, partnership: Partnership, event: PartnershipEvent) -> None:
    _tell(
        key=_event_key(event),
        partnership=partnership,
        side=Side.PARTNER,
        subject=format_lazy(
            _("{customer} extended your access"), customer=partnership.customer.name
        ),
        lines=[
            format_lazy(
                _("Your access to {customer} now ends on {date}."),
                customer=partnership.customer.name,
                date=long_date(partnership.ends_on),
            )
        ],
        label=_("See the partnership"),
    )


def reminder(*, partnership: Partnership, days: int) -> None:
    """Keyed by partnership, end date and threshold: one reminder each, however often beat runs."""
    for side in (Side.PARTNER, Side.CUSTOMER):
        _tell(
            key=f"partnership-reminder:{partnership.pk}:{partnership.ends_on}:{days}",
            partnership=partnership,
            side=side,
            subject=format_lazy(
                ngettext_lazy(
                    "A partnership ends in {days} day", "A partnership ends in {days} days", days
                ),
                days=days,
            ),
            lines=[
                format_lazy(
                    _(
                        "The partnership between {partner} and {customer} ends on {date}; "
                        "access stops then by itself."
                    ),
                    partner=partnership.partner.name,
                    customer=partnership.customer.name,
                    date=long_date(partnership.ends_on),
                ),
                _(
                    "The partner can ask for an extension, which the customer approves in one "
                    "click."
                ),
            ],
            label=_("See the partnership"),
        )
