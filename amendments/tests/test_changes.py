"""Raising a subscription mid-period is an order for the rest of the period
(SPEC §4, §7 rev. 2; amendments.services, docs/billing.md).

Web hosting at CHF 9.92 a month, 10 % off from 10 units and 25 % from 30; Alpine
has 20 % off; Bäckerei Müller pays (full access). A monthly subscription from
1 April 2026: April is 30 days, and from 16 April 15 of them remain."""

import datetime
import threading
from decimal import Decimal
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from amendments import services as changes
from billing import tasks as billing_tasks
from billing.models import CashbackEntry, Invoice, Order, OrderLine
from billing.proration import state_value
from billing.services.orders import LineRequest, order_place
from billing.tests.conftest import grant
from catalog.models import round_money
from subscriptions.models import Subscription, SubscriptionChange
from tenants.selectors import org_context_for
from tests.clock import on
from tests.concurrency import race

LIST = "/api/v1/subscriptions/"
APRIL_16 = on(2026, 4, 16)


@pytest.fixture
def subscribed(world, api, hosting, time_machine):
    """On 1 April, Alpine orders 35 web hostings for Müller (Müller pays)."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    response = api(world.partner_owner, world.partner).post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 35}
    )
    assert response.status_code == 201, response.json()
    time_machine.move_to(APRIL_16)
    return Subscription.unscoped.get()


def url(subscription) -> str:
    return f"{LIST}{subscription.pk}/"


def test_a_raise_bills_the_added_units_for_the_rest_of_the_period(
    world, api, subscribed, time_machine
):
    response = api(world.partner_owner, world.partner).patch(
        url(subscribed), {"quantity": 40, "expected_total": "18.60"}
    )

    assert response.status_code == 200, response.json()
    # 40 x 9.92 x 0.75 = 297.60 a month, 35 x ... = 260.40: for 15 of 30 days,
    # 148.80 - 130.20 = 18.60; preferential 119.04 - 104.16 = 14.88; cashback 3.72
    order = Order.unscoped.get(pk=response.json()["order"]["id"])
    assert (order.charged_amount, order.cashback_amount) == (Decimal("18.60"), Decimal("3.72"))
    assert order.payer_tenant == world.customer
    assert Invoice.unscoped.get(order=order).total == Decimal("18.60")
    assert CashbackEntry.unscoped.get(order=order).amount == Decimal("3.72")
    line = OrderLine.unscoped.get(order=order)
    assert (line.quantity, line.period_starts_on, line.period_ends_on) == (
        5,
        datetime.date(2026, 4, 16),
        datetime.date(2026, 4, 30),
    )
    subscribed.refresh_from_db()
    assert (subscribed.quantity, subscribed.unit_price) == (40, Decimal("7.44"))
    change = SubscriptionChange.unscoped.get(subscription=subscribed, kind="increase")
    assert (change.quantity_before, change.quantity_after, change.effective_on) == (
        35,
        40,
        datetime.date(2026, 4, 16),
    )
    assert change.order == order
    body = response.json()["subscription"]
    assert (body["quantity"], body["mrr"]) == (40, "297.60")

    # May's renewal bills the whole new quantity, once
    time_machine.move_to(on(2026, 5, 1, 6))
    assert billing_tasks.place_renewals() == 1
    renewal = Order.unscoped.get(kind="renewal")
    assert renewal.charged_amount == Decimal("297.60")


def test_a_raise_is_previewed_and_commits_only_the_previewed_amount(world, api, subscribed):
    client = api(world.customer_owner, world.customer)

    preview = client.patch(url(subscribed), {"quantity": 40, "dry_run": True})
    stale = client.patch(url(subscribed), {"quantity": 40, "expected_total": "20.00"})

    assert preview.status_code == 200
    assert preview.json()["totals"]["charged"] == "18.60"
    assert stale.status_code == 409
    assert stale.json()["quote"]["totals"]["charged"] == "18.60"
    assert Order.unscoped.count() == 1  # April's
    subscribed.refresh_from_db()
    assert subscribed.quantity == 35
    assert SubscriptionChange.unscoped.filter(kind="increase").count() == 0


def test_reaching_a_better_tier_never_lowers_what_is_charged(world, api, hosting, time_machine):
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    placed = (
        api(world.customer_owner, world.customer)
        .post(LIST, {"product": "web-hosting", "quantity": 29})
        .json()
    )
    time_machine.move_to(APRIL_16)

    response = api(world.customer_owner, world.customer).patch(
        f"{LIST}{placed['subscription']['id']}/", {"quantity": 30}
    )

    # both at the 25 % tier the new total reaches: 223.20 - 215.76 a month, half of it
    assert response.status_code == 200, response.json()
    assert response.json()["order"]["charged"] == "3.72"
    assert response.json()["subscription"]["unit_price"] == "7.44"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"quantity": 0}, 400, "quantity"),
        ({"quantity": 35}, 400, "quantity"),
        ({"quantity": 100_001}, 400, "quantity"),
        ({"quantity": 40, "unit_price": "0.01"}, 400, "unit_price"),
        ({"quantity": 40, "ends_on": "2026-12-31"}, 400, "ends_on"),
    ],
)
def test_what_a_raise_refuses_writes_nothing(world, api, subscribed, body, status, field):
    response = api(world.partner_owner, world.partner).patch(url(subscribed), body)

    assert response.status_code == status
    assert field in response.json()
    assert Order.unscoped.count() == 1
    subscribed.refresh_from_db()
    assert subscribed.quantity == 35


def test_who_may_raise(world, api, subscribed):
    answers = {
        "partner admin, not a buyer": api(world.partner_admin, world.partner),
        "customer user": api(world.customer_user, world.customer),
        "another partner": api(world.other_owner, world.other_partner),
    }

    codes = {
        who: client.patch(url(subscribed), {"quantity": 40}).status_code
        for who, client in answers.items()
    }

    assert codes == {
        "partner admin, not a buyer": 403,
        "customer user": 403,
        "another partner": 404,
    }
    assert Order.unscoped.count() == 1


def test_a_cancelled_subscription_is_not_raised(world, api, subscribed):
    client = api(world.customer_owner, world.customer)
    assert client.delete(url(subscribed)).status_code == 200  # ended now, credited

    assert client.patch(url(subscribed), {"quantity": 40}).status_code == 409
    assert Order.unscoped.filter(kind="order").count() == 1


# --- in the browser ----------------------------------------------------------------------


def page_url(world, subscription, partner=True) -> str:
    if partner:
        return reverse(
            "customer_subscription_raise",
            kwargs={
                "slug": "alpine",
                "customer_id": world.customer.pk,
                "subscription_id": subscription.pk,
            },
        )
    return reverse(
        "subscription_raise", kwargs={"slug": "mueller", "subscription_id": subscription.pk}
    )


def test_a_raise_in_the_browser_previews_then_orders_the_previewed_amount(
    world, browser, subscribed
):
    client = browser(world.partner_owner)
    url = page_url(world, subscribed)

    edit = client.get(
        reverse(
            "customer_subscription_edit",
            kwargs={
                "slug": "alpine",
                "customer_id": world.customer.pk,
                "subscription_id": subscribed.pk,
            },
        )
    )
    form = client.get(url)
    unseen = client.post(url, {"quantity": "40", "action": "place"})
    placed = client.post(
        url, {"quantity": "40", "action": "place", "expected_total": "18.60"}, follow=True
    )

    assert url in edit.content.decode()
    assert 'name="quantity" value="36"' in form.content.decode()
    page = unseen.content.decode()
    assert unseen.status_code == 200
    assert 'data-figure="charged">CHF&nbsp;18.60' in page
    assert "for 16 Apr 2026 to 30 Apr 2026" in page
    assert 'data-figure="renewal">CHF&nbsp;297.60' in page
    assert 'data-figure="cashback">CHF 3.72' in page
    assert 'name="expected_total" value="18.60"' in page
    assert (
        "Web hosting raised by 5. Bäckerei Müller is invoiced CHF 18.60" in placed.content.decode()
    )
    subscribed.refresh_from_db()
    assert subscribed.quantity == 40
    assert Order.unscoped.count() == 2


def test_a_changed_amount_shows_the_new_preview_and_raises_nothing(world, browser, subscribed):
    response = browser(world.customer_owner).post(
        page_url(world, subscribed, partner=False),
        {"quantity": "40", "action": "place", "expected_total": "1.00"},
    )

    assert response.status_code == 409
    assert "The amount changed since the preview: CHF 18.60 now." in response.content.decode()
    subscribed.refresh_from_db()
    assert subscribed.quantity == 35


def test_the_raise_page_answers_like_the_other_subscription_pages(world, browser, subscribed):
    lowering = browser(world.partner_owner).post(
        page_url(world, subscribed), {"quantity": "30", "action": "preview"}
    )
    not_buyer = browser(world.partner_admin).get(page_url(world, subscribed))
    customer_user = browser(world.customer_user).get(page_url(world, subscribed, partner=False))
    outsider = browser(world.other_owner).get(
        reverse(
            "customer_subscription_raise",
            kwargs={
                "slug": "rhein",
                "customer_id": world.customer.pk,
                "subscription_id": subscribed.pk,
            },
        )
    )

    assert lowering.status_code == 400
    assert "lower the quantity instead" in lowering.content.decode()
    assert not_buyer.status_code == 403
    assert "Only members with the buyer flag may order." in not_buyer.content.decode()
    assert customer_user.status_code == 403
    assert outsider.status_code == 404
    assert Order.unscoped.count() == 1


# --- races ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_raises_racing_leave_one_consistent_ledger_and_exact_totals(
    world, hosting, time_machine
):
    """20 buyers raise one subscription at the same instant, each to its own
    quantity (36 to 55): the row lock orders them; a raise below the quantity
    reached by then is refused; the ledger is one chain from 35 to the final
    quantity, and what was charged telescopes to exactly value(final) - value(35)."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    owner = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
    placed = order_place(org=owner, customer_id=world.customer.pk, lines=[LineRequest(hosting, 35)])
    subscription = placed.lines.get().subscription
    time_machine.move_to(APRIL_16)
    targets = iter(range(36, 56))
    lock = threading.Lock()

    def raise_once():
        with lock:
            quantity = next(targets)
        try:
            return changes.subscription_raise(
                org=org_context_for(user=world.customer_owner, tenant_id=world.customer.id),
                subscription=subscription,
                quantity=quantity,
            )
        except ValidationError as exc:
            return exc

    outcomes = race(raise_once)

    orders = [o for o in outcomes if isinstance(o, Order)]
    assert orders, outcomes
    subscription.refresh_from_db()
    chain = list(
        SubscriptionChange.unscoped.filter(subscription=subscription, kind="increase")
        .order_by("created_at")
        .values_list("quantity_before", "quantity_after")
    )
    assert len(chain) == len(orders)
    assert chain[0][0] == 35
    assert all(after == following[0] for (_, after), following in pairwise(chain))
    assert chain[-1][1] == subscription.quantity
    # 25 % from 30 units: every state is at the same tier, so the charges telescope
    period = (datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))
    value = lambda q: state_value(  # noqa: E731
        state=(1, round_money(Decimal("9.92") * q * Decimal("0.75"))),
        period=period,
        on=APRIL_16.date(),
    )
    charged = sum(o.charged_amount for o in Order.unscoped.exclude(pk=placed.pk))
    assert charged == value(subscription.quantity) - value(35)
