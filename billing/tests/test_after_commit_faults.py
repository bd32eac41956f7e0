"""A committed order is answered as placed, whatever fails after the commit
(issue 28, reproduction 2): the after-commit hooks are robust
(`transaction.on_commit(..., robust=True)`), so an error in one is logged,
never turns the 201 into a 500, and never skips the hooks after it (the invoice
emails); a task that cannot be enqueued is left `pending` for the sweeper. Real commits here (`transaction=True`): the hooks run inside the
request, as in production."""

import logging
from decimal import Decimal

import pytest
from celery import Task
from django.core import mail
from django.db import connection
from kombu.exceptions import OperationalError

from billing.models import Invoice, Order
from billing.tests.conftest import grant, org
from subscriptions import mrr
from tenants import branch_cache, emails
from tenants.models import OutboundEmail
from tests.redis_outage import fake_redis_cache

LIST = "/api/v1/subscriptions/"


def invoice_emailed(invoice: Invoice, to: str) -> bool:
    return any(
        message.to == [to] and f"Invoice {invoice.number}" in message.subject
        for message in mail.outbox
    )


@pytest.mark.django_db(transaction=True)
def test_an_order_whose_after_commit_cache_bump_raises_answers_201_and_is_emailed(
    world, api, hosting, monkeypatch, caplog
):
    grant(world, access="full", payment="customer")
    real_bump = branch_cache._bump

    def bump(branches):
        if not connection.in_atomic_block:  # the bump after the commit
            raise RuntimeError("the cache said no")
        return real_bump(branches)

    monkeypatch.setattr(branch_cache, "_bump", bump)
    mail.outbox.clear()

    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        response = api(world.customer_owner, world.customer).post(
            LIST, {"product": "web-hosting", "quantity": 3}
        )

    assert response.status_code == 201
    invoice = Order.unscoped.get().invoices.get()
    assert invoice_emailed(invoice, world.customer_owner.email)  # the later hooks ran
    assert not OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()
    assert any(
        "retire_after_commit in on_commit()" in record.getMessage() for record in caplog.records
    )


@pytest.mark.django_db(transaction=True)
def test_an_order_placed_while_redis_is_down_answers_201_and_no_figure_is_stale(
    world, api, hosting, settings
):
    grant(world, access="full", payment="customer")
    server = fake_redis_cache(settings)
    partner = org(world.partner_owner, world.partner)
    assert mrr.book_mrr(org=partner, months=1)["current_mrr"] == 0  # cached
    mail.outbox.clear()

    server.connected = False
    response = api(world.customer_owner, world.customer).post(
        LIST, {"product": "web-hosting", "quantity": 3}
    )
    server.connected = True

    assert response.status_code == 201
    invoice = Order.unscoped.get().invoices.get()
    assert invoice_emailed(invoice, world.customer_owner.email)
    assert mrr.book_mrr(org=partner, months=1)["current_mrr"] == Decimal("29.76")


@pytest.mark.django_db(transaction=True)
def test_an_order_whose_emails_cannot_be_enqueued_answers_201_and_leaves_them_pending(
    world, api, hosting, monkeypatch, caplog
):
    """The broker is down: the emails stay `pending` in the outbox, which beat's
    sweeper enqueues again (docs/reliability.md); the client is told the truth."""
    grant(world, access="full", payment="customer")

    def apply_async(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", apply_async)
    mail.outbox.clear()

    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        response = api(world.customer_owner, world.customer).post(
            LIST, {"product": "web-hosting", "quantity": 3}
        )

    assert response.status_code == 201
    invoice = Order.unscoped.get().invoices.get()
    pending = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
    assert pending.filter(key=f"invoice:{invoice.pk}:{world.customer_owner.pk}").exists()
    assert mail.outbox == []
    # the sweeper's delivery renders it then, from the invoice
    monkeypatch.undo()
    for email_id in pending.values_list("id", flat=True):
        emails.email_deliver(email_id=email_id)
    assert invoice_emailed(invoice, world.customer_owner.email)
    assert any(
        "enqueue_on_commit('tenants.tasks.deliver_emails')" in record.getMessage()
        for record in caplog.records
    )
