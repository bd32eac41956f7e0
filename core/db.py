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

import datetime
import functools
import logging
import operator
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Field, ForeignKey, Model, QuerySet

logger = logging.getLogger(__name__)

_M = TypeVar("_M", bound=Model)


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
            # psycopg's own errors as Django's (IntegrityError, ...), as a query raises them
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
            ):
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


# From this many instances on, `bulk_write` copies them (COPY on PostgreSQL): for
# fewer, one INSERT is a round trip less (an order's three outbox rows).
BULK_WRITE_COPY_FROM = 100


def bulk_write(objs: Sequence[_M]) -> Sequence[_M]:
    """`QuerySet.bulk_create(objs)` for instances whose every value the
    application makes (ids by the model's default, no column the database
    fills in): from BULK_WRITE_COPY_FROM instances on, their columns as they
    stand go through `bulk_insert` (COPY on PostgreSQL), all or nothing, with
    `auto_now` fields set as `save()` sets them; fewer go through
    `bulk_create`. Either way the instances are left as saved ones, and no
    signal is sent (as with `bulk_create`). An import's 10,000 customers and
    their grants, events, audit rows and outbox rows (docs/performance.md)."""
    if len(objs) < BULK_WRITE_COPY_FROM:
        return type(objs[0])._base_manager.bulk_create(objs) if objs else objs
    model = type(objs[0])
    fields = list(model._meta.concrete_fields)
    filled = [
        f.attname
        for f in fields
        if getattr(f, "generated", False) or getattr(f, "db_returning", False)
    ]
    if filled:  # bulk_create reads them back; a copy cannot
        raise ValueError(f"{model._meta.label}: the database fills in {filled}")
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    related = [f for f in fields if isinstance(f, ForeignKey)]
    for obj in objs:
        for field in stamped:
            field.pre_save(obj, add=True)
        for field in related:
            if getattr(obj, field.attname) is None and field.is_cached(obj):
                # assigned before it had an id: its id now, as bulk_create takes it
                target = field.get_cached_value(obj)
                if target is not None:
                    value = getattr(target, field.target_field.attname)
                    if value is None:
                        raise ValueError(f"{model._meta.label}.{field.name}: {target!r} is unsaved")
                    setattr(obj, field.attname, value)
    columns = [f.attname for f in fields]
    values = operator.attrgetter(*columns)
    with transaction.atomic(savepoint=False):  # SQLite's batches: one transaction
        bulk_insert(model, columns, (values(obj) for obj in objs), template=objs[0])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


# The longest list of a `Many` parameter compiled; a longer one (a bulk write's)
# runs through the ORM each time, rather than compile a query per length.
MANY_COMPILED_MAX = 16


class Many:
    """The kind of a `CompiledQuery` parameter that is a list (`pk__in=…`), of
    values of `kind`: the query is compiled once per length (duplicates are
    dropped first, as the ORM drops them from an `IN`)."""

    def __init__(self, kind: type):
        self.kind = kind

    def __repr__(self) -> str:
        return f"Many({self.kind.__name__})"


@functools.cache
def model_columns(model: type[Model]) -> tuple[str, ...]:
    """The attribute names of `model`'s columns, in order: a `.values_list()`
    of them gives rows `CompiledQuery.instances` builds into models."""
    return tuple(field.attname for field in model._meta.concrete_fields)


def _placeholder(name: str, kind: type) -> object:
    """A value of `kind` no query holds of itself, to find `name` in the SQL's parameters."""
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind is datetime.date:  # a day of the first millennium, never a constant of a query
        return datetime.date.fromordinal(secrets.randbelow(300_000) + 1)
    if kind is int:
        return (1 << 61) + secrets.randbelow(1 << 60)
    if kind is str:
        return f"compiled-query:{name}:{uuid.uuid4().hex}"
    raise ImproperlyConfigured(f"CompiledQuery: no parameter of kind {kind!r}.")


