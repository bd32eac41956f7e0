"""core.db.analyze: statistics after bulk work (issue 28, docs/operations.md).
On PostgreSQL each table is analyzed once (pg_stat_user_tables.last_analyze);
on SQLite it is a no-op that sends no statement."""

import pytest
from django.db import connection, transaction

from core.db import analyze
from partners.models import Partnership
from tenants.models import Contact, Tenant
from tenants.tests.factories import CustomerFactory
from tests.statistics import assert_analyzed_since, database_now

pytestmark = pytest.mark.django_db


def test_analyze_refreshes_each_table_once_on_postgresql_and_is_a_no_op_elsewhere(
    django_assert_num_queries,
):
    models = [Tenant, Partnership, Contact, Tenant]
    if connection.vendor == "postgresql":
        since = database_now()
        tables = analyze(models)
        assert tables == ["tenants_tenant", "partners_partnership", "tenants_contact"]
        assert_analyzed_since(tables, since)
    else:
        with django_assert_num_queries(0):
            assert analyze(models) == []


def test_a_failed_analyze_leaves_the_callers_transaction_usable():
    """A table that is gone (on PostgreSQL the statement fails): logged, [],
    and the transaction around it still writes. SQLite never runs it."""

    class Gone:
        class _meta:  # the shape of a model's _meta
            db_table = "no_such_table_anywhere"

    with transaction.atomic():
        assert analyze([Gone]) == []
        customer = CustomerFactory()
    assert Tenant.objects.filter(pk=customer.pk).exists()
