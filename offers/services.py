"""Offers (SPEC §6): sending a template to one or many customers, delivery in the
background, and the customer's one-click answer.

Every change of status is a guarded transition — a conditional UPDATE on the
expected status, or the row locked while it is checked — so two answers at the
same moment give one outcome and the loser a 409:

    waiting ──deliver──▶ awaiting_confirmation ──accept──▶ accepted
       │  ╲                  │    │    ╲──decline──▶ declined
       │   ╲──fail──▶ failed │    ╲──expire──▶ expired
       ╰──cancel──▶ cancelled ◀── cancel
    failed ──retry──▶ waiting
"""

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from amendments.services import (
    edition_replaced_credit,
    edition_replaced_last_day,
    subscription_end_confirmed,
    subscription_lower_confirmed,
)
from billing import notifications as billing_notifications
from billing.models import Order, Payer
from billing.selectors import live_totals
from billing.services.orders import (
    MAX_QUANTITY,
    LineRequest,
    Quote,
    QuoteLine,
    order_record,
    quote_build,
)
from catalog.models import Product
from core.events import event_emit, events_emit
from core.exceptions import Conflict, Errors
from core.jobs import enqueue_on_commit
from offers import notifications
from offers.effects import (
    Change,
    Effect,
    EffectLine,
    effect_build,
    live_subscriptions,
    offered_items,
    offered_products,
    term_end,
)
from offers.models import (
    MAX_TERM_MONTHS,
    LicenseMode,
    Offer,
    OfferBatch,
    OfferItem,
    OfferTemplate,
    TemplateItem,
)
from offers.selectors import offer_recipients_of
from partners.models import Access, Partnership, Side
from partners.selectors import (
    customers_visible_to,
    grants_active_now,
    managing_grants,
    managing_partnership,
)
from subscriptions.models import SubscriptionChange
from subscriptions.services import (
    LedgerEntry,
    subscription_create,
    subscription_update,
)
from tenants.emails import emails_enqueue, notifications_write
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext, uuid_or_none

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Status = Offer.Status
MAX_CUSTOMERS_PER_SEND = 10_000
NOT_MANAGED = gettext_lazy("You do not manage this customer.")


# The 409 of a transition the offer's status no longer allows, by `verb`.
NO_LONGER = {
    "cancelled": gettext_lazy("This offer is %(status)s: it can no longer be cancelled."),
    "retried": gettext_lazy("This offer is %(status)s: it can no longer be retried."),
    "declined": gettext_lazy("This offer is %(status)s: it can no longer be declined."),
}


def _grouped(number: int) -> str:
    """A number with the active language's thousands separator (10,000 in English)."""
    return formats.number_format(number, force_grouping=True)


@dataclass(frozen=True)
class Refusal:
    customer: str  # the customer's name, or the id given when it is not one of ours
    reason: "StrOrPromise"


def _grants(org: OrgContext, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Partnership]:
    """The caller's grants active now with these customers, by customer id."""
    rows = (
        managing_grants(partner=org.tenant)
        .filter(customer_id__in=customer_ids)
        .select_related("partner", "customer")
        .prefetch_related("products")
    )
    return {p.customer_id: p for p in rows}


def _refusal(partnership: Partnership, products: Sequence[Product]) -> str | None:
    if partnership.access == Access.FULL:
        return None
    granted = {p.pk for p in partnership.products.all()}
    outside = [p.name for p in products if p.pk not in granted]
    if outside:
        return _("Your limited access does not include %(products)s.") % {
            "products": ", ".join(outside)
        }
    return None


def _catalog_items(template: OfferTemplate) -> list[TemplateItem]:
    items = list(
        template.items.select_related("product").prefetch_related(
            "product__prices", "product__tiers"
        )
    )
    if not items:
        raise ValidationError(
            {"template": _("This template has no items yet: add products first.")}
        )
    return items


def _items_with_products() -> QuerySet[OfferItem]:
    return OfferItem.unscoped.select_related("product")


@dataclass(frozen=True)
class ItemSpec:
    """An offer line without a template (see `offer_propose`)."""

    product: Product
    quantity: int
    license_mode: str
    term_months: int
    replaces: Product | None = None  # the edition it upgrades: ended on accept


@dataclass(frozen=True)
class Sent:
    """A send: its batch (None when nobody was eligible) and the customers left
    out, each with the reason."""

    batch: OfferBatch | None
    skipped: list[Refusal]


