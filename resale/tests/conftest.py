"""Resale fixtures: billing's products (web hosting of SPEC §7's worked
example, the mailbox) and grants, plus helpers that write a customer's
subscription ledger."""

import datetime
from decimal import Decimal

import pytest

from billing.tests.conftest import grant, hosting, mailbox, org, vat_table  # noqa: F401
from subscriptions.models import Subscription, SubscriptionChange


def ledger(customer, product, changes, *, starts_on=None, billing_period=None, order=None):
    """A subscription of `customer` whose ledger is `changes`: [(day, quantity)]
    in order (0 ends it). Its first day is the first change's, unless told."""
    first_day, first_quantity = changes[0]
    unit = product.prices.get(currency=customer.currency).amount
    subscription = Subscription.unscoped.create(
        customer=customer,
        product=product,
        quantity=max(first_quantity, 1),
        unit_price=unit,
        currency=customer.currency,
        billing_period=billing_period or product.billing_period,
        starts_on=starts_on or first_day,
    )
    before = 0
    for day, quantity in changes:
        SubscriptionChange.unscoped.create(
            subscription=subscription,
            kind="new" if before == 0 else ("increase" if quantity > before else "decrease"),
            quantity_before=before,
            quantity_after=quantity,
            unit_price_before=unit if before else Decimal("0.00"),
            unit_price_after=unit if quantity else Decimal("0.00"),
            effective_on=day,
            order=order,
        )
        before = quantity
    return subscription


@pytest.fixture
def billed(world):
    """Alpine IT bills Bäckerei Müller: full access, the partner pays."""
    return grant(world, access="full", payment="partner")


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)
