"""Staff's audited special prices (SPEC §4 rev. 2; issue 20 item 2): only
platform staff may give an order line its own unit price, with a reason; the
order shows it as a special price, and the audit log records the rules' price
before, the special one after and the reason. Everyone else keeps getting 400
for `unit_price`, and nothing is written."""

from decimal import Decimal

import pytest

from billing.models import Invoice, Order, OrderLine
from billing.tests.conftest import grant
from subscriptions.models import Subscription
from tenants.models import AuditEvent

ORDERS = "/api/v1/orders/"
QUOTES = "/api/v1/quotes/"


def special(customer, *, reason="Goodwill after the outage of 2 December", price="5.00", **more):
    body = {
        "customer": str(customer.id),
        "lines": [{"product": "web-hosting", "quantity": 35, "unit_price": price}],
        **more,
    }
    if reason is not None:
        body["price_reason"] = reason
    return body


def nothing_written() -> bool:
    return not (Order.unscoped.exists() or Subscription.unscoped.exists())


def test_staff_set_a_special_price_with_a_reason_and_it_is_audited(world, api, hosting):
    grant(world, access="full", payment="customer")
    staff = api(world.staff, world.customer)

    preview = staff.post(ORDERS, special(world.customer, dry_run=True), format="json")
    placed = staff.post(ORDERS, special(world.customer, expected_total="175.00"), format="json")

    # 35 x 5.00, no degressive tier on a special price (the rules: 35 x 9.92 - 25 % = 260.40)
    assert preview.status_code == 200, preview.json()
    assert preview.json()["totals"]["charged"] == "175.00"
    assert placed.status_code == 201, placed.json()
    (line,) = placed.json()["lines"]
    assert (line["unit_price"], line["special_price"], line["price_reason"]) == (
        "5.00",
        True,
        "Goodwill after the outage of 2 December",
    )
    order = Order.unscoped.get()
    assert Invoice.unscoped.get(order=order).total == Decimal("175.00")
    (event,) = AuditEvent.unscoped.filter(action=AuditEvent.Action.ORDER_SPECIAL_PRICE)
    assert (event.tenant, event.actor, event.actor_tenant) == (
        world.customer,
        world.staff,
        world.customer,
    )
    assert event.details == {
        "order": str(order.pk),
        "currency": "CHF",
        "reason": "Goodwill after the outage of 2 December",
        "lines": [{"product": "web-hosting", "quantity": 35, "before": "7.44", "after": "5.00"}],
    }


def test_a_special_price_paid_by_the_partner_is_in_both_logs(world, api, hosting):
    grant(world, access="full", payment="partner")

    placed = api(world.staff, world.partner).post(
        ORDERS, special(world.customer, price="8.00"), format="json"
    )

    assert placed.status_code == 201, placed.json()
    order = Order.unscoped.get()
    # the partner pays the preferential price: its 20 % discount applies on the special price
    assert (order.payer_tenant, order.charged_amount) == (world.partner, Decimal("224.00"))
    logs = AuditEvent.unscoped.filter(action=AuditEvent.Action.ORDER_SPECIAL_PRICE)
    assert {e.tenant for e in logs} == {world.customer, world.partner}


@pytest.mark.parametrize("who", ["customer_owner", "partner_owner"])
def test_anyone_else_gets_400_for_unit_price_and_nothing_is_written(world, api, hosting, who):
    grant(world, access="full", payment="customer")
    tenant = world.customer if who == "customer_owner" else world.partner
    client = api(getattr(world, who), tenant)

    answers = [
        client.post(ORDERS, special(world.customer), format="json"),
        client.post(QUOTES, special(world.customer), format="json"),
        client.post(ORDERS, special(world.customer, price="0.00", reason=None), format="json"),
    ]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert all("unit_price" in str(a.json()["lines"]) for a in answers)
    assert nothing_written()
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.ORDER_SPECIAL_PRICE).exists()


def test_staff_must_say_why_and_a_reason_needs_a_special_price(world, api, hosting):
    grant(world, access="full", payment="customer")
    staff = api(world.staff, world.customer)
    plain = {
        "customer": str(world.customer.id),
        "lines": [{"product": "web-hosting", "quantity": 3}],
    }

    without_reason = staff.post(ORDERS, special(world.customer, reason=None), format="json")
    blank_reason = staff.post(ORDERS, special(world.customer, reason="  "), format="json")
    reason_alone = staff.post(ORDERS, {**plain, "price_reason": "Because"}, format="json")

    assert [r.status_code for r in (without_reason, blank_reason, reason_alone)] == [400] * 3
    assert all(set(r.json()) == {"price_reason"} for r in (without_reason, blank_reason))
    assert "price_reason" in reason_alone.json()
    assert nothing_written()


def test_staff_order_without_a_special_price_is_priced_by_the_rules(world, api, hosting):
    grant(world, access="full", payment="customer")

    placed = api(world.staff, world.customer).post(
        ORDERS,
        {"customer": str(world.customer.id), "lines": [{"product": "web-hosting", "quantity": 35}]},
        format="json",
    )

    assert placed.status_code == 201, placed.json()
    assert Order.unscoped.get().charged_amount == Decimal("260.40")
    assert OrderLine.unscoped.get().special_price is False
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.ORDER_SPECIAL_PRICE).exists()