@transaction.atomic
def offer_send(
    *, org: OrgContext, template: OfferTemplate, customer_ids: Sequence, message: str = ""
) -> OfferBatch:
    """Send `template` to each customer (one offer each), all or nothing: a
    customer the caller may not act on, or left out for a reason known in
    advance (see `offer_send_eligible`), refuses the whole send with a reason
    per customer. Each offer keeps a snapshot of its items and their price
    waterfall, starts `waiting`, and is delivered by a Celery task after commit."""
    sent = offer_send_eligible(
        org=org, template=template, customer_ids=customer_ids, message=message, all_or_nothing=True
    )
    assert sent.batch is not None  # all or nothing: a skip refused the send
    return sent.batch


@transaction.atomic
def offer_send_eligible(
    *,
    org: OrgContext,
    template: OfferTemplate,
    customer_ids: Sequence,
    message: str = "",
    all_or_nothing: bool = False,
) -> Sent:
    """Send `template` to the eligible customers among `customer_ids` and report
    the others, each with its reason, known in advance: a limited grant that
    does not cover every product, a suspended organization, nobody there to
    answer (no owner or admin), a product without a price in its currency. With
    `all_or_nothing`, any customer left out refuses the whole send (400 naming
    each). An id the caller may not act on (another partner's customer, a
    missing one) is bad input either way: 400, nothing sent."""
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Offers are sent by partners."))
    if template.partner_id != org.tenant.pk:
        raise Http404(_("No such template."))
    return _send(
        org,
        name=template.name,
        template=template,
        items=_catalog_items(template),
        customer_ids=customer_ids,
        message=message,
        all_or_nothing=all_or_nothing,
    )


@transaction.atomic
def offer_propose(
    *,
    org: OrgContext,
    customer_id: object,
    name: str,
    items: Sequence[ItemSpec],
    message: str = "",
) -> Offer:
    """One offer without a template (an upgrade a customer asked for), with the
    same checks, price snapshot and delivery as a sent template."""
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Offers are sent by partners."))
    for item in items:
        clean_item(
            product=item.product,
            quantity=item.quantity,
            license_mode=item.license_mode,
            term_months=item.term_months,
        )
    products = Product.objects.prefetch_related("prices", "tiers").in_bulk(
        [item.product.pk for item in items]
    )
    items = [
        ItemSpec(products[i.product.pk], i.quantity, i.license_mode, i.term_months, i.replaces)
        for i in items
    ]
    if not items:
        raise ValidationError({"items": _("An offer needs at least one item.")})
    sent = _send(
        org,
        name=name,
        template=None,
        items=items,
        customer_ids=[customer_id],
        message=message,
        all_or_nothing=True,
    )
    assert sent.batch is not None  # all or nothing: a skip refused the send
    return sent.batch.offers.get()


def _send(
    org: OrgContext,
    *,
    name: str,
    template: OfferTemplate | None,
    items: Sequence[TemplateItem | ItemSpec],
    customer_ids: Iterable[object],
    message: str,
    all_or_nothing: bool,
) -> Sent:
    errors = Errors()  # every problem at once
    message = (message or "").strip()
    if len(message) > 2000:
        errors.add("message", _("At most %(max)s characters.") % {"max": _grouped(2000)})
    ids = list(dict.fromkeys(str(c) for c in customer_ids))
    if not ids:
        errors.add("customers", _("Choose at least one customer."))
    elif len(ids) > MAX_CUSTOMERS_PER_SEND:
        errors.add(
            "customers",
            _("At most %(max)s per send.") % {"max": _grouped(MAX_CUSTOMERS_PER_SEND)},
        )
    else:
        checked = send_check(org=org, items=items, customer_ids=ids)
        refused = list(checked.unknown)
        if checked.skipped and (all_or_nothing or not checked.quotes):
            refused = [*checked.skipped, *refused]
        if refused and not errors:
            raise ValidationError(
                {"customers": [f"{r.customer}: {r.reason}" for r in refused]}, code="refused"
            )
        for r in refused:
            errors.add("customers", f"{r.customer}: {r.reason}")
    errors.raise_any()
    batch = _create_offers(org, name, template, items, checked.quotes, message)
    return Sent(batch, checked.skipped)


