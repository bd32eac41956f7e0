"""Database housekeeping the apps share.

`analyze` refreshes the planner's statistics after bulk work (issue 28,
docs/operations.md "Statistics after bulk work"): a bulk load leaves PostgreSQL
planning with the old row counts until autovacuum's next ANALYZE, and the
customer list ran at half speed meanwhile.
"""

import logging
from collections.abc import Iterable

from django.db import DatabaseError, connection, transaction
from django.db.models import Model

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
