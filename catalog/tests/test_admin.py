"""Django admin asks the catalog service's questions (SPEC §2): an active
product without a price in every currency, or with tiers that are not
degressive, is refused there too, and what it saves is audited."""

import pytest

from catalog.models import Product
from tenants.models import AuditEvent

pytestmark = pytest.mark.django_db

ADD = "/admin/catalog/product/add/"


def inline(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{key}": value for key, value in row.items()})
    return data


def product(prices: list[dict], tiers: list[dict] = (), is_active: bool = True) -> dict:
    return {
        "code": "backup-standard",
        "name": "Backup Standard",
        "description": "",
        "category": "backup",
        "family": "",
        "edition_rank": "0",
        "billing_period": "monthly",
        **({"is_active": "on"} if is_active else {}),
        **inline("prices", prices),
        **inline("tiers", list(tiers)),
    }


def test_admin_refuses_an_active_product_without_a_price_in_every_currency(world, client):
    client.force_login(world.staff)
    response = client.post(ADD, product([{"currency": "CHF", "amount": "5.50"}]))
    assert response.status_code == 200  # the form again, with its error
    assert "missing: EUR" in response.content.decode()
    assert not Product.objects.exists()


def test_admin_refuses_tiers_that_are_not_degressive(world, client):
    client.force_login(world.staff)
    prices = [{"currency": "CHF", "amount": "5.50"}, {"currency": "EUR", "amount": "5.00"}]
    tiers = [{"min_quantity": "10", "rate": "0.2"}, {"min_quantity": "50", "rate": "0.1"}]
    response = client.post(ADD, product(prices, tiers))
    assert response.status_code == 200
    assert "larger discount" in response.content.decode()
    assert not Product.objects.exists()


def test_admin_saves_a_priced_product_and_audits_it(world, client):
    client.force_login(world.staff)
    prices = [{"currency": "CHF", "amount": "5.50"}, {"currency": "EUR", "amount": "5.00"}]
    response = client.post(ADD, product(prices, [{"min_quantity": "35", "rate": "0.25"}]))
    assert response.status_code == 302
    saved = Product.objects.get(code="backup-standard")
    assert saved.prices.count() == 2 and saved.tiers.count() == 1
    event = AuditEvent.unscoped.get(tenant=world.provider)
    assert event.action == AuditEvent.Action.PRODUCT_CREATED
    assert event.details["after"]["prices"] == {"CHF": "5.50", "EUR": "5.00"}