@dataclass(frozen=True)
class SendCheck:
    """Who a send would reach: a quote per eligible customer, the customers left
    out with the reason, and the ids the caller may not act on."""

    quotes: list[Quote]
    skipped: list[Refusal]
    unknown: list[Refusal]
    customers: list[Tenant]
    grants: dict[uuid.UUID, Partnership]


def send_check(
    *, org: OrgContext, items: Sequence[TemplateItem | ItemSpec], customer_ids: Sequence
) -> SendCheck:
    """Everything about a send that can be known before sending (SPEC §6 rev. 2),
    read in a fixed number of queries; nothing is written. Each customer's
    quote (the offer's snapshot) prices an item at the degressive tier the
    customer's total quantity of its product reaches once accepted, as an
    order does: a relative item's units with every live one, an absolute
    item's units alone (they are the total)."""
    products = [item.product for item in items]
    uuids = {str(raw): uuid_or_none(raw) for raw in customer_ids}
    visible = {
        c.pk: c
        for c in customers_visible_to(org=org).filter(pk__in=[u for u in uuids.values() if u])
    }
    grants = _grants(org, list(visible))
    recipients = offer_recipients_of(list(visible))
    today = timezone.localdate()
    held = live_totals(customer_ids=list(visible), product_ids={p.pk for p in products}, day=today)
    skipped, unknown, quotes, customers = [], [], [], []
    for raw, pk in uuids.items():
        customer = visible.get(pk) if pk is not None else None
        partnership = grants.get(pk) if pk is not None else None
        if customer is None or partnership is None:
            unknown.append(Refusal(raw, NOT_MANAGED))
            continue
        customers.append(customer)
        reason = _refusal(partnership, products)
        if reason is None and customer.status == Tenant.Status.SUSPENDED:
            reason = _("This organization is suspended.")
        if reason is None and not recipients.get(customer.pk):
            reason = _("Nobody there can answer: it has no owner or admin.")
        if reason is None:
            try:
                quotes.append(
                    quote_build(
                        customer=customer,
                        lines=[LineRequest(item.product, item.quantity) for item in items],
                        ordered_by=Side.PARTNER,
                        partnership=partnership,
                        elsewhere=_kept(items, customer, held),
                    )
                )
            except ValidationError as exc:  # a product without a price in its currency
                reason = " ".join(exc.messages)
        if reason is not None:
            skipped.append(Refusal(customer.name, reason))
    return SendCheck(quotes, skipped, unknown, customers, grants)


def _kept(
    items: Sequence[TemplateItem | ItemSpec],
    customer: Tenant,
    held: dict[tuple[object, object], int],
) -> dict[object, int]:
    """The units of each product the customer keeps besides an item's own: what
    the degressive tier counts with them (SPEC §7, `billing.pricing.tier_rate`,
    as an order counts the customer's other live units). A relative item adds
    its units to every live one; an absolute one sets the total, so nothing
    else counts."""
    return {
        item.product.pk: held.get((customer.pk, item.product.pk), 0)
        for item in items
        if item.license_mode == LicenseMode.RELATIVE
    }


def _create_offers(
    org: OrgContext,
    name: str,
    template: OfferTemplate | None,
    items: Sequence[TemplateItem | ItemSpec],
    quotes: list[Quote],
    message: str,
) -> OfferBatch:
    batch = OfferBatch.unscoped.create(partner=org.tenant, template_name=name, sent_by=org.user)
    offers = Offer.unscoped.bulk_create(
        [
            Offer(
                partner=org.tenant,
                customer=quote.customer,
                batch=batch,
                template=template,
                template_name=name,
                message=message,
                currency=quote.currency,
                payer=quote.terms.payer,
                charged_amount=quote.charged,
                public_amount=quote.total("public_amount"),
                sent_by=org.user,
            )
            for quote in quotes
        ],
        batch_size=1000,
    )
    OfferItem.unscoped.bulk_create(
        [
            OfferItem(
                offer=offer,
                product=item.product,
                quantity=item.quantity,
                license_mode=item.license_mode,
                term_months=item.term_months,
                replaces=getattr(item, "replaces", None),
                list_amount=line.price.list_amount,
                after_partner_discount=line.price.after_partner_discount,
                preferential_amount=line.price.preferential_amount,
                public_amount=line.price.public_amount,
                charged_amount=line.charged,
                cashback_amount=line.cashback,
            )
            for offer, quote in zip(offers, quotes, strict=True)
            for item, line in zip(items, quote.lines, strict=True)
        ],
        batch_size=2000,
    )
    if len(offers) == 1:
        enqueue_on_commit("offers.tasks.deliver_offer", str(offers[0].pk))
    else:
        enqueue_on_commit("offers.tasks.deliver_batch", str(batch.pk))
    return batch


