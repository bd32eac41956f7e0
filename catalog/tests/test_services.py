"""The catalog's writes (SPEC §2, §4): an active product has a price above zero
in every currency, its tiers are degressive, only staff write, and every write
is in the provider's audit log. The console, the API and admin all call these."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.models import PriceTier, Product
from catalog.services import product_create, product_status_set, product_update
from catalog.tests.factories import ProductFactory
from tenants.models import AuditEvent

pytestmark = pytest.mark.django_db

BACKUP = {
    "code": "backup-standard",
    "name": "Backup Standard",
    "category": "backup",
    "family": "backup",
    "edition_rank": 1,
    "billing_period": "monthly",
}
PRICES = {"CHF": Decimal("5.50"), "EUR": Decimal("5.00")}


def tier(quantity, rate):
    return {"min_quantity": quantity, "rate": Decimal(rate)}


def refused(field, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        product_create(**kwargs)
    assert set(caught.value.message_dict) == {field}
    return caught.value.message_dict[field]


@pytest.mark.parametrize(
    "prices, missing",
    [({"CHF": Decimal("5.50")}, "EUR"), ({"EUR": Decimal("5")}, "CHF"), ({}, "CHF, EUR")],
)
def test_an_active_product_without_a_price_in_every_currency_is_refused(world, prices, missing):
    [message] = refused("prices", actor=world.staff, prices=prices, **BACKUP)
    assert message.endswith(f"missing: {missing}.")
    assert not Product.objects.exists()
    assert not AuditEvent.unscoped.exists()


def test_an_inactive_product_may_wait_for_its_prices_but_is_not_sold_before(world):
    product = product_create(
        actor=world.staff, prices={"CHF": Decimal("5.50")}, is_active=False, **BACKUP
    )
    with pytest.raises(ValidationError) as caught:
        product_status_set(actor=world.staff, product=product, is_active=True)
    assert "missing: EUR" in caught.value.message_dict["prices"][0]
    with pytest.raises(ValidationError):
        product_update(actor=world.staff, product=product, is_active=True)
    product.refresh_from_db()
    assert not product.is_active

    product_update(actor=world.staff, product=product, prices=PRICES, is_active=True)
    product.refresh_from_db()
    assert product.is_active
    assert {p.currency: p.amount for p in product.prices.all()} == PRICES


def test_an_active_product_cannot_lose_a_currency(world):
    product = product_create(actor=world.staff, prices=PRICES, **BACKUP)
    with pytest.raises(ValidationError) as caught:
        product_update(actor=world.staff, product=product, prices={"CHF": Decimal("6")})
    assert "missing: EUR" in caught.value.message_dict["prices"][0]
    assert {p.currency: p.amount for p in product.prices.all()} == PRICES


@pytest.mark.parametrize(
    "prices",
    [
        {"CHF": Decimal("0"), "EUR": Decimal("5")},
        {"CHF": Decimal("-1"), "EUR": Decimal("5")},
        {**PRICES, "USD": Decimal("5")},
    ],
)
def test_a_price_is_above_zero_in_a_known_currency(world, prices):
    refused("prices", actor=world.staff, prices=prices, **BACKUP)
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "tiers, message",
    [
        ([tier(1, "0.1")], "starts from 2 units"),
        ([tier(10, "0.1"), tier(10, "0.2")], "its own min_quantity"),
        ([tier(10, "0")], "more than 0 %"),
        ([tier(10, "0.95")], "at most 90 %"),
        ([tier(10, "0.2"), tier(50, "0.1")], "larger discount"),
        ([tier(10, "0.2"), tier(50, "0.2")], "larger discount"),
    ],
)
def test_tiers_that_are_not_degressive_are_refused(world, tiers, message):
    messages = refused("tiers", actor=world.staff, prices=PRICES, tiers=tiers, **BACKUP)
    assert any(message in m for m in messages)
    assert not Product.objects.exists()


def test_tiers_are_kept_in_ascending_order_and_replaced_whole(world):
    product = product_create(
        actor=world.staff,
        prices=PRICES,
        tiers=[tier(200, "0.20"), tier(50, "0.10")],
        **BACKUP,
    )
    assert list(product.tiers.values_list("min_quantity", "rate")) == [
        (50, Decimal("0.1000")),
        (200, Decimal("0.2000")),
    ]
    with pytest.raises(ValidationError):
        product_update(actor=world.staff, product=product, tiers=[tier(5, "0.3"), tier(9, "0.1")])
    assert product.tiers.count() == 2
    product_update(actor=world.staff, product=product, tiers=[])
    assert not PriceTier.objects.exists()


def test_two_editions_of_a_family_do_not_share_a_rank(world):
    product_create(actor=world.staff, prices=PRICES, **BACKUP)
    clash = refused("edition_rank", actor=world.staff, prices=PRICES, **{**BACKUP, "code": "b2"})
    assert clash == ["Another edition of this family has this rank."]


def test_only_staff_write_the_catalog(world):
    product = ProductFactory()
    with pytest.raises(PermissionDenied):
        product_create(actor=world.partner_owner, prices=PRICES, **BACKUP)
    with pytest.raises(PermissionDenied):
        product_update(actor=world.partner_owner, product=product, name="Cheap")
    with pytest.raises(PermissionDenied):
        product_status_set(actor=world.customer_owner, product=product, is_active=False)
    product.refresh_from_db()
    assert product.is_active and product.name != "Cheap"


def test_every_write_is_in_the_provider_audit_log(world):
    product = product_create(
        actor=world.staff,
        prices=PRICES,
        tiers=[tier(35, "0.25")],
        features=[{"code": "file-backup", "name": "File backup"}],
        **BACKUP,
    )
    product_update(actor=world.staff, product=product, prices={**PRICES, "CHF": Decimal("6")})
    product_update(actor=world.staff, product=product, name=product.name)  # no change
    product_status_set(actor=world.staff, product=product, is_active=False)
    product_status_set(actor=world.staff, product=product, is_active=False)  # no change
    product_status_set(actor=world.staff, product=product, is_active=True)

    events = list(AuditEvent.unscoped.filter(tenant=world.provider).order_by("at"))
    assert [e.action for e in events] == [
        AuditEvent.Action.PRODUCT_CREATED,
        AuditEvent.Action.PRODUCT_CHANGED,
        AuditEvent.Action.PRODUCT_DEACTIVATED,
        AuditEvent.Action.PRODUCT_REACTIVATED,
    ]
    created, changed, deactivated, _reactivated = events
    assert all(
        e.actor == world.staff
        and e.actor_tenant == world.provider
        and e.target == "Backup Standard (backup-standard)"
        and e.details["product"] == str(product.pk)
        for e in events
    )
    assert created.details["after"]["prices"] == {"CHF": "5.50", "EUR": "5.00"}
    assert created.details["after"]["tiers"] == {"35": "0.2500"}
    assert created.details["after"]["features"] == ["file-backup"]
    assert changed.details["before"] == {"prices": {"CHF": "5.50", "EUR": "5.00"}}
    assert changed.details["after"] == {"prices": {"CHF": "6.00", "EUR": "5.00"}}
    assert deactivated.details["after"] == {"is_active": False}
