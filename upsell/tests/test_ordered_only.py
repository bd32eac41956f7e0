"""Upsell unlocks only what was ordered (SPEC §4, §7 rev. 2; issue 20 item 7).

The reproduction: "customer.owner adds 50 x Protect Advanced at CHF 0.00 in the
browser: active, no order, and Services shows every Protect Advanced feature
unlocked." Now the price is refused (400, nothing written); a subscription row
written without an order (the old path, a direct write) unlocks nothing, so
the feature stays locked and upsell offers the edition that has it; ordered at
the price the rules give, the edition is paid for and unlocks its features."""

import datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import Invoice, Order
from subscriptions.models import Subscription
from subscriptions.services import subscription_build
from tenants.models import Role
from upsell.tests.test_services import switch

SERVICES = "/api/v1/services/"
SUBSCRIPTIONS = "/api/v1/subscriptions/"


def features_by_product(body: dict) -> dict:
    return {
        s["product"]["code"] if isinstance(s["product"], dict) else s["product"]: {
            f["code"]: f["available"] for f in s["features"]
        }
        for s in body["services"]
    }


def test_protect_advanced_at_chf_0_unlocks_nothing(world, shop, family, api):
    switch(world, shop)  # upsell on: a locked feature is shown, tagged
    owner = shop.customer.memberships.get(role=Role.OWNER, buyer=True).user
    client = api(owner, shop.customer)
    orders_before = Order.unscoped.count()

    priced = client.post(
        SUBSCRIPTIONS, {"product": "protect-advanced", "quantity": 50, "unit_price": "0.00"}
    )
    # the row the old path wrote: active, no order, no invoice
    subscription_build(
        customer=shop.customer,
        product=family.advanced,
        quantity=50,
        unit_price=Decimal("0.00"),
        starts_on=timezone.localdate() - datetime.timedelta(days=1),
    ).save()
    services = features_by_product(client.get(SERVICES).json())

    assert priced.status_code == 400 and set(priced.json()) == {"unit_price"}
    assert Order.unscoped.count() == orders_before
    assert "protect-advanced" not in services  # not a service: nothing was ordered
    assert services["backup-standard"] == {
        "file-backup": True,
        "patch-management": False,
        "vulnerability-assessment": False,
    }


def test_ordered_at_the_rules_price_it_unlocks_its_features(world, shop, family, api):
    switch(world, shop)
    owner = shop.customer.memberships.get(role=Role.OWNER, buyer=True).user
    client = api(owner, shop.customer)

    placed = client.post(SUBSCRIPTIONS, {"product": "protect-advanced", "quantity": 50})
    services = features_by_product(client.get(SERVICES).json())

    assert placed.status_code == 201, placed.json()
    order = Order.unscoped.get(pk=placed.json()["order"]["id"])
    assert order.charged_amount > 0
    assert Invoice.unscoped.get(order=order).total == order.charged_amount
    assert set(services["protect-advanced"].values()) == {True}
    assert Subscription.unscoped.filter(customer=shop.customer).count() == 2
