"""`manage.py check_mrr` (issue 27): the operators' oracle finds every partner's
book as served equal to the book computed afresh from the ledger, and reports a
figure the cache kept after a write that forgot to retire it."""

from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from catalog.tests.factories import ProductFactory
from partners.services import customer_add
from subscriptions import mrr, services
from subscriptions.mrr_check import check_mrr
from subscriptions.tests.ledger import books_computed, open_ledger  # noqa: F401 (a fixture)
from tenants.selectors import org_context_for
from tests.clock import on

MOMENT = on(2027, 3, 10)
TODAY = MOMENT.date()
# the computed and cached book (a kept one: test_books.py)
pytestmark = [pytest.mark.time_machine(MOMENT), pytest.mark.usefixtures("books_computed")]


@pytest.fixture
def book(world):
    cache.clear()
    owner = org_context_for(user=world.partner_owner, tenant_id=world.partner.pk)
    product = ProductFactory()
    alpha = customer_add(org=owner, name="Alpha").customer
    subscription = services.subscription_create(
        org=owner,
        customer=alpha,
        product=product,
        quantity=3,
        unit_price=Decimal("10.00"),
        starts_on=TODAY.replace(month=1, day=1),
    )
    open_ledger(subscription)
    yield owner, subscription
    cache.clear()


def test_every_book_served_is_the_ledgers(book):
    out = StringIO()
    call_command("check_mrr", "--months", "3", stdout=out)
    result = check_mrr(months=3)
    assert result.differences == ()
    # own and sub-tree books of each partner with an owner, in its currencies
    assert result.books >= 2
    assert result.figures > 0
    assert f"{result.books} books, {result.figures} figures, 0 differences" in out.getvalue()


def test_a_figure_a_forgotten_retirement_left_is_reported(book):
    owner, subscription = book
    served = mrr.book_mrr(org=owner, months=3)  # now in the cache
    assert served["current_mrr"] == Decimal("30.00")
    # a write whose retirement is forgotten (as a bulk write without book_changed)
    with mock.patch("partners.book_changes.branch_changed"):
        entry = services.LedgerEntry(
            services.Kind.INCREASE, (3, Decimal("10.00")), (5, Decimal("10.00"))
        )
        services.ledger_record_many(rows=[(subscription, entry, TODAY, None)])
    assert mrr.book_mrr(org=owner, months=3)["current_mrr"] == Decimal("30.00")  # stale

    out = StringIO()
    with pytest.raises(CommandError, match=r"differences"):
        call_command("check_mrr", "--months", "3", stdout=out)
    report = out.getvalue()
    assert f"{owner.tenant.name} CHF own: current_mrr is 30.00, should be 50.00" in report
    assert "2027-03 mrr is 30.00, should be 50.00" in report


def test_retire_recomputes_the_wrong_books(book):
    owner, subscription = book
    mrr.book_mrr(org=owner, months=3)
    with mock.patch("partners.book_changes.branch_changed"):
        entry = services.LedgerEntry(
            services.Kind.INCREASE, (3, Decimal("10.00")), (5, Decimal("10.00"))
        )
        services.ledger_record_many(rows=[(subscription, entry, TODAY, None)])

    out = StringIO()
    call_command("check_mrr", "--months", "3", "--retire", stdout=out)
    report = out.getvalue()
    assert "current_mrr is 30.00, should be 50.00" in report
    assert "retired the cached figures of 1 partners; checking again" in report
    assert report.rstrip().endswith("0 differences")
    assert mrr.book_mrr(org=owner, months=3)["current_mrr"] == Decimal("50.00")
