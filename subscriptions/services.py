"""Writes of subscriptions (who may: partners.selectors); the catalog's are `catalog.services`."""

import datetime
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, ProductPrice, degressive_rate, round_money
from core.db import bulk_insert
from core.events import event_emit, events_emit
from core.exceptions import Conflict
from partners.book_changes import book_changed, shares_pending
from partners.selectors import NOT_FOUND
from partners.services import grant_holds
from subscriptions.models import Subscription, SubscriptionChange
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext
from tenants.services import require_role

# What the amounts of a subscription (its MRR, the book's sums) can hold: 12 digits.
AMOUNT_MAX = Decimal("999999999999.99")


SUBSCRIPTION_FIELDS = ("quantity", "unit_price", "starts_on", "ends_on")


def subscription_write_check(
    *, org: OrgContext, customer: Tenant, product: Product | None = None
) -> None:
    """Who may add or change `customer`'s subscriptions. The caller loaded the
    customer (or the subscription) once through the permission function
    (subscriptions.selectors), so a partner user is allowed on it; what changes
    with time is asked when `product` is given: the grant still active, covering
    the product, the collaborator still assigned (partners.services.grant_holds),
    else the 404 of a customer out of reach. The services ask it so under their
    row lock. A customer's own owner or admin may (a customer user: 403); anyone
    else: 404."""
    if org.tenant.is_partner:
        if product is not None and not grant_holds(org=org, customer=customer, product=product):
            raise Http404(str(NOT_FOUND))
    elif org.tenant.pk == customer.pk:
        require_role(org, Role.ADMIN)
    else:
        raise Http404(_("No such customer."))


def buyer_check(*, org: OrgContext) -> None:
    """Whatever moves money (an order, a subscription's end) is for an owner or
    admin of a customer, or anyone allowed on the customer at a partner, with the
    buyer flag of its membership (SPEC §7). Platform staff acting in an
    organization they are no member of may (SPEC §4: orders placed "by staff")."""
    if org.membership is None and org.is_staff:
        return
    if org.tenant.is_customer and not org.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only owners and admins who are buyers may order."))
    if org.membership is None or not org.membership.buyer:
        raise PermissionDenied(_("Only members with the buyer flag may order."))


def _public_price(product: Product, currency: str, quantity: int) -> Decimal:
    """The public price of one unit for `quantity` units: the degressive tier
    reached applies to everyone (SPEC §7)."""
    price = ProductPrice.objects.filter(product=product, currency=currency).first()
    if price is None:
        raise ValidationError(
            {
                "product": _("This product has no public price in %(currency)s.")
                % {"currency": currency}
            }
        )
    return round_money(price.amount * (1 - degressive_rate(product.tiers.all(), quantity)))


def _subscription_clean(subscription: Subscription) -> None:
    errors = {}
    if subscription.quantity is None or subscription.quantity < 1:
        errors["quantity"] = _("Give at least 1.")
    if subscription.unit_price is None or subscription.unit_price < 0:
        errors["unit_price"] = _("Give a price of 0 or more.")
    elif subscription.quantity and subscription.quantity * subscription.unit_price > AMOUNT_MAX:
        errors["unit_price"] = _("Quantity times unit price must stay below 1,000,000,000,000.")
    if subscription.ends_on is not None and subscription.ends_on < subscription.starts_on:
        errors["ends_on"] = _("The last day of service cannot be before the start.")
    if errors:
        raise ValidationError(errors)


def subscription_build(
    *,
    customer: Tenant,
    product: Product,
    quantity: int,
    unit_price: Decimal,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
) -> Subscription:
    """An unsaved subscription in the customer's currency, billed per the product's
    period (subscription_create saves it after the checks; seeds bulk-insert it)."""
    return Subscription(
        customer=customer,
        product=product,
        quantity=quantity,
        unit_price=unit_price,
        currency=customer.currency,
        billing_period=product.billing_period,
        starts_on=starts_on,
        ends_on=ends_on,
    )


