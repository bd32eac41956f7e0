"""The book's figures are cached until the book changes (subscriptions.book_cache,
tenants.branch_cache): a second read costs one primary-key lookup (the
branch's generation in the database, moved on only when Redis could not be),
every write that can change a figure retires it, and another branch's writes
do not."""

import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.cache import cache

from catalog.tests.factories import ProductFactory
from core.redis_faults import redis_fault_counts
from partners.models import Access, Partnership
from partners.selectors import customers_visible_count
from partners.services import (
    collaborators_set,
    customer_add,
    partnership_accept,
    partnership_end,
    partnership_invite_partner,
)
from partners.tasks import expire_partnerships
from subscriptions import mrr, services
from subscriptions.tests.ledger import books_computed, subscribed  # noqa: F401 (a fixture)
from tenants.branch_cache import _generation_key, branch_cached, branch_changed, branch_of
from tenants.models import BranchGeneration
from tenants.selectors import org_context_for
from tenants.services import tenant_move
from tenants.tests.factories import CustomerFactory
from tenders.selectors import programme_progress
from tests.clock import on
from tests.redis_outage import BlackHole, fake_redis_cache, stalled_redis_cache

# These tests are about one day (the first day of a month): they travel there (tests/clock.py).
MOMENT = on(2027, 3, 1)
TODAY = MOMENT.date()
# the computed and cached book (a kept one: test_books.py)
pytestmark = [pytest.mark.time_machine(MOMENT), pytest.mark.usefixtures("books_computed")]
MONTH = TODAY.strftime("%Y-%m")


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def subscribe(org, customer, product, price="10.00", quantity=1):
    return subscribed(org, customer, product, price, TODAY.replace(day=1), quantity=quantity)


@pytest.fixture
def book(world):
    owner = ctx(world.partner_owner, world.partner)
    product, other_product = ProductFactory(), ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    beta = customer_add(org=owner, name="Beta").customer
    return {
        "owner": owner,
        "alpha": alpha,
        "beta": beta,
        "product": product,
        "other_product": other_product,
        "alpha_sub": subscribe(owner, alpha, product, "100.00"),
        "beta_sub": subscribe(owner, beta, product, "40.00"),
    }


@contextmanager
def served_from_the_cache(django_assert_num_queries, figures: int):
    """Each of `figures` reads costs the lookup of its branch's generation in the
    database, and no other query."""
    with django_assert_num_queries(figures) as captured:
        yield
    assert all("tenants_branchgeneration" in q["sql"] for q in captured.captured_queries)


def current_mrr(org, **kwargs) -> Decimal:
    return mrr.book_mrr(org=org, months=1, **kwargs)["current_mrr"]


def test_a_second_read_is_served_from_the_cache(world, book, django_assert_num_queries):
    owner = book["owner"]
    first = mrr.book_mrr(org=owner, months=3)
    moves = mrr.book_movements(org=owner, month=MONTH).moves
    programme = programme_progress(partner=world.partner)

    with served_from_the_cache(django_assert_num_queries, 3):
        assert mrr.book_mrr(org=owner, months=3) == first
        assert mrr.book_movements(org=owner, month=MONTH).moves == moves
        assert programme_progress(partner=world.partner) == programme
    assert first == mrr.book_mrr(org=owner, months=3, cached=False)
    assert first["current_mrr"] == Decimal("140.00")


def test_the_cached_movements_are_compact_and_a_page_turns_its_rows_into_money(book):
    movements = mrr.book_movements(org=book["owner"], month=MONTH)

    rows = movements.with_subscriptions(movements.moves[1:])

    assert [(m.kind, m.name, m.before_cents, m.after_cents) for m in movements.moves] == [
        ("new", "Alpha", 0, 10000),
        ("new", "Beta", 0, 4000),
    ]
    assert movements.total == Decimal("140.00")
    [beta] = rows
    assert beta["customer"] == {"id": book["beta"].id, "name": "Beta"}
    assert (beta["mrr_before"], beta["mrr_after"], beta["change"]) == (
        Decimal("0.00"),
        Decimal("40.00"),
        Decimal("40.00"),
    )
    assert [(s["id"], s["change"]) for s in beta["subscriptions"]] == [
        (book["beta_sub"].id, "started")
    ]


def _create(world, book):
    subscribe(book["owner"], book["alpha"], book["other_product"], "5.00")
    return Decimal("145.00")


def _update(world, book):
    before = (book["alpha_sub"].quantity, book["alpha_sub"].unit_price)
    changed = services.subscription_update(
        org=book["owner"], subscription=book["alpha_sub"], data={"quantity": 2}
    )
    # the order that changes it records the change (an accepted offer's)
    services.ledger_record(entries=[(changed, services.LedgerEntry.change(before, changed))])
    return Decimal("240.00")


def _cancel(world, book):
    services.subscription_cancel(org=book["owner"], subscription=book["beta_sub"])
    return Decimal("100.00")


