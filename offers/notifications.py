"""The emails of offers, queued in the outbox inside the transition's
transaction and keyed by offer, event and recipient, so each leaves once
however often a task runs."""

from collections.abc import Iterable

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from offers.models import LicenseMode, Offer, OfferItem
from offers.selectors import offer_recipients
from tenants.emails import (
    Notification,
    notification_emails_deferred,
    notification_renderer,
    notify,
)
from tenants.models import OutboundEmail, User
from tenants.selectors import owners_and_admins

# the license mode as an item line of an email names it
MODES = {
    LicenseMode.ABSOLUTE: _("absolute (set the quantity to n)"),
    LicenseMode.RELATIVE: _("relative (add n)"),
}


def _items(offer: Offer) -> list:
    return [
        format_lazy(
            ngettext_lazy(
                "- {quantity} x {product} ({mode}, {months} month)",
                "- {quantity} x {product} ({mode}, {months} months)",
                item.term_months,
            ),
            quantity=item.quantity,
            product=item.product.name,
            mode=MODES.get(item.license_mode, item.license_mode),
            months=item.term_months,
        )
        for item in offer.items.all()
    ]


OFFER_DELIVERED_EMAIL = "offers.delivered"


def offer_delivered_emails(*, offer: Offer, recipients: Iterable[User]) -> list[OutboundEmail]:
    """The emails of a delivered offer to the customer's owners and admins, not
    yet written and unrendered (the offer's id and each recipient's language):
    the delivery renders them (`_offer_delivered_email`), so a chunk of a large
    send writes rows in one statement, not three templates per offer."""
    return notification_emails_deferred(
        key=f"offer:{offer.pk}:delivered",
        users=recipients,
        renderer=OFFER_DELIVERED_EMAIL,
        params={"offer": str(offer.pk)},
    )


@notification_renderer(OFFER_DELIVERED_EMAIL)
def _offer_delivered_email(params: dict) -> Notification:
    """What a delivered offer says, from its rows (an offer's template name,
    items and message are fixed when it is sent)."""
    offer = (
        Offer.unscoped.select_related("partner", "customer")
        .prefetch_related(Prefetch("items", queryset=OfferItem.unscoped.select_related("product")))
        .get(pk=params["offer"])
    )
    names = {"partner": offer.partner.name, "offer": offer.template_name}
    lines = [format_lazy(_("{partner} sent you an offer: {offer}."), **names), *_items(offer)]
    if offer.message:
        lines.append(format_lazy(_("Their message: {message}"), message=offer.message))
    lines.append(_("Accept or decline it in one click on your Updates page."))
    return Notification(
        subject=format_lazy(_("{partner} sent you an offer: {offer}"), **names),
        lines=lines,
        url=reverse("updates", kwargs={"slug": offer.customer.slug}),
        label=_("Open Updates"),
    )


def _partner_people(offer: Offer) -> list:
    people = owners_and_admins(offer.partner_id)
    if offer.sent_by is not None:
        people.append(offer.sent_by)
    return people


ANSWERS = {
    Offer.Status.ACCEPTED: _("{customer} accepted your offer {offer}"),
    Offer.Status.DECLINED: _("{customer} declined your offer {offer}"),
    Offer.Status.EXPIRED: _("{customer} let expire your offer {offer}"),
}


def offer_answered(*, offer: Offer) -> None:
    """To the partner's owners, admins and the sender: accepted, declined or expired."""
    subject = format_lazy(
        ANSWERS[offer.status], customer=offer.customer.name, offer=offer.template_name
    )
    lines = [format_lazy("{subject}.", subject=subject)]
    if offer.status == Offer.Status.DECLINED and offer.decline_reason:
        lines.append(format_lazy(_("Their reason: {reason}"), reason=offer.decline_reason))
    if offer.status == Offer.Status.ACCEPTED:
        lines.append(
            _("Its items are applied to the customer's subscriptions and the order placed.")
        )
    notify(
        key=f"offer:{offer.pk}:{offer.status}",
        users=_partner_people(offer),
        subject=subject,
        lines=lines,
        url=reverse("offer_detail", kwargs={"slug": offer.partner.slug, "offer_id": offer.pk}),
        label=_("View the offer"),
    )


def offer_cancelled(*, offer: Offer) -> None:
    """To the customer's owners and admins, who saw it in their Updates."""
    names = {"partner": offer.partner.name, "offer": offer.template_name}
    notify(
        key=f"offer:{offer.pk}:cancelled",
        users=offer_recipients(offer.customer),
        subject=format_lazy(_("{partner} withdrew its offer {offer}"), **names),
        lines=[format_lazy(_("{partner} withdrew its offer {offer}; nothing changes."), **names)],
        url=reverse("updates", kwargs={"slug": offer.customer.slug}),
        label=_("Open Updates"),
    )
