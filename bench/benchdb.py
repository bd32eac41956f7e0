"""What the benchmarks share: a throwaway database of their own, and timing."""

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def bench_database(suffix: str) -> tuple[str, Callable[[], None]]:
    """A fresh database for a bench, and how to remove it.

    With a PostgreSQL DATABASE_URL: `<name>_<suffix>` is dropped and created
    afresh on that server; without one: a temp SQLite file.
    """
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg
        from psycopg import sql

        parts = urlsplit(url)
        name = f"{parts.path.lstrip('/') or 'portal'}_{suffix}"
        admin_url = urlunsplit(parts._replace(path="/postgres"))

        def run(statement):
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(statement)

        def drop():
            run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

        drop()
        run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return urlunsplit(parts._replace(path=f"/{name}")), drop
    if url:
        sys.exit("bench: DATABASE_URL must be PostgreSQL (or unset for SQLite).")
    handle, path = tempfile.mkstemp(prefix=f"portal-{suffix}-", suffix=".sqlite3")
    os.close(handle)

    def remove():
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(path + extra).unlink(missing_ok=True)

    return f"sqlite:///{path}", remove


def timed(call: Callable, runs: int, warmup: int, *, scale: float = 1.0):
    """Median and minimum of `runs` calls after `warmup` unmeasured ones, in
    seconds times `scale` (1000 for milliseconds), and the last call's result."""
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - started) * scale)
    return statistics.median(timings), min(timings), result
