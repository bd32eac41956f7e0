"""core.db.analyze: statistics after bulk work (issue 28, docs/operations.md).
On PostgreSQL each table is analyzed once (pg_stat_user_tables.last_analyze);
on SQLite it is a no-op that sends no statement. core.db.bulk_insert: COPY on
PostgreSQL, batched inserts elsewhere, the same rows either way (issue 27).
core.db.CompiledQuery: a fixed query compiled once, run with new values (issue
27 point 3; ids, days, numbers and lists too: an order's reads, issue 28)."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.vat import VatRate
from catalog.tests.factories import ProductFactory
from core.db import (
    BULK_WRITE_COPY_FROM,
    MANY_COMPILED_MAX,
    CompiledQuery,
    Many,
    analyze,
    bulk_insert,
    bulk_write,
    model_columns,
)
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


def _contacts(customer: Tenant, count: int) -> list[Contact]:
    return [
        Contact(customer=customer, first_name="Anna", last_name=f"Muster {n}", email=f"a{n}@x.ch")
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [BULK_WRITE_COPY_FROM - 1, BULK_WRITE_COPY_FROM])
def test_bulk_write_saves_the_instances_as_bulk_create_does(count, django_assert_num_queries):
    """Fewer than BULK_WRITE_COPY_FROM through bulk_create (one INSERT); from
    there on copied (COPY on PostgreSQL): the same rows, `auto_now` set, the
    instances left saved, JSON and arrays as the fields write them."""
    customer = CustomerFactory()
    by_create = _contacts(customer, count)
    Contact.unscoped.bulk_create(by_create)
    by_write = _contacts(customer, count)
    before = timezone.now()
    copied = count >= BULK_WRITE_COPY_FROM and connection.vendor == "postgresql"
    # one INSERT or one executemany; COPY goes past Django's cursor wrapper
    with django_assert_num_queries(0 if copied else 1):
        written = bulk_write(by_write)
    assert list(written) == by_write
    assert all(not c._state.adding and c._state.db == "default" for c in by_write)

    def stored(contacts):
        rows = Contact.unscoped.filter(pk__in=[c.pk for c in contacts]).order_by("last_name")
        return [(c.customer_id, c.first_name, c.last_name, c.email, c.is_primary) for c in rows]

    assert stored(by_write) == stored(by_create)
    partners = [CustomerFactory(kind=Tenant.Kind.PARTNER, currency="EUR") for _ in range(2)]
    tenants = [
        Tenant(
            kind=Tenant.Kind.CUSTOMER,
            name=f"Copied {n}",
            slug=f"copied-{n}",
            parent=partners[n % 2],
            depth=2,
            email_domains=[f"c{n}.ch"],
        )
        for n in range(count)
    ]
    for tenant in tenants:
        tenant.path = Tenant.build_path(tenant.parent, tenant.pk)
    bulk_write(tenants)
    saved = Tenant.objects.get(pk=tenants[-1].pk)
    assert saved.email_domains == [f"c{count - 1}.ch"] and saved.specialities == []
    assert saved.updated_at >= before and saved.parent == partners[(count - 1) % 2]


def test_bulk_write_raises_djangos_integrity_error_and_writes_nothing():
    """A duplicate slug among copied tenants: Django's IntegrityError (as an
    INSERT raises it, COPY's own error converted), and none of the rows."""
    partner = CustomerFactory(kind=Tenant.Kind.PARTNER)
    tenants = [
        Tenant(kind=Tenant.Kind.CUSTOMER, name=f"Dup {n}", slug="dup", parent=partner, depth=2)
        for n in range(BULK_WRITE_COPY_FROM)
    ]
    for tenant in tenants:
        tenant.path = Tenant.build_path(partner, tenant.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_write(tenants)
    assert not Tenant.objects.filter(slug="dup").exists()


def test_bulk_write_takes_the_id_of_a_relation_saved_since_and_refuses_an_unsaved_one():
    """As bulk_create does: a contact whose customer had no id when it was set
    gets the id the customer has now; a customer still unsaved is refused."""
    partner = CustomerFactory(kind=Tenant.Kind.PARTNER)
    customer = Tenant(kind=Tenant.Kind.CUSTOMER, name="Later", slug="later", parent=partner)
    customer.pk = None
    contacts = [Contact(customer=customer, first_name="A") for _ in range(BULK_WRITE_COPY_FROM)]
    with pytest.raises(ValueError, match="unsaved"):
        bulk_write(contacts)
    customer.pk = uuid.uuid4()
    customer.path, customer.depth = Tenant.build_path(partner, customer.pk), partner.depth + 1
    customer.save()
    bulk_write(contacts)
    assert Contact.unscoped.filter(customer=customer).count() == BULK_WRITE_COPY_FROM
    assert bulk_write([]) == []


@pytest.mark.django_db(transaction=True)
def test_bulk_write_outside_a_transaction_writes_all_or_nothing():
    """In autocommit (an outbox write outside an atomic block): a duplicate
    last row leaves none of the rows before it, on SQLite's batches too."""
    partner = CustomerFactory(kind=Tenant.Kind.PARTNER)
    taken = CustomerFactory(parent=partner)
    tenants = [
        Tenant(
            kind=Tenant.Kind.CUSTOMER,
            name=f"Batch {n}",
            slug=taken.slug if n == BULK_WRITE_COPY_FROM - 1 else f"batch-{n}",
            parent=partner,
            depth=partner.depth + 1,
        )
        for n in range(BULK_WRITE_COPY_FROM)
    ]
    for tenant in tenants:
        tenant.path = Tenant.build_path(partner, tenant.pk)
    with pytest.raises(IntegrityError):
        bulk_write(tenants)
    assert not Tenant.objects.filter(name__startswith="Batch ").exists()


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
    with pytest.raises(ImproperlyConfigured, match="does not reach"):
        transformed.rows(slug="x")
    with pytest.raises(TypeError):
        CompiledQuery(_by_slug, "slug").rows(name="x")


def _rates(*, countries: list, on: datetime.date, at_least: int):
    return (
        VatRate.objects.filter(country__in=countries, valid_from__lte=on, id__gte=at_least)
        .order_by("country", "valid_from")
        .values_list(*model_columns(VatRate))
    )


def test_compiled_ids_days_and_lists_give_what_the_queryset_gives(django_assert_num_queries):
    """Parameters of other kinds than text: a day (twice in the SQL, as
    `active_on` has it), a number, and a list compiled once per length (duplicates
    dropped, as the ORM drops them); rows built into models; an empty list is
    no row without a query; a list longer than MANY_COMPILED_MAX runs the ORM's."""
    VatRate.objects.all().delete()
    day = datetime.date(2026, 1, 1)
    for country, rate in (("CH", "0.081"), ("DE", "0.19"), ("FR", "0.2"), ("IT", "0.22")):
        VatRate.objects.create(country=country, valid_from=day, rate=Decimal(rate))
    query = CompiledQuery(
        _rates,
        "countries",
        "on",
        "at_least",
        kinds={"countries": Many(str), "on": datetime.date, "at_least": int},
    )
    for countries, on in (
        (["CH", "DE"], day),
        (["FR", "CH"], day),
        (["DE", "DE", "IT"], day),  # duplicates: compiled as two
        (["CH", "DE"], day - datetime.timedelta(days=1)),
        (["CH"], day),
    ):
        expected = VatRate.objects.filter(country__in=countries, valid_from__lte=on).order_by(
            "country", "valid_from"
        )
        expected = list(expected)
        with django_assert_num_queries(1):
            found = query.instances(VatRate, countries=countries, on=on, at_least=0)
        assert [(r.pk, r.country, r.rate, r.valid_from) for r in found] == [
            (r.pk, r.country, r.rate, r.valid_from) for r in expected
        ]
        assert all(isinstance(r.valid_from, datetime.date) for r in found)
    assert sorted(query._compiled) == sorted(
        (connection.alias, connection.vendor, (n,)) for n in (1, 2)
    )
    highest = VatRate.objects.order_by("-id").values_list("id", flat=True)[0]
    assert [r[1] for r in query.rows(countries=["CH", "IT"], on=day, at_least=highest)] == ["IT"]
    with django_assert_num_queries(0):
        assert query.rows(countries=[], on=day, at_least=0) == []
    many = [f"X{n}" for n in range(MANY_COMPILED_MAX)] + ["CH", "FR"]
    assert [r[1] for r in query.rows(countries=many, on=day, at_least=0)] == ["CH", "FR"]
    assert all(len(key[2]) and key[2][0] <= MANY_COMPILED_MAX for key in query._compiled)


def test_compiled_ids_reach_the_sql_as_the_orm_hands_them():
    """A UUID (and its text) finds its row on SQLite (hex) and PostgreSQL (uuid)."""
    customer = CustomerFactory()
    query = CompiledQuery(
        lambda *, tenant: Tenant.objects.filter(pk=tenant).values_list(*model_columns(Tenant)),
        "tenant",
        kinds={"tenant": uuid.UUID},
    )
    for value in (customer.pk, str(customer.pk)):
        (found,) = query.instances(Tenant, tenant=value)
        assert (found.pk, found.slug, found.path) == (customer.pk, customer.slug, customer.path)
    assert query.instances(Tenant, tenant=uuid.uuid4()) == []
    with pytest.raises(ImproperlyConfigured, match="columns"):
        CompiledQuery(
            lambda *, tenant: Tenant.objects.filter(pk=tenant).values_list("id", "slug"),
            "tenant",
            kinds={"tenant": uuid.UUID},
        ).instances(Tenant, tenant=customer.pk)
