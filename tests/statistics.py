"""PostgreSQL's planner statistics in tests: when each table was last ANALYZEd
(core.db.analyze, issue 28)."""

from django.db import connection


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def last_analyzed(tables: list[str]) -> dict:
    """When each table was last ANALYZEd by hand (not by autovacuum), read past
    the transaction's cached statistics snapshot."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [tables],
        )
        return dict(cursor.fetchall())


def assert_analyzed_since(tables: list[str], since) -> None:
    analyzed = last_analyzed(tables)
    assert set(analyzed) == set(tables)
    stale = {table: at for table, at in analyzed.items() if at is None or at < since}
    assert not stale, stale