@transaction.atomic
def subscription_create(
    *,
    org: OrgContext,
    customer: Tenant,
    product: Product,
    quantity: int,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    unit_price: Decimal | None = None,
) -> Subscription:
    """A subscription in the customer's currency, billed per the product's period;
    the unit price defaults to the customer's public price from the catalog."""
    subscription_write_check(org=org, customer=customer, product=product)
    if not product.is_active:
        raise ValidationError({"product": _("This product is no longer sold.")})
    if unit_price is None:
        unit_price = _public_price(product, customer.currency, quantity)
    subscription = subscription_build(
        customer=customer,
        product=product,
        quantity=quantity,
        unit_price=unit_price,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    _subscription_clean(subscription)
    subscription.save(force_insert=True)
    if subscription.ends_on is not None:  # a new one's ledger is empty: its end, no query
        ledger_record_many(rows=[(subscription, e, d, None) for e, d in end_entries(subscription)])
    return subscription


def subscriptions_create_ordered(
    *, org: OrgContext, customer: Tenant, rows: Sequence[Subscription]
) -> None:
    """Save the subscriptions an order opens (built by `subscription_build`):
    `subscription_create` for a caller that has checked, under its own lock,
    what `subscription_write_check` asks with a product (an order: the
    partner's grant read under its row lock, covering every line's product,
    each product still sold). Who may is asked again (no query); the rows are
    checked, written in one insert without a savepoint, and the books that
    count them retired (a bulk insert sends no signal)."""
    subscription_write_check(org=org, customer=customer)
    for row in rows:
        _subscription_clean(row)
    Subscription.unscoped.bulk_create(rows)
    book_changed(subscriptions_of=[customer.pk])


def _lock_subscription(org: OrgContext, subscription: Subscription) -> Subscription:
    """The subscription locked and read again, the write checked again under the
    lock (subscription_write_check with its product), not cancelled meanwhile."""
    locked = (
        Subscription.unscoped.select_for_update(of=("self",))
        .select_related("customer", "product")
        .get(pk=subscription.pk)
    )
    subscription_write_check(org=org, customer=locked.customer, product=locked.product)
    if locked.cancelled_at is not None:
        raise Conflict(_("This subscription is cancelled."))
    return locked


@transaction.atomic
def subscription_update(
    *, org: OrgContext, subscription: Subscription, data: dict, ledger_end: bool = True
) -> Subscription:
    """Change quantity, unit price or dates of a subscription that is not cancelled:
    for the order path (an accepted offer); people use subscription_last_day_set
    and the raise of amendments.services. The order records the change of
    quantity or price; a new last day of service is recorded here
    (`ledger_record_end`), unless the caller records the end itself
    (`ledger_end=False`: an upgrade's ending of the edition it replaces)."""
    subscription_write_check(org=org, customer=subscription.customer)
    subscription = _lock_subscription(org, subscription)
    old_end = subscription.ends_on
    changed = [field for field in SUBSCRIPTION_FIELDS if field in data]
    for field in changed:
        setattr(subscription, field, data[field])
    _subscription_clean(subscription)
    subscription.save(update_fields=[*changed, "updated_at"])
    if ledger_end:
        ledger_record_end(subscription=subscription, old_end=old_end)
    return subscription


@transaction.atomic
def subscription_last_day_set(
    *, org: OrgContext, subscription: Subscription, ends_on: datetime.date | None
) -> Subscription:
    """A buyer sets the last day of service of a live subscription, or clears it
    (it renews): from today on, since a day already used stays billed; never on
    a subscription that has ended or was cancelled (order a new one)."""
    subscription_write_check(org=org, customer=subscription.customer)
    buyer_check(org=org)
    subscription = _lock_subscription(org, subscription)
    today = timezone.localdate()
    if subscription.ends_on is not None and subscription.ends_on < today:
        raise Conflict(_("This subscription has ended; order a new one."))
    if ends_on is not None and ends_on < today:
        raise ValidationError({"ends_on": _("The last day of service cannot be in the past.")})
    old_end = subscription.ends_on
    subscription.ends_on = ends_on
    _subscription_clean(subscription)
    subscription.save(update_fields=["ends_on", "updated_at"])
    ledger_record_end(subscription=subscription, old_end=old_end)
    event_emit(
        "subscription.changed",
        {"id": subscription.pk, "kind": "ends_on", "customer": subscription.customer_id},
    )
    return subscription


@transaction.atomic
def subscription_cancel(*, org: OrgContext, subscription: Subscription) -> Subscription:
    """Cancel: the row stays, with the status `cancelled`, and the ledger gets its
    `cancel` change (no order: nothing is credited yet, docs/billing.md); a second
    cancel is a 409, and so is cancelling one that has ended (its months stay in
    the history)."""
    subscription_write_check(org=org, customer=subscription.customer, product=subscription.product)
    buyer_check(org=org)
    if subscription.status == Subscription.Status.ENDED:
        raise Conflict(_("This subscription has ended; its history stays as it was."))
    now = timezone.now()
    cancelled = Subscription.unscoped.filter(pk=subscription.pk, cancelled_at__isnull=True).update(
        cancelled_at=now, updated_at=now
    )
    if cancelled != 1:
        raise Conflict(_("This subscription is already cancelled."))
    book_changed(subscriptions_of=[subscription.customer_id])  # an update() sends no signal
    subscription.cancelled_at = now
    state = (subscription.quantity, subscription.unit_price)
    day = max(timezone.localdate(now), subscription.starts_on)
    # and every later day its ledger holds it live (a reactivation that took back an end)
    later = SubscriptionChange.unscoped.filter(subscription=subscription, effective_on__gt=day)
    held = {c.effective_on: c for c in later.order_by("effective_on", "created_at", "pk")}
    days = [day, *(d for d, change in held.items() if change.quantity_after > 0)]
    ledger_record_many(
        rows=[(subscription, LedgerEntry(Kind.CANCEL, state, NOTHING), d, None) for d in days]
    )
    return subscription


# --- the subscription ledger (SPEC §4, rev. 2) ------------------------------------------

Kind = SubscriptionChange.Kind
NOTHING = (0, Decimal("0.00"))


@dataclass(frozen=True)
class LedgerEntry:
    """What one order line does to one subscription: its kind, and the quantity
    and unit price before and after."""

    kind: str
    before: tuple[int, Decimal]
    after: tuple[int, Decimal]

    @classmethod
    def opening(cls, subscription: Subscription) -> "LedgerEntry":
        return cls(Kind.NEW, NOTHING, (subscription.quantity, subscription.unit_price))

    @classmethod
    def renewal(
        cls, subscription: Subscription, unit_price: Decimal | None = None
    ) -> "LedgerEntry":
        """The same quantity billed for another period, at `unit_price` (the
        public unit price the renewal was priced at: the tier of the customer's
        total may have moved) or at the price it had."""
        before = (subscription.quantity, subscription.unit_price)
        after = (
            subscription.quantity,
            subscription.unit_price if unit_price is None else unit_price,
        )
        return cls(Kind.RENEWAL, before, after)

    @classmethod
    def change(cls, before: tuple[int, Decimal], subscription: Subscription) -> "LedgerEntry":
        """What an order line did to a live subscription's quantity: opened it,
        raised or lowered it, or (the same quantity, billed again for a period,
        as an offer's absolute quantity equal to what is there) renewed it."""
        after = (subscription.quantity, subscription.unit_price)
        if before[0] == 0:
            return cls(Kind.NEW, before, after)
        if after[0] == before[0]:
            return cls(Kind.RENEWAL, before, after)
        kind = Kind.DECREASE if after[0] < before[0] else Kind.INCREASE
        return cls(kind, before, after)


def ledger_record(
    *,
    entries: Sequence[tuple[Subscription, LedgerEntry]],
    effective_on: datetime.date | None = None,
    order_id: uuid.UUID | None = None,
) -> list[SubscriptionChange]:
    """Append one change per (subscription, entry), in the caller's transaction:
    the order's (named by `order_id`: billing sits above this app), or the
    seeds' bulk write (no order). Effective on the given day, else each
    subscription's start for an opening change and today for others."""
    return ledger_record_many(
        rows=[(subscription, entry, effective_on, order_id) for subscription, entry in entries]
    )


def ledger_record_many(
    *,
    rows: Sequence[tuple[Subscription, LedgerEntry, datetime.date | None, uuid.UUID | None]],
    unrecorded: Collection[object] = (),
) -> list[SubscriptionChange]:
    """`ledger_record` with a day and an order per row (a batch of renewals).

    A change of quantity or price of a live subscription also restates the
    state its ledger holds from a later day (a `reactivation` that took back an
    end the last day of service no longer has): a state is read off the last
    change effective by a day, so that later change must carry the new one.
    `unrecorded`: ids of subscriptions the caller inserted in this transaction
    and recorded no change of yet (an order's new ones): their ledger is not
    read (`_in_writing_order`)."""
    today = timezone.localdate()
    changes = [
        SubscriptionChange(
            subscription=subscription,
            kind=entry.kind,
            quantity_before=entry.before[0],
            unit_price_before=entry.before[1],
            quantity_after=entry.after[0],
            unit_price_after=entry.after[1],
            effective_on=effective_on
            or (subscription.starts_on if entry.kind == Kind.NEW else today),
            order_id=order_id,
        )
        for subscription, entry, effective_on, order_id in rows
    ]
    changes += _restated(changes)
    _in_writing_order(changes, unrecorded=unrecorded)
    changes = SubscriptionChange.unscoped.bulk_create(changes, batch_size=2000)
    # the ledger is what the partners' books count: its customers to count again
    shares_pending({subscription.customer_id for subscription, *_ in rows})
    events_emit("subscription.changed", [_changed(change) for change in changes])
    return changes


def _in_writing_order(
    changes: list[SubscriptionChange], *, unrecorded: Collection[object] = ()
) -> None:
    """A state is the last change effective by a day, ordered by `effective_on`
    then `created_at`: so each change's `created_at` is strictly after every
    earlier change of its subscription (a microsecond after the latest when the
    clock has not moved on, e.g. two changes in one transaction), never a tie
    that the random ids would decide. One read for the whole batch, none when
    every subscription is `unrecorded` (no change yet: nothing to come after)."""
    skipped = set(unrecorded)
    ids = {c.subscription_id for c in changes if c.subscription_id not in skipped}
    latest = (
        dict(
            SubscriptionChange.unscoped.filter(subscription_id__in=ids)
            .order_by()
            .values("subscription_id")
            .annotate(latest=Max("created_at"))
            .values_list("subscription_id", "latest")
        )
        if ids
        else {}
    )
    now = timezone.now()
    for change in changes:
        previous = latest.get(change.subscription_id)
        at = (
            now
            if previous is None or now > previous
            else previous + datetime.timedelta(microseconds=1)
        )
        change.created_at = at
        latest[change.subscription_id] = at


def _changed(change: SubscriptionChange) -> dict[str, object]:
    """The payload of `subscription.changed` for a ledger row (core.events)."""
    return {
        "id": change.subscription_id,
        "kind": change.kind,
        "change": change.pk,
        "order": change.order_id,
        "customer": change.subscription.customer_id,
    }


def _ledger_change(
    new: SubscriptionChange, kind: str, before: tuple, after: tuple, day: datetime.date
) -> SubscriptionChange:
    return SubscriptionChange(
        subscription=new.subscription,
        kind=kind,
        quantity_before=before[0],
        unit_price_before=before[1],
        quantity_after=after[0],
        unit_price_after=after[1],
        effective_on=day,
        order_id=new.order_id,
    )


def _restated(changes: list[SubscriptionChange]) -> list[SubscriptionChange]:
    """The restatements `ledger_record_many` appends: one query, and only when a
    change of a live subscription's quantity or price is among `changes`."""
    moved = {
        c.subscription_id: c
        for c in changes
        if c.quantity_before > 0
        and c.quantity_after > 0
        and (c.quantity_before, c.unit_price_before) != (c.quantity_after, c.unit_price_after)
    }
    if not moved:
        return []
    ledger = SubscriptionChange.unscoped.filter(subscription_id__in=list(moved)).order_by(
        "effective_on", "created_at", "pk"
    )
    days: dict[tuple, list[SubscriptionChange]] = {}
    for change in ledger:
        days.setdefault((change.subscription_id, change.effective_on), []).append(change)
    restated = []
    for (subscription_id, day), written in days.items():
        new = moved[subscription_id]
        live = [c for c in written if c.quantity_after > 0]
        if (
            day <= new.effective_on
            or not live
            or (live[-1].quantity_after, live[-1].unit_price_after)
            == (new.quantity_after, new.unit_price_after)
        ):
            continue
        state = (new.quantity_after, new.unit_price_after)
        restated.append(_ledger_change(new, Kind.REACTIVATION, NOTHING, state, day))
        last = written[-1]
        if last.quantity_after == 0:
            # the day ends it again (a last day set, cleared and set again on
            # one day): its end restated after, so the day still ends at 0
            restated.append(_ledger_change(new, last.kind, state, NOTHING, day))
    return restated


def end_entries(
    subscription: Subscription, ledger: Sequence[SubscriptionChange] = ()
) -> list[tuple[LedgerEntry, datetime.date]]:
    """The changes that make a subscription's `ledger` end it the day after its
    `ends_on` (its last day of service; None: never), each with the day it takes
    effect. A state is read off the last change effective on or before a day
    (`selectors.ledger_states`), so each day the ledger holds it at 0 before
    the new end (or at all, when it renews now) gets a `reactivation`, each day
    it holds it live after the new end gets a `cancel`, and the day after the
    last day a `cancel`, unless the ledger ends it then already."""
    state = (subscription.quantity, subscription.unit_price)
    ends_on = subscription.ends_on
    last_day = None if ends_on is None else ends_on + datetime.timedelta(days=1)
    held: dict[datetime.date, SubscriptionChange] = {}
    for change in sorted(ledger, key=lambda c: (c.effective_on, c.created_at, c.pk.hex)):
        held[change.effective_on] = change  # the last of each day is the one that holds
    entries = []
    for day, change in sorted(held.items()):
        live = change.quantity_after > 0
        if not live and (last_day is None or day < last_day):
            entries.append((LedgerEntry(Kind.REACTIVATION, NOTHING, state), day))
        elif live and last_day is not None and day > last_day:
            entries.append((LedgerEntry(Kind.CANCEL, state, NOTHING), day))
    if last_day is not None and (last_day not in held or held[last_day].quantity_after > 0):
        entries.append((LedgerEntry(Kind.CANCEL, state, NOTHING), last_day))
    return sorted(entries, key=lambda entry: entry[1])


def ledger_record_end(*, subscription: Subscription, old_end: datetime.date | None) -> None:
    """Record a new last day of service (`end_entries`) in the caller's transaction:
    setting, moving or clearing it changes the billed state, and MRR is read
    from the ledger. No order: nothing is billed or credited here."""
    if subscription.ends_on == old_end:
        return
    ledger = list(SubscriptionChange.unscoped.filter(subscription=subscription))
    entries = end_entries(subscription, ledger)
    if entries:
        ledger_record_many(rows=[(subscription, e, day, None) for e, day in entries])


def subscriptions_open(rows: Sequence[Subscription], *, batch_size: int = 2000) -> None:
    """Bulk-insert new subscriptions with their opening changes, and the end of
    those that have a last day (the demo seeds, which write history no order
    ever placed)."""
    Subscription.unscoped.bulk_create(rows, batch_size=batch_size)
    ledger_record_many(
        rows=[
            (row, entry, day, None)
            for row in rows
            for entry, day in [(LedgerEntry.opening(row), row.starts_on), *end_entries(row)]
        ]
    )


class NewSubscription(NamedTuple):
    """One subscription for `subscriptions_load`: what `subscription_build` sets,
    as plain values (the customer's currency, the product's billing period)."""

    customer_id: uuid.UUID
    currency: str
    product_id: uuid.UUID
    billing_period: str
    quantity: int
    unit_price: Decimal
    starts_on: datetime.date
    ends_on: datetime.date | None


_LOADED_SUBSCRIPTION = (
    "id",
    "customer_id",
    "product_id",
    "quantity",
    "unit_price",
    "currency",
    "billing_period",
    "starts_on",
    "ends_on",
)
_LOADED_CHANGE = (
    "id",
    "subscription_id",
    "kind",
    "quantity_before",
    "unit_price_before",
    "quantity_after",
    "unit_price_after",
    "effective_on",
    "created_at",
)


def subscriptions_load(rows: Iterable[NewSubscription]) -> int:
    """`subscriptions_open` for a million rows (the scale seed): new
    subscriptions and the same ledger, written with COPY on PostgreSQL
    (`core.db.bulk_insert`), in the caller's transaction. Returns how many.

    A fresh subscription's ledger is what `ledger_record_many` writes for it:
    its opening change (`LedgerEntry.opening`) effective on its first day and,
    with a last day, the cancel `end_entries` gives, effective the day after,
    written a microsecond later so that it reads as the later state (as
    `_in_writing_order` would). The table's append-only trigger is for
    UPDATE and DELETE; these are inserts. Unlike `subscriptions_open` it emits
    no `subscription.changed` (so no webhook outbox rows): the seed writes a
    history no order placed, before any endpoint exists. The caller retires
    the cached books (`book_changed`): bulk writes send no signal."""
    now = timezone.now()
    later = now + datetime.timedelta(microseconds=1)
    day = datetime.timedelta(days=1)
    zero = NOTHING[1]
    subscriptions, changes = [], []
    for row in rows:
        pk = uuid.uuid4()
        quantity, price = row.quantity, row.unit_price
        subscriptions.append(
            (
                pk,
                row.customer_id,
                row.product_id,
                quantity,
                price,
                row.currency,
                row.billing_period,
                row.starts_on,
                row.ends_on,
            )
        )
        changes.append((uuid.uuid4(), pk, Kind.NEW, 0, zero, quantity, price, row.starts_on, now))
        if row.ends_on is not None:
            changes.append(
                (uuid.uuid4(), pk, Kind.CANCEL, quantity, price, 0, zero, row.ends_on + day, later)
            )
    bulk_insert(
        Subscription, _LOADED_SUBSCRIPTION, subscriptions, template=Subscription(created_at=now)
    )
    bulk_insert(SubscriptionChange, _LOADED_CHANGE, changes, template=SubscriptionChange())
    return len(subscriptions)
