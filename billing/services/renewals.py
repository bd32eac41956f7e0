"""Auto-renewal (SPEC §7): a live subscription is billed again at the start of
each billing period after its first — forever when it has no end date (it
renews), up to its last day when it has one (a term set by an offer) — and each
period is billed once, by a renewal order placed by the same rules as any order.
A period that the last day of service cuts short is billed up to that day, by
days (`billing.services.orders.line_to_last_day`).

Who orders a renewal: the partner managing the product when there is one (it
"renews for the customer", so a full partner-pays partnership is billed the
preferential price), else the customer. The partnership is read at renewal time.

The price is the rules' (`quote_build`, as for any order): the degressive tier
is the one the customer's total quantity of the product reaches, this
subscription's units and those of its other subscriptions of the product live
on the period's first day (3 + 35 seats renew both at the tier of 38).
"""

import datetime
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Order, Renewal
from billing.proration import current_period_start, period_bounds
from billing.selectors import live_totals
from billing.services.orders import (
    LineRequest,
    OrderRequest,
    Quote,
    line_to_last_day,
    order_record,
    orders_record,
    quote_build,
)
from catalog.models import Product
from partners.models import Access, Partnership, Side
from partners.selectors import grant_active_now, grants_active_now, managing_partnership
from subscriptions.models import Subscription

log = logging.getLogger(__name__)


def _renewable(subscription: Subscription, period_starts_on: datetime.date) -> bool:
    return (
        subscription.cancelled_at is None
        and subscription.starts_on < period_starts_on
        and (subscription.ends_on is None or period_starts_on <= subscription.ends_on)
    )


def renewals_due(*, today: datetime.date) -> Iterator[tuple[str, datetime.date]]:
    """(subscription id, period start) of every renewal due on `today` or in the
    last RENEWAL_CATCH_UP_DAYS (a job that did not run for a few days catches up),
    not yet billed."""
    since = today - datetime.timedelta(days=settings.RENEWAL_CATCH_UP_DAYS)
    billed = set(
        Renewal.unscoped.filter(period_starts_on__gte=since).values_list(
            "subscription_id", "period_starts_on"
        )
    )
    candidates = (
        Subscription.unscoped.filter(cancelled_at__isnull=True, starts_on__lt=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=since))
        .only("id", "starts_on", "ends_on", "billing_period", "cancelled_at")
    )
    for subscription in candidates.iterator(chunk_size=2000):
        period = current_period_start(subscription, today)
        if (
            period is not None
            and period >= since
            and _renewable(subscription, period)
            and (subscription.pk, period) not in billed
        ):
            yield str(subscription.pk), period


def subscription_renew(
    *, subscription_id: uuid.UUID | str, period_starts_on: datetime.date
) -> Order | None:
    """Bill one period of a subscription, once. Returns the renewal order, or
    None when it was already billed (or is not renewable any more). Two workers
    racing: the subscription row lock orders them, and the unique constraint on
    (subscription, period) refuses a second renewal whatever happens."""
    try:
        with transaction.atomic():
            subscription = (
                Subscription.unscoped.select_for_update(of=("self",))
                .select_related("customer")
                .filter(pk=subscription_id)
                .first()
            )
            if subscription is None or not _renewable(subscription, period_starts_on):
                return None
            if Renewal.unscoped.filter(
                subscription=subscription, period_starts_on=period_starts_on
            ).exists():
                return None
            product = Product.objects.prefetch_related("prices", "tiers").get(
                pk=subscription.product_id
            )
            customer = subscription.customer
            partnership = managing_partnership(customer=customer, product=product, lock=True)
            priced = quote_build(
                customer=customer,
                lines=[LineRequest(product, subscription.quantity, subscription)],
                ordered_by=Side.PARTNER if partnership else Side.CUSTOMER,
                partnership=partnership,
                elsewhere=_elsewhere([subscription], {subscription.pk: period_starts_on})[
                    subscription.pk
                ],
            )
            priced = _to_last_day(priced, subscription, period_starts_on)
            order = order_record(
                quote=priced,
                kind=Order.Kind.RENEWAL,
                placed_by=None,
                period_starts_on=period_starts_on,
                subscriptions=[subscription],
            )
            Renewal.unscoped.create(
                subscription=subscription, period_starts_on=period_starts_on, order=order
            )
            return order
    except IntegrityError:
        log.info("renewal of %s from %s already billed", subscription_id, period_starts_on)
        return None


RENEWAL_BATCH = 500


def renewals_place_due(
    *, today: datetime.date | None = None, batch_size: int = RENEWAL_BATCH
) -> int:
    """Place every renewal due today, `batch_size` per transaction
    (renewals_place); returns how many were placed."""
    today = today or timezone.localdate()
    due = list(renewals_due(today=today))
    return sum(
        renewals_place(due=due[start : start + batch_size])
        for start in range(0, len(due), batch_size)
    )


