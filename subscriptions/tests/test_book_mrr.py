"""The partner's book: MRR month by month, the movements, the drill-down, the API."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from partners.services import collaborators_set, customer_add
from subscriptions import mrr
from subscriptions.models import Subscription
from subscriptions.tests.ledger import open_ledger
from tenants.selectors import org_context_for
from tenants.tests.factories import CustomerFactory
from tests.clock import on

TODAY = datetime.date(2025, 6, 15)
D = datetime.date
BOOK_URL = reverse("api:mrr-book")
MOVES_URL = reverse("api:mrr-movements")


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def movements(**kwargs) -> list[dict]:
    """A month's movements, every row with its subscription changes."""
    return mrr.book_movements(**kwargs).with_subscriptions()


def managed(world, name, currency=None):
    owner = ctx(world.partner_owner, world.partner)
    return customer_add(org=owner, name=name, currency=currency).customer


def sub(customer, price, starts_on, ends_on=None, *, annual=False, currency="CHF", **extra):
    """A subscription written as revision 1 did, with the ledger migrations 0005
    and 0006 give it (`tests.ledger.open_ledger`)."""
    subscription = Subscription.unscoped.create(
        customer=customer,
        product=extra.pop("product", None) or ProductFactory(),
        quantity=extra.pop("quantity", 1),
        unit_price=Decimal(price),
        currency=currency,
        billing_period="annual" if annual else "monthly",
        starts_on=starts_on,
        ends_on=ends_on,
        **extra,
    )
    open_ledger(subscription)
    return subscription


@pytest.fixture
def book(world):
    """Six CHF customers of Alpine whose MRR moves every way from January to June 2025."""
    c = {name: managed(world, name) for name in ("Alpha", "Beta", "Gamma", "Delta", "Eta", "Phi")}
    # Alpha: new in January, expansion in March, contraction in June (its first
    # subscription's last day is 31 May: counted at May's end, gone in June).
    c["alpha_first"] = sub(c["Alpha"], "100", D(2025, 1, 10), D(2025, 5, 31))
    sub(c["Alpha"], "50", D(2025, 3, 1))
    c["alpha_cancelled"] = sub(
        c["Alpha"],
        "500",
        D(2025, 2, 1),
        cancelled_at=on(2025, 3, 10),
    )
    # Beta: paying since 2024, churns in March (last day 28 Feb), reactivates in May.
    sub(c["Beta"], "80", D(2024, 11, 1), D(2025, 2, 28))
    c["beta_back"] = sub(c["Beta"], "60", D(2025, 5, 20))
    # Gamma: annual 1000 (83.33 a month) until 31 March, then annual 500 (41.67).
    sub(c["Gamma"], "1000", D(2024, 6, 1), D(2025, 3, 31), annual=True)
    sub(c["Gamma"], "500", D(2025, 4, 1), annual=True)
    # Delta: new this month; grows on 20 June (the upcoming change).
    sub(c["Delta"], "30", D(2025, 6, 10))
    sub(c["Delta"], "20", D(2025, 6, 20))
    # Eta: paid 5-20 January only (never at a month end), back in April: a reactivation.
    sub(c["Eta"], "70", D(2025, 1, 5), D(2025, 1, 20))
    sub(c["Eta"], "40", D(2025, 4, 1))
    # Phi: free from February (no MRR, no movement), paying from March: new.
    sub(c["Phi"], "0", D(2025, 2, 1))
    sub(c["Phi"], "25", D(2025, 3, 1))
    return c


def _figures(history):
    return {
        h["month"]: (h["mrr"], *(h[kind] for kind in mrr.KINDS[:4]), h["reactivation"])
        for h in history
    }