# --- delivery ------------------------------------------------------------------


def _fail(offer_id: uuid.UUID | str, reason: str) -> bool:
    failed = bool(
        Offer.unscoped.filter(pk=offer_id, status=Status.WAITING).update(
            status=Status.FAILED, failure_reason=reason[:2000], updated_at=timezone.now()
        )
    )
    if failed:
        event_emit("offer.failed", {"id": offer_id, "kind": Status.FAILED})
    return failed


def offers_deliver(*, offer_ids: Sequence) -> int:
    """Deliver the waiting offers among `offer_ids`: each becomes
    `awaiting_confirmation` and its customer's owners and admins are emailed.
    Returns how many this call delivered. A redelivered task, or one racing
    another worker (the rows are locked, locked ones skipped), finds nothing
    waiting and does nothing. An offer to a customer nobody can answer for, or
    from a partner no longer managing it, fails with the reason (the sender may
    retry once that is fixed). Works in bulk — a few queries for a whole chunk
    of a large send — so a fan-out to thousands stays close to the broker's pace."""
    with transaction.atomic():
        offers = list(
            Offer.unscoped.select_for_update(skip_locked=True, of=("self",))
            .select_related("partner")  # its name, for an offer that fails
            .filter(pk__in=list(offer_ids), status=Status.WAITING)
            .order_by("created_at")
        )
        if not offers:
            return 0
        Offer.unscoped.filter(pk__in=[o.pk for o in offers]).update(
            delivery_attempts=F("delivery_attempts") + 1
        )
        managed = set(
            grants_active_now()
            .filter(
                partner_id__in={o.partner_id for o in offers},
                customer_id__in={o.customer_id for o in offers},
            )
            .values_list("partner_id", "customer_id")
        )
        recipients = offer_recipients_of({o.customer_id for o in offers})
        now = timezone.now()
        delivered, emails = [], []
        for offer in offers:
            if (offer.partner_id, offer.customer_id) not in managed:
                _fail(
                    offer.pk,
                    _("%(partner)s no longer manages this customer.")
                    % {"partner": offer.partner.name},
                )
            elif not recipients.get(offer.customer_id):
                _fail(offer.pk, _("Nobody at the customer can answer: it has no owner or admin."))
            else:
                delivered.append(offer)
                emails += notifications.offer_delivered_emails(
                    offer=offer, recipients=recipients[offer.customer_id]
                )
        # One statement: every delivered offer of the chunk takes the same values.
        Offer.unscoped.filter(pk__in=[o.pk for o in delivered]).update(
            status=Status.AWAITING_CONFIRMATION,
            delivered_at=now,
            expires_at=now + datetime.timedelta(days=settings.OFFER_EXPIRY_DAYS),
            failure_reason="",
            updated_at=now,
        )
        if email_ids := notifications_write(emails):
            emails_enqueue(email_ids)
        events_emit(
            "offer.delivered",
            [
                {"id": o.pk, "kind": Status.AWAITING_CONFIRMATION, "customer": o.customer_id}
                for o in delivered
            ],
        )
        return len(delivered)


def offer_deliver(*, offer_id: uuid.UUID | str) -> bool:
    """Deliver one waiting offer (see `offers_deliver`); True when this call did."""
    return offers_deliver(offer_ids=[offer_id]) == 1


@transaction.atomic
def offer_delivery_failed(*, offer_id: uuid.UUID | str, reason: str) -> bool:
    """The delivery task gave up after its retries: the offer ends `failed`."""
    return _fail(offer_id, _("Delivery failed: %(reason)s") % {"reason": reason})


