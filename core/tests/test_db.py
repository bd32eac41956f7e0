"""core.db.analyze: statistics after bulk work (issue 28, docs/operations.md).
On PostgreSQL each table is analyzed once (pg_stat_user_tables.last_analyze);
on SQLite it is a no-op that sends no statement. core.db.bulk_insert: COPY on
PostgreSQL, batched inserts elsewhere, the same rows either way (issue 27).
core.db.CompiledQuery: a fixed query compiled once, run with new values (issue
27 point 3)."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from core.db import CompiledQuery, analyze, bulk_insert
from partners.models import Partnership
from subscriptions.models import Subscription
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


def test_bulk_insert_writes_each_row_with_the_templates_other_fields():
    """Given columns from each row; every other field as the template holds it
    (its defaults, `auto_now` set, JSON), read back as `save()` would have written."""
    partner = CustomerFactory(kind=Tenant.Kind.PARTNER)
    now = timezone.now()
    template = Tenant(
        kind=Tenant.Kind.CUSTOMER,
        parent=partner,
        depth=partner.depth + 1,
        country="CH",
        email_domains=["example.ch"],
        created_at=now,
    )
    ids = [uuid.uuid4() for _ in range(3)]
    rows = [
        (pk, f"Bulk {n}", f"bulk-{n}", Tenant.build_path(partner, pk), "EUR" if n else "CHF")
        for n, pk in enumerate(ids)
    ]
    written = bulk_insert(
        Tenant, ("id", "name", "slug", "path", "currency"), rows, template=template, batch_size=2
    )

    assert written == 3
    saved = {t.pk: t for t in Tenant.objects.filter(pk__in=ids)}
    for pk, name, slug, path, currency in rows:
        tenant = saved[pk]
        assert (tenant.name, tenant.slug, tenant.path, tenant.currency) == (
            name,
            slug,
            path,
            currency,
        )
        assert tenant.parent == partner and tenant.depth == partner.depth + 1
        assert tenant.email_domains == ["example.ch"] and tenant.specialities == []
        assert tenant.status == Tenant.Status.ACTIVE and tenant.subscriptions_enabled is True
        assert tenant.created_at == now and tenant.updated_at >= now
        tenant.full_clean(exclude=["path", "parent"])


def test_bulk_insert_takes_decimals_dates_and_empty_values_as_they_are():
    customer = CustomerFactory()
    product = ProductFactory()
    pk = uuid.uuid4()
    bulk_insert(
        Subscription,
        (
            "id",
            "customer_id",
            "product_id",
            "quantity",
            "unit_price",
            "currency",
            "billing_period",
            "starts_on",
            "ends_on",
        ),
        [
            (
                pk,
                customer.pk,
                product.pk,
                3,
                Decimal("12.35"),
                "CHF",
                "monthly",
                datetime.date(2026, 1, 31),
                None,
            )
        ],
        template=Subscription(),
    )
    row = Subscription.unscoped.get(pk=pk)
    assert (row.quantity, row.unit_price, row.starts_on, row.ends_on) == (
        3,
        Decimal("12.35"),
        datetime.date(2026, 1, 31),
        None,
    )
    assert row.cancelled_at is None


def test_bulk_insert_wants_each_rows_own_id_and_known_columns():
    """A template's id would be every row's: refused, as a column the model lacks."""
    with pytest.raises(ValueError, match="each row gives its own id"):
        bulk_insert(Tenant, ("name",), [("No id",)], template=Tenant())
    with pytest.raises(ValueError, match="no column"):
        bulk_insert(Tenant, ("id", "nickname"), [(uuid.uuid4(), "x")], template=Tenant())
    assert not Tenant.objects.filter(name="No id").exists()


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