def test_the_book_month_by_month_with_every_movement(world, book):
    result = mrr.book_mrr(org=ctx(world.partner_owner, world.partner), months=6, today=TODAY)

    z = Decimal("0")
    assert result["currency"] == "CHF"
    assert _figures(result["history"]) == {
        # month: mrr, new, expansion, contraction, churn, reactivation
        "2025-01": (Decimal("263.33"), Decimal("100"), z, z, z, z),
        # Alpha's 500 from 1 February counts until its cancel on 10 March (the ledger)
        "2025-02": (Decimal("763.33"), z, Decimal("500"), z, z, z),
        "2025-03": (Decimal("258.33"), Decimal("25"), z, Decimal("-450"), Decimal("-80"), z),
        "2025-04": (Decimal("256.67"), z, z, Decimal("-41.66"), z, Decimal("40")),
        "2025-05": (Decimal("316.67"), z, z, z, z, Decimal("60")),
        "2025-06": (Decimal("246.67"), Decimal("30"), z, Decimal("-100"), z, z),
    }
    assert result["current_mrr"] == Decimal("246.67")
    assert result["upcoming_mrr"] == Decimal("266.67")  # Delta's +20 on 20 June


def test_each_months_change_is_the_sum_of_its_movements(world, book):
    history = mrr.book_mrr(org=ctx(world.partner_owner, world.partner), months=9, today=TODAY)[
        "history"
    ]

    for previous, month in itertools.pairwise(history):
        moved = sum(month[kind] for kind in mrr.KINDS)
        assert month["mrr"] - previous["mrr"] == moved, month["month"]
    assert all(month["mrr"] == month["mrr"].quantize(Decimal("0.01")) for month in history)


def test_the_drill_down_sums_to_each_figure(world, book):
    org = ctx(world.partner_owner, world.partner)
    history = mrr.book_mrr(org=org, months=6, today=TODAY)["history"]

    for month in history:
        moves = movements(org=org, month=month["month"], today=TODAY)
        for kind in mrr.KINDS:
            assert (
                sum((m["change"] for m in moves if m["kind"] == kind), Decimal("0"))
                == (month[kind])
            ), (month["month"], kind)


def test_the_drill_down_names_the_customers_and_their_subscription_changes(world, book):
    org = ctx(world.partner_owner, world.partner)

    march = movements(org=org, month="2025-03", today=TODAY)
    june = movements(org=org, month="2025-06", kind="contraction", today=TODAY)
    may = movements(org=org, month="2025-05", kind="reactivation", today=TODAY)

    assert [(m["customer"]["name"], m["kind"], m["change"]) for m in march] == [
        ("Phi", "new", Decimal("25.00")),
        ("Alpha", "contraction", Decimal("-450.00")),
        ("Beta", "churn", Decimal("-80.00")),
    ]
    assert [s["change"] for s in march[1]["subscriptions"]] == ["cancelled", "started"]
    assert [s["change"] for s in march[2]["subscriptions"]] == ["ended"]
    [alpha] = june
    assert (alpha["mrr_before"], alpha["mrr_after"]) == (Decimal("150.00"), Decimal("50.00"))
    assert [(s["id"], s["change"]) for s in alpha["subscriptions"]] == [
        (book["alpha_first"].id, "ended")
    ]
    [beta] = may
    assert beta["customer"] == {"id": book["Beta"].id, "name": "Beta"}
    assert beta["subscriptions"][0]["id"] == book["beta_back"].id
    assert beta["subscriptions"][0]["change"] == "started"


def test_a_collaborator_sees_only_the_assigned_customers(world, book):
    owner = ctx(world.partner_owner, world.partner)
    collaborators_set(org=owner, customer=book["Alpha"], user_ids=[world.collaborator.id])
    collaborator = ctx(world.collaborator, world.partner)

    result = mrr.book_mrr(org=collaborator, months=6, today=TODAY)
    moves = movements(org=collaborator, month="2025-03", today=TODAY)

    assert [h["mrr"] for h in result["history"]] == [
        Decimal(n) for n in ("100", "600", "150", "150", "150", "50")
    ]
    assert [m["customer"]["name"] for m in moves] == ["Alpha"]


