"""Auto-renewal (SPEC §7): a live subscription is billed again at the start of
each billing period after its first — forever when it has no end date (it
renews), up to its last day when it has one (a term set by an offer) — and each
period is billed once, by a renewal order placed by the same rules as any order.

Who orders a renewal: the partner managing the product when there is one (it
"renews for the customer", so a full partner-pays partnership is billed the
preferential price), else the customer. The partnership is read at renewal time.
"""

import datetime
import logging
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Order, Renewal
from billing.proration import current_period_start
from billing.services.orders import LineRequest, order_record, quote_build
from catalog.models import Product
from partners.models import Side
from partners.selectors import managing_partnership
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
        Renewal.objects.filter(period_starts_on__gte=since).values_list(
            "subscription_id", "period_starts_on"
        )
    )
    candidates = (
        Subscription.objects.filter(cancelled_at__isnull=True, starts_on__lt=today)
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
                Subscription.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(pk=subscription_id)
                .first()
            )
            if subscription is None or not _renewable(subscription, period_starts_on):
                return None
            if Renewal.objects.filter(
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
            )
            order = order_record(
                quote=priced,
                kind=Order.Kind.RENEWAL,
                placed_by=None,
                period_starts_on=period_starts_on,
                subscriptions=[subscription],
            )
            Renewal.objects.create(
                subscription=subscription, period_starts_on=period_starts_on, order=order
            )
            return order
    except IntegrityError:
        log.info("renewal of %s from %s already billed", subscription_id, period_starts_on)
        return None


def renewals_place_due(*, today: datetime.date | None = None) -> int:
    """Place every renewal due today; returns how many were placed."""
    today = today or timezone.localdate()
    return sum(
        1
        for subscription_id, period in list(renewals_due(today=today))
        if subscription_renew(subscription_id=subscription_id, period_starts_on=period)
    )
