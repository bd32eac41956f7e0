"""Health probes (docs/operations.md).

GET /livez    liveness: the process serves requests. Touches nothing (no
              database, cache, broker, session or user): 200 {"status": "ok"}.
GET /readyz   readiness: the database, the cache and the broker each answer a
              trivial request, on a fresh connection with short timeouts, all
              three at once. 200 with each one's state and time, or 503 naming
              the failing ones; answered within BUDGET_SECONDS even when a
              dependency accepts the connection and then never answers.
GET /healthz  the same as /readyz (its older name, kept for existing probes).

ProbeMiddleware answers these paths right after the security headers'
middleware (SecurityMiddleware, CSP, WhiteNoise), before any that may reach a
dependency: no session is loaded, no user, no CSRF, no idempotency key, no
throttle, no ALLOWED_HOSTS check, no HTTPS redirect (SECURE_REDIRECT_EXEMPT; a
probe comes by IP over plain http). The URL patterns route to the same views,
for `reverse` and for a stack without the middleware.
"""

import sqlite3
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

import psycopg
import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

# Each dependency's own timeouts (connect, then the answer), in seconds.
TIMEOUT_SECONDS = 0.5
# PostgreSQL's client counts its connect timeout in whole seconds, at least 2
# (libpq's rule, followed by psycopg); the statement then has TIMEOUT_SECONDS.
POSTGRES_CONNECT_TIMEOUT = 2
# /readyz answers within this, whatever the dependencies do: a check still
# running then is reported down ("no answer"), and ends on its own timeouts.
BUDGET_SECONDS = 1.5

OK = "ok"
LOCAL = "local"  # in-process (SQLite file, memory cache, eager tasks): nothing to reach
HEALTHY = (OK, LOCAL)


def _down(exc: BaseException) -> str:
    return f"down: {type(exc).__name__}"


# --- the checks: each opens its own connection, with explicit timeouts --------------------------


def postgres_ping(params: dict) -> str:
    """SELECT 1 on a new PostgreSQL connection made from Django's connection
    parameters, with a connect timeout and a statement_timeout."""

    libpq = {
        key: value
        for key, value in params.items()
        if key not in {"context", "cursor_factory", "prepare_threshold"}
    }
    libpq["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT
    statement_timeout = f"-c statement_timeout={int(TIMEOUT_SECONDS * 1000)}"
    libpq["options"] = f"{libpq.get('options', '')} {statement_timeout}".strip()
    with psycopg.connect(**libpq, autocommit=True) as pg:
        pg.execute("SELECT 1").fetchone()
    return OK


def sqlite_ping(params: dict) -> str:
    """The SQLite file exists and its schema reads, opened read-only (a missing
    file is an error, not a new empty database)."""
    name = str(params["database"])
    uri = name if name.startswith("file:") else f"file:{quote(name)}?mode=ro"
    lite = sqlite3.connect(uri, uri=True, timeout=TIMEOUT_SECONDS)
    try:
        lite.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        lite.close()
    return LOCAL


def database_state() -> str:
    """A trivial query on a new connection, not the request thread's (a pool of
    them may be what hangs)."""
    try:
        params = connection.get_connection_params()
        if connection.vendor == "postgresql":
            return postgres_ping(params)
        if connection.vendor == "sqlite":
            return sqlite_ping(params)
        with connection.cursor() as cursor:  # another backend: its own settings
            cursor.execute("SELECT 1")
        return OK
    except Exception as exc:
        return _down(exc)


def _redis_ping(url: str) -> str:

    client = redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return OK


def cache_state() -> str:
    """Redis (the cache): PING on a new client, never the shared one (whose
    timeouts are the cache's, not a probe's). A memory cache is local."""
    cache = settings.CACHES["default"]
    if "redis" not in cache["BACKEND"].lower():
        return LOCAL
    location = cache["LOCATION"]
    if isinstance(location, list | tuple):
        location = location[0]
    try:
        return _redis_ping(str(location).split(",")[0])
    except Exception as exc:
        return _down(exc)


def broker_state() -> str:
    """Celery's broker: a kombu connection (for Redis, its channel sends PING),
    one attempt, with short connect and socket timeouts. Eager tasks (no
    broker, `make run` and the tests) are local."""
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER and url.startswith("memory://"):
        return LOCAL

    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_connect_timeout": TIMEOUT_SECONDS,
        "socket_timeout": TIMEOUT_SECONDS,
        "max_retries": 0,
    }
    try:
        with Connection(url, connect_timeout=TIMEOUT_SECONDS, transport_options=options) as conn:
            conn.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)
    except Exception as exc:
        return _down(exc)
    return OK


CHECKS: dict[str, Callable[[], str]] = {
    "database": database_state,
    "cache": cache_state,
    "broker": broker_state,
}


def readiness() -> tuple[bool, dict]:
    """Run every check at once, each in a daemon thread, and wait for them at
    most BUDGET_SECONDS in all. Returns (ready, the response body)."""
    started = time.monotonic()
    results: dict[str, tuple[str, float]] = {}

    def run(name: str, check: Callable[[], str]) -> None:
        begun = time.monotonic()
        state = check()
        results[name] = (state, time.monotonic() - begun)

    threads = [
        threading.Thread(target=run, args=(name, check), name=f"readyz-{name}", daemon=True)
        for name, check in CHECKS.items()
    ]
    for thread in threads:
        thread.start()
    deadline = started + BUDGET_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    checks = {}
    for name in CHECKS:
        state, seconds = results.get(name, (f"down: no answer within {BUDGET_SECONDS} s", None))
        checks[name] = {
            "state": state,
            "seconds": round(seconds if seconds is not None else BUDGET_SECONDS, 3),
        }
    failing = [name for name, check in checks.items() if check["state"] not in HEALTHY]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": checks,
        "seconds": round(time.monotonic() - started, 3),
    }
    return not failing, body


# --- the views -----------------------------------------------------------------------------------


def _probe_response(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    # The middleware that sets it runs after ProbeMiddleware; the others
    # (SecurityMiddleware, CSP) run before it and add theirs.
    response.headers["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    return response


@never_cache
@require_safe
def livez(request: HttpRequest) -> HttpResponse:
    return _probe_response({"status": "ok"}, 200)


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    ready, body = readiness()
    return _probe_response(body, 200 if ready else 503)


PROBES = {"/livez": livez, "/readyz": readyz, "/healthz": readyz}


class ProbeMiddleware:
    """Answers the probes before any later middleware (the session, the user,
    CSRF, the idempotency keys) can touch a dependency."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBES.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