def offers_to_deliver(
    *, batch_id: uuid.UUID | str | None = None, older_than_seconds: int | None = None
) -> list[str]:
    """Waiting offers: of a batch (the fan-out), or left waiting longer than a
    delivery should take (the sweeper, after a broker outage)."""
    qs = Offer.unscoped.filter(status=Status.WAITING)
    if batch_id is not None:
        qs = qs.filter(batch__pk=batch_id)  # batch_id='s SQL; the stubs type it for a text id
    if older_than_seconds is not None:
        qs = qs.filter(
            created_at__lt=timezone.now() - datetime.timedelta(seconds=older_than_seconds)
        )
    return [str(pk) for pk in qs.order_by("created_at").values_list("pk", flat=True)]


# --- the partner: cancel, retry ---------------------------------------------------


def _require_sender(org: OrgContext, offer: Offer) -> None:
    if offer.partner_id != org.tenant.pk:
        raise PermissionDenied(_("Only the partner that sent the offer may do this."))


def _transition(
    offer: Offer, *, sources: Iterable[str], target: str, verb: str, **fields: Any
) -> Offer:
    """The guarded UPDATE; then the caller's offer (loaded once, through the
    selector) reads again what it changed, keeping what it had loaded with it."""
    now = timezone.now()
    changed = Offer.unscoped.filter(pk=offer.pk, status__in=sources).update(
        status=target, updated_at=now, **fields
    )
    if changed != 1:
        current = Offer.unscoped.filter(pk=offer.pk).values_list("status", flat=True).first()
        label = Status(current).label.lower() if current else pgettext("offer status", "gone")
        raise Conflict(NO_LONGER[verb] % {"status": label})
    offer.refresh_from_db(fields=["status", "updated_at", *fields])
    return offer


@transaction.atomic
def offer_cancel(*, org: OrgContext, offer: Offer) -> Offer:
    """The sending partner withdraws an offer still waiting or awaiting an answer."""
    _require_sender(org, offer)
    offer = _transition(
        offer,
        sources=Offer.OPEN,
        target=Status.CANCELLED,
        verb="cancelled",
        closed_at=timezone.now(),
        closed_by=org.user,
    )
    if offer.delivered_at is not None:
        notifications.offer_cancelled(offer=offer)
    event_emit("offer.cancelled", _answered(offer))
    return offer


@transaction.atomic
def offer_retry(*, org: OrgContext, offer: Offer) -> Offer:
    """Send a failed offer again."""
    _require_sender(org, offer)
    offer = _transition(
        offer, sources=(Status.FAILED,), target=Status.WAITING, verb="retried", failure_reason=""
    )
    enqueue_on_commit("offers.tasks.deliver_offer", str(offer.pk))
    return offer


# --- the customer: accept, decline ---------------------------------------------------


def _require_answerer(org: OrgContext, offer: Offer) -> None:
    if offer.customer_id != org.tenant.pk:
        raise PermissionDenied(_("Only the customer may answer an offer."))
    if not org.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only owners and admins answer offers."))


def _end_replaced(
    org: OrgContext, offer: Offer, line: EffectLine, today: datetime.date
) -> list[Order]:
    """An upgrade ends the edition it replaces, each subscription the effect
    showed (`line.replaced`, locked by _accept_effect): its last day is
    yesterday (or today, when it only began today), and a credit order gives
    its unused paid days back to whoever paid them, writing the ledger's
    upgrade (or downgrade, to a lower edition: to nothing) (amendments.services):
    the credit the preview showed on the line."""
    credits = []
    for step in line.replaced:
        replaced = step.subscription.product
        kind = (
            SubscriptionChange.Kind.UPGRADE
            if line.product.edition_rank >= replaced.edition_rank
            else SubscriptionChange.Kind.DOWNGRADE
        )
        last_day = edition_replaced_last_day(step.subscription, today)
        live = subscription_update(  # the end is the credit's own ledger row, below
            org=org, subscription=step.subscription, data={"ends_on": last_day}, ledger_end=False
        )
        credits += edition_replaced_credit(
            subscription=live,
            kind=kind,
            effective_on=last_day + datetime.timedelta(days=1),
            placed_by=org.user,
            partner=offer.partner,
        )
    return credits