def test_the_order_and_the_invoice_show_the_special_price(world, api, browser, hosting):
    grant(world, access="full", payment="customer")
    api(world.staff, world.customer).post(ORDERS, special(world.customer), format="json")
    order = Order.unscoped.get()
    invoice = Invoice.unscoped.get(order=order)
    slug = world.customer.slug
    page = browser(world.customer_owner)

    order_page = page.get(f"/t/{slug}/orders/{order.pk}/").content.decode()
    invoice_page = page.get(f"/t/{slug}/invoices/{invoice.pk}/").content.decode()

    assert "special price: Goodwill after the outage of 2 December" in order_page
    assert "data-special-price" in invoice_page and "special price" in invoice_page


# --- the same special prices on `POST subscriptions/` and the order page ------------------

SUBSCRIPTIONS = "/api/v1/subscriptions/"


def test_staff_open_a_subscription_at_a_special_price_with_a_reason(world, api, hosting):
    grant(world, access="full", payment="customer")
    staff = api(world.staff, world.customer)
    body = {"product": "web-hosting", "quantity": 35, "unit_price": "5.00"}
    reason = "Goodwill after the outage of 2 December"

    preview = staff.post(SUBSCRIPTIONS, {**body, "price_reason": reason, "dry_run": True})
    without_reason = staff.post(SUBSCRIPTIONS, body)
    assert nothing_written()
    placed = staff.post(SUBSCRIPTIONS, {**body, "price_reason": reason, "expected_total": "175.00"})

    assert preview.status_code == 200, preview.json()
    assert preview.json()["totals"]["charged"] == "175.00"
    assert without_reason.status_code == 400
    assert set(without_reason.json()) == {"price_reason"}
    assert placed.status_code == 201, placed.json()
    assert placed.json()["subscription"]["unit_price"] == "5.00"
    (line,) = placed.json()["order"]["lines"]
    assert (line["special_price"], line["price_reason"]) == (True, reason)
    order = Order.unscoped.get()
    assert Invoice.unscoped.get(order=order).total == Decimal("175.00")
    (event,) = AuditEvent.unscoped.filter(action=AuditEvent.Action.ORDER_SPECIAL_PRICE)
    assert (event.actor, event.details["reason"], event.details["lines"]) == (
        world.staff,
        reason,
        [{"product": "web-hosting", "quantity": 35, "before": "7.44", "after": "5.00"}],
    )


@pytest.mark.parametrize("who", ["customer_owner", "partner_owner"])
def test_anyone_else_opening_a_subscription_with_a_unit_price_gets_400(world, api, hosting, who):
    grant(world, access="full", payment="customer")
    tenant = world.customer if who == "customer_owner" else world.partner
    body = {
        "customer": str(world.customer.id),
        "product": "web-hosting",
        "quantity": 35,
        "unit_price": "0.00",
        "price_reason": "Because",
    }

    answer = api(getattr(world, who), tenant).post(SUBSCRIPTIONS, body)

    assert answer.status_code == 400
    assert "unit_price" in answer.json()
    assert nothing_written()


def test_staff_order_at_a_special_price_on_the_order_page(world, browser, hosting):
    grant(world, access="full", payment="customer")
    client = browser(world.staff)
    url = f"/t/{world.customer.slug}/orders/new/"
    lines = {"product_0": str(hosting.pk), "quantity_0": "35", "unit_price_0": "5.00"}
    reason = "Goodwill after the outage of 2 December"

    form = client.get(url).content.decode()
    unexplained = client.post(url, {**lines, "action": "preview"})
    preview = client.post(url, {**lines, "price_reason": reason, "action": "preview"})
    assert nothing_written()
    placed = client.post(
        url,
        {**lines, "price_reason": reason, "action": "place", "expected_total": "175.00"},
        follow=True,
    )

    assert 'name="unit_price_0"' in form and 'name="price_reason"' in form
    assert unexplained.status_code == 400
    assert "Say why this line has a special price." in unexplained.content.decode()
    assert preview.status_code == 200
    assert 'name="expected_total" value="175.00"' in preview.content.decode()
    assert placed.status_code == 200
    order = Order.unscoped.get()
    assert order.charged_amount == Decimal("175.00")
    assert OrderLine.unscoped.get().price_reason == reason
    assert f"special price: {reason}" in placed.content.decode()
    assert AuditEvent.unscoped.filter(
        action=AuditEvent.Action.ORDER_SPECIAL_PRICE, actor=world.staff
    ).exists()


def test_the_order_page_has_no_special_price_for_anyone_else(world, browser, hosting):
    grant(world, access="full", payment="customer")
    client = browser(world.customer_owner)
    url = f"/t/{world.customer.slug}/orders/new/"

    form = client.get(url).content.decode()
    sent = client.post(
        url,
        {
            "product_0": str(hosting.pk),
            "quantity_0": "35",
            "unit_price_0": "0.00",
            "price_reason": "Because",
            "action": "place",
            "expected_total": "0.00",
        },
    )

    assert 'name="unit_price_0"' not in form and 'name="price_reason"' not in form
    assert sent.status_code == 400
    assert "Prices come from the pricing rules" in sent.content.decode()
    assert nothing_written()
