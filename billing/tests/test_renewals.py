"""Auto-renewal (SPEC §7): each period of a renewing subscription is billed once,
by the rules of any order, however often the job runs and even when workers race
(the unique constraint on the period, not hope)."""

import datetime
import itertools
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing import tasks
from billing.models import Invoice, Order, Renewal
from billing.services import renewals
from billing.services.orders import period_end
from billing.tests.conftest import grant
from subscriptions.models import Subscription
from subscriptions.services import subscription_build
from tests.clock import on
from tests.concurrency import race

TODAY = datetime.date(2026, 11, 22)


def subscribe(world, product, *, starts_on, quantity=35, **fields) -> Subscription:
    subscription = subscription_build(
        customer=world.customer,
        product=product,
        quantity=quantity,
        unit_price=Decimal("7.44"),
        starts_on=starts_on,
    )
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    return subscription


@pytest.mark.parametrize(
    ("starts_on", "period", "today", "expected"),
    [
        ("2026-09-10", "monthly", "2026-11-22", "2026-11-10"),
        ("2026-09-10", "monthly", "2026-11-09", "2026-10-10"),
        ("2026-11-10", "monthly", "2026-11-22", None),  # still the first period
        ("2026-01-31", "monthly", "2026-02-28", "2026-02-28"),
        ("2026-01-31", "monthly", "2026-03-30", "2026-02-28"),
        ("2026-01-31", "monthly", "2026-03-31", "2026-03-31"),
        ("2024-03-01", "annual", "2026-11-22", "2026-03-01"),
        ("2026-03-01", "annual", "2026-11-22", None),
    ],
)
def test_the_period_a_day_falls_in(starts_on, period, today, expected):
    subscription = Subscription(
        starts_on=datetime.date.fromisoformat(starts_on), billing_period=period
    )
    found = renewals.current_period_start(subscription, datetime.date.fromisoformat(today))
    assert found == (datetime.date.fromisoformat(expected) if expected else None)


def test_periods_follow_each_other_without_gap(hosting):
    start = datetime.date(2026, 1, 31)
    subscription = Subscription(starts_on=start, billing_period="monthly")
    day, starts = start, []
    while day < datetime.date(2026, 6, 1):
        found = renewals.current_period_start(subscription, day) or start
        if not starts or starts[-1] != found:
            starts.append(found)
        day += datetime.timedelta(days=1)
    for current, following in itertools.pairwise(starts):
        assert (
            period_end(current, "monthly", anchor=start) + datetime.timedelta(days=1) == following
        )


def test_due_lists_renewing_subscriptions_whose_period_began_lately(world, hosting, settings):
    settings.RENEWAL_CATCH_UP_DAYS = 7
    due = subscribe(world, hosting, starts_on=datetime.date(2026, 9, 20))  # renewed on 11-20
    subscribe(world, hosting, starts_on=datetime.date(2026, 9, 5))  # 11-05: too long ago
    subscribe(world, hosting, starts_on=datetime.date(2026, 11, 1))  # first period
    # a term that ended before the period began
    subscribe(
        world, hosting, starts_on=datetime.date(2026, 9, 20), ends_on=datetime.date(2026, 11, 19)
    )
    subscribe(
        world,
        hosting,
        starts_on=datetime.date(2026, 9, 20),
        cancelled_at=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC),
    )
    # a term that runs on: billed period by period up to its last day
    term = subscribe(
        world, hosting, starts_on=datetime.date(2026, 9, 20), ends_on=datetime.date(2027, 9, 19)
    )
    assert sorted(renewals.renewals_due(today=TODAY)) == sorted(
        [(str(due.pk), datetime.date(2026, 11, 20)), (str(term.pk), datetime.date(2026, 11, 20))]
    )