def renewals_place(*, due: Sequence[tuple[uuid.UUID | str, datetime.date]]) -> int:
    """Bill a batch of (subscription id, period start) in one transaction, each
    period once: the subscriptions are locked (in id order) and the periods
    already billed left out, as `subscription_renew` does one by one, then
    every order, line, ledger change, cashback, renewal mark and invoice of
    the batch is written with one bulk insert per table. Should the batch fail
    on the database (a deadlock, a period another worker billed anyway), it is
    rolled back whole and its renewals placed one by one. Returns how many were
    placed."""
    try:
        with transaction.atomic():
            return _renew_batch(due)
    except (DatabaseError, ValidationError):
        log.warning("renewal batch of %s rolled back; placing it one by one", len(due))
        return sum(
            1
            for subscription_id, period in due
            if subscription_renew(subscription_id=subscription_id, period_starts_on=period)
        )


def _renew_batch(due: Sequence[tuple[uuid.UUID | str, datetime.date]]) -> int:
    periods = {uuid.UUID(str(subscription_id)): period for subscription_id, period in due}
    subscriptions = list(
        Subscription.unscoped.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk__in=periods)
        .order_by("pk")
    )
    billed = set(
        Renewal.unscoped.filter(
            subscription_id__in=periods, period_starts_on__in=set(periods.values())
        ).values_list("subscription_id", "period_starts_on")
    )
    todo = [
        subscription
        for subscription in subscriptions
        if _renewable(subscription, periods[subscription.pk])
        and (subscription.pk, periods[subscription.pk]) not in billed
    ]
    if not todo:
        return 0
    products = Product.objects.prefetch_related("prices", "tiers").in_bulk(
        {subscription.product_id for subscription in todo}
    )
    managing = _managing_partnerships(todo, products)
    elsewhere = _elsewhere(todo, periods)
    requests = []
    for subscription in todo:
        partnership = managing[subscription.customer_id, subscription.product_id]
        priced = quote_build(
            customer=subscription.customer,
            lines=[
                LineRequest(products[subscription.product_id], subscription.quantity, subscription)
            ],
            ordered_by=Side.PARTNER if partnership else Side.CUSTOMER,
            partnership=partnership,
            elsewhere=elsewhere[subscription.pk],
        )
        priced = _to_last_day(priced, subscription, periods[subscription.pk])
        requests.append(OrderRequest(priced, periods[subscription.pk], [subscription]))
    orders = orders_record(requests=requests, kind=Order.Kind.RENEWAL, placed_by=None)
    Renewal.unscoped.bulk_create(
        [
            Renewal(
                subscription=subscription, period_starts_on=periods[subscription.pk], order=order
            )
            for subscription, order in zip(todo, orders, strict=True)
        ]
    )
    return len(orders)


def _to_last_day(priced: Quote, subscription: Subscription, starts_on: datetime.date) -> Quote:
    """The renewal of the period from `starts_on`, billed up to the
    subscription's last day of service when that comes before the period's end
    (a term ending mid-period), by days: the rule of a new subscription's
    first period (`line_to_last_day`)."""
    period = period_bounds(subscription.starts_on, subscription.billing_period, starts_on)
    lines = [
        line_to_last_day(priced.terms, line, period=period, last_day=subscription.ends_on)
        for line in priced.lines
    ]
    return replace(priced, lines=lines)


def _elsewhere(
    subscriptions: Sequence[Subscription], periods: Mapping[uuid.UUID, datetime.date]
) -> dict[uuid.UUID, dict[object, int]]:
    """For each subscription renewed from `periods[its id]`, the customer's
    other units of its product live on that day (`quote_build`'s `elsewhere`:
    the tier is the one of the total). One query per distinct day; a renewable
    subscription is itself live on its period's first day, so its own units are
    taken off the total."""
    by_day: dict[datetime.date, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        by_day[periods[subscription.pk]].append(subscription)
    elsewhere: dict[uuid.UUID, dict[object, int]] = {}
    for day, renewed in by_day.items():
        totals = live_totals(
            customer_ids={s.customer_id for s in renewed},
            product_ids={s.product_id for s in renewed},
            day=day,
        )
        for s in renewed:
            total = totals.get((s.customer_id, s.product_id), s.quantity)
            elsewhere[s.pk] = {s.product_id: total - s.quantity}
    return elsewhere


def _managing_partnerships(
    subscriptions: Sequence[Subscription], products: dict
) -> dict[tuple, Partnership | None]:
    """`managing_partnership(lock=True)` for each (customer, product) of the
    batch, in three queries: the customers' grants active now, then the chosen
    ones locked (in id order) and read again, as it does."""
    today = timezone.localdate()
    grants: dict[uuid.UUID, list[Partnership]] = defaultdict(list)
    for grant in (
        grants_active_now(today=today)
        .filter(customer_id__in={s.customer_id for s in subscriptions})
        .prefetch_related("products")
        .order_by("access", "activated_at", "created_at")
    ):
        grants[grant.customer_id].append(grant)
    chosen: dict[tuple, uuid.UUID | None] = {}
    for subscription in subscriptions:
        product = products[subscription.product_id]
        chosen[subscription.customer_id, subscription.product_id] = next(
            (
                grant.pk
                for grant in grants[subscription.customer_id]
                if grant.access == Access.FULL or product in grant.products.all()
            ),
            None,
        )
    locked = {
        partnership.pk: partnership
        for partnership in Partnership.unscoped.select_for_update(of=("self",))
        .select_related("partner")
        .filter(pk__in={pk for pk in chosen.values() if pk is not None})
        .order_by("pk")
    }
    return {
        key: locked[pk] if pk is not None and grant_active_now(locked[pk], today=today) else None
        for key, pk in chosen.items()
    }
