import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
    Expression,
    F,
    Field,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Lead, Round
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.selectors import assigned_only, customer_get_for_partner
from subscriptions.models import Subscription, SubscriptionChange
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
    subscription_id = uuid_or_404(subscription_id, _("No such subscription."))
    subscription = subscriptions_for(org=org).filter(pk=subscription_id).first()
    if subscription is None:
        raise Http404(_("No such subscription."))
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
    raise Http404(_("No such customer."))


# --- MRR from the ledger (SPEC §4 rev. 2): the one rule --------------------------------
#
# A subscription's state on a day is the one after its last change effective on
# or before that day (`effective_on`, then `created_at`, then `id`): quantity_after
# x unit_price_after, per month (an annual price ÷ 12); none before its first
# change, and nothing once a change took it to 0 (its end, a cancel, an upgrade's
# end of the edition it replaces). `ledger_states` turns each change into the
# days it holds, [since, until): until is the next change's day (none: for good),
# so a change followed on the same day by another holds no day at all. The
# widget, the book, the movements and the smart lists all sum these rows.

MONTHLY = Case(When(subscription__billing_period="annual", then=Value(1)), default=Value(12))
TWELVES_FIELD: DecimalField = DecimalField(max_digits=24, decimal_places=2)


def ledger_states(
    subscriptions: QuerySet[Subscription], *, with_twelves: bool = True
) -> tuple[str, list]:
    """SQL (and its parameters) of the states of `subscriptions`' ledgers, one row
    per change: `customer_id`, `subscription_id`, `since`, `until` (None: for
    good), `quantity` (0: not live), `cents` (twelve times the MRR in whole
    cents: exact sums on every database) and, `with_twelves`, `twelves` (twelve
    times the MRR, a decimal) and the subscription's `ends_on` (its last day of
    service, which its ledger's end states: `ledger_consistent`). Windowed by
    customer then subscription, so the database can narrow it to one customer
    first, and hand the rows on sorted by customer."""
    columns = {
        "customer_id": F("subscription__customer_id"),
        "since": F("effective_on"),
        "until": Window(
            Lead("effective_on"),
            partition_by=[F("subscription__customer_id"), F("subscription_id")],
            order_by=[F("effective_on").asc(), F("created_at").asc(), F("id").asc()],
        ),
        "quantity": F("quantity_after"),
        "cents": Cast(Round(F("unit_price_after") * Value(100)), BigIntegerField())
        * F("quantity_after")
        * MONTHLY,
    }
    if with_twelves:
        columns["twelves"] = Cast(
            F("quantity_after") * F("unit_price_after") * MONTHLY, TWELVES_FIELD
        )
        columns["ends_on"] = F("subscription__ends_on")
    states = (
        SubscriptionChange.unscoped.filter(subscription__in=subscriptions.order_by().values("pk"))
        .order_by()
        .annotate(**{f"st_{name}": value for name, value in columns.items()})
        .values(*(f"st_{name}" for name in columns))
    )
    sql, params = states.query.get_compiler(using=states.db).as_sql()
    names = ", ".join(f"st_{name} AS {name}" for name in columns)
    return f"SELECT {names} FROM ({sql}) ledger", list(params)  # noqa: S608 (no values)


def state_on(day: datetime.date | str, *, using: str = "default") -> tuple[str, list]:
    """SQL: the state row holds on `day` (a date, or SQL naming one: then no parameter)."""
    if isinstance(day, str):
        return f"(since <= {day} AND (until IS NULL OR until > {day}))", []
    value = connections[using].ops.adapt_datefield_value(day)
    return "(since <= %s AND (until IS NULL OR until > %s))", [value, value]


# A state that holds at least one day (a change superseded on its own day holds none).
HOLDS = "(until IS NULL OR until > since)"


class CustomerLedgerFigure(Expression):
    """A figure of the outer query's customer (its `pk`) read from the ledgers of
    `subscriptions` (`ledger_states`): `figure(day_sql)` is the SQL of one
    aggregate over the states, given the SQL of the day (`day`: a date, or an
    expression of the outer query, as the day of a customer's next change).
    A correlated subquery: the database narrows the states to the customer."""

    def __init__(
        self,
        subscriptions: QuerySet[Subscription],
        figure: str,
        day: datetime.date | Any,
        output_field: Field,
    ) -> None:
        super().__init__(output_field=output_field)
        self.subscriptions, self.figure, self.day = subscriptions, figure, day
        self.pk: Any = F("pk")

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> "CustomerLedgerFigure":
        clone = self.copy()
        clone.pk = self.pk.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        if not isinstance(self.day, datetime.date):
            clone.day = self.day.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return clone

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        states, states_params = ledger_states(self.subscriptions)
        pk_sql, pk_params = compiler.compile(self.pk)
        if isinstance(self.day, datetime.date):
            day_sql, day_params = "%s", [connection.ops.adapt_datefield_value(self.day)]
        else:
            day_sql, day_params = compiler.compile(self.day)
        figure = self.figure.replace("{day}", day_sql)
        sql = f"(SELECT {figure} FROM ({states}) states WHERE customer_id = {pk_sql})"  # noqa: S608
        return sql, [*(day_params * self.figure.count("{day}")), *states_params, *pk_params]