def _reduce(org: OrgContext, offer: Offer, line: EffectLine, ends_on: datetime.date) -> list[Order]:
    """The seats go newest first: a subscription keeping some is lowered, one
    whose seats all go ends now; each by a credit order giving the unused paid
    days back to whoever paid them, with its credit note (billing). The term
    sets the last day of service of the one that keeps seats."""
    orders = []
    for step in line.steps:  # the subscriptions are locked (_accept_effect)
        if step.after == 0:
            orders += subscription_end_confirmed(
                subscription=step.subscription, placed_by=org.user, partner=offer.partner
            )
        else:
            orders += subscription_lower_confirmed(
                subscription=step.subscription,
                quantity=step.after,
                placed_by=org.user,
                partner=offer.partner,
            )
            subscription_update(org=org, subscription=step.subscription, data={"ends_on": ends_on})
    return orders


class AcceptChanged(Conflict):
    """Accepting would settle another amount for the customer than the preview
    it confirmed (409 with the new figures); nothing was written. The message
    names the customer's own total, never its partner's figures."""

    def __init__(self, effect: Effect):
        super().__init__(
            _(
                "The amount changed since the preview: %(currency)s %(total)s now. "
                "Check the new figures and confirm again."
            )
            % {"currency": effect.currency, "total": effect.total_of(Payer.CUSTOMER)}
        )
        self.effect = effect


def _accept_checks(offer: Offer) -> None:
    if offer.status != Status.AWAITING_CONFIRMATION:
        raise Conflict(
            _("This offer is %(status)s: it cannot be accepted.")
            % {"status": offer.get_status_display().lower()}
        )
    if offer.expires_at is not None and offer.expires_at <= timezone.now():
        raise Conflict(_("This offer has expired."))


def _accept_effect(offer: Offer, today: datetime.date, *, lock: bool) -> Effect:
    """The offer's effect now, as accepting would settle it: under the sending
    partner's grant read again (with `lock`, under its row lock, and the
    customer's live subscriptions of the products locked too); a partner that
    no longer manages every product is a 409."""
    items = list(offer.items.all())
    products = Product.objects.prefetch_related("prices", "tiers").in_bulk(
        list(offered_products(items))
    )
    partnership = None
    for item in items:
        product = products[item.product_id]
        partnership = managing_partnership(
            customer=offer.customer, product=product, partner=offer.partner, lock=lock
        )
        if partnership is None:
            raise Conflict(
                _("%(partner)s no longer manages %(product)s for you.")
                % {"partner": offer.partner.name, "product": product.name}
            )
        if not product.is_active:
            raise Conflict(_("%(product)s is no longer sold.") % {"product": product.name})
    live = live_subscriptions([offer.customer_id], list(products), today)
    if lock:
        live = live.select_for_update(of=("self",))
    effect = effect_build(
        customer=offer.customer,
        items=offered_items(items, products),
        partnership=partnership,
        subscriptions=list(live),
        today=today,
        lock=lock,
    )
    if effect.problem:
        raise Conflict(effect.problem)
    for line in effect.lines:
        if line.new_quantity > MAX_QUANTITY:
            raise ValidationError(
                {
                    "offer": _("%(product)s would exceed %(max)s licences.")
                    % {"product": line.product.name, "max": _grouped(MAX_QUANTITY)}
                }
            )
    return effect


def offer_accept_preview(*, org: OrgContext, offer: Offer) -> Effect:
    """What accepting would do now, line by line (current → new quantity, unit
    price, amount now, credit, renewal, payer); nothing is written. The caller
    loaded the offer through the selector."""
    _require_answerer(org, offer)
    _accept_checks(offer)
    return _accept_effect(offer, timezone.localdate(), lock=False)


