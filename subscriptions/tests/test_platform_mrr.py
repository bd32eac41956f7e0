"""The platform's MRR and movements by partner (`GET provider/mrr/`, the provider
console's MRR page): one selector, figures per currency, never summed across."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from subscriptions import mrr
from subscriptions.platform_mrr import platform_mrr
from subscriptions.tests.test_book_mrr import TODAY, book, ctx, sub  # noqa: F401 (fixture)
from tenants.models import Role
from tenants.tests.factories import CustomerFactory, MembershipFactory, PartnerFactory
from tests.clock import on

pytestmark = pytest.mark.django_db
D = datetime.date
URL = reverse("api:provider-mrr")
Z = Decimal("0.00")


@pytest.fixture
def platform(world, book):  # noqa: F811
    """Alpine's CHF book (test_book_mrr), plus: Lakeside's (below Alpine) customer
    new in June at CHF 10; a direct customer of the provider paying CHF 5 from
    February to 31 May (churn in June); Rhein's EUR customer Bergmann at EUR 100
    from April, and a customer of an idle partner that never paid."""
    lake = CustomerFactory(name="Lake Cafe", parent=world.sub_partner)
    sub(lake, "10", D(2025, 6, 1))
    direct = CustomerFactory(name="Direct GmbH", parent=world.provider)
    sub(direct, "5", D(2025, 2, 1), D(2025, 5, 31))
    sub(world.other_customer, "100", D(2025, 4, 1), currency="EUR")
    idle = PartnerFactory(name="Idle AG", parent=world.provider)
    sub(CustomerFactory(parent=idle), "0", D(2025, 3, 1))
    return world


def _rows(result):
    return [
        (
            p["partner"]["name"] if p["partner"] else None,
            p["currency"],
            p["mrr"],
            *(p[kind] for kind in mrr.KINDS),
        )
        for p in result["partners"]
    ]


def test_platform_mrr_per_currency_and_the_months_movements_by_partner(platform):
    result = platform_mrr(months=6, today=TODAY)

    assert result["month"] == "2025-06"
    assert result["months"] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    chf, eur = result["currencies"]
    assert chf["currency"] == "CHF" and eur["currency"] == "EUR"
    # Alpine's book (test_book_mrr) plus the direct customer's 5 from February to
    # May and Lakeside's 10 in June; never converted, never added to the EUR.
    assert [m["mrr"] for m in chf["history"]] == [
        Decimal("263.33"),
        Decimal("768.33"),
        Decimal("263.33"),
        Decimal("261.67"),
        Decimal("321.67"),
        Decimal("256.67"),
    ]
    june = chf["history"][-1]
    assert (june["new"], june["expansion"], june["contraction"], june["churn"]) == (
        Decimal("40.00"),
        Z,
        Decimal("-100.00"),
        Decimal("-5.00"),
    )
    assert chf["current_mrr"] == Decimal("256.67")
    assert [m["mrr"] for m in eur["history"]] == [Z, Z, Z, Decimal("100.00")] + [
        Decimal("100.00")
    ] * 2
    assert eur["history"][3]["new"] == Decimal("100.00")
    assert all(isinstance(m["mrr"], Decimal) for m in chf["history"] + eur["history"])
    # month: mrr, new, expansion, contraction, churn, reactivation
    assert _rows(result) == [
        ("Alpine IT", "CHF", Decimal("246.67"), Decimal("30.00"), Z, Decimal("-100.00"), Z, Z),
        ("Lakeside", "CHF", Decimal("10.00"), Decimal("10.00"), Z, Z, Z, Z),
        (None, "CHF", Z, Z, Z, Z, Decimal("-5.00"), Z),
        ("Rhein Cloud", "EUR", Decimal("100.00"), Z, Z, Z, Z, Z),
    ]


def test_the_platform_is_the_sum_of_its_partners_and_each_month_of_its_movements(platform):
    for label in platform_mrr(months=6, today=TODAY)["months"]:
        result = platform_mrr(months=6, month=label, today=TODAY)
        for currency in result["currencies"]:
            month = next(m for m in currency["history"] if m["month"] == label)
            rows = [p for p in result["partners"] if p["currency"] == currency["currency"]]
            for figure in ("mrr", *mrr.KINDS):
                assert month[figure] == sum((p[figure] for p in rows), Z), (label, figure)
    for currency in platform_mrr(months=6, today=TODAY)["currencies"]:
        history = currency["history"]
        for before, after in itertools.pairwise(history):
            moved = sum((after[kind] for kind in mrr.KINDS), Z)
            assert after["mrr"] - before["mrr"] == moved


def test_a_past_month_by_partner(platform):
    result = platform_mrr(months=6, month="2025-03", today=TODAY)
    alpine = next(
        p for p in result["partners"] if p["partner"] and p["partner"]["name"] == "Alpine IT"
    )
    assert (alpine["mrr"], alpine["new"], alpine["contraction"], alpine["churn"]) == (
        Decimal("258.33"),
        Decimal("25.00"),
        Decimal("-450.00"),
        Decimal("-80.00"),
    )


def test_one_query_per_currency_whatever_the_number_of_partners(
    platform, django_assert_num_queries
):
    with django_assert_num_queries(2):
        few = platform_mrr(months=12, today=TODAY)
    for n in range(5):
        partner = PartnerFactory(parent=platform.provider)
        sub(CustomerFactory(parent=partner), f"{n + 1}", D(2025, 5, 1))
    with django_assert_num_queries(2):
        many = platform_mrr(months=12, today=TODAY)
    assert len(many["partners"]) == len(few["partners"]) + 5


@pytest.mark.time_machine(on(2025, 6, 15))
def test_a_month_outside_the_window_is_refused(platform, api):
    client = api(platform.staff)
    response = client.get(URL, {"months": 3, "month": "2025-01"})
    assert response.status_code == 400
    assert "month" in response.json()
    assert client.get(URL, {"months": 0}).status_code == 400


@pytest.mark.time_machine(on(2025, 6, 15))
def test_staff_read_the_platform_figures_by_api(platform, api):
    response = api(platform.staff).get(URL, {"months": 6})
    assert response.status_code == 200
    data = response.json()
    assert data["month"] == "2025-06"
    assert data["currencies"][0] == {
        "currency": "CHF",
        "current_mrr": "256.67",
        "history": data["currencies"][0]["history"],
    }
    assert data["currencies"][0]["history"][-1]["churn"] == "-5.00"
    assert data["partners"][0]["partner"] == {
        "id": str(platform.partner.pk),
        "name": "Alpine IT",
    }
    assert data["partners"][0]["mrr"] == "246.67"
    assert data["partners"][2]["partner"] is None


def test_anyone_but_staff_gets_404_and_anonymous_401(platform, api):
    outsiders = [
        (platform.partner_owner, platform.partner),
        (platform.customer_owner, platform.customer),
        (platform.other_owner, platform.other_partner),
    ]
    for user, tenant in outsiders:
        response = api(user, tenant).get(URL)
        assert response.status_code == 404, user
        assert "Alpine" not in response.content.decode()
    assert api().get(URL).status_code == 401


def test_provider_members_are_provider_staff(platform, api):
    """API.md: `provider/mrr/` for provider staff, who are platform staff and the
    provider organization's owners, admins and collaborators (provider_staff_of)."""
    member = MembershipFactory(tenant=platform.provider, role=Role.COLLABORATOR).user
    assert api(member, platform.provider).get(URL).status_code == 200
    assert ctx(member, platform.provider).tenant == platform.provider
