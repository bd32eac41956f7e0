"""Orders through the services (SPEC §7): each row of the table of who pays and
who earns in both currencies, the invoice to the payer with gap-free numbers,
the cashback ledger, refunds, and who may order."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from billing import selectors
from billing.models import CashbackEntry, Invoice, Order
from billing.services.orders import LineRequest, order_place, order_refund, period_end, quote
from billing.tests.conftest import grant, org
from partners import services as partner_services
from subscriptions.models import Subscription
from tenants import emails
from tenants.exceptions import Conflict
from tenants.models import OutboundEmail
from tests.concurrency import race

D = Decimal

# (grant, who orders) → payer, charged, cashback, discount; for 35 hostings,
# CHF 9.92 (public 260.40, preferential 208.32) and EUR 5.75 (150.94, 120.75).
ROWS = {
    "limited, product managed / customer": (
        {"access": "limited"},
        "customer",
        "customer",
        ("public", "margin", "0.00"),
    ),
    "full, customer pays / customer": (
        {"access": "full", "payment": "customer"},
        "customer",
        "customer",
        ("public", "margin", "0.00"),
    ),
    "full, customer pays / partner for customer": (
        {"access": "full", "payment": "customer"},
        "partner",
        "customer",
        ("public", "margin", "0.00"),
    ),
    "full, partner pays / customer": (
        {"access": "full", "payment": "partner"},
        "customer",
        "customer",
        ("public", "margin", "0.00"),
    ),
    "full, partner pays / partner for customer": (
        {"access": "full", "payment": "partner"},
        "partner",
        "partner",
        ("preferential", "0.00", "margin"),
    ),
    "none / customer": (None, "customer", "customer", ("public", "0.00", "0.00")),
}
PRICES = {"CHF": {"public": D("260.40"), "preferential": D("208.32")}}
PRICES["EUR"] = {"public": D("150.94"), "preferential": D("120.75")}


def _expected(currency: str, figure: str) -> Decimal:
    prices = PRICES[currency]
    if figure == "margin":
        return prices["public"] - prices["preferential"]
    return prices[figure] if figure in prices else D(figure)


def place(world, product, quantity=35, *, by="customer", customer=None):
    if by == "customer":
        ctx = org(world.customer_owner, world.customer)
    else:
        ctx = org(world.partner_owner, world.partner)
    return order_place(
        org=ctx,
        customer_id=(customer or world.customer).pk,
        lines=[LineRequest(product, quantity)],
    )


@pytest.mark.parametrize("currency", ["CHF", "EUR"])
@pytest.mark.parametrize("row", list(ROWS))
def test_each_row_of_the_table_in_both_currencies(world, hosting, row, currency):
    grant_kwargs, ordered_by, payer, (charged, cashback, discount) = ROWS[row]
    # given a customer in `currency` and the partnership of the row
    world.customer.currency = currency
    world.customer.save(update_fields=["currency"])
    if grant_kwargs is not None:
        if grant_kwargs["access"] == "limited":
            grant_kwargs = {**grant_kwargs, "products": [hosting]}
        grant(world, **grant_kwargs)
    # when the row's side orders 35 hostings
    order = place(world, hosting, by=ordered_by)
    # then payer, charged amount and the partner's earnings follow the table
    assert order.payer == payer
    assert order.currency == currency
    assert order.list_amount == {"CHF": D("347.20"), "EUR": D("201.25")}[currency]
    assert order.charged_amount == _expected(currency, charged)
    assert order.cashback_amount == _expected(currency, cashback)
    assert order.discount_amount == _expected(currency, discount)
    assert order.partner == (world.partner if grant_kwargs else None)
    # and the invoice goes to the payer for the charged amount
    invoice = order.invoices.get()
    expected_payer = world.partner if payer == "partner" else world.customer
    assert invoice.payer == expected_payer
    assert invoice.total == order.charged_amount
    # and cashback, when earned, is credited to the partner's prepaid account
    credits = CashbackEntry.unscoped.filter(order=order)
    if order.cashback_amount:
        assert [(c.partner, c.amount, c.currency) for c in credits] == [
            (world.partner, order.cashback_amount, currency)
        ]
    else:
        assert not credits.exists()


def test_a_product_outside_a_limited_grant_earns_nothing(world, hosting, mailbox):
    grant(world, access="limited", products=[mailbox])
    order = place(world, hosting)
    assert (order.partner, order.earning, order.cashback_amount) == (None, "nothing", D("0.00"))


def test_the_order_starts_a_subscription_at_the_public_unit_price(world, hosting):
    order = place(world, hosting)
    line = order.lines.get()
    subscription = line.subscription
    # 9.92 less the 25 % tier = 7.44 per unit and month
    assert (subscription.quantity, subscription.unit_price) == (35, D("7.44"))
    assert subscription.starts_on == line.period_starts_on
    # one monthly period: up to the day before the same day next month
    assert line.period_ends_on == period_end(line.period_starts_on, "monthly")
    assert period_end(datetime.date(2026, 1, 31), "monthly") == datetime.date(2026, 2, 27)
    assert period_end(datetime.date(2026, 3, 1), "annual") == datetime.date(2027, 2, 28)


def test_payment_changes_touch_only_later_orders(world, hosting):
    partnership = grant(world, access="full", payment="partner")
    first = place(world, hosting, by="partner")
    partner_services.partnership_change(
        org=org(world.customer_owner, world.customer), partnership=partnership, payment="customer"
    )
    second = place(world, hosting, by="partner")
    first.refresh_from_db()
    assert (first.payment, first.payer, first.charged_amount) == ("partner", "partner", D("208.32"))
    assert (second.payment, second.payer, second.charged_amount) == (
        "customer",
        "customer",
        D("260.40"),
    )


def test_invoice_numbers_are_gap_free_even_when_an_order_rolls_back(world, hosting):
    first = place(world, hosting).invoices.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        place(world, hosting)
        raise RuntimeError("the payment provider said no")
    second = place(world, hosting).invoices.get()
    assert first.number.endswith("-000001")
    assert second.sequence_number == first.sequence_number + 1
    assert second.number.endswith("-000002")


def test_invoices_are_visible_only_to_the_payer(world, hosting):
    grant(world, access="full", payment="partner")
    partner_paid = place(world, hosting, by="partner").invoices.get()
    customer_paid = place(world, hosting, by="customer").invoices.get()
    partner_side = org(world.partner_owner, world.partner)
    customer_side = org(world.customer_owner, world.customer)
    assert list(selectors.invoices_for(org=partner_side)) == [partner_paid]
    assert list(selectors.invoices_for(org=customer_side)) == [customer_paid]
    with pytest.raises(Http404):
        selectors.invoice_get(org=customer_side, invoice_id=partner_paid.pk)
    with pytest.raises(Http404):
        selectors.invoice_get(org=partner_side, invoice_id=customer_paid.pk)


def test_both_sides_see_the_order_but_only_the_partner_its_earnings(world, hosting):
    grant(world, access="full", payment="partner")
    order = place(world, hosting, by="partner")
    customer_side = org(world.customer_owner, world.customer)
    seen = selectors.order_figures(
        org=customer_side, order=selectors.order_get(org=customer_side, order_id=order.pk)
    )
    assert seen == {
        "charged": None,
        "preferential": None,
        "cashback": None,
        "discount": None,
        "invoice": None,
    }
    partner_side = org(world.partner_owner, world.partner)
    seen = selectors.order_figures(
        org=partner_side, order=selectors.order_get(org=partner_side, order_id=order.pk)
    )
    assert (seen["charged"], seen["discount"], seen["invoice"].payer) == (
        D("208.32"),
        D("52.08"),
        world.partner,
    )


def test_orders_of_another_partner_are_not_found(world, hosting):
    grant(world, access="full", payment="customer")
    order = place(world, hosting)
    with pytest.raises(Http404):
        selectors.order_get(org=org(world.other_owner, world.other_partner), order_id=order.pk)
    with pytest.raises(Http404):
        selectors.order_get(
            org=org(world.other_customer_owner, world.other_customer), order_id=order.pk
        )


def test_a_collaborator_sees_only_orders_of_assigned_customers(world, hosting):
    grant(world, access="full", payment="customer")
    order = place(world, hosting)
    collaborator = org(world.collaborator, world.partner)
    assert not selectors.orders_for(org=collaborator).exists()
    partner_services.collaborators_set(
        org=org(world.partner_owner, world.partner),
        customer=world.customer,
        user_ids=[world.collaborator.id],
    )
    assert list(selectors.orders_for(org=collaborator)) == [order]


def test_who_may_order(world, hosting):
    grant(world, access="full", payment="customer")
    with pytest.raises(PermissionDenied):  # a customer user
        order_place(
            org=org(world.customer_user, world.customer),
            customer_id=world.customer.pk,
            lines=[LineRequest(hosting, 1)],
        )
    with pytest.raises(PermissionDenied):  # a partner admin without the buyer flag
        order_place(
            org=org(world.partner_admin, world.partner),
            customer_id=world.customer.pk,
            lines=[LineRequest(hosting, 1)],
        )
    with pytest.raises(Http404):  # another partner's customer
        order_place(
            org=org(world.partner_owner, world.partner),
            customer_id=world.other_customer.pk,
            lines=[LineRequest(hosting, 1)],
        )
    assert not Order.unscoped.exists()


def test_a_limited_partner_orders_only_its_products(world, hosting, mailbox):
    grant(world, access="limited", products=[mailbox])
    with pytest.raises(ValidationError, match="does not include Web hosting"):
        place(world, hosting, by="partner")
    order = place(world, mailbox, 3, by="partner")
    assert (order.payer, order.earning) == ("customer", "cashback")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "at least one"),
        ([("hosting", 0)], "Quantities"),
        ([("hosting", 100_001)], "Quantities"),
        ([("hosting", 1), ("hosting", 2)], "each product once"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(world, hosting, lines, message):
    with pytest.raises(ValidationError, match=message):
        order_place(
            org=org(world.customer_owner, world.customer),
            customer_id=world.customer.pk,
            lines=[LineRequest(hosting, q) for _, q in lines],
        )
    assert not Order.unscoped.exists()
    assert not Subscription.unscoped.exists()


def test_products_of_two_partners_are_ordered_separately(world, hosting, mailbox):
    grant(world, access="limited", products=[hosting])
    grant(world, access="limited", products=[mailbox], partner=world.other_partner)
    with pytest.raises(ValidationError, match="different partners"):
        order_place(
            org=org(world.customer_owner, world.customer),
            customer_id=world.customer.pk,
            lines=[LineRequest(hosting, 1), LineRequest(mailbox, 1)],
        )
    assert not Order.unscoped.exists()


def test_the_invoice_email_is_queued_as_ids_and_rendered_in_the_payers_language_at_delivery(
    world, hosting, django_capture_on_commit_callbacks
):
    """Issue 28: the order's transaction writes the email's ids and language,
    not its text; the delivery renders it once, keeps the text, sends it once."""
    grant(world, access="full", payment="customer")
    world.customer_owner.language = "de"
    world.customer_owner.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=False):
        order = place(world, hosting)
    invoice = order.invoices.get()
    email = OutboundEmail.objects.get(key=f"invoice:{invoice.pk}:{world.customer_owner.pk}")
    assert (email.status, email.subject, email.body_text, email.language) == (
        "pending",
        "",
        "",
        "de",
    )
    assert email.renderer == "billing.invoice" and email.params == {"invoice": str(invoice.pk)}
    mail.outbox.clear()

    assert emails.email_deliver(email_id=str(email.pk)) is True
    assert emails.email_deliver(email_id=str(email.pk)) is False  # once

    email.refresh_from_db()
    assert email.subject == f"[Partner Portal] Rechnung {invoice.number}: CHF 260.40"
    assert "35 x Web hosting" in email.body_text and email.body_html
    assert [(m.to, m.subject) for m in mail.outbox] == [([email.to], email.subject)]


def test_the_payer_and_the_earning_partner_are_emailed(
    world, hosting, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(world, hosting)
    invoice = order.invoices.get()
    sent = set(OutboundEmail.objects.values_list("to", "subject"))
    assert (
        world.customer_owner.email,
        f"[Partner Portal] Invoice {invoice.number}: CHF 260.40",
    ) in sent
    assert (
        world.partner_owner.email,
        "[Partner Portal] Bäckerei Müller ordered 35 x Web hosting",
    ) in sent
    # the partner never receives the customer's invoice
    assert not any(
        invoice.number in subject for to, subject in sent if to == world.partner_owner.email
    )


def test_a_refund_issues_a_credit_note_and_reverses_the_cashback_once(world, hosting):
    grant(world, access="full", payment="customer")
    order = place(world, hosting)
    with pytest.raises(PermissionDenied):
        order_refund(actor=world.partner_owner, order_id=order.pk)
    order_refund(actor=world.staff, order_id=order.pk, reason="withdrawal")
    with pytest.raises(Conflict):
        order_refund(actor=world.staff, order_id=order.pk)
    credit_note = order.invoices.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit_note.total == -order.charged_amount
    assert credit_note.number.startswith("CN-")
    balance = selectors.cashback_balance(partner=world.partner)
    assert balance == {"CHF": D("0.00")}
    assert CashbackEntry.unscoped.filter(order=order).count() == 2


def test_ledger_entries_cannot_be_edited_or_deleted(world, hosting):
    grant(world, access="full", payment="customer")
    entry = place(world, hosting).cashback_entries.get()
    entry.amount = D("1000.00")
    with pytest.raises(ValueError, match="cannot be edited"):
        entry.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        entry.delete()
    invoice = Invoice.unscoped.get()
    with pytest.raises(ValueError, match="cannot be edited"):
        invoice.save()


def test_quote_shows_the_waterfall_without_writing(world, hosting):
    grant(world, access="full", payment="partner")
    quoted = quote(
        org=org(world.partner_owner, world.partner),
        customer_id=world.customer.pk,
        lines=[LineRequest(hosting, 35)],
    )
    (line,) = quoted.lines
    assert (
        line.price.list_amount,
        line.price.after_partner_discount,
        line.price.preferential_amount,
        line.price.public_amount,
        line.charged,
        quoted.terms.payer,
    ) == (D("347.20"), D("277.76"), D("208.32"), D("260.40"), D("208.32"), "partner")
    assert not Order.unscoped.exists()


@pytest.mark.django_db(transaction=True)
def test_orders_placed_at_once_get_consecutive_invoice_numbers(world, hosting):
    grant(world, access="full", payment="customer")
    outcomes = race(lambda: place(world, hosting, 1))
    placed = [o for o in outcomes if isinstance(o, Order)]
    assert placed, outcomes
    numbers = sorted(Invoice.unscoped.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, len(placed) + 1))
    assert Order.unscoped.count() == len(placed)


def test_staff_refund_through_the_admin_action(world, hosting, client):
    grant(world, access="full", payment="customer")
    order = place(world, hosting)
    client.force_login(world.staff)
    response = client.post(
        "/admin/billing/order/",
        {"action": "refund", "_selected_action": [str(order.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "refunded"
    assert order.invoices.filter(kind="credit_note").count() == 1
    # the admin never edits a placed order
    page = client.get(f"/admin/billing/order/{order.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/billing/order/{order.pk}/delete/").status_code == 403