def _adapter(kind: type, database: Any) -> Callable[[Any], Any] | None:
    """How a value of `kind` reaches the SQL's parameters on `database`, as the
    ORM hands it (None: as it is)."""
    if kind is uuid.UUID:
        if database.features.has_native_uuid_field:
            return lambda value: value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return lambda value: (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex
    if kind is datetime.date:
        return database.ops.adapt_datefield_value
    return None


class CompiledQuery:
    """A query the ORM builds and compiles once per process and database, then
    runs with new values for its named parameters: for a statement of every
    request whose shape never changes (API token authentication, a branch's
    generation, an order's reads), where building and compiling the queryset
    costs several times what running it does (docs/performance.md, issues 27
    point 3 and 28).

    `build(**values)` returns a `.values_list()` queryset; `rows(**values)`
    runs its SQL with `values` and returns its rows as tuples, through the
    fields' converters, as the queryset itself would; `instances(model,
    **values)` builds them into `model`s (the queryset lists
    `model_columns(model)`). Each name is text unless `kinds` says otherwise
    (`uuid.UUID`, `datetime.date`, `int`, or `Many(kind)` for a list: one
    compilation per length). `build` is called with a placeholder value of
    each name's kind: each must reach the SQL's parameters unchanged, once or
    more (an exact, `<=`/`>=` or `in` lookup, never `icontains`), and everything else in
    the SQL is frozen at that first build, so `build` must not read the clock,
    the language or anything of the request: it is built twice and the two
    must agree, else ImproperlyConfigured."""

    def __init__(
        self, build: Callable[..., QuerySet], *names: str, kinds: dict[str, Any] | None = None
    ):
        self.build = build
        self.names = names
        self.kinds: dict[str, Any] = dict.fromkeys(names, str) | (kinds or {})
        if self.kinds.keys() != set(names):
            raise ImproperlyConfigured(f"{build!r}: kinds of names it does not take.")
        self._many = [name for name in names if isinstance(self.kinds[name], Many)]
        self._compiled: dict[tuple, tuple | None] = {}

    def _compile(self, alias: str, lengths: tuple[int, ...]) -> tuple | None:
        database = connections[alias]
        many = dict(zip(self._many, lengths, strict=True))
        placeholders: dict[str, Any] = {}
        slots_wanted: dict[Any, tuple[str, int | None]] = {}  # prepared placeholder -> slot

        def distinct(name: str, kind: type, slot: tuple[str, int | None]) -> object:
            """A placeholder no other of this query has (two random days may meet)."""
            adapt = _adapter(kind, database)
            while True:
                value = _placeholder(name, kind)
                prepared = adapt(value) if adapt else value
                if prepared not in slots_wanted:
                    slots_wanted[prepared] = slot
                    return value

        for name, kind in self.kinds.items():
            if isinstance(kind, Many):
                placeholders[name] = [
                    distinct(name, kind.kind, (name, index)) for index in range(many[name])
                ]
            else:
                placeholders[name] = distinct(name, kind, (name, None))
        queryset = self.build(**placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # an empty `IN`: no row, whatever the values
            return None
        again_sql, again_params = self.build(**placeholders).query.get_compiler(alias).as_sql()
        if (sql, params) != (again_sql, again_params):
            raise ImproperlyConfigured(f"{self.build!r} builds a different query each time.")
        slots: dict[int, tuple[str, int | None]] = {}
        texts, transformed = [str(value) for value in slots_wanted], False
        for position, param in enumerate(params):
            try:
                slot = slots_wanted.get(param)
            except TypeError:  # an unhashable parameter (a list): never a placeholder
                slot = None
            if slot is not None:
                slots[position] = slot
            elif isinstance(param, str) and any(text in param for text in texts):
                transformed = True  # a value the ORM changed (`%…%`): refused below
        if (
            transformed
            or set(slots.values()) != set(slots_wanted.values())
            or any(text in sql for text in texts)
        ):
            raise ImproperlyConfigured(
                f"{self.build!r}: a value of {', '.join(self.names)} does not reach the "
                "SQL's parameters as it is."
            )
        expressions = [select[0] for select in compiler.select[: compiler.col_count]]
        converters = list(compiler.get_converters(expressions).items())
        adapters = {
            name: _adapter(kind.kind if isinstance(kind, Many) else kind, database)
            for name, kind in self.kinds.items()
        }
        fields = getattr(queryset, "_fields", None) or ()
        return sql, tuple(params), slots, converters, adapters, tuple(fields)

    def _run(self, using: str, values: dict[str, object]) -> tuple[list[tuple], tuple]:
        if values.keys() != set(self.names):
            raise TypeError(f"rows() takes the values of {', '.join(self.names)}.")
        for name in self._many:  # the ORM drops duplicates from an IN
            values[name] = list(dict.fromkeys(values[name]))  # type: ignore[call-overload]
        database = connections[using]
        lengths = tuple(len(values[name]) for name in self._many)  # type: ignore[arg-type]
        if any(length > MANY_COMPILED_MAX for length in lengths):  # a bulk write's: the ORM's
            queryset = self.build(**values).using(using)
            return [tuple(row) for row in queryset], tuple(getattr(queryset, "_fields", ()))
        key = (using, database.vendor, lengths)
        if key not in self._compiled:
            self._compiled[key] = self._compile(using, lengths)
        compiled = self._compiled[key]
        if compiled is None:
            return [], ()
        sql, params, slots, converters, adapters, fields = compiled
        if slots:
            params = list(params)
            for position, (name, index) in slots.items():
                value = values[name] if index is None else values[name][index]  # type: ignore[index]
                adapt = adapters[name]
                params[position] = adapt(value) if adapt else value
        with database.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return [tuple(row) for row in rows], fields
        converted = []
        for row in map(list, rows):
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, database)
                row[position] = value
            converted.append(tuple(row))
        return converted, fields

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: object) -> list[tuple]:
        return self._run(using, values)[0]

    def instances(
        self, model: type[_M], *, using: str = DEFAULT_DB_ALIAS, **values: object
    ) -> list[_M]:
        """`rows()` built into `model`s (`Model.from_db`): the queryset must list
        `model_columns(model)`."""
        rows, fields = self._run(using, values)
        columns = model_columns(model)
        if rows and fields != columns:
            raise ImproperlyConfigured(f"{self.build!r} does not list {model.__name__}'s columns.")
        return [model.from_db(using, columns, row) for row in rows]
