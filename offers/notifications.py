"""The emails of offers, queued in the outbox inside the transition's
transaction and keyed by offer, event and recipient, so each leaves once
however often a task runs."""

from django.urls import reverse

from offers.models import Offer
from tenants.emails import notify
from tenants.models import Membership, Role


def _items(offer: Offer) -> list[str]:
    return [
        f"- {item.quantity} x {item.product.name} ({item.get_license_mode_display().lower()}, "
        f"{item.term_months} months)"
        for item in offer.items.all()
    ]


def offer_delivered(*, offer: Offer, recipients, enqueue: bool = True) -> list[str]:
    lines = [f"{offer.partner.name} sent you an offer: {offer.template_name}.", *_items(offer)]
    if offer.message:
        lines.append(f"Their message: {offer.message}")
    lines.append("Accept or decline it in one click on your Updates page.")
    return notify(
        key=f"offer:{offer.pk}:delivered",
        users=recipients,
        subject=f"{offer.partner.name} sent you an offer: {offer.template_name}",
        lines=lines,
        url=reverse("updates", kwargs={"slug": offer.customer.slug}),
        label="Open Updates",
        enqueue=enqueue,
    )


def _partner_people(offer: Offer) -> list:
    people = [
        m.user
        for m in Membership.objects.filter(
            tenant=offer.partner_id, role__in=(Role.OWNER, Role.ADMIN)
        ).select_related("user")
    ]
    if offer.sent_by is not None:
        people.append(offer.sent_by)
    return people


ANSWERS = {
    Offer.Status.ACCEPTED: "accepted",
    Offer.Status.DECLINED: "declined",
    Offer.Status.EXPIRED: "let expire",
}


def offer_answered(*, offer: Offer) -> None:
    """To the partner's owners, admins and the sender: accepted, declined or expired."""
    verb = ANSWERS[offer.status]
    lines = [f"{offer.customer.name} {verb} your offer {offer.template_name}."]
    if offer.status == Offer.Status.DECLINED and offer.decline_reason:
        lines.append(f"Their reason: {offer.decline_reason}")
    if offer.status == Offer.Status.ACCEPTED:
        lines.append("Its items are applied to the customer's subscriptions and the order placed.")
    notify(
        key=f"offer:{offer.pk}:{offer.status}",
        users=_partner_people(offer),
        subject=f"{offer.customer.name} {verb} your offer {offer.template_name}",
        lines=lines,
        url=reverse("offer_detail", kwargs={"slug": offer.partner.slug, "offer_id": offer.pk}),
        label="View the offer",
    )


def offer_cancelled(*, offer: Offer) -> None:
    """To the customer's owners and admins, who saw it in their Updates."""
    from offers.services.offers import offer_recipients

    notify(
        key=f"offer:{offer.pk}:cancelled",
        users=offer_recipients(offer.customer),
        subject=f"{offer.partner.name} withdrew its offer {offer.template_name}",
        lines=[f"{offer.partner.name} withdrew its offer {offer.template_name}; nothing changes."],
        url=reverse("updates", kwargs={"slug": offer.customer.slug}),
        label="Open Updates",
    )
