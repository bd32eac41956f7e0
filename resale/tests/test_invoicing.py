"""The month-end run (SPEC §7 rev. 2): the partner's invoice to each customer it
bills, from the subscription ledger at resale prices, once per month."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billing.models import InvoiceSequence
from billing.services.orders import LineRequest, order_place, order_place_for
from resale import invoicing, tasks
from resale.models import PartnerInvoice, PartnerInvoiceLine, ResalePriceEntry
from resale.tests.conftest import d, grant, ledger, org
from tenants.models import Contact, OutboundEmail
from tests.clock import on
from tests.concurrency import race

NOVEMBER = datetime.date(2026, 11, 1)


def markup(world, product, value="30", currency="CHF", valid_from=datetime.date(2026, 1, 1)):
    ResalePriceEntry.unscoped.create(
        partner=world.partner,
        product=product,
        currency=currency,
        mode="markup",
        value=Decimal(value),
        valid_from=valid_from,
    )


def issue(partnership, month=NOVEMBER):
    return invoicing.partner_invoice_issue(partnership_id=partnership.pk, month=month)


def lines(invoice):
    return [
        (x.description, x.quantity, x.unit_price, x.amount, x.cost, x.period_start, x.period_end)
        for x in invoice.lines.order_by("position")
    ]


@time_machine.travel(on(2026, 12, 1, 3))
def test_the_worked_month_raise_mid_month(world, hosting, billed):
    """35 web hostings from 1 October, 40 from 16 November, resold at cost + 30 %
    (docs/partner-billing.md walks through these figures)."""
    markup(world, hosting)
    ledger(world.customer, hosting, [(d("2026-10-01"), 35), (d("2026-11-16"), 40)])

    invoice = issue(billed)

    assert lines(invoice) == [
        # 35 x 7.75 = 271.25 a period: 271.25 - round(271.25 x 15/30) = 135.62;
        # cost 35 x 5.96 = 208.60: 208.60 - 104.30 = 104.30
        ("Web hosting", 35, Decimal("7.75"), Decimal("135.62"), Decimal("104.30"),
         d("2026-11-01"), d("2026-11-15")),
        # 40 x 7.75 = 310.00 x 15/30 = 155.00; cost 40 x 5.96 = 238.40 x 15/30 = 119.20
        ("Web hosting", 40, Decimal("7.75"), Decimal("155.00"), Decimal("119.20"),
         d("2026-11-16"), d("2026-11-30")),
    ]  # fmt: skip
    assert (invoice.net, invoice.total) == (Decimal("290.62"), Decimal("290.62"))
    assert (invoice.cost, invoice.margin) == (Decimal("223.50"), Decimal("67.12"))
    assert invoice.number == "2026-00001" and invoice.month == NOVEMBER
    assert (invoice.period_start, invoice.period_end) == (d("2026-11-01"), d("2026-11-30"))
    assert invoice.issuer["name"] == "Alpine IT" and invoice.bill_to["name"] == "Bäckerei Müller"


@time_machine.travel(on(2026, 12, 1, 3))
def test_a_period_anchored_mid_month_is_cut_at_its_period_and_an_end(world, hosting, billed):
    """Anchored on 20 October: the month holds the ends of two periods; ended on
    24 November (its ledger at 0 from the 25th)."""
    ledger(world.customer, hosting, [(d("2026-10-20"), 10), (d("2026-11-25"), 0)])

    invoice = issue(billed)

    # public at the 10 % tier: 8.93 a unit, cost round(7.94 x 0.90) = 7.15
    assert lines(invoice) == [
        # 20 Oct - 19 Nov (31 days), days 1-19 Nov: round(89.30 x 19/31) = 54.73
        ("Web hosting", 10, Decimal("8.93"), Decimal("54.73"), Decimal("43.82"),
         d("2026-11-01"), d("2026-11-19")),
        # 20 Nov - 19 Dec (30 days), days 20-24 Nov: round(89.30 x 30/30) - round(89.30 x 25/30)
        ("Web hosting", 10, Decimal("8.93"), Decimal("14.88"), Decimal("11.92"),
         d("2026-11-20"), d("2026-11-24")),
    ]  # fmt: skip


@time_machine.travel(on(2026, 12, 1, 3))
def test_a_resale_price_changed_mid_month_cuts_the_line(world, hosting, billed):
    ResalePriceEntry.unscoped.create(
        partner=world.partner, product=hosting, currency="CHF", mode="fixed",
        value=Decimal("10.00"), valid_from=d("2026-11-11"),
    )  # fmt: skip
    ledger(world.customer, hosting, [(d("2026-11-01"), 3)])

    invoice = issue(billed)

    assert [(x.unit_price, x.amount, x.period_start) for x in invoice.lines.all()] == [
        (Decimal("9.92"), Decimal("9.92"), d("2026-11-01")),  # 29.76 - round(29.76 x 20/30)
        (Decimal("10.00"), Decimal("20.00"), d("2026-11-11")),  # round(30.00 x 20/30)
    ]


@time_machine.travel(on(2026, 12, 1, 3))
def test_what_the_customer_pays_itself_is_not_billed_again(world, api, hosting, mailbox):
    """Under full access with the partner paying, an order the customer places is
    paid by the customer to the provider (SPEC §7's table): not the partner's to bill."""
    billed = grant(world, access="full", payment="partner")
    with time_machine.travel(on(2026, 10, 1)):
        order_place_for(
            org=org(world.partner_owner, world.partner),
            customer=world.customer,
            lines=[LineRequest(hosting, 5)],
        )
        order_place(
            org=org(world.customer_owner, world.customer),
            customer_id=world.customer.pk,
            lines=[LineRequest(mailbox, 2)],
        )

    invoice = issue(billed)

    assert [(x.description, x.quantity) for x in invoice.lines.all()] == [("Web hosting", 5)]
    assert invoice.net == Decimal("49.60")  # 5 x 9.92, a whole period (1-30 Nov)


@time_machine.travel(on(2026, 12, 1, 3))
@pytest.mark.parametrize(("access", "payment"), [("full", "customer"), ("limited", None)])
def test_a_grant_where_the_partner_does_not_pay_bills_nothing(world, hosting, access, payment):
    partnership = grant(
        world, access=access, payment=payment, products=[hosting] if access == "limited" else None
    )
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])
    assert issue(partnership) is None
    assert invoicing.partner_invoices_due(today=d("2026-12-01")) == []


@time_machine.travel(on(2026, 12, 1, 3))
def test_an_ended_grant_bills_nothing_and_a_month_without_lines_issues_nothing(
    world, hosting, billed
):
    assert issue(billed) is None  # nothing in the ledger
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])
    billed.status = "ended"
    billed.save(update_fields=["status"])
    assert issue(billed) is None
    assert not PartnerInvoice.unscoped.exists()


@time_machine.travel(on(2026, 12, 1, 3))
def test_the_beat_job_issues_each_invoice_once_numbered_without_gaps(
    world, hosting, billed, django_capture_on_commit_callbacks
):
    from tenants.tests.factories import CustomerFactory

    second = CustomerFactory(name="Zahnarzt Huber", parent=world.partner, slug="huber")
    second_grant = grant_for(world, second)
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])
    ledger(second, hosting, [(d("2026-11-10"), 2)])

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.issue_partner_invoices() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.issue_partner_invoices() == 0
    assert tasks.issue_partner_invoice(str(second_grant.pk), "2026-11-01") is None  # a redelivery

    invoices = PartnerInvoice.unscoped.order_by("sequence_number")
    assert [i.number for i in invoices] == ["2026-00001", "2026-00002"]
    assert {i.customer for i in invoices} == {world.customer, second}
    # another partner's invoices have their own sequence
    assert InvoiceSequence.objects.filter(key__startswith="R2026").count() == 1


def grant_for(world, customer):
    from partners.models import Partnership

    return Partnership.unscoped.create(
        partner=world.partner,
        customer=customer,
        access="full",
        payment="partner",
        status="active",
        initiated_by="partner",
    )


@time_machine.travel(on(2026, 12, 1, 3))
def test_the_invoice_is_emailed_to_the_customers_billing_contact(
    world, hosting, billed, django_capture_on_commit_callbacks
):
    Contact.unscoped.create(
        customer=world.customer, first_name="Anna", last_name="Müller",
        email="billing@mueller.example", is_primary=True,
    )  # fmt: skip
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])

    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue(billed)

    (email,) = OutboundEmail.objects.filter(key__startswith=f"partner-invoice:{invoice.pk}")
    assert email.to == "billing@mueller.example"
    assert email.status == "sent"
    assert "Invoice 2026-00001 from Alpine IT: CHF 49.60" in email.subject
    assert f"/t/mueller/partner-invoices/{invoice.pk}/" in email.body_text


@time_machine.travel(on(2026, 12, 1, 3))
def test_without_a_contact_the_customers_owners_and_admins_are_emailed(
    world, hosting, billed, django_capture_on_commit_callbacks
):
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue(billed)
    emails = OutboundEmail.objects.filter(key__startswith=f"partner-invoice:{invoice.pk}")
    assert sorted(e.to for e in emails) == sorted(
        [world.customer_owner.email, world.customer_admin.email]
    )


def test_invoice_rows_cannot_be_edited_or_deleted(world, hosting, billed):
    with time_machine.travel(on(2026, 12, 1, 3)):
        ledger(world.customer, hosting, [(d("2026-10-01"), 5)])
        invoice = issue(billed)
    with pytest.raises(ValueError, match="cannot be edited"):
        invoice.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        PartnerInvoiceLine.unscoped.filter(invoice=invoice).delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.time_machine(on(2026, 12, 1, 3))  # its own day: the calendar pass leaves it out
def test_two_runs_racing_issue_one_invoice_and_keep_the_numbers_gap_free(world, hosting, vat_table):
    # vat_table: an earlier transactional test's flush empties the seeded rates
    billed = grant(world, access="full", payment="partner")
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])

    outcomes = race(lambda: issue(billed), count=2)

    issued = [o for o in outcomes if isinstance(o, PartnerInvoice)]
    assert len(issued) == 1, outcomes
    assert PartnerInvoice.unscoped.count() == 1
    assert PartnerInvoiceLine.unscoped.count() == 1
    sequence = InvoiceSequence.objects.get(pk=issued[0].sequence_id)
    assert sequence.last_number == 1 == issued[0].sequence_number
    if connection.vendor == "postgresql":  # no loser with an error on PostgreSQL: it waited
        assert outcomes.count(None) == 1


# --- with VAT and contracts -------------------------------------------------------------------


@time_machine.travel(on(2026, 12, 1, 3))
def test_a_swiss_partner_invoices_a_swiss_customer_with_swiss_vat_and_its_contracts(
    world, hosting, billed
):
    from customers import services as customer_services

    world.partner.country = world.customer.country = "CH"
    world.partner.vat_number = "CHE-123.456.788 MWST"
    world.partner.save(update_fields=["country", "vat_number"])
    world.customer.payment_terms_days = 10
    world.customer.save(update_fields=["country", "payment_terms_days"])
    markup(world, hosting)
    ledger(world.customer, hosting, [(d("2026-10-01"), 35), (d("2026-11-16"), 40)])
    with time_machine.travel(on(2026, 10, 1)):
        customer_services.contract_create(
            org=org(world.partner_owner, world.partner),
            customer=world.customer,
            data={
                "type": "retainer",
                "name": "Wartung",
                "starts_on": d("2026-10-01"),
                "fee": Decimal("77.31"),
            },
        )

    invoice = issue(billed)

    contract_line = invoice.lines.get(kind="contract")
    assert (contract_line.amount, contract_line.cost, contract_line.margin) == (
        Decimal("77.31"),
        Decimal("0.00"),
        Decimal("77.31"),
    )
    assert contract_line.charge_kind == "retainer"
    assert invoice.net == Decimal("367.93")  # 290.62 + 77.31
    assert (invoice.vat_treatment, invoice.vat_rate) == ("domestic", Decimal("0.0810"))
    assert invoice.vat_amount == Decimal("29.80")  # 367.93 x 0.081 = 29.802
    assert invoice.total == Decimal("397.73")
    assert (invoice.cost, invoice.margin) == (Decimal("223.50"), Decimal("144.43"))
    assert invoice.due_on == d("2026-12-11")
    assert invoice.issuer["vat_number"] == "CHE-123.456.788 MWST"


@time_machine.travel(on(2026, 12, 1, 3))
def test_an_eu_business_is_invoiced_without_vat_reverse_charge_noted(world, hosting, billed):
    world.partner.country = "CH"
    world.partner.save(update_fields=["country"])
    world.customer.country, world.customer.vat_number = "DE", "DE136695976"
    world.customer.save(update_fields=["country", "vat_number"])
    ledger(world.customer, hosting, [(d("2026-10-01"), 5)])

    invoice = issue(billed)

    assert (invoice.vat_treatment, invoice.vat_amount) == ("reverse_charge", Decimal("0.00"))
    assert invoice.total == invoice.net == Decimal("49.60")