@transaction.atomic
def offer_accept(
    *,
    org: OrgContext,
    offer: Offer,
    confirm_reduction: bool = False,
    expected_total: Decimal | None = None,
) -> Offer:
    """Accept in one transaction with the offer locked: its effect worked out
    again now (`offers.effects`, priced by the rules for the payer) and carried
    out as shown. A new product is opened and ordered for a period; an increase
    raises the newest subscription and charges the rest of its period; both are
    one order. An offer that lowers a quantity needs `confirm_reduction` (400
    without, nothing written); the seats go from the newest subscription first,
    each lowering an order with its credit note (amendments.services).
    With `expected_total` (the preview's `total`, the customer's own: what it
    is charged minus what it is credited), another amount is a 409 with the
    new figures. The offer `accepted`, the partner emailed. A second accept,
    or one racing a cancel, gets a 409."""
    _require_answerer(org, offer)
    offer = (
        Offer.unscoped.select_for_update(of=("self",))
        .select_related("customer", "partner", "sent_by")
        .get(pk=offer.pk)
    )
    _accept_checks(offer)
    now = timezone.now()
    today = timezone.localdate()
    prefetch_related_objects([offer], Prefetch("items", queryset=_items_with_products()))
    effect = _accept_effect(offer, today, lock=True)
    if effect.reduces and not confirm_reduction:
        raise ValidationError(
            {
                "confirm_reduction": _(
                    "This offer lowers %(products)s: confirm the reduction to accept it."
                )
                % {
                    "products": ", ".join(
                        line.text for line in effect.lines if line.change == Change.DECREASE
                    )
                }
            }
        )
    if expected_total is not None and effect.total_of(Payer.CUSTOMER) != expected_total:
        raise AcceptChanged(effect)
    charged: list[QuoteLine] = []
    reductions: list[Order] = []
    for line in effect.lines:
        ends_on = term_end(today, line.term_months)
        if line.change == Change.NEW:
            assert line.price_now is not None
            created = subscription_create(
                org=org,
                customer=offer.customer,
                product=line.product,
                quantity=line.new_quantity,
                starts_on=today,
                ends_on=ends_on,
                unit_price=line.unit_price,
            )
            charged.append(
                QuoteLine.under(
                    effect.quote.terms,  # type: ignore[union-attr]
                    line.product,
                    line.price_now,
                    subscription=created,
                    change=LedgerEntry.opening(created),
                    until=line.until,
                )
            )
        elif line.change == Change.INCREASE:
            assert line.price_now is not None
            (step,) = line.steps
            before = (step.subscription.quantity, step.subscription.unit_price)
            raised = subscription_update(
                org=org,
                subscription=step.subscription,
                data={"quantity": step.after, "unit_price": line.unit_price, "ends_on": ends_on},
            )
            charged.append(
                QuoteLine.under(
                    effect.quote.terms,  # type: ignore[union-attr]
                    line.product,
                    line.price_now,
                    subscription=raised,
                    change=LedgerEntry.change(before, raised),
                    until=line.until,
                )
            )
        elif line.change == Change.DECREASE:
            reductions += _reduce(org, offer, line, ends_on)
        else:
            (step,) = line.steps
            subscription_update(org=org, subscription=step.subscription, data={"ends_on": ends_on})
    for line in effect.lines:
        reductions += _end_replaced(org, offer, line, today)
    order = None
    if charged:
        assert effect.quote is not None
        order = order_record(
            quote=replace(effect.quote, lines=charged),
            kind=Order.Kind.ORDER,
            placed_by=org.user,
            period_starts_on=today,
            subscriptions=[line.subscription for line in charged if line.subscription],
        )
    # one email to each partner whose cashback the reductions took back, for all of them
    billing_notifications.clawbacks_taken(orders=reductions)
    order = order or (reductions[0] if reductions else None)
    offer.status = Status.ACCEPTED
    offer.closed_at = now
    offer.closed_by = org.user
    offer.order = order
    offer.save(update_fields=["status", "closed_at", "closed_by", "order", "updated_at"])
    notifications.offer_answered(offer=offer)
    event_emit("offer.accepted", _answered(offer))
    return offer


@transaction.atomic
def offer_decline(*, org: OrgContext, offer: Offer, reason: str = "") -> Offer:
    """Decline, with an optional reason the partner reads; final."""
    _require_answerer(org, offer)
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise ValidationError(
            {"reason": _("At most %(max)s characters.") % {"max": _grouped(2000)}}
        )
    offer = _transition(
        offer,
        sources=(Status.AWAITING_CONFIRMATION,),
        target=Status.DECLINED,
        verb="declined",
        closed_at=timezone.now(),
        closed_by=org.user,
        decline_reason=reason,
    )
    notifications.offer_answered(offer=offer)
    event_emit("offer.declined", _answered(offer))
    return offer


# --- beat: expiry ---------------------------------------------------------------


def offers_past_expiry(*, now: datetime.datetime) -> list[str]:
    return [
        str(pk)
        for pk in Offer.unscoped.filter(
            status=Status.AWAITING_CONFIRMATION, expires_at__lte=now
        ).values_list("pk", flat=True)
    ]


