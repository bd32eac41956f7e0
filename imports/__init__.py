"""Bulk import of customers and contacts from CSV files (SPEC §2, Atera).

One column definition per kind (CUSTOMERS, CONTACTS) drives the downloadable
template, the parser, the per-row form and the docs. An import is planned
before anything is written: every row is validated (a Django form per row, then
checks across rows and against the partner's customers), and any error rejects
the whole file with a report by row and column (the header is row 1, as a
spreadsheet shows it). A valid plan is written in one transaction, re-planned
inside it; matching makes a re-upload update instead of duplicating:

- a customer matches one the partner may act on (customers_visible_to) by
  company/tax id when the row has one, else by name (case-insensitive); a new
  one is created unclaimed, as customer_add makes it: full access, partner pays;
- a contact matches by email within its customer (by first and last name when
  the row has no email).

An empty cell leaves the current value as it is: an import adds and changes, it
never erases; nor does it rewrite a name, tax id or email that differs only in
case or spacing. Files up to SYNC_ROWS_MAX rows are written during the request;
larger ones by a Celery task (ImportJob) that reports its progress.

The steps, one module each: columns (the kinds) → parse (file to table, the
report) → plan (validate and match) → apply (write) → jobs (submit, run, retry).
"""
