"""Every write of billing: quotes and orders (orders.py), invoices (invoices.py),
renewals (renewals.py)."""

from billing.services.invoices import invoice_issue
from billing.services.orders import (
    LineRequest,
    Quote,
    QuoteLine,
    order_check,
    order_place,
    order_place_confirmed,
    order_place_for,
    order_record,
    order_refund,
    quote,
    quote_build,
    quote_for,
)
from billing.services.renewals import renewals_due, renewals_place_due, subscription_renew

__all__ = [
    "LineRequest",
    "Quote",
    "QuoteLine",
    "invoice_issue",
    "order_check",
    "order_place",
    "order_place_confirmed",
    "order_place_for",
    "order_record",
    "order_refund",
    "quote",
    "quote_build",
    "quote_for",
    "renewals_due",
    "renewals_place_due",
    "subscription_renew",
]
