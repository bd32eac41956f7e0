"""core.db.analyze: statistics after bulk work (issue 28, docs/operations.md).
On PostgreSQL each table is analyzed once (pg_stat_user_tables.last_analyze);
on SQLite it is a no-op that sends no statement. core.db.CompiledQuery: a
fixed query compiled once, run with new values (issue 27 point 3)."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from core.db import CompiledQuery, analyze
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


# --- CompiledQuery -----------------------------------------------------------------------------


def _by_slug(*, slug: str):
    return Tenant.objects.filter(slug=slug).order_by().values_list("id", "slug", "created_at")


def test_a_compiled_query_returns_what_its_queryset_returns_for_each_value(
    django_assert_num_queries,
):
    first, second = CustomerFactory(), CustomerFactory()
    built = []

    def build(*, slug: str):
        built.append(slug)
        return _by_slug(slug=slug)

    query = CompiledQuery(build, "slug")

    for customer in (first, second, first):
        with django_assert_num_queries(1):
            rows = query.rows(slug=customer.slug)
        assert rows == list(_by_slug(slug=customer.slug)) and len(rows) == 1
        assert isinstance(rows[0][0], uuid.UUID)  # the UUID field's converter (SQLite)
    assert query.rows(slug="no-such-slug") == []
    assert len(built) == 2  # built twice (the check that it is fixed), on first use only


def test_a_query_that_is_not_fixed_or_does_not_carry_its_value_is_refused():
    moving = CompiledQuery(
        lambda *, slug: _by_slug(slug=slug).filter(created_at__lte=timezone.now()), "slug"
    )
    with pytest.raises(ImproperlyConfigured, match="different query"):
        moving.rows(slug="x")
    transformed = CompiledQuery(
        lambda *, slug: Tenant.objects.filter(slug__icontains=slug).values_list("id"), "slug"
    )
    with pytest.raises(ImproperlyConfigured, match="not one parameter"):
        transformed.rows(slug="x")
    with pytest.raises(TypeError):
        CompiledQuery(_by_slug, "slug").rows(name="x")
