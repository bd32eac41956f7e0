"""Reads of the customer list (SPEC §2, issue 25): each customer the user may act
on, with the figures of its row computed by the database in the same query as
the row (correlated subqueries, read for the rows of the page only when the
list is sorted by a column of the customer itself), so a page costs the same
queries at 5 customers and at 10,000.

Indexes the figures rely on: the customers by name (`tenant_customer_name`),
the grants (`partnership_partner_customers`, `partnership_customer_status`),
the subscriptions of a customer (`subscription_customer_start`) and their
ledger (`subscription_change` by subscription), the open offers
(`offer_customer_status`), the upsell switch (its unique `customer_id`).
"""

import datetime
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.selectors import customer_list
from offers.models import Offer
from partners.selectors import grants_active_now, manages_now
from subscriptions import smart_lists
from subscriptions.models import Subscription, mrr_from_twelves
from subscriptions.selectors import CustomerLedgerFigure, mrr_trend
from tenants.models import Tenant
from tenants.selectors import OrgContext
from upsell.models import UpsellSwitch

# `?ordering=` key -> the expression sorted by (smart_lists.CUSTOMER_LIST_ORDERINGS).
ORDER_BY = {
    "name": "name",
    "created_at": "created_at",
    "city": "city",
    "country": "country",
    "mrr": "current_twelves",
    "upcoming_mrr": "upcoming_twelves",
    "seats": "seats",
    "ends_on": "current_end_date",
    "access": "grant_access",
    "upsell": "upsell_on",
    "pending": "pending",
}
assert set(ORDER_BY) == set(smart_lists.CUSTOMER_LIST_ORDERINGS)

_SEATS = (
    "SUM(CASE WHEN since <= {day} AND (until IS NULL OR until > {day}) THEN quantity ELSE 0 END)"
)


def workbench_customers(*, org: OrgContext, today: datetime.date | None = None) -> QuerySet[Tenant]:
    """`customers.selectors.customer_list` (the grant, the primary contact) with
    the workbench's figures: current and upcoming MRR as twelves and the trend,
    the next end date (smart lists' definitions, over the subscriptions the
    partner manages now: a limited grant shows only its products), `seats`
    (the units live today), `upsell_on`, `open_offers` (this partner's offers
    waiting for the customer's answer), `invitation_waiting` (the grant sent
    to a newly invited owner to review) and `pending`, the two added up."""
    today = today or timezone.localdate()
    customers = smart_lists.customers_with_figures(customer_list(org=org), org=org, today=today)
    managed = Subscription.unscoped.filter(
        manages_now(
            partner=org.tenant,
            customer=OuterRef("customer"),
            product=OuterRef("product"),
            today=today,
        )
    )
    open_offers = (
        Offer.unscoped.filter(partner=org.tenant, customer=OuterRef("pk"), status__in=Offer.OPEN)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    invited = (
        grants_active_now(today=today)
        .filter(partner=org.tenant, customer=OuterRef("pk"))
        .exclude(invitation_nonce="")
    )
    return customers.annotate(
        seats=Coalesce(
            CustomerLedgerFigure(managed, _SEATS, today, IntegerField()),
            Value(0),
            output_field=IntegerField(),
        ),
        upsell_on=Exists(UpsellSwitch.unscoped.filter(customer=OuterRef("pk"), enabled=True)),
        open_offers=Coalesce(Subquery(open_offers, output_field=IntegerField()), Value(0)),
        invitation_waiting=Exists(invited),
    ).annotate(
        pending=F("open_offers")
        + Case(When(invitation_waiting=True, then=Value(1)), default=Value(0)),
    )


def workbench_ordered(queryset: QuerySet[Tenant], ordering: str) -> QuerySet[Tenant]:
    """Sorted by one key of ORDER_BY (`-` for descending; the caller validated
    it), customers without a figure (no end date) last either way, then by id in
    the same direction (the API's rule, `CustomerListFilter.ordered`: `name` and
    `-name` both walk the name index)."""
    descending = ordering.startswith("-")
    column = F(ORDER_BY[ordering.removeprefix("-") or "name"])
    key = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return queryset.order_by(key, "-pk" if descending else "pk")


def row_figures(customer: Any) -> dict:
    """A row's money: MRR divided by 12 once and rounded half-up (as smart lists),
    the trend and the difference upcoming minus current."""
    current = mrr_from_twelves(customer.current_twelves)
    upcoming = mrr_from_twelves(customer.upcoming_twelves)
    return {
        "current_mrr": current,
        "upcoming_mrr": upcoming,
        "trend": mrr_trend(customer.upcoming_twelves, customer.current_twelves),
        "difference": upcoming - current,
    }
