"""What the benchmarks share: a throwaway database of their own, Django set up
for measuring, timing, and the figures they return."""

import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PARTNER_SLUG = "alpine-it"
OWNER_EMAIL = "partner.owner@demo.test"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def bench_database(suffix: str) -> tuple[str, Callable[[], None]]:
    """A fresh database for a bench, and how to remove it.

    With a PostgreSQL DATABASE_URL: `<name>_<suffix>` is dropped and created
    afresh on that server; without one: a temp SQLite file.
    """
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres(url):
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


def copy_database(database_url: str, suffix: str) -> tuple[str, Callable[[], None]]:
    """A copy of the PostgreSQL database `database_url` names (`CREATE DATABASE
    … TEMPLATE`), as `<name>_<suffix>`, and how to remove it. Nobody may be
    connected to the source meanwhile: the caller closes its connections
    first; a session still closing (a stopped gunicorn's) is waited for."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    source = parts.path.lstrip("/")
    name = f"{source}_{suffix}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    def run(statement):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def drop():
        run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    drop()
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(source)
    )
    for attempt in range(30):
        try:
            run(create)
            break
        except psycopg.errors.ObjectInUse:  # "being accessed by other users"
            if attempt == 29:
                raise
            time.sleep(1)
    return urlunsplit(parts._replace(path=f"/{name}")), drop


def use_database(database_url: str, redis_url: str) -> None:
    """Point Django (already set up) at another database from now on, and
    flush the Redis database: the cached figures of the one before (the same
    tenants' ids) must not be read as this one's."""
    import redis
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    name = urlsplit(database_url).path.lstrip("/")
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name
    os.environ["DATABASE_URL"] = database_url
    redis.Redis.from_url(redis_url).flushdb()


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


# --- Django --------------------------------------------------------------------------------


def setup_django(database_url: str) -> None:
    """`portal.settings.dev` with DEBUG off (no query log) and persistent
    connections (CONN_MAX_AGE=60, as production), on `database_url`; static
    files without the manifest (no collectstatic for a bench)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.dev"
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("CONN_MAX_AGE", "60")  # production's persistent connections
    # The project before bench/: bench/offers.py must not shadow the offers app
    # (and Celery's Django fixup puts the working directory first on sys.path).
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # whitenoise
    import django
    from django.conf import settings

    django.setup()
    assert settings.DEBUG is False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def database_label(connection) -> str:
    if connection.vendor == "postgresql":
        version = connection.pg_version
        return (
            f"PostgreSQL {version // 10000}.{version % 10000} ({connection.settings_dict['NAME']})"
        )
    return f"SQLite {connection.Database.sqlite_version} ({connection.settings_dict['NAME']})"


def analyze() -> None:
    """Fresh planner statistics (and on PostgreSQL the visibility map), as
    autovacuum would leave them in production, so that it does not run in the
    middle of the measurements either."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def seed(customers: int) -> float:
    """`seed_demo --customers N` (a top-up: it adds what is missing), then
    analyze; returns the seconds it took."""
    from django.core.management import call_command

    started = time.monotonic()
    call_command("seed_demo", customers=customers, quiet_logins=True, stdout=io.StringIO())
    analyze()
    return time.monotonic() - started


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure against its floor measured in the same run.

    `goal` is one of "<= x" / ">= x" on the ratio value/floor, "< x" on the
    value itself (no floor), "equal" (value == floor), "true" (a check) or "-"
    (recorded, with no goal: its result reads "-")."""

    name: str
    value: float
    floor: float | None
    goal: str
    unit: str = ""
    digits: int = 1
    # The book it was measured on: customers of Alpine IT (`make bench --scales`);
    # None when a bench measures one size only.
    scale: int | None = None

    def at(self, scale: int) -> "Figure":
        """This figure, measured on a book of `scale` customers."""
        return replace(self, scale=scale)

    @property
    def ratio(self) -> float | None:
        if self.floor is None or isinstance(self.value, bool):
            return None
        return self.value / self.floor if self.floor else float("inf")

    @property
    def ok(self) -> bool:
        op, _, limit = self.goal.partition(" ")
        if op == "-":
            return True
        if op == "equal":
            return self.value == self.floor
        if op == "true":
            return bool(self.value)
        if op == "<":
            return self.value < float(limit)
        if op == "<=":
            return self.ratio is not None and self.ratio <= float(limit)
        if op == ">=":
            return self.ratio is not None and self.ratio >= float(limit)
        raise ValueError(self.goal)

    def _number(self, number) -> str:
        if number is None:
            return "-"
        if isinstance(number, bool):
            return "yes" if number else "no"
        if isinstance(number, int):
            return f"{number:,}"
        return f"{number:,.{self.digits}f}"

    def goal_text(self) -> str:
        op, _, limit = self.goal.partition(" ")
        if op in ("<=", ">="):
            return f"ratio {op} {limit}"
        if op == "<":
            return f"< {limit} {self.unit}".rstrip()
        return {"equal": "equal", "true": "yes", "-": "-"}[op]

    @property
    def result(self) -> str:
        if self.goal == "-":
            return "-"
        return "ok" if self.ok else "MISS"

    def line(self, *, scaled: bool = False) -> str:
        """One report line; with `scaled`, the book's size after the name."""
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}"
        name = f"{self.name} ({self.unit})" if self.unit else self.name
        scale, width = "", 44
        if scaled:  # a wider name column: "…, after a write: queries" and the like
            scale, width = f"{'-' if self.scale is None else f'{self.scale:,}':>10}", 50
        return (
            f"{name:<{width}}{scale}{self._number(self.value):>11}{self._number(self.floor):>11}"
            f"{ratio:>8}  {self.goal_text():<14}{self.result}"
        )


HEADER = f"{'figure':<44}{'value':>11}{'floor':>11}{'ratio':>8}  {'goal':<14}result"
HEADER_SCALED = (
    f"{'figure':<50}{'customers':>10}{'value':>11}{'floor':>11}{'ratio':>8}  {'goal':<14}result"
)


def run_alone(suffix: str, *, keep: bool, measure: Callable[[str], list[Figure]]) -> int:
    """One bench script run on its own (not through run.py): a fresh database
    (`bench_database(suffix)`), Django on it, migrate, `measure(database_url)`
    (which seeds what it needs and returns its figures), the report with the
    load average around it; the database removed unless `keep`. The exit status."""
    load_at_start = load_average()
    database_url, remove = bench_database(suffix)
    try:
        setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        print(f"database: {database_label(connection)}")
        result = measure(database_url)
        print(f"load average {load_at_start} at the start, {load_average()} now")
        ok = report(result)
        connection.close()
    finally:
        if keep:
            print(f"kept: {database_url}")
        else:
            remove()
    return 0 if ok else 1


def report(figures: list[Figure], *, out=None) -> bool:
    """Print one line per figure; True when every one is ok. Figures measured
    at several scales get a `customers` column, and the lines of one figure
    follow each other, smallest book first (in the order measured)."""
    out = out or sys.stdout
    scaled = any(f.scale is not None for f in figures)
    first: dict[str, int] = {}
    for figure in figures:
        first.setdefault(figure.name, len(first))
    print(HEADER_SCALED if scaled else HEADER, file=out)
    for figure in sorted(figures, key=lambda f: first[f.name]):
        print(figure.line(scaled=scaled), file=out)
    out.flush()
    return all(f.ok for f in figures)
