"""Every write of billing, one module per domain: quotes and orders (orders.py),
invoices and credit notes (invoices.py), renewals (renewals.py), staff's special
prices (special_prices.py); the changes of a subscription and their credit orders
are the amendments app's (issue 19). Import from the module that holds the function."""
