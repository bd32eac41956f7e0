"""The billing fixtures the changes' tests stand on (billing/tests/conftest.py)."""

from billing.tests.conftest import hosting, mailbox  # noqa: F401