@transaction.atomic
def offer_expire(*, offer_id: uuid.UUID | str) -> bool:
    """An unanswered offer past its expiry becomes `expired` (once)."""
    now = timezone.now()
    expired = Offer.unscoped.filter(
        pk=offer_id, status=Status.AWAITING_CONFIRMATION, expires_at__lte=now
    ).update(status=Status.EXPIRED, closed_at=now, updated_at=now)
    if expired:
        notifications.offer_answered(
            offer=Offer.unscoped.select_related("customer", "partner").get(pk=offer_id)
        )
        event_emit("offer.expired", {"id": offer_id, "kind": Status.EXPIRED})
    return bool(expired)


def _answered(offer: Offer) -> dict[str, object]:
    """The payload of an answered or withdrawn offer's event (core.events)."""
    ids = {"customer": offer.customer_id, "partner": offer.partner_id, "order": offer.order_id}
    return {"id": offer.pk, "kind": offer.status, **ids}


# --- offer templates (SPEC §6) ------------------------------------------------------
# A partner's named lists of items, each saved as it is added. Any member of the
# partner may keep templates; they belong to the partner, so every lookup goes
# through `offers.selectors.template_get`.


def _require_partner(org: OrgContext, template: OfferTemplate | None = None) -> None:
    """A partner's own templates only: another's is the 404 of a missing one."""
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Offer templates belong to partners."))
    if template is not None and template.partner_id != org.tenant.pk:
        raise Http404(_("No such template."))


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the template a name.")})
    if len(name) > 200:
        raise ValidationError({"name": _("At most %(max)s characters.") % {"max": 200}})
    return name


def _save_name(template: OfferTemplate) -> None:
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("You already have a template with this name.")}) from exc


@transaction.atomic
def template_create(*, org: OrgContext, name: str) -> OfferTemplate:
    _require_partner(org)
    template = OfferTemplate(partner=org.tenant, name=_clean_name(name), created_by=org.user)
    _save_name(template)
    return template


@transaction.atomic
def template_rename(*, org: OrgContext, template: OfferTemplate, name: str) -> OfferTemplate:
    _require_partner(org, template)
    template.name = _clean_name(name)
    _save_name(template)
    return template


@transaction.atomic
def template_delete(*, org: OrgContext, template: OfferTemplate) -> None:
    """Delete a template; offers sent from it keep their own copy of its items."""
    _require_partner(org, template)
    template.delete()


def clean_item(
    *, product: Product | None, quantity: object, license_mode: object, term_months: object
) -> dict:
    errors = {}
    if product is None or not product.is_active:
        errors["product"] = _("Choose a product from the catalog.")
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        errors["quantity"] = _("Give a quantity from 1 to %(max)s.") % {"max": MAX_QUANTITY}
    if license_mode not in LicenseMode.values:
        errors["license_mode"] = _("Choose absolute or relative.")
    if not isinstance(term_months, int) or not 1 <= term_months <= MAX_TERM_MONTHS:
        errors["term_months"] = _("Give a term from 1 to %(max)s months.") % {
            "max": MAX_TERM_MONTHS
        }
    if errors:
        raise ValidationError(errors)
    return {
        "product": product,
        "quantity": quantity,
        "license_mode": license_mode,
        "term_months": term_months,
    }


@transaction.atomic
def template_item_add(
    *,
    org: OrgContext,
    template: OfferTemplate,
    product: Product | None,
    quantity: int,
    license_mode: str,
    term_months: int,
) -> TemplateItem:
    """Add a line, saved at once; one line per product."""
    _require_partner(org, template)
    fields = clean_item(
        product=product, quantity=quantity, license_mode=license_mode, term_months=term_months
    )
    assert product is not None  # clean_item refuses a missing product
    if template.items.filter(product=product).exists():
        raise ValidationError(
            {"product": _("%(product)s is already in this template.") % {"product": product.name}}
        )
    try:
        with transaction.atomic():
            item = TemplateItem.unscoped.create(template=template, **fields)
    except IntegrityError as exc:  # the same product added twice at once
        raise ValidationError(
            {"product": _("%(product)s is already in this template.") % {"product": product.name}}
        ) from exc
    OfferTemplate.unscoped.filter(pk=template.pk).update(updated_at=item.created_at)
    return item


@transaction.atomic
def template_item_remove(*, org: OrgContext, item: TemplateItem) -> None:
    _require_partner(org, item.template)
    item.delete()
    OfferTemplate.unscoped.filter(pk=item.template_id).update(updated_at=timezone.now())
