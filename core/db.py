"""Database housekeeping the apps share.

`bulk_insert` writes many rows of one model at once, with PostgreSQL's `COPY`
(the demo's scale seed: a million subscriptions).

`CompiledQuery` builds and compiles a fixed-shape query once per process, for
the statements every API request runs (issue 27 point 3, docs/performance.md).

`analyze` refreshes the planner's statistics after bulk work (issue 28,
docs/operations.md "Statistics after bulk work"): a bulk load leaves PostgreSQL
planning with the old row counts until autovacuum's next ANALYZE, and the
customer list ran at half speed meanwhile.
"""

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Field, Model, QuerySet

logger = logging.getLogger(__name__)


def analyze(models: Iterable[type[Model]]) -> list[str]:
    """ANALYZE each model's table, once, on PostgreSQL; nothing on another
    database (SQLite plans without statistics unless asked). Returns the
    tables analyzed.

    ANALYZE may run inside a transaction block, and then sees the rows that
    transaction wrote. It runs in a transaction (a savepoint when called in
    one) of its own, so a failure is logged and leaves the caller's
    transaction usable: statistics are an optimisation,
    never a reason to fail the work they follow."""
    if connection.vendor != "postgresql":
        return []
    tables = list(dict.fromkeys(model._meta.db_table for model in models))
    quote = connection.ops.quote_name
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ANALYZE {quote(table)}")  # names from the models
    except DatabaseError:
        logger.warning("ANALYZE %s failed; autovacuum will do it", ", ".join(tables), exc_info=True)
        return []
    return tables


# Field types whose values psycopg writes as the model's attribute holds them
# (`get_db_prep_save` returns them unchanged on PostgreSQL): no per-value call.
_AS_IS_ON_POSTGRESQL = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "EmailField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "URLField",
        "UUIDField",
    }
)


def _prepare(field: Field) -> Callable[[Any], Any] | None:
    """How a value of `field` is handed to the database driver: None when as it is."""
    target = getattr(field, "target_field", None) if field.is_relation else field
    kind = target.get_internal_type() if target is not None else ""
    if connection.vendor == "postgresql" and kind in _AS_IS_ON_POSTGRESQL:
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def bulk_insert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    template: Model,
    batch_size: int = 5000,
) -> int:
    """Insert `rows` into `model`'s table in the caller's transaction: with
    `COPY … FROM STDIN` (psycopg 3's `cursor.copy()`) on PostgreSQL, else
    `executemany` in batches of `batch_size`. Returns how many were written.

    Each row holds the values of `columns` (attribute names: `customer_id`),
    as the model's attributes hold them (UUID, Decimal, date, str, None).
    Every other concrete field is written as it stands on `template`, an
    unsaved instance (its defaults; `auto_now` fields set by `pre_save`),
    prepared once for all rows. Far cheaper than `bulk_create` for a million
    rows, and as blind: no `save()`, no signal, no per-row default, so the
    caller gives each row what those would have (its id, a tree path, ...).
    """
    meta = model._meta
    fields = {
        field.attname: field
        for field in meta.concrete_fields
        if not getattr(field, "generated", False)  # computed by the database
    }
    unknown = [name for name in columns if name not in fields]
    if unknown:
        raise ValueError(f"{meta.label} has no column {unknown}")
    if meta.pk.attname not in columns:
        if not getattr(meta.pk, "db_returning", False):  # not an id the database numbers
            raise ValueError(f"{meta.label}: each row gives its own {meta.pk.attname}")
        del fields[meta.pk.attname]
    rest = [field for name, field in fields.items() if name not in columns]
    constants = tuple(
        field.get_db_prep_save(field.pre_save(template, add=True), connection) for field in rest
    )
    names = [fields[name].column for name in columns] + [field.column for field in rest]
    prepare = [_prepare(fields[name]) for name in columns]
    if any(step is not None for step in prepare):
        rows = (
            tuple(v if step is None else step(v) for v, step in zip(row, prepare, strict=True))
            for row in rows
        )
    quote = connection.ops.quote_name
    table, column_list = quote(meta.db_table), ", ".join(quote(name) for name in names)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *constants))
                    written += 1
            return written
        values = ", ".join(["%s"] * len(names))
        statement = f"INSERT INTO {table} ({column_list}) VALUES ({values})"  # noqa: S608 (quoted names)
        rows = iter(rows)
        while batch := [(*row, *constants) for row in islice(rows, batch_size)]:
            cursor.executemany(statement, batch)
            written += len(batch)
    return written


class CompiledQuery:
    """A query the ORM builds and compiles once per process and database, then
    runs with new values for its named parameters: for a statement of every
    request whose shape never changes (API token authentication, a branch's
    generation), where building and compiling the queryset costs several times
    what running it does (docs/performance.md, issue 27 point 3).

    `build(**values)` returns a `.values_list()` queryset; `rows(**values)`
    runs its SQL with `values` and returns its rows as tuples, through the
    fields' converters, as the queryset itself would. `build` is called with a
    placeholder string for each name: each must reach the SQL's parameters
    unchanged and exactly once (an exact lookup on a text column), and
    everything else in the SQL is frozen at that first build, so `build` must
    not read the clock, the language or anything of the request: it is built
    twice and the two must agree, else ImproperlyConfigured."""

    def __init__(self, build: Callable[..., QuerySet], *names: str):
        self.build = build
        self.names = names
        self._compiled: dict[tuple[str, str], tuple] = {}

    def _compile(self, alias: str) -> tuple:
        placeholders = {name: f"compiled-query:{name}:{uuid.uuid4().hex}" for name in self.names}
        queryset = self.build(**placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        again_sql, again_params = self.build(**placeholders).query.get_compiler(alias).as_sql()
        if (sql, params) != (again_sql, again_params):
            raise ImproperlyConfigured(f"{self.build!r} builds a different query each time.")
        slots = {}
        for name, placeholder in placeholders.items():
            found = [i for i, param in enumerate(params) if param == placeholder]
            if len(found) != 1 or placeholder in sql:
                raise ImproperlyConfigured(
                    f"{self.build!r}: the value of {name!r} is not one parameter of the SQL."
                )
            slots[found[0]] = name
        expressions = [select[0] for select in compiler.select[: compiler.col_count]]
        converters = list(compiler.get_converters(expressions).items())
        return sql, tuple(params), slots, converters

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: object) -> list[tuple]:
        if values.keys() != set(self.names):
            raise TypeError(f"rows() takes the values of {', '.join(self.names)}.")
        database = connections[using]
        key = (using, database.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using)
        sql, params, slots, converters = compiled
        params = tuple(values[slots[i]] if i in slots else p for i, p in enumerate(params))
        with database.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in map(list, rows):
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, database)
                row[position] = value
            converted.append(tuple(row))
        return converted
