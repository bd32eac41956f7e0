import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from partners.selectors import assigned_only, customer_get_for_partner
from subscriptions.models import Subscription, SubscriptionChange, mrr_from_twelves, mrr_sum
from subscriptions.months import reading_days
from tenants.models import Tenant
from tenants.selectors import OrgContext, uuid_or_404

CENT = Decimal("0.01")


def subscriptions_for(*, org: OrgContext) -> QuerySet[Subscription]:
    """The subscriptions the organization may see: a partner user those whose
    product its partner manages now for their customer (under a limited grant,
    the listed products only; a collaborator, of its assigned customers); a
    customer its own."""
    tenant = org.tenant
    if not (tenant.is_customer or tenant.is_partner):
        return Subscription.objects.none()
    # The scoping entry: a customer's own, or for a partner those it manages now
    # (manages_now with the product, core.scoping); then a collaborator's.
    qs = Subscription.objects.for_org(tenant).select_related("customer", "product")
    if tenant.is_customer:
        return qs
    return assigned_only(org, qs, "customer")


def subscription_get(*, org: OrgContext, subscription_id: object) -> Subscription:
    """One subscription the organization may see; anything else is a 404 like a missing id."""
    subscription_id = uuid_or_404(subscription_id, "No such subscription.")
    subscription = subscriptions_for(org=org).filter(pk=subscription_id).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def subscription_as_saved(*, subscription: Subscription) -> Subscription:
    """A subscription the caller loaded in this request (subscription_get), read
    again after a write for the answer: by its id, not a second permission check."""
    return Subscription.unscoped.select_related("customer", "product").get(pk=subscription.pk)


def subscription_changes(*, subscription: Subscription) -> QuerySet[SubscriptionChange]:
    """The ledger of a subscription the caller was allowed to read, oldest first."""
    return SubscriptionChange.unscoped.filter(subscription=subscription).order_by(
        "effective_on", "created_at", "pk"
    )


def subscription_customer_get(*, org: OrgContext, customer_id: object) -> Tenant:
    """The customer whose subscriptions or MRR `org` asks for: one a partner user
    may act on, or the customer organization itself; anything else is a 404."""
    if org.tenant.is_partner:
        return customer_get_for_partner(org=org, customer_id=customer_id)
    if org.tenant.is_customer and str(customer_id) in (str(org.tenant.pk), org.tenant.pk.hex):
        return org.tenant
    raise Http404("No such customer.")


def _live_on(day: datetime.date) -> Q:
    """The condition of SubscriptionQuerySet.active_on, as a Q for conditional aggregates
    (over rows already filtered to those not cancelled)."""
    return Q(starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def _next_change(
    next_start: datetime.date | None, last_end: datetime.date | None
) -> datetime.date | None:
    """The first day anything changes: a start, or the day after a last day of service."""
    days = [d for d in (next_start, last_end and last_end + datetime.timedelta(days=1)) if d]
    return min(days, default=None)


def mrr_trend(upcoming: Decimal, current: Decimal) -> str:
    """Up, down or flat: the upcoming MRR against the current one."""
    if upcoming > current:
        return "up"
    return "down" if upcoming < current else "flat"


def customer_mrr_seen_by(*, org: OrgContext, customer: Tenant, **kwargs: Any) -> dict:
    """The customer's MRR as `org` may see it: a partner under a limited grant
    sees only the products it manages (like the subscription list); the customer
    and a full-access partner see everything."""
    seen = subscriptions_for(org=org).filter(customer=customer)
    return customer_mrr(customer=customer, subscriptions=seen, **kwargs)


def customer_mrr(
    *,
    customer: Tenant,
    today: datetime.date | None = None,
    months: int = 12,
    subscriptions: QuerySet[Subscription] | None = None,
) -> dict:
    """The customer's subscription widget (SPEC §4): current MRR and its end date,
    the upcoming MRR after the next change with its trend and dates, and the MRR
    of each of the last `months` months: on its last day, and as of today for
    the current month (`months.reading_days`), over `subscriptions`, by default
    all of the customer's.

    Two aggregate queries, whatever the number of subscriptions: one for today
    and the history, one for the upcoming period (its day is known only then).
    Each figure is summed unrounded by the database and rounded once, half-up.
    """
    today = today or timezone.localdate()
    base = (
        subscriptions
        if subscriptions is not None
        else Subscription.unscoped.filter(customer=customer)
    )
    live = base.filter(cancelled_at__isnull=True).order_by()
    days = reading_days(today, months)
    now = live.aggregate(
        current=mrr_sum(_live_on(today)),
        current_end=Min("ends_on", filter=_live_on(today)),
        next_start=Min("starts_on", filter=Q(starts_on__gt=today)),
        last_end=Min("ends_on", filter=Q(ends_on__gte=today)),
        **{f"m{i}": mrr_sum(_live_on(day)) for i, day in enumerate(days)},
    )
    current = mrr_from_twelves(now["current"])
    upcoming = None
    change_on = _next_change(now["next_start"], now["last_end"])
    if change_on is not None:
        then = live.aggregate(
            mrr=mrr_sum(_live_on(change_on)),
            next_start=Min("starts_on", filter=Q(starts_on__gt=change_on)),
            last_end=Min("ends_on", filter=Q(ends_on__gte=change_on)),
        )
        after = _next_change(then["next_start"], then["last_end"])
        mrr = mrr_from_twelves(then["mrr"])
        upcoming = {
            "mrr": mrr,
            "trend": mrr_trend(mrr, current),
            "starts_on": change_on,
            "ends_on": after - datetime.timedelta(days=1) if after else None,
        }
    return {
        "currency": customer.currency,
        "current_mrr": current,
        "current_end_date": now["current_end"],
        "upcoming": upcoming,
        "history": [
            {"month": day.strftime("%Y-%m"), "mrr": mrr_from_twelves(now[f"m{i}"])}
            for i, day in enumerate(days)
        ],
    }