def _end_the_partnership(world, book):
    partnership = Partnership.unscoped.get(partner=world.partner, customer=book["alpha"])
    world.partner_owner.set_password("secret-pass-1")
    world.partner_owner.save()
    partnership_end(org=book["owner"], partnership=partnership, password="secret-pass-1")
    return Decimal("40.00")


def _change_the_currency(world, book):
    book["beta"].currency = "EUR"
    book["beta"].save(update_fields=["currency"])
    return Decimal("100.00")


@pytest.mark.parametrize(
    "write",
    [_create, _update, _cancel, _end_the_partnership, _change_the_currency],
)
def test_every_write_to_the_book_retires_its_cached_figures(world, book, write):
    owner = book["owner"]
    assert current_mrr(owner) == Decimal("140.00")

    expected = write(world, book)

    assert current_mrr(owner) == expected == current_mrr(owner, cached=False)


def test_a_limited_grants_products_retire_the_figures(world, book):
    owner = book["owner"]
    partnership = Partnership.unscoped.get(partner=world.partner, customer=book["beta"])
    partnership.access, partnership.payment = Access.LIMITED, ""
    partnership.save(update_fields=["access", "payment"])
    assert current_mrr(owner) == Decimal("100.00")  # a limited grant of no product

    partnership.products.add(book["product"])

    assert current_mrr(owner) == Decimal("140.00")


def test_assigning_a_customer_retires_the_collaborators_book(world, book):
    collaborator = ctx(world.collaborator, world.partner)
    assert current_mrr(collaborator) == 0
    assert mrr.book_movements(org=collaborator, month=MONTH).moves == []

    collaborators_set(org=book["owner"], customer=book["alpha"], user_ids=[world.collaborator.id])

    assert current_mrr(collaborator) == Decimal("100.00")
    assert [m.name for m in mrr.book_movements(org=collaborator, month=MONTH).moves] == ["Alpha"]


def test_a_sub_tree_is_who_manages_now_not_where_the_customer_hangs(world, book):
    """Moving a customer in the tree retires both branches' figures, and changes
    none: a sub-tree is the customers its partners manage now (SPEC §3)."""
    admin = ctx(world.partner_admin, world.partner)
    other = ctx(world.other_owner, world.other_partner)
    assert current_mrr(admin, subtree=True) == Decimal("140.00")
    assert current_mrr(other, subtree=True, currency="CHF") == 0

    tenant_move(tenant=book["beta"], new_parent=world.other_partner)

    assert current_mrr(admin, subtree=True) == Decimal("140.00")
    assert current_mrr(admin, subtree=True, cached=False) == Decimal("140.00")
    assert current_mrr(other, subtree=True, currency="CHF") == 0


def test_a_sub_partners_grant_retires_the_parents_sub_tree(world, book):
    admin = ctx(world.partner_admin, world.partner)
    lakeside = ctx(world.sub_partner_owner, world.sub_partner)
    assert current_mrr(admin, subtree=True) == Decimal("140.00")

    seeblick = customer_add(org=lakeside, name="Seeblick").customer
    subscribe(lakeside, seeblick, book["product"], "25.00")

    assert current_mrr(admin, subtree=True) == Decimal("165.00")
    assert current_mrr(admin) == Decimal("140.00")  # Alpine's own book: not Lakeside's


def test_a_grants_end_date_passing_retires_the_figures_without_a_write(
    world, book, time_machine, django_assert_num_queries
):
    """The figures are keyed by the day they are read on, the day a grant's
    `ends_on` is compared with: the day after its last day they are computed
    afresh without the grant, before the expiry job has run (and it changes none)."""
    owner, admin = book["owner"], ctx(world.partner_admin, world.partner)
    time_machine.move_to(on(2027, 3, 1, 23, 57))  # figures cached now live 10 minutes
    grant = Partnership.unscoped.get(partner=world.partner, customer=book["alpha"])
    grant.ends_on = TODAY  # its last day
    grant.save(update_fields=["ends_on"])

    def figures() -> tuple:
        return (
            current_mrr(owner),
            current_mrr(admin, subtree=True),
            [m.name for m in mrr.book_movements(org=owner, month=MONTH).moves],
            programme_progress(partner=world.partner)["currencies"][0]["yearly_value"],
            customers_visible_count(org=owner),
        )

    # The book's subscriptions were written without orders: the programme, which
    # counts invoices, reads 0 (its date rule: tests/test_manages_now.py).
    on_the_last_day = (Decimal("140.00"), Decimal("140.00"), ["Alpha", "Beta"], 0, 2)
    assert figures() == on_the_last_day
    with served_from_the_cache(django_assert_num_queries, 5):
        assert figures() == on_the_last_day  # cached

    time_machine.move_to(on(2027, 3, 2, 0, 1))
    without_alpha = (Decimal("40.00"), Decimal("40.00"), ["Beta"], 0, 1)
    assert figures() == without_alpha
    assert expire_partnerships() == 1
    assert figures() == without_alpha