@pytest.mark.parametrize(
    ("grant_kwargs", "payer", "charged", "cashback", "discount"),
    [
        (None, "customer", "260.40", "0.00", "0.00"),
        ({"access": "full", "payment": "customer"}, "customer", "260.40", "52.08", "0.00"),
        ({"access": "full", "payment": "partner"}, "partner", "208.32", "0.00", "52.08"),
        ({"access": "limited"}, "customer", "260.40", "52.08", "0.00"),
    ],
    ids=["no partner", "customer pays", "partner pays", "limited"],
)
def test_a_renewal_is_settled_by_the_partnership_of_today(
    world, hosting, grant_kwargs, payer, charged, cashback, discount
):
    if grant_kwargs is not None:
        if grant_kwargs["access"] == "limited":
            grant_kwargs = {**grant_kwargs, "products": [hosting]}
        grant(world, **grant_kwargs)
    subscription = subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20))
    order = renewals.subscription_renew(
        subscription_id=subscription.pk, period_starts_on=datetime.date(2026, 11, 20)
    )
    assert order.kind == "renewal"
    assert (order.payer, order.charged_amount, order.cashback_amount, order.discount_amount) == (
        payer,
        Decimal(charged),
        Decimal(cashback),
        Decimal(discount),
    )
    line = order.lines.get()
    assert (line.subscription, line.quantity, line.period_starts_on, line.period_ends_on) == (
        subscription,
        35,
        datetime.date(2026, 11, 20),
        datetime.date(2026, 12, 19),
    )
    assert order.invoices.get().payer == (world.partner if payer == "partner" else world.customer)


def test_the_job_run_twice_bills_each_period_once(world, hosting):
    subscription = subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20))
    period = datetime.date(2026, 11, 20)
    first = renewals.subscription_renew(subscription_id=subscription.pk, period_starts_on=period)
    again = renewals.subscription_renew(subscription_id=subscription.pk, period_starts_on=period)
    # the task, redelivered, is a no-op too
    assert tasks.renew_subscription(str(subscription.pk), period.isoformat()) is None
    assert first is not None and again is None
    assert Order.unscoped.count() == 1
    assert list(renewals.renewals_due(today=TODAY)) == []


def test_the_unique_constraint_refuses_a_second_renewal_of_a_period(world, hosting):
    subscription = subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20))
    period = datetime.date(2026, 11, 20)
    order = renewals.subscription_renew(subscription_id=subscription.pk, period_starts_on=period)
    with pytest.raises(IntegrityError), transaction.atomic():
        Renewal.unscoped.create(subscription=subscription, period_starts_on=period, order=order)


def test_a_cancelled_subscription_is_not_renewed(world, hosting):
    subscription = subscribe(
        world,
        hosting,
        starts_on=datetime.date(2026, 10, 20),
        cancelled_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
    )
    assert (
        renewals.subscription_renew(
            subscription_id=subscription.pk, period_starts_on=datetime.date(2026, 11, 20)
        )
        is None
    )
    assert not Order.unscoped.exists()


@pytest.mark.time_machine(on(2026, 11, 22))
def test_the_beat_job_places_what_is_due(world, hosting):
    subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20))
    assert tasks.place_renewals() == 1  # eager: the renewal task ran too
    assert tasks.place_renewals() == 0
    assert Order.unscoped.filter(kind="renewal").count() == 1
    assert renewals.renewals_place_due(today=TODAY) == 0


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_period_bill_it_once(world, hosting):
    grant(world, access="full", payment="customer")
    subscription = subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20))
    period = datetime.date(2026, 11, 20)

    outcomes = race(
        lambda: renewals.subscription_renew(
            subscription_id=subscription.pk, period_starts_on=period
        )
    )
    orders = [o for o in outcomes if isinstance(o, Order)]
    assert len(orders) == 1, outcomes
    assert Order.unscoped.count() == 1
    assert Renewal.unscoped.count() == 1
    assert orders[0].cashback_entries.count() == 1


