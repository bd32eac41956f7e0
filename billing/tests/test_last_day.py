"""A period that the last day of service cuts short is billed up to that day, by
days, never whole (issue 20: "a new subscription whose term ends inside its
first billing period is billed the whole period"): the opening order of
`POST subscriptions/` with an `ends_on`, an accepted offer whose term is
shorter than the product's period, and a renewal whose period the last day
cuts. The one rule is `billing.services.orders.line_to_last_day` over
`billing.proration.span_value` (a raise's and a credit's): value(first day) -
value(day after the last), each rounded once, half-up.

Web hosting at CHF 9.92 a month, 10 % off from 10 units; a backup at CHF 120.00
a year. Alpine IT has 20 % off."""

import datetime
from decimal import Decimal

import pytest

from billing.models import Order, OrderLine
from billing.services import renewals
from billing.tests.conftest import grant
from catalog.tests.factories import ProductFactory
from offers.tests.test_effect import delivered, template_of
from subscriptions.models import Subscription
from tests.clock import on

pytestmark = pytest.mark.django_db

D = Decimal
SUBSCRIPTIONS = "/api/v1/subscriptions/"
APRIL = (datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))


@pytest.fixture
def backup(db):
    return ProductFactory(
        code="backup-year",
        name="Backup (annual)",
        billing_period="annual",
        prices={"CHF": "120.00", "EUR": "110.00"},
    )


def test_a_subscription_ending_in_its_first_period_is_billed_to_its_last_day(
    world, api, hosting, time_machine
):
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    client = api(world.customer_owner, world.customer)
    body = {
        "customer": str(world.customer.pk),
        "product": "web-hosting",
        "quantity": 10,
        "ends_on": "2026-04-15",
    }

    preview = client.post(SUBSCRIPTIONS, {**body, "dry_run": True}, format="json")
    placed = client.post(SUBSCRIPTIONS, {**body, "expected_total": "44.64"}, format="json")

    # 10 x 9.92 at 10 %: 89.28 a month; 1-15 April of 30 days: 89.28 - round(89.28 / 2)
    assert preview.status_code == 200, preview.json()
    assert preview.json()["totals"]["charged"] == "44.64"
    assert placed.status_code == 201, placed.json()
    order = Order.unscoped.get(pk=placed.json()["order"]["id"])
    assert order.charged_amount == D("44.64")
    line = order.lines.get()
    assert (line.period_starts_on, line.period_ends_on) == (APRIL[0], datetime.date(2026, 4, 15))
    # the cashback by the same days: public 44.64 less preferential 71.42 - round(71.42 / 2)
    assert order.cashback_amount == D("8.93")
    # and a subscription without a last day still pays its whole first period
    whole = client.post(
        SUBSCRIPTIONS, {**body, "ends_on": None, "dry_run": True}, format="json"
    ).json()
    assert whole["totals"]["charged"] == "89.28"


def test_a_last_day_in_the_past_is_refused_with_nothing_written(world, api, hosting, time_machine):
    time_machine.move_to(on(2026, 4, 16, 9))
    grant(world, access="full", payment="customer")
    client = api(world.customer_owner, world.customer)

    for dry_run in (True, False):
        response = client.post(
            SUBSCRIPTIONS,
            {"product": "web-hosting", "quantity": 1, "ends_on": "2026-04-15", "dry_run": dry_run},
            format="json",
        )
        assert response.status_code == 400, response.json()
        assert "ends_on" in response.json()
    assert not Order.unscoped.exists() and not Subscription.unscoped.exists()


def test_an_offer_whose_term_ends_before_the_period_bills_to_the_terms_end(
    world, api, backup, time_machine
):
    time_machine.move_to(on(2026, 4, 16, 9))
    grant(world, access="full", payment="customer")
    template = template_of(world, "Two months", (backup, 1, "absolute"))
    template.items.update(term_months=2)
    offer = delivered(world, template)
    customer = api(world.customer_owner, world.customer)

    preview = customer.post(
        f"/api/v1/offers/{offer.pk}/accept/", {"dry_run": True}, format="json"
    ).json()
    accepted = customer.post(
        f"/api/v1/offers/{offer.pk}/accept/",
        {"expected_total": preview["total"]},
        format="json",
    )

    # the year from 16 April 2026 (365 days), served 16 April-15 June (61 days):
    # 120.00 - round(120.00 x 304 / 365) = 120.00 - 99.95
    assert preview["total"] == "20.05"
    assert accepted.status_code == 200, accepted.json()
    line = OrderLine.unscoped.get(order_id=accepted.json()["order"])
    assert (line.charged_amount, line.period_ends_on) == (D("20.05"), datetime.date(2026, 6, 15))
    subscription = line.subscription
    assert subscription.ends_on == datetime.date(2026, 6, 15)


def test_a_renewal_whose_period_the_last_day_cuts_bills_to_that_day(world, hosting):
    grant(world, access="full", payment="customer")
    subscription = Subscription.unscoped.create(
        customer=world.customer,
        product=hosting,
        quantity=10,
        unit_price=D("8.93"),
        starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2026, 5, 10),
        billing_period="monthly",
        currency="CHF",
    )

    order = renewals.subscription_renew(
        subscription_id=subscription.pk, period_starts_on=datetime.date(2026, 5, 1)
    )

    assert order is not None
    line = order.lines.get()
    # May has 31 days, 10 served: 89.28 - round(89.28 x 21 / 31) = 89.28 - 60.48
    assert (line.charged_amount, line.period_ends_on) == (D("28.80"), datetime.date(2026, 5, 10))
    # the batch job bills the same
    other = Subscription.unscoped.create(
        customer=world.customer,
        product=hosting,
        quantity=10,
        unit_price=D("8.93"),
        starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2026, 5, 10),
        billing_period="monthly",
        currency="CHF",
    )
    assert renewals.renewals_place(due=[(other.pk, datetime.date(2026, 5, 1))]) == 1
    renewed = OrderLine.unscoped.get(subscription=other, order__kind="renewal")
    # the tier counts both subscriptions (20 units: 10 %), as before
    assert (renewed.charged_amount, renewed.period_ends_on) == (
        D("28.80"),
        datetime.date(2026, 5, 10),
    )