def test_a_partner_in_another_branch_sees_its_customers_changes(world, book):
    """A customer of Alpine's branch that invited Rhein: its subscriptions are in
    Rhein's book, so a write retires Rhein's figures too."""
    customer = ctx(world.customer_owner, world.customer)
    rhein = ctx(world.other_owner, world.other_partner)
    partnership = partnership_invite_partner(
        org=customer, partner=world.other_partner, access=Access.FULL, payment="customer"
    )
    partnership_accept(org=rhein, partnership=partnership)
    assert current_mrr(rhein, currency="CHF") == 0

    subscribe(rhein, world.customer, book["product"], "25.00")

    assert current_mrr(rhein, currency="CHF") == Decimal("25.00")


def test_another_branchs_writes_keep_our_figures(world, book, django_assert_num_queries):
    owner = book["owner"]
    rhein = ctx(world.other_owner, world.other_partner)
    current_mrr(owner)
    theirs = customer_add(org=rhein, name="Theirs").customer

    subscribe(rhein, theirs, book["product"], "99.00")

    with served_from_the_cache(django_assert_num_queries, 1):
        assert current_mrr(owner) == Decimal("140.00")


def test_a_figure_computed_from_data_before_the_commit_is_never_read_after_it(
    world, django_capture_on_commit_callbacks
):
    """A reader that ran beside the write stored its figure under the generation
    the write moved to at once: the commit moves it again."""
    path = world.partner.path
    with django_capture_on_commit_callbacks() as callbacks:
        branch_changed(paths=[path])
        branch_cached(path=path, key=("figure",), compute=lambda: "before the commit")
    assert branch_cached(path=path, key=("figure",), compute=lambda: "fresh") == (
        "before the commit"
    )

    for callback in callbacks:
        callback()

    assert branch_cached(path=path, key=("figure",), compute=lambda: "fresh") == "fresh"


def test_an_evicted_generation_never_brings_back_an_older_figure(world):
    path = world.partner.path
    branch_cached(path=path, key=("figure",), compute=lambda: "old")

    cache.delete(_generation_key(branch_of(path)))

    assert branch_cached(path=path, key=("figure",), compute=lambda: "new") == "new"


def test_a_branch_is_the_top_level_partner_and_everything_below(world):
    deep = CustomerFactory(parent=world.sub_partner)

    assert branch_of(deep.path) == branch_of(world.partner.path)
    assert branch_of(world.other_customer.path) == branch_of(world.other_partner.path)
    assert branch_of(world.partner.path) != branch_of(world.other_partner.path)


# Redis down (issue 28): reads compute from the database, retirements that miss
# Redis move the branch's generation in the database, and no figure stored
# before the outage is served after it.


@pytest.fixture
def redis_server(settings):
    return fake_redis_cache(settings)


def test_a_figure_read_while_redis_is_down_is_computed_from_the_database(world, book, redis_server):
    owner = book["owner"]
    assert current_mrr(owner) == Decimal("140.00")  # cached
    before = redis_fault_counts().get("reading cached figures", 0)

    redis_server.connected = False
    assert current_mrr(owner) == Decimal("140.00")
    subscribe(owner, book["alpha"], book["other_product"], "7.00")
    assert current_mrr(owner) == Decimal("147.00")
    assert customers_visible_count(org=owner) == 2

    assert redis_fault_counts()["reading cached figures"] == before + 3


def test_a_retirement_during_an_outage_never_serves_a_stale_figure_after_redis_returns(
    world, book, redis_server, django_capture_on_commit_callbacks
):
    owner = book["owner"]
    assert current_mrr(owner) == Decimal("140.00")  # cached, in the Redis that goes away

    redis_server.connected = False
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(owner, book["alpha"], book["other_product"], "7.00")
    redis_server.connected = True

    assert current_mrr(owner) == Decimal("147.00")
    assert BranchGeneration.objects.filter(pk=branch_of(world.partner.path)).exists()


def test_a_retirement_after_the_commit_that_misses_redis_still_retires(
    world, redis_server, django_capture_on_commit_callbacks
):
    """The bump at once reached Redis and a reader beside the write stored a
    figure from the data before the commit under it; Redis then went away
    before the bump after the commit: the database's generation retires it."""
    path = world.partner.path
    with django_capture_on_commit_callbacks() as callbacks:
        branch_changed(paths=[path])
        branch_cached(path=path, key=("figure",), compute=lambda: "before the commit")
    assert not BranchGeneration.objects.exists()

    redis_server.connected = False
    for callback in callbacks:
        callback()
    redis_server.connected = True

    assert branch_cached(path=path, key=("figure",), compute=lambda: "fresh") == "fresh"


def test_a_stalled_redis_costs_a_read_its_timeout_not_redis_pys_default(world, book, settings):
    owner = book["owner"]
    with BlackHole() as hole:
        stalled_redis_cache(settings, hole, timeout=0.2)
        started = time.monotonic()

        assert current_mrr(owner) == Decimal("140.00")

        assert time.monotonic() - started < 2.0  # one 0.2 s timeout, not 5 s
