"""What one order costs (issue 28, docs/performance.md "Month-end writes"): the
statements `order_place_for` runs, and what it leaves for after the commit.
An order's CPU is mostly the ORM and the drivers around each statement and
message, so these are pinned: a statement or a message more is a regression
to explain here."""

import pytest
from celery.app.task import Task
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, Order
from billing.services.orders import LineRequest, order_place_for
from billing.tests.conftest import grant, org
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

# One order of a new subscription by a partner owner under a full grant the
# partner pays: the catalog's prices and tiers, the grant under its lock, the
# customer's live units of the product (its tier counts them), the subscription,
# the book's branches, the order, its line, the ledger's change (its customer
# marked pending for the partners' books: subscriptions.books), the issuer, the
# VAT rate, the invoice number, the invoice, the recipients, the emails, and
# the outbox's rows of its three domain events (subscription.changed,
# invoice.issued, order.placed) in one insert (core.events.events_gathered).
# Not the new subscription's latest change (it has none).
ORDER_STATEMENTS = [
    "SELECT subscriptions_productprice",
    "SELECT subscriptions_pricetier",
    "SELECT partners_partnership",
    "SELECT subscriptions_subscription",
    "INSERT subscriptions_subscription",
    "SELECT tenants_tenant",
    "INSERT billing_order",
    "INSERT billing_orderline",
    "INSERT subscriptions_subscriptionchange",
    "INSERT partners_pendingshare",
    "SELECT tenants_tenant",
    "SELECT billing_vatrate",
    "UPDATE billing_invoicesequence",
    "INSERT billing_invoice",
    "SELECT tenants_membership",
    "INSERT tenants_outboundemail",
    "INSERT webhooks_webhookevent",
]


def _bookkeeping(sql: str) -> bool:
    return sql.startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))


def _statement(sql: str) -> str:
    """`<verb> <first table>` of a statement (a UNION's first part on PostgreSQL
    is in parentheses)."""
    sql = sql.lstrip("(")
    verb = sql.split(None, 1)[0].upper()
    marker = {"SELECT": " FROM ", "INSERT": " INTO ", "UPDATE": "UPDATE "}[verb]
    table = sql.split(marker, 1)[1].split(None, 1)[0].strip('"')
    return f"{verb} {table}"


@pytest.fixture
def partner_pays(world, hosting, vat_table):
    """Alpine IT pays; it and the provider are in Switzerland (Swiss VAT)."""
    for tenant in (world.provider, world.partner):
        tenant.country = "CH"
        tenant.save(update_fields=["country"])
    grant(world, access="full", payment="partner")
    return org(world.partner_owner, world.partner)


def _place(partner_org, world, hosting):
    return order_place_for(
        org=partner_org, customer=world.customer, lines=[LineRequest(hosting, 1)]
    )


def test_an_order_runs_its_statements_once_each(world, hosting, partner_pays):
    _place(partner_pays, world, hosting)  # warm: the content types, the site

    with CaptureQueriesContext(connection) as queries:
        order = _place(partner_pays, world, hosting)

    statements = [_statement(q["sql"]) for q in queries if not _bookkeeping(q["sql"])]
    assert statements == ORDER_STATEMENTS
    assert order.lines.get().subscription.quantity == 1


@pytest.mark.django_db(transaction=True)
def test_after_the_commit_an_order_sends_two_messages_and_reads_nothing(
    world, hosting, partner_pays, monkeypatch
):
    """One email delivery and one webhook fan-out for the order's three events;
    the programme's figure retired by the subscription's own retirement (no
    second look-up of the book's branches after the commit)."""
    sent = []
    monkeypatch.setattr(
        Task,
        "apply_async",
        lambda self, args=None, kwargs=None, **o: sent.append((self.name, args)),
    )
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        order = _place(partner_pays, world, hosting)
        in_transaction = len(queries)

    assert [q["sql"] for q in queries[in_transaction:] if not _bookkeeping(q["sql"])] == []
    assert [name for name, _ in sent] == ["tenants.tasks.deliver_emails", "webhooks.tasks.fan_out"]
    events = WebhookEvent.objects.filter(
        type__in=["subscription.changed", "invoice.issued", "order.placed"]
    )
    assert sorted(sent[1][1][0]) == sorted(str(pk) for pk in events.values_list("pk", flat=True))
    assert events.count() == 3
    assert Invoice.unscoped.get().order_id == order.pk
    assert Order.unscoped.count() == 1