def test_the_subtree_book_is_for_owners_and_admins_and_holds_what_its_partners_manage(world, book):
    lakeside = ctx(world.sub_partner_owner, world.sub_partner)
    sub_customer = customer_add(org=lakeside, name="Seeblick").customer
    sub(sub_customer, "10", D(2025, 1, 1))
    # below Alpine in the tree, but nobody's grant: in no book (SPEC §3, by who manages now)
    sub(world.customer, "7", D(2025, 1, 1))
    sub(CustomerFactory(name="Unmanaged", parent=world.sub_partner), "3", D(2025, 1, 1))
    collaborator = ctx(world.collaborator, world.partner)

    mine = mrr.book_mrr(org=ctx(world.partner_owner, world.partner), months=1, today=TODAY)
    tree = mrr.book_mrr(
        org=ctx(world.partner_admin, world.partner), months=1, today=TODAY, subtree=True
    )

    assert tree["current_mrr"] - mine["current_mrr"] == Decimal("10")
    with pytest.raises(PermissionDenied):
        mrr.book_mrr(org=collaborator, subtree=True, today=TODAY)
    with pytest.raises(PermissionDenied):
        movements(org=collaborator, month="2025-06", subtree=True, today=TODAY)


def test_currencies_are_separate_books(world, book):
    euro = managed(world, "Euro GmbH", currency="EUR")
    sub(euro, "999", D(2025, 1, 1), currency="EUR")
    sub(world.other_customer, "555", D(2025, 1, 1), currency="EUR")  # another partner's
    owner = ctx(world.partner_owner, world.partner)

    chf = mrr.book_mrr(org=owner, months=1, today=TODAY)
    eur = mrr.book_mrr(org=owner, months=1, currency="EUR", today=TODAY)

    assert chf["current_mrr"] == Decimal("246.67")
    assert (eur["currency"], eur["current_mrr"]) == ("EUR", Decimal("999"))
    assert [
        m["customer"]["name"]
        for m in movements(org=owner, month="2025-01", currency="EUR", today=TODAY)
    ] == ["Euro GmbH"]


def test_another_partners_book_never_counts_ours(world, book):
    other = ctx(world.other_owner, world.other_partner)

    for currency in ("CHF", "EUR"):
        result = mrr.book_mrr(org=other, currency=currency, months=6, today=TODAY, subtree=True)
        assert result["current_mrr"] == 0
        assert all(h["mrr"] == 0 for h in result["history"])
    assert movements(org=other, month="2025-03", today=TODAY, subtree=True) == []


@pytest.mark.parametrize("customers", [3, 30])
def test_the_query_count_does_not_grow_with_the_book(world, customers, django_assert_num_queries):
    product = ProductFactory()
    for n in range(customers):
        customer = managed(world, f"Customer {n}")
        sub(customer, "10", D(2025, 1, 1), product=product)
        sub(customer, "5", D(2025, 3, 1), D(2025, 4, 30), product=product)
        sub(customer, "5", D(2025, 7, 1), product=product)
    org = ctx(world.partner_owner, world.partner)

    # the book kept by deltas (subscriptions.books), its customers not folded
    # yet: the book, the customers pending and of ended grants (one UNION), then
    # theirs counted from the ledger (the subscriptions' ids, their states); and
    # the lookup of the branch's generation (tenants.branch_cache)
    with django_assert_num_queries(5):
        result = mrr.book_mrr(org=org, months=36, today=TODAY)
    # computed (a collaborator's view, or too many to correct): the book 1 (its
    # upcoming MRR read from the same states); with the lookup of the branch's
    # generation (tenants.branch_cache), twice: its figures, its customers' shares
    cache.clear()
    with django_assert_num_queries(3), pytest.MonkeyPatch.context() as patched:
        patched.setattr(mrr, "book_figures", lambda **kwargs: None)
        assert mrr.book_mrr(org=org, months=36, today=TODAY) == result
    # the movements 2, with the generation's lookup
    with django_assert_num_queries(3):
        moves = movements(org=org, month="2025-05", today=TODAY)

    assert result["current_mrr"] == 10 * customers
    assert result["upcoming_mrr"] == 15 * customers
    assert sum(m["change"] for m in moves) == -5 * customers


# --- API ------------------------------------------------------------------------------


