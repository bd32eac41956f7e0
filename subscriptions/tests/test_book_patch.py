"""After a write to a few customers' subscriptions, the book's cached figures are
patched (tenants.branch_cache, mrr.BookShares, Moves.replaced): only those
customers are read again, and the figures are those computed afresh, to the
cent, after any sequence of writes. A write that names no customers, a log
entry gone, or more customers than a patch takes: computed afresh."""

import datetime
import random
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from fakeredis import FakeStrictRedis

from catalog.tests.factories import ProductFactory
from core.exceptions import Conflict
from partners.models import Partnership
from partners.selectors import customers_visible_count
from partners.services import customer_add, partnership_end
from subscriptions import mrr, services
from subscriptions.models import Subscription
from subscriptions.tests.ledger import books_computed, open_ledger, subscribed  # noqa: F401 (a fixture)
from tenants import branch_cache
from tenants.branch_cache import TIMEOUT, Change, _log_key, branch_changed, branch_of
from tests.clock import on
from tests.redis_outage import fake_redis_cache

MOMENT = on(2027, 3, 15)
TODAY = MOMENT.date()
# the computed and cached book (a kept one: test_books.py)
pytestmark = [pytest.mark.time_machine(MOMENT), pytest.mark.usefixtures("books_computed")]
MONTHS = ("2027-01", "2027-02", "2027-03")


@pytest.fixture
def owner(world):
    from tenants.selectors import org_context_for

    return org_context_for(user=world.partner_owner, tenant_id=world.partner.id)


@pytest.fixture
def computed(monkeypatch):
    """How many times each figure was computed over the whole book."""
    counts = {"shares": 0, "movements": 0}
    read, series, customers_in = (
        mrr.BookShares.read.__func__,
        mrr._customer_series,
        mrr.customers_in,
    )
    patches: list = []  # the querysets narrowed to the written customers

    def counted_read(cls, subscriptions, ends, today):
        counts["shares"] += 1
        return read(cls, subscriptions, ends, today)

    def narrowed(subscriptions, customers):
        patches.append(customers_in(subscriptions, customers))
        return patches[-1]

    def counted_series(subscriptions, ends):
        if not any(subscriptions is patch for patch in patches):
            counts["movements"] += 1
        return series(subscriptions, ends)

    monkeypatch.setattr(mrr.BookShares, "read", classmethod(counted_read))
    monkeypatch.setattr(mrr, "_customer_series", counted_series)
    monkeypatch.setattr(mrr, "customers_in", narrowed)
    return counts


subscribe = subscribed


def assert_served_as_fresh(org, computed=None):
    """The cached figures are those computed afresh (the fresh computations
    are not counted in `computed`)."""
    served = mrr.book_mrr(org=org, months=4)
    movements = {m: list(mrr.book_movements(org=org, month=m).moves) for m in MONTHS}
    counted = dict(computed or {})
    assert served == mrr.book_mrr(org=org, months=4, cached=False)
    for month in MONTHS:
        fresh = mrr.book_movements(org=org, month=month, cached=False).moves
        assert movements[month] == list(fresh)
    if computed is not None:
        computed.update(counted)
    return served


@pytest.fixture(params=["local memory", "redis"])
def backend(request, settings):
    """Both caches the figures meet: the tests' local memory, and Redis (a
    fakeredis server: WATCH and MULTI, as production's)."""
    if request.param == "redis":
        fake_redis_cache(settings)
    return request.param


def test_random_writes_patch_the_book_to_the_figures_computed_afresh(owner, computed, backend):
    rng = random.Random(27)
    products = [ProductFactory(), ProductFactory()]
    customers = [customer_add(org=owner, name=name).customer for name in "ABCDE"]
    live: list[Subscription] = []
    for customer in customers[:3]:
        live.append(subscribe(owner, customer, products[0], "10.00", datetime.date(2027, 1, 1)))
    assert_served_as_fresh(owner, computed)
    assert computed == {"shares": 1, "movements": len(MONTHS)}

    for _ in range(40):
        action = rng.choice(["create", "create", "update", "cancel"])
        try:
            if action == "create" or not live:
                start = TODAY + datetime.timedelta(days=rng.randint(-60, 40))
                end = rng.choice([None, start + datetime.timedelta(days=rng.randint(0, 90))])
                live.append(
                    subscribe(
                        owner,
                        rng.choice(customers),
                        rng.choice(products),
                        f"{rng.randint(1, 5000) / 100:.2f}",
                        start,
                        end,
                        quantity=rng.randint(1, 3),
                    )
                )
            elif action == "update":
                subscription = rng.choice(live)
                before = (subscription.quantity, subscription.unit_price)
                changed = services.subscription_update(
                    org=owner, subscription=subscription, data={"quantity": rng.randint(1, 9)}
                )
                services.ledger_record(
                    entries=[(changed, services.LedgerEntry.change(before, changed))]
                )
            else:
                subscription = live.pop(rng.randrange(len(live)))
                services.subscription_cancel(org=owner, subscription=subscription)
        except (ValidationError, Conflict):
            continue  # a rule of the service's, not the cache's
        assert_served_as_fresh(owner, computed)

    # every write was one customer's: patched, never the whole book again
    assert computed == {"shares": 1, "movements": len(MONTHS)}
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] > 0