def cents_money(cents_twelves: Decimal | int | None) -> Decimal:
    """MRR from a sum of twelve times whole cents, rounded half-up to 0.01 once."""
    twelves = Decimal(int(cents_twelves or 0))
    return (twelves / 1200).quantize(CENT, rounding=ROUND_HALF_UP)


def _fetch_one(using: str, sql: str, params: list) -> tuple:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _as_date(value: datetime.date | str | None) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def ledger_consistent(subscriptions: QuerySet[Subscription]) -> list[Subscription]:
    """The subscriptions whose row says something their ledger does not (none when
    all is well; the tests run it over the demo seed and random histories). The
    ledger's last change that leaves it live must state the row's quantity and
    unit price; its last state is 0 from the day after `ends_on` exactly when the
    row has a last day; a cancelled one's last state is 0; one that renews and
    is not cancelled is live at the end of its ledger."""
    wrong = []
    day = datetime.timedelta(days=1)
    for subscription in subscriptions.prefetch_related("changes"):
        changes = sorted(
            subscription.changes.all(), key=lambda c: (c.effective_on, c.created_at, c.pk.hex)
        )
        live = [c for c in changes if c.quantity_after > 0]
        state = (subscription.quantity, subscription.unit_price)
        ok = bool(live) and (live[-1].quantity_after, live[-1].unit_price_after) == state
        if ok:
            held = list({c.effective_on: c for c in changes}.values())  # each day's last
            trailing = [c.effective_on for c in held[len(held) - _zeros(held) :]]
            ended_on = min(trailing, default=None)  # the first day of the final 0
            if subscription.cancelled_at is not None:
                ok = ended_on is not None
            elif subscription.ends_on is None:
                ok = ended_on is None
            else:
                ok = ended_on == subscription.ends_on + day
        if not ok:
            wrong.append(subscription)
    return wrong


def mrr_trend(upcoming: Decimal, current: Decimal) -> str:
    """Up, down or flat: the upcoming MRR against the current one."""
    if upcoming > current:
        return "up"
    return "down" if upcoming < current else "flat"


def _zeros(changes: list[SubscriptionChange]) -> int:
    """How many changes at the end of an ordered ledger leave it at 0."""
    count = 0
    for change in reversed(changes):
        if change.quantity_after > 0:
            break
        count += 1
    return count


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
    states, states_params = ledger_states(base)
    using = base.db
    days = reading_days(today, months)
    columns, params = [], []
    for day in [today, *days]:
        holds, holds_params = state_on(day, using=using)
        columns.append(f"SUM(CASE WHEN {holds} THEN cents ELSE 0 END)")
        params += holds_params
    holds, holds_params = state_on(today, using=using)
    columns.append(f"MIN(CASE WHEN {holds} AND quantity > 0 THEN ends_on END)")
    params += holds_params
    columns.append(f"MIN(CASE WHEN since > %s AND {HOLDS} THEN since END)")
    params.append(connections[using].ops.adapt_datefield_value(today))
    sql = f"SELECT {', '.join(columns)} FROM ({states}) states"  # noqa: S608 (no values)
    row = _fetch_one(using, sql, params + states_params)
    current = cents_money(row[0])
    history = [cents_money(cents) for cents in row[1 : 1 + len(days)]]
    current_end, change_on = _as_date(row[-2]), _as_date(row[-1])
    upcoming = None
    if change_on is not None:
        holds, holds_params = state_on(change_on, using=using)
        then = _fetch_one(
            using,
            f"SELECT SUM(CASE WHEN {holds} THEN cents ELSE 0 END), "  # noqa: S608
            f"MIN(CASE WHEN since > %s AND {HOLDS} THEN since END) FROM ({states}) states",
            [
                *holds_params,
                connections[using].ops.adapt_datefield_value(change_on),
                *states_params,
            ],
        )
        after = _as_date(then[1])
        mrr = cents_money(then[0])
        upcoming = {
            "mrr": mrr,
            "trend": mrr_trend(mrr, current),
            "starts_on": change_on,
            "ends_on": after - datetime.timedelta(days=1) if after else None,
        }
    return {
        "currency": customer.currency,
        "current_mrr": current,
        "current_end_date": current_end,
        "upcoming": upcoming,
        "history": [
            {"month": day.strftime("%Y-%m"), "mrr": mrr}
            for day, mrr in zip(days, history, strict=True)
        ],
    }
