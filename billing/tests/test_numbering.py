"""Gap-free invoice numbers without a lock held through the order (issue 28):
a number is drawn last in the order's transaction, so its sequence is locked
from the number to the commit only. On PostgreSQL two threads show it: an order
paused before its number does not hold up another order, and an order holding
its number (an invoice) does not hold up a credit note (another sequence). On
SQLite, which locks the whole database for any write, the same steps run one
after the other and the numbers come out in the order they were drawn."""

import threading

import pytest
from django.db import connection, transaction

from billing.models import Invoice, InvoiceSequence
from billing.services import orders as order_services
from billing.services.orders import LineRequest, order_place, order_refund
from billing.tests.conftest import org

WAIT = 10  # seconds a thread waits for the other, at most (a hang fails the test)


def place(world, product):
    return order_place(
        org=org(world.customer_owner, world.customer),
        customer_id=world.customer.pk,
        lines=[LineRequest(product, 1)],
    )


def impatient(work):
    """`work` in a transaction that gives up on any row lock after 2 s (PostgreSQL)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        return work()


def in_thread(work) -> threading.Thread:
    outcome = {}

    def run():
        try:
            outcome["result"] = work()
        except Exception as exc:  # handed to the test, which asserts on it
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.outcome = outcome
    thread.start()
    return thread


def result(thread: threading.Thread):
    thread.join(WAIT * 2)
    assert not thread.is_alive()
    if "error" in thread.outcome:
        raise thread.outcome["error"]
    return thread.outcome["result"]


@pytest.mark.django_db(transaction=True)
def test_an_order_before_its_number_does_not_hold_up_another_order(world, hosting, monkeypatch):
    """A's order has written its subscription, order, lines and ledger and waits
    just before its invoice number; B's whole order commits meanwhile and takes
    number 1, then A takes number 2."""
    draw = order_services.invoices_issue
    paused, resume = threading.Event(), threading.Event()
    a_thread: list[threading.Thread] = []

    def draw_after_b(**kwargs):
        if threading.current_thread() in a_thread:
            paused.set()
            assert resume.wait(WAIT)
        return draw(**kwargs)

    monkeypatch.setattr(order_services, "invoices_issue", draw_after_b)
    if connection.vendor == "postgresql":
        a_thread.append(in_thread(lambda: place(world, hosting)))
        assert paused.wait(WAIT)
        b = result(in_thread(lambda: impatient(lambda: place(world, hosting))))
        resume.set()
        a = result(a_thread[0])
    else:  # one writer at a time: B, then A
        b = place(world, hosting)
        a = place(world, hosting)
    assert b.invoices.get().number.endswith("-000001")
    assert a.invoices.get().number.endswith("-000002")
    assert InvoiceSequence.objects.get(key__startswith="INV-").last_number == 2


@pytest.mark.django_db(transaction=True)
def test_an_invoice_number_held_does_not_hold_up_a_credit_note(world, hosting):
    """A's order holds its invoice number (INV) in a transaction still open; a
    refund issues its credit note (CN, another sequence) and commits meanwhile.
    A's number is then given back by its rollback, and the next order takes it."""
    refunded = place(world, hosting)
    numbered, release = threading.Event(), threading.Event()

    def a_holding_its_number():
        with transaction.atomic():
            place(world, hosting)
            numbered.set()
            assert release.wait(WAIT)
            transaction.set_rollback(True)

    def refund():
        return order_refund(actor=world.staff, order_id=refunded.pk)

    if connection.vendor == "postgresql":
        a = in_thread(a_holding_its_number)
        assert numbered.wait(WAIT)
        result(in_thread(lambda: impatient(refund)))
        release.set()
        result(a)
    else:  # one writer at a time: the refund, then A
        refund()
        release.set()
        a_holding_its_number()
    credit_note = Invoice.unscoped.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit_note.number.startswith("CN-") and credit_note.number.endswith("-000001")
    assert place(world, hosting).invoices.get().number.endswith("-000002")
    assert sorted(
        Invoice.unscoped.filter(kind="invoice").values_list("sequence_number", flat=True)
    ) == [1, 2]
