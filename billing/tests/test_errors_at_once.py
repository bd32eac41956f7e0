"""Issue 25: a form shows every error at once, not one stage per submit: the
order page (staff's special prices), the quote page and the order service's
checks of the lines."""

import pytest
from django.core.exceptions import ValidationError

from billing.models import Order
from billing.services import orders
from billing.services.orders import LineRequest
from billing.tests.conftest import grant, org
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_the_order_page_shows_a_bad_quantity_a_bad_price_and_no_reason_at_once(
    world, browser, hosting, mailbox
):
    grant(world, access="full", payment="customer")
    url = f"/t/{world.customer.slug}/orders/new/"

    sent = browser(world.staff).post(
        url,
        {
            "product_0": str(hosting.pk),
            "quantity_0": "-3",
            "product_1": str(mailbox.pk),
            "quantity_1": "2",
            "unit_price_1": "-5",
            "action": "preview",
        },
    )

    page = sent.content.decode()
    assert sent.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in page  # the quantity
    assert "Ensure this value is greater than or equal to 0." in page  # the price
    assert "Say why this line has a special price." in page  # the reason, at once
    assert not Order.unscoped.exists()


def test_the_quote_page_shows_every_lines_error_at_once(world, browser, hosting):
    sent = browser(world.customer_owner).post(
        f"/t/{world.customer.slug}/quote/",
        {
            "product_0": str(hosting.pk),
            "quantity_1": "4",  # no product
            "product_2": str(hosting.pk),
            "quantity_2": "-3",
            "unit_price_0": "1.00",  # not for a client to set
        },
    )

    page = sent.content.decode()
    assert sent.status_code == 400
    assert "Give a quantity." in page
    assert "Choose a product for this quantity." in page
    assert "Ensure this value is greater than or equal to 1." in page
    assert "Prices come from the pricing rules; a client cannot set one." in page


def test_the_order_service_names_every_problem_of_the_lines_at_once(world, hosting):
    retired = ProductFactory(code="old", name="Old mail", is_active=False, prices={"CHF": "1"})
    grant(world, access="full", payment="customer")

    with pytest.raises(ValidationError) as refused:
        orders.quote_for(
            org=org(world.customer_owner, world.customer),
            customer=world.customer,
            lines=[LineRequest(hosting, 0), LineRequest(retired, 2), LineRequest(hosting, 1)],
        )

    messages = refused.value.message_dict["lines"]
    assert "Give each product once, with its whole quantity." in messages
    assert any(m.startswith("Quantities go from 1 to") for m in messages)
    assert "Old mail is no longer sold." in messages


def test_an_invoice_shows_its_reductions_as_minus_currency_amount(world, browser, hosting):
    """Issue 25: the discount read "CHF -9.52"; now a minus sign before the currency."""
    from billing.models import Invoice
    from billing.services.orders import order_place

    grant(world, access="full", payment="customer")
    order = order_place(
        org=org(world.customer_owner, world.customer),
        customer_id=world.customer.pk,
        lines=[LineRequest(hosting, 35)],
    )
    invoice = Invoice.unscoped.get(order=order)

    page = (
        browser(world.customer_owner)
        .get(f"/t/{world.customer.slug}/invoices/{invoice.pk}/")
        .content.decode()
    )

    assert 'data-figure="reduction">\N{MINUS SIGN} CHF 86.80<' in page  # 25 % of 347.20
    assert "CHF -" not in page