@pytest.mark.time_machine(on(2026, 11, 22))
def test_the_run_renews_in_batches_each_period_once(world, hosting, django_assert_max_num_queries):
    """Seven due subscriptions in batches of three (one already billed by its
    own task): six renewal orders, with their lines, ledger changes, cashback,
    invoices numbered without gap and emails, in a number of queries that does
    not grow with the batch."""
    grant(world, access="full", payment="customer")
    due = [
        subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20), quantity=q)
        for q in range(1, 8)
    ]
    period = datetime.date(2026, 11, 20)
    assert renewals.subscription_renew(subscription_id=due[3].pk, period_starts_on=period)
    # The list (2) and two batches of 22 statements each (24 before issue 28
    # queued the emails unrendered and drew the numbers by UPDATE … RETURNING;
    # one more since the ledger's writer reads its subscriptions' latest change
    # once per batch, to keep their changes in writing order; one more since the
    # tier counts the customers' other live units of the product, per batch;
    # up to two more where renewals move a price, with the UPDATE of the
    # repriced subscriptions; three more since each batch's order.placed,
    # invoice.issued and subscription.changed events are written to the webhook
    # outbox, one insert each, issue 23), whatever their size (one by one, a
    # renewal takes about 20).
    with django_assert_max_num_queries(2 + 2 * 27):
        assert renewals.renewals_place_due(today=TODAY, batch_size=3) == 6
    assert renewals.renewals_place_due(today=TODAY, batch_size=3) == 0
    orders = Order.unscoped.filter(kind="renewal")
    assert orders.count() == 7
    assert sorted(Renewal.unscoped.values_list("subscription_id", flat=True)) == sorted(
        s.pk for s in due
    )
    assert {o.partner for o in orders} == {world.partner}
    for subscription in due:  # each billed its own quantity, at the rules of any order
        order = Order.unscoped.get(lines__subscription=subscription)
        (line,) = order.lines.all()
        assert (line.quantity, line.period_starts_on) == (subscription.quantity, period)
        assert order.cashback_entries.count() == 1
        assert order.invoices.get().payer == world.customer
    numbers = sorted(Invoice.unscoped.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, 8))


@pytest.mark.django_db(transaction=True)
def test_a_batch_racing_single_renewals_bills_each_period_once(world, hosting):
    """A batch run and a one-period task per subscription at the same instant:
    each period once, invoice numbers without gap."""
    grant(world, access="full", payment="customer")
    due = [subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20)) for _ in range(4)]
    period = datetime.date(2026, 11, 20)
    jobs = itertools.cycle(
        [lambda: renewals.renewals_place(due=[(s.pk, period) for s in due])]
        + [
            (lambda s=s: renewals.subscription_renew(subscription_id=s.pk, period_starts_on=period))
            for s in due
        ]
    )
    lock = threading.Lock()

    def next_job():
        with lock:
            job = next(jobs)
        return job()

    race(next_job, count=10)
    assert Renewal.unscoped.count() == 4
    assert Order.unscoped.count() == 4
    numbers = sorted(Invoice.unscoped.values_list("sequence_number", flat=True))
    assert numbers == [1, 2, 3, 4]


@pytest.mark.parametrize("path", ["one by one", "in a batch"])
@pytest.mark.time_machine(on(2026, 11, 22))
def test_a_renewal_is_priced_at_the_tier_of_the_customers_total_quantity(world, hosting, path):
    """SPEC §7 rev. 2: the degressive tier is the one the customer's total
    quantity of the product reaches, as for any order. 3 + 35 web hostings
    renew both at the tier of 38 (25 % off), not the 3 at the list price."""
    small = subscribe(
        world,
        hosting,
        starts_on=datetime.date(2026, 10, 20),
        quantity=3,
        unit_price=Decimal("9.92"),  # ordered alone, at the list price
    )
    large = subscribe(world, hosting, starts_on=datetime.date(2026, 10, 20), quantity=35)
    # ended before the period began: it no longer counts
    subscribe(
        world,
        hosting,
        starts_on=datetime.date(2026, 9, 1),
        quantity=50,
        ends_on=datetime.date(2026, 11, 19),
    )
    period = datetime.date(2026, 11, 20)
    if path == "one by one":
        for subscription in (small, large):
            renewals.subscription_renew(subscription_id=subscription.pk, period_starts_on=period)
    else:
        assert renewals.renewals_place(due=[(small.pk, period), (large.pk, period)]) == 2
    charged = {}
    for subscription in (small, large):
        line = Order.unscoped.get(kind="renewal", lines__subscription=subscription).lines.get()
        assert line.tier_rate == Decimal("0.25")
        charged[subscription.quantity] = line.charged_amount
    # 3 x 9.92 = 29.76, less 25 % = 22.32; 35 x 9.92 = 347.20, less 25 % = 260.40
    assert charged == {3: Decimal("22.32"), 35: Decimal("260.40")}
    # the 3 were opened at the list price (9.92); renewed at the tier of 38, the
    # ledger and the subscription say 7.44 from the period on: MRR is what is billed
    small.refresh_from_db()
    assert small.unit_price == Decimal("7.44")
    change = small.changes.get(kind="renewal")
    assert (change.unit_price_before, change.unit_price_after) == (Decimal("9.92"), Decimal("7.44"))
    assert change.effective_on == period