def _month(day: datetime.date, back: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - back
    return D(index // 12, index % 12 + 1, 1)


@pytest.fixture
def live_book(world):
    """Relative to today: Alpha since last month (new then), grown this month."""
    today = timezone.localdate()
    alpha = managed(world, "Alpha")
    sub(alpha, "100", _month(today, 1))
    sub(alpha, "1000", _month(today, 0), annual=True)  # 83.33 a month
    return {"today": today, "alpha": alpha}


def test_api_the_book_renders_money_as_strings(world, live_book, api):
    response = api(world.partner_owner, world.partner).get(BOOK_URL, {"months": 3})

    assert response.status_code == 200, response.data
    body = response.json()
    assert (body["currency"], body["current_mrr"], body["upcoming_mrr"]) == (
        "CHF",
        "183.33",
        "183.33",
    )
    assert [h["month"] for h in body["history"]] == [
        _month(live_book["today"], k).strftime("%Y-%m") for k in (2, 1, 0)
    ]
    assert body["history"][1]["new"] == "100.00"
    assert body["history"][2]["expansion"] == "83.33"


def test_api_the_drill_down(world, live_book, api):
    month = live_book["today"].strftime("%Y-%m")

    response = api(world.partner_owner, world.partner).get(
        MOVES_URL, {"month": month, "kind": "expansion"}
    )

    assert response.status_code == 200, response.data
    [move] = response.json()["results"]
    assert move["customer"]["id"] == str(live_book["alpha"].id)
    assert (move["mrr_before"], move["mrr_after"], move["change"]) == ("100.00", "183.33", "83.33")
    assert [s["change"] for s in move["subscriptions"]] == ["started"]


def test_api_the_drill_down_is_paginated(world, live_book, api):
    month = live_book["today"].strftime("%Y-%m")
    sub(managed(world, "Beta"), "20", live_book["today"].replace(day=1))  # new this month
    client = api(world.partner_owner, world.partner)

    everything = client.get(MOVES_URL, {"month": month}).json()
    pages = [
        client.get(MOVES_URL, {"month": month, "page_size": 1, "page": n}).json() for n in (1, 2)
    ]

    assert everything["count"] == pages[0]["count"] == len(everything["results"]) == 2
    assert [p["results"][0] for p in pages] == everything["results"]
    assert pages[0]["next"] and pages[1]["previous"] and not pages[1]["next"]
    assert client.get(MOVES_URL, {"month": month, "page": 3}).status_code == 404


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (BOOK_URL, {"months": 0}, "months"),
        (BOOK_URL, {"months": 37}, "months"),
        (BOOK_URL, {"months": "many"}, "months"),
        (BOOK_URL, {"currency": "USD"}, "currency"),
        (MOVES_URL, {}, "month"),
        (MOVES_URL, {"month": "2025-13"}, "month"),
        (MOVES_URL, {"month": "3000-01"}, "month"),
        (MOVES_URL, {"month": "2025-01", "kind": "growth"}, "kind"),
    ],
)
def test_api_bad_parameters_are_400_with_the_field(world, api, url, params, field):
    response = api(world.partner_owner, world.partner).get(url, params)

    assert response.status_code == 400
    assert field in response.json()


def test_api_the_subtree_is_for_owners_and_admins(world, live_book, api):
    month = live_book["today"].strftime("%Y-%m")
    collaborator = api(world.collaborator, world.partner)

    assert api(world.partner_admin, world.partner).get(BOOK_URL, {"subtree": 1}).status_code == 200
    assert collaborator.get(BOOK_URL, {"subtree": 1}).status_code == 403
    assert collaborator.get(MOVES_URL, {"month": month, "subtree": 1}).status_code == 403
    assert collaborator.get(BOOK_URL).json()["current_mrr"] == "0.00"  # nothing assigned


def test_api_customer_orgs_get_404_and_other_partners_see_nothing_of_ours(world, live_book, api):
    month = live_book["today"].strftime("%Y-%m")
    customer = api(world.customer_owner, world.customer)
    other = api(world.other_owner, world.other_partner)

    for url, params in ((BOOK_URL, {}), (MOVES_URL, {"month": month})):
        assert customer.get(url, params).status_code == 404
    assert other.get(BOOK_URL, {"currency": "CHF", "subtree": 1}).json()["current_mrr"] == "0.00"
    assert (
        other.get(MOVES_URL, {"month": month, "currency": "CHF", "subtree": 1}).json()["results"]
        == []
    )
