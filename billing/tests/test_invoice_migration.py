"""Invoices issued before VAT keep their figures (billing migrations 0008 and
0009): the total stays, recorded as net = total with VAT 0 and treatment
"before_vat", and no due date; their page and PDF say so."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.models import Invoice
from billing.selectors import invoice_document
from billing.services.orders import LineRequest, order_place, order_refund
from billing.tests.conftest import org

BEFORE = [("billing", "0007_vat_rates")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest() -> list[tuple[str, str]]:
    """Every app's last migration: going back to BEFORE also unapplied the apps
    that build on billing (resale's invoices), which the rest of the suite needs."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.migrations
@pytest.mark.django_db(transaction=True)
def test_invoices_issued_before_vat_keep_their_total(world, hosting):
    customer_org = org(world.customer_owner, world.customer)
    order = order_place(
        org=customer_org, customer_id=world.customer.pk, lines=[LineRequest(hosting, 35)]
    )
    order_refund(actor=world.staff, order_id=order.pk, reason="Ordered twice")
    migrate(BEFORE)  # the schema before VAT: invoices have a total only
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, total FROM billing_invoice ORDER BY number")
        before = [(number, Decimal(str(total))) for number, total in cursor.fetchall()]
    assert [total for _number, total in before] == [Decimal("-260.40"), Decimal("260.40")]

    migrate(latest())
    after = {invoice.number: invoice for invoice in Invoice.unscoped.all().order_by("number")}
    for number, total in before:
        invoice = after[number]
        assert (invoice.total, invoice.net, invoice.vat_amount, invoice.vat_rate) == (
            total,
            total,
            Decimal("0.00"),
            Decimal("0.0000"),
        )
        assert (invoice.vat_treatment, invoice.due_on) == ("before_vat", None)
        document = invoice_document(invoice=invoice)
        assert (document.net, document.total) == (total, total)
        assert document.vat_label == "No VAT shown"
        assert "Issued before invoices showed VAT" in document.vat_note