def test_a_patch_keeps_the_customer_count_and_reads_only_the_written_customer(
    world, owner, computed, django_assert_num_queries
):
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert customers_visible_count(org=owner) == 1
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")

    subscribe(owner, alpha, product, "5.00", TODAY)

    # the count: its generation's lookup only; the book: two lookups, the
    # written customer's subscriptions and its row
    with django_assert_num_queries(1):
        assert customers_visible_count(org=owner) == 1
    with django_assert_num_queries(4):
        assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("15.00")
    assert computed["shares"] == 1


def test_a_write_to_subscriptions_alone_keeps_the_programme_an_invoice_retires_it(
    world, owner, django_assert_num_queries
):
    from partners.services import partnership_accept, partnership_invite_partner
    from tenants.selectors import org_context_for
    from tenders.selectors import programme_progress
    from tenders.tests.invoicing import invoiced

    product = ProductFactory(code="web-hosting", prices={"CHF": "9.92"})
    invited = partnership_invite_partner(
        org=org_context_for(user=world.customer_owner, tenant_id=world.customer.id),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    partnership_accept(org=owner, partnership=invited)
    before = programme_progress(partner=world.partner)

    subscribe(owner, world.customer, product, "10.00", datetime.date(2027, 1, 1))
    with django_assert_num_queries(1):  # the generation's lookup: kept
        assert programme_progress(partner=world.partner) == before

    invoiced(world, product, 10)  # an order: its subscription, then its invoice
    chf = programme_progress(partner=world.partner)["currencies"][0]
    assert (chf["currency"], chf["yearly_value"]) == ("CHF", Decimal("99.20"))


def test_a_share_past_four_bytes_of_cents_is_kept_exact(owner, computed):
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")

    subscribe(owner, alpha, product, "30000000.00", datetime.date(2027, 2, 1))  # 3e9 cents

    assert assert_served_as_fresh(owner)["current_mrr"] == Decimal("30000010.00")
    assert computed["shares"] == 1


def test_patches_never_keep_a_book_past_the_bound_of_its_first_computation(
    owner, computed, time_machine
):
    """A write that bypasses the services (an operator's SQL) shows within
    TIMEOUT of the computation a patched book started from, however often it
    is patched since."""
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")

    time_machine.shift(TIMEOUT - 100)
    subscribe(owner, alpha, product, "5.00", TODAY)
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("15.00")
    assert computed["shares"] == 1  # patched

    time_machine.shift(110)
    subscribe(owner, alpha, product, "1.00", TODAY)
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("16.00")
    assert computed["shares"] == 2  # computed afresh


def test_a_write_to_more_customers_than_a_patch_takes_computes_the_book_afresh(
    owner, computed, monkeypatch
):
    monkeypatch.setattr(mrr, "PATCH_CUSTOMERS_MAX", 1)
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    beta = customer_add(org=owner, name="Beta").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert assert_served_as_fresh(owner, computed)["current_mrr"] == Decimal("10.00")

    subscribe(owner, alpha, product, "5.00", TODAY)
    subscribe(owner, beta, product, "4.00", TODAY)

    assert assert_served_as_fresh(owner, computed)["current_mrr"] == Decimal("19.00")
    assert computed == {"shares": 2, "movements": 2 * len(MONTHS)}


def test_a_write_that_names_no_customer_computes_the_book_afresh(world, owner, computed):
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    beta = customer_add(org=owner, name="Beta").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    subscribe(owner, beta, product, "4.00", datetime.date(2027, 1, 1))
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("14.00")

    world.partner_owner.set_password("secret-pass-1")
    world.partner_owner.save()
    partnership = Partnership.unscoped.get(partner=world.partner, customer=alpha)
    partnership_end(org=owner, partnership=partnership, password="secret-pass-1")

    assert assert_served_as_fresh(owner)["current_mrr"] == Decimal("4.00")
    assert computed["shares"] == 2


def test_a_lost_part_of_the_shares_computes_the_book_afresh(world, owner, computed, settings):
    server = fake_redis_cache(settings)
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")
    client = FakeStrictRedis(server=server)
    parts = client.keys(":1:branch-figure:*:*:*")
    assert len(parts) == mrr.BookShares.PARTS
    client.delete(*parts)

    subscribe(owner, alpha, product, "5.00", TODAY)

    assert assert_served_as_fresh(owner)["current_mrr"] == Decimal("15.00")
    assert computed["shares"] == 2


def test_a_patch_is_stored_only_over_the_entry_it_started_from(settings):
    """Two readers patch the same entry: the second to store finds the
    entry changed and stores nothing (its figures are right all the same)."""
    fake_redis_cache(settings)
    head = branch_cache._PartedHead("head", "token")
    started_from = ((1, ""), head, 100.0)
    cache.set("figure", started_from)

    with branch_cache._guarded("figure", started_from) as store:
        cache.set("figure", ((2, ""), head, 100.0))  # the other reader's patch
        store({"figure": ((2, ""), branch_cache._PartedHead("ours", "token"), 100.0)}, 60)

    assert cache.get("figure")[1].head == "head"
    with branch_cache._guarded("figure", cache.get("figure")) as store:
        store({"figure": ((3, ""), branch_cache._PartedHead("ours", "token"), 100.0)}, 60)
    assert cache.get("figure")[1].head == "ours"


def test_a_lost_log_entry_computes_the_book_afresh(world, owner, computed):
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")
    branch = branch_of(world.partner.path)
    generation = cache.get(f"branch-generation:{branch}")

    subscribe(owner, alpha, product, "5.00", TODAY)
    cache.delete(_log_key(branch, generation + 1))

    assert assert_served_as_fresh(owner)["current_mrr"] == Decimal("15.00")
    assert computed["shares"] == 2


def test_a_patch_made_from_data_before_the_commit_is_patched_again_after_it(world, owner):
    """A reader beside the write patches the customer under the first new
    generation from the data before the commit; the bump after the commit is
    logged with the same customer, so the next read reads it again."""
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    first = subscribe(owner, alpha, product, "10.00", datetime.date(2027, 1, 1))
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")

    after_the_commit = branch_changed(
        paths=[world.partner.path], change=Change(frozenset([str(alpha.pk)]))
    )
    # the reader beside the write: the new subscription is not there yet
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")
    # the write's rows, with no signal of their own
    added = Subscription(
        customer=alpha,
        product=product,
        quantity=1,
        unit_price=Decimal("7.00"),
        currency=first.currency,
        starts_on=datetime.date(2027, 2, 1),
    )
    Subscription.unscoped.bulk_create([added])
    open_ledger(added)
    assert mrr.book_mrr(org=owner, months=4)["current_mrr"] == Decimal("10.00")  # stale

    after_the_commit()

    assert assert_served_as_fresh(owner)["current_mrr"] == Decimal("17.00")


def test_moves_replaced_keeps_the_order_of_moves_computed_afresh():
    def move(kind, name, n, before, after):
        return mrr.Move(kind, name, f"00000000-0000-0000-0000-{n:012d}", before, after)

    rows = [
        move("new", "Beta", 2, 0, 500),
        move("new", "Alpha", 1, 0, 100),
        move("churn", "Gamma", 3, 300, 0),
        move("expansion", "Delta", 4, 100, 200),
    ]
    moves = mrr.Moves(sorted(rows, key=mrr.move_order))
    again = [move("contraction", "Alpha", 1, 200, 100), move("new", "Epsilon", 5, 0, 50)]

    replaced = moves.replaced([rows[1].customer_id, rows[2].customer_id, "absent"], again)

    expected = sorted([rows[0], rows[3], *again], key=mrr.move_order)
    assert list(replaced) == expected
    assert list(replaced.of_kind("new")) == [m for m in expected if m.kind == "new"]
    assert replaced.change_cents == sum(m.after_cents - m.before_cents for m in expected)
