"""Every write of billing, one module per domain: quotes and orders (orders.py),
invoices and credit notes (invoices.py), renewals (renewals.py), changes of a
subscription (changes.py), credit orders (credits.py), staff's special prices
(special_prices.py). Import from the module that holds the function."""
