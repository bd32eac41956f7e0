"""The subscription ledger (SPEC §4 rev. 2, API.md `subscriptions/{id}/changes/`):
every order line writes one append-only change; the database refuses to edit
one; what existed before the ledger was opened by migration 0005 without any
figure moving."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from billing import tasks as billing_tasks
from billing.models import Order, Renewal
from billing.tests.conftest import grant
from catalog.tests.factories import ProductFactory
from subscriptions import selectors
from subscriptions.models import Subscription, SubscriptionChange
from subscriptions.months import reading_days
from subscriptions.services import LedgerEntry, subscription_build
from subscriptions.tests.ledger import rev1_mrr
from tests.clock import on
from tests.isolation import assert_all_404, missing_id

LIST = "/api/v1/subscriptions/"


@pytest.fixture
def hosting(db):
    return ProductFactory(code="web-hosting", prices={"CHF": "9.92", "EUR": "5.75"})


def changes_url(subscription_id) -> str:
    return f"{LIST}{subscription_id}/changes/"


@pytest.mark.time_machine(on(2026, 12, 6))
def test_an_order_opens_the_ledger_and_each_renewal_adds_to_it(world, api, hosting, time_machine):
    grant(world, access="full", payment="customer")
    client = api(world.customer_owner, world.customer)

    placed = client.post(LIST, {"product": "web-hosting", "quantity": 3}).json()
    subscription_id = placed["subscription"]["id"]
    time_machine.move_to(on(2027, 1, 6))
    assert billing_tasks.place_renewals() == 1

    changes = api(world.customer_owner, world.customer).get(changes_url(subscription_id)).json()
    renewal = Renewal.unscoped.get()
    assert [
        (c["kind"], c["quantity_before"], c["quantity_after"], c["effective_on"], c["order"])
        for c in changes
    ] == [
        ("new", 0, 3, "2026-12-06", placed["order"]["id"]),
        ("renewal", 3, 3, "2027-01-06", str(renewal.order_id)),
    ]
    assert [(c["unit_price_before"], c["unit_price_after"]) for c in changes] == [
        ("0.00", "9.92"),
        ("9.92", "9.92"),
    ]


def test_the_ledger_is_read_as_the_subscription_is(world, api, hosting):
    grant(world, access="limited", products=[hosting])
    placed = api(world.customer_owner, world.customer).post(
        LIST, {"product": "web-hosting", "quantity": 1}
    )
    url = changes_url(placed.json()["subscription"]["id"])

    assert api(world.partner_owner, world.partner).get(url).status_code == 200
    assert api(world.customer_user, world.customer).get(url).status_code == 200
    for outsider in (
        api(world.other_owner, world.other_partner),
        api(world.other_customer_owner, world.other_customer),
        api(world.collaborator, world.partner),  # not assigned to Müller
    ):
        assert_all_404(outsider, [url, changes_url(missing_id())], methods=["get"])


def test_a_change_is_never_edited_nor_deleted(world, api, hosting):
    api(world.customer_owner, world.customer).post(LIST, {"product": "web-hosting", "quantity": 1})
    change = SubscriptionChange.unscoped.get()

    with pytest.raises(ValueError):
        change.save()
    with pytest.raises(ValueError):
        change.delete()
    with pytest.raises(ValueError):
        SubscriptionChange.unscoped.filter(pk=change.pk).update(quantity_after=1000)
    # and below the ORM, the database's trigger
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE subscriptions_subscriptionchange SET quantity_after = 1000 WHERE id = %s",
            [change.pk.hex if connection.vendor == "sqlite" else change.pk],
        )
    if connection.vendor == "postgresql":  # SQLite keeps DELETE for the test runner's flush
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM subscriptions_subscriptionchange WHERE id = %s", [change.pk]
            )
    change.refresh_from_db()
    assert change.quantity_after == 1


@pytest.mark.migrations
@pytest.mark.django_db(transaction=True)
def test_migration_opens_the_ledger_for_what_existed_without_moving_a_figure(world, hosting):
    """Migrate back before the ledger, write subscriptions the way revision 1 did
    (free rows, an order, a renewal, a cancel), migrate forward: every subscription
    has the changes that explain it (0007: the end of one with a last day), and
    every MRR figure is what it was, now read from the ledger."""
    executor = MigrationExecutor(connection)
    executor.migrate([("subscriptions", "0004_products_in_catalog")])
    executor.loader.build_graph()
    try:
        grant(world, access="full", payment="customer")
        day = datetime.date
        rows = [
            subscription_build(
                customer=world.customer,
                product=hosting,
                quantity=quantity,
                unit_price=Decimal(price),
                starts_on=starts,
                ends_on=ends,
            )
            for quantity, price, starts, ends in [
                (35, "7.44", day(2025, 1, 10), None),
                (5, "9.92", day(2025, 6, 1), day(2025, 12, 31)),
                (2, "9.92", day(2026, 2, 1), None),
            ]
        ]
        Subscription.unscoped.bulk_create(rows)
        Subscription.unscoped.filter(pk=rows[2].pk).update(
            cancelled_at=on(2026, 3, 15).astimezone(datetime.UTC)
        )
        # revision 1's figures, by its rule over the rows (the ledger does not exist yet)
        before = {
            month: [
                {"month": d.strftime("%Y-%m"), "mrr": rev1_mrr(world.customer.pk, d)}
                for d in reading_days(month, 12)
            ]
            for month in (day(2025, 12, 31), day(2026, 6, 30))
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    after = {
        month: selectors.customer_mrr(customer=world.customer, today=month)["history"]
        for month in before
    }
    # Read from the ledger (migrations 0005 and 0007), every figure is what it was,
    # but for the cancelled subscription's: it counts until its cancel, as the
    # ledger says (2 x 9.92 at the end of February 2026), where revision 1 never
    # counted a cancelled subscription at all.
    before[day(2026, 6, 30)][7]["mrr"] += Decimal("19.84")
    assert after == before
    ledger = {
        row.pk: list(
            row.changes.order_by("effective_on").values_list(
                "kind", "quantity_before", "quantity_after", "effective_on"
            )
        )
        for row in rows
    }
    assert ledger == {
        rows[0].pk: [("new", 0, 35, day(2025, 1, 10))],
        rows[1].pk: [("new", 0, 5, day(2025, 6, 1)), ("cancel", 5, 0, day(2026, 1, 1))],
        rows[2].pk: [("new", 0, 2, day(2026, 2, 1)), ("cancel", 2, 0, day(2026, 3, 15))],
    }
    assert not Order.unscoped.exists()


@pytest.mark.time_machine(on(2026, 12, 6))
def test_a_cancel_closes_the_ledger(world, api, hosting):
    client = api(world.customer_owner, world.customer)
    subscription_id = client.post(LIST, {"product": "web-hosting", "quantity": 2}).json()[
        "subscription"
    ]["id"]

    ended = client.delete(f"{LIST}{subscription_id}/")
    assert ended.status_code == 200

    changes = client.get(changes_url(subscription_id)).json()
    assert [(c["kind"], c["quantity_before"], c["quantity_after"]) for c in changes] == [
        ("new", 0, 2),
        ("cancel", 2, 0),
    ]
    assert changes[1]["effective_on"] == "2026-12-06"
    assert changes[1]["order"] == ended.json()["order"]["id"]  # the credit order


def test_what_an_order_line_did_is_named_by_the_quantities():
    def kind(before_quantity, after_quantity):
        sub = Subscription(quantity=after_quantity, unit_price=Decimal("9.92"))
        return LedgerEntry.change((before_quantity, Decimal("9.92")), sub).kind

    assert [kind(0, 3), kind(3, 5), kind(5, 3), kind(35, 35)] == [
        "new",
        "increase",
        "decrease",
        "renewal",  # an offer's absolute quantity equal to what is there: billed again
    ]


@pytest.mark.time_machine(on(2026, 12, 6))
def test_a_bulk_load_writes_what_subscriptions_open_writes(world, hosting):
    """`subscriptions_load` (the scale seed's COPY, issue 27) against
    `subscriptions_open` on the same rows for two customers: the same
    subscriptions, the same changes in the same reading order, rows that say
    what their ledgers say, the same MRR on every day; and no event (no outbox
    row) for the loaded history."""
    from subscriptions.services import NewSubscription, subscriptions_load, subscriptions_open
    from tenants.tests.factories import CustomerFactory
    from webhooks.models import WebhookEvent

    annual = ProductFactory(billing_period="annual", prices={"CHF": "120.00"})
    specs = [
        (hosting, 3, Decimal("9.92"), datetime.date(2025, 1, 15), None),
        (hosting, 2, Decimal("9.92"), datetime.date(2025, 3, 1), datetime.date(2026, 2, 28)),
        (annual, 1, Decimal("120.00"), datetime.date(2024, 6, 1), datetime.date(2024, 6, 1)),
        (annual, 4, Decimal("99.50"), datetime.date(2027, 1, 1), datetime.date(2027, 12, 31)),
    ]
    opened, loaded = world.customer, CustomerFactory(parent=world.partner, currency="CHF")
    subscriptions_open(
        [
            subscription_build(
                customer=opened, product=p, quantity=q, unit_price=u, starts_on=s, ends_on=e
            )
            for p, q, u, s, e in specs
        ]
    )
    events = WebhookEvent.objects.count()
    written = subscriptions_load(
        NewSubscription(loaded.pk, loaded.currency, p.pk, p.billing_period, q, u, s, e)
        for p, q, u, s, e in specs
    )

    assert written == len(specs) and WebhookEvent.objects.count() == events

    def book(customer):
        rows = {}
        for s in Subscription.unscoped.filter(customer=customer).prefetch_related("changes"):
            changes = sorted(s.changes.all(), key=lambda c: (c.effective_on, c.created_at))
            key = (s.product_id, s.quantity, s.unit_price, s.currency, s.billing_period)
            fields = ("kind", "quantity_before", "unit_price_before", "quantity_after")
            fields += ("unit_price_after", "effective_on", "order_id")
            rows[(*key, s.starts_on, s.ends_on, s.cancelled_at)] = [
                tuple(getattr(c, name) for name in fields) for c in changes
            ]
        return rows

    assert book(loaded) == book(opened)
    assert len(book(loaded)) == len(specs)
    subscriptions = Subscription.unscoped.filter(customer__in=[opened, loaded])
    assert selectors.ledger_consistent(subscriptions) == []
    for day in (datetime.date(2024, 6, 1), datetime.date(2026, 2, 28), datetime.date(2026, 3, 1)):
        for customer in (opened, loaded):
            widget = selectors.customer_mrr(customer=customer, today=day, months=1)
            assert widget["current_mrr"] == rev1_mrr(customer.pk, day), (customer, day)
