"""Database housekeeping the apps share.

`CompiledQuery` builds and compiles a fixed-shape query once per process, for
the statements every API request runs (issue 27 point 3, docs/performance.md).

`analyze` refreshes the planner's statistics after bulk work (issue 28,
docs/operations.md "Statistics after bulk work"): a bulk load leaves PostgreSQL
planning with the old row counts until autovacuum's next ANALYZE, and the
customer list ran at half speed meanwhile.
"""

import logging
import uuid
from collections.abc import Callable, Iterable

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Model, QuerySet

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

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list[tuple]:
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
