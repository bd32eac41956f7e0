"""Health probes (docs/operations.md): /livez touches nothing, /readyz checks
the database, the cache and the broker with short timeouts and answers within
its budget even when one of them accepts a connection and never answers;
gunicorn serves a probe while another request waits."""

import os
import runpy
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from portal import health

ROOT = Path(__file__).resolve().parent.parent.parent
CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def _redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


@pytest.fixture
def silent_server():
    """A TCP server that accepts every connection and never sends a byte: a
    dependency that hangs (a paused Redis, a stuck PostgreSQL)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(32)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


# --- liveness ------------------------------------------------------------------------------------


@override_settings(
    CACHES=_redis_cache(CLOSED),
    CELERY_BROKER_URL=CLOSED,
    CELERY_TASK_ALWAYS_EAGER=False,
    SECURE_SSL_REDIRECT=True,
)
def test_livez_answers_without_touching_the_database_the_cache_or_the_session(client):
    """No django_db mark: any query raises. A session cookie would make the
    middleware load the session and the user from the database, and the cache
    and the broker point at nothing; /livez still answers, by IP over http."""
    client.cookies["sessionid"] = "a" * 32
    response = client.get("/livez", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    # The control: the same request to a page goes through the session and the user.
    with pytest.raises(RuntimeError, match="Database access not allowed"):
        client.get("/", HTTP_HOST="localhost", secure=True)


def test_probes_take_only_get_and_head(client):
    assert client.post("/livez").status_code == 405
    assert client.head("/livez").status_code == 200


# --- readiness -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
def test_readyz_reports_each_dependency_and_its_time(client, settings, path):
    response = client.get(path)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "broker"}
    expected = {
        "database": "ok" if connection.vendor == "postgresql" else "local",
        "cache": "ok" if settings.REDIS_URL else "local",
        # Tasks run eagerly in the tests; with REDIS_URL the broker is still configured.
        "broker": "ok" if settings.REDIS_URL else "local",
    }
    assert {name: check["state"] for name, check in body["checks"].items()} == expected
    assert all(0 <= check["seconds"] < health.BUDGET_SECONDS for check in body["checks"].values())


def _database_unreachable(monkeypatch) -> None:
    """The database's address, for new connections: a refused port on
    PostgreSQL, a file in a folder that does not exist on SQLite."""
    if connection.vendor == "postgresql":
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    else:
        monkeypatch.setitem(connection.settings_dict, "NAME", "/no/such/folder/portal.sqlite3")


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_is_down(client, monkeypatch):
    _database_unreachable(monkeypatch)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["state"].startswith("down: ")


@pytest.mark.django_db
@override_settings(CACHES=_redis_cache(CLOSED))
def test_readyz_is_503_naming_the_cache_when_redis_is_down(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["failing"] == ["cache"]
    assert body["checks"]["cache"]["state"] == "down: ConnectionError"


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL=CLOSED, CELERY_TASK_ALWAYS_EAGER=False)
def test_readyz_is_503_naming_the_broker_when_it_is_down(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503 and body["failing"] == ["broker"]
    assert body["checks"]["broker"]["state"].startswith("down: ")


@pytest.mark.django_db
def test_readyz_answers_within_its_budget_when_every_dependency_hangs(
    client, silent_server, monkeypatch
):
    """Redis (cache and broker) and, on PostgreSQL, the database accept the
    connection and never answer: 503 naming each, within BUDGET_SECONDS."""
    hanging = f"redis://127.0.0.1:{silent_server}/0"
    expected = ["cache", "broker"]
    if connection.vendor == "postgresql":
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", str(silent_server))
        expected = ["database", *expected]
    with override_settings(
        CACHES=_redis_cache(hanging), CELERY_BROKER_URL=hanging, CELERY_TASK_ALWAYS_EAGER=False
    ):
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    body = response.json()
    assert response.status_code == 503 and body["failing"] == expected
    assert elapsed < health.BUDGET_SECONDS + 0.5, elapsed
    # Redis: the socket timeout, well within the budget.
    assert body["checks"]["cache"]["state"] == "down: TimeoutError"
    assert body["checks"]["cache"]["seconds"] < health.BUDGET_SECONDS
    if connection.vendor == "postgresql":
        # libpq's connect timeout is at least 2 s: past the budget, so "no answer".
        assert body["checks"]["database"]["state"].startswith("down: no answer within")


@pytest.mark.django_db
def test_a_check_still_running_at_the_budget_is_reported_down(client, silent_server, monkeypatch):
    monkeypatch.setattr(health, "BUDGET_SECONDS", 0.2)
    with override_settings(CACHES=_redis_cache(f"redis://127.0.0.1:{silent_server}/0")):
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    body = response.json()
    assert response.status_code == 503 and body["failing"] == ["cache"]
    assert body["checks"]["cache"] == {"state": "down: no answer within 0.2 s", "seconds": 0.2}
    assert elapsed < health.TIMEOUT_SECONDS, elapsed


def test_the_postgresql_check_gives_up_on_a_server_that_never_answers(silent_server):
    """The PostgreSQL check on its own (it needs no server to fail): a refused
    port fails at once, a silent one after the connect timeout."""
    import psycopg

    params = {"dbname": "portal", "user": "portal", "host": "127.0.0.1"}
    with pytest.raises(psycopg.OperationalError):
        health.postgres_ping({**params, "port": 1})
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        health.postgres_ping({**params, "port": silent_server})
    assert time.monotonic() - started < health.POSTGRES_CONNECT_TIMEOUT + 1


def test_the_sqlite_check_never_creates_a_missing_file(tmp_path):
    missing = tmp_path / "missing.sqlite3"
    with pytest.raises(Exception, match="unable to open"):
        health.sqlite_ping({"database": str(missing)})
    assert not missing.exists()


# --- gunicorn ------------------------------------------------------------------------------------


def test_gunicorn_runs_threaded_workers_sized_by_the_environment(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["worker_class"] == "gthread" and (conf["workers"], conf["threads"]) == (2, 4)
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"]) == (3, 8)


def _get(port: int, path: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def test_gunicorn_answers_livez_while_another_thread_waits_on_hanging_dependencies(
    silent_server,
):
    """One worker, two threads, PostgreSQL and Redis silent: /readyz holds one
    thread for its whole budget; /livez, sent meanwhile, is answered by the
    other before it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgres://portal@127.0.0.1:{silent_server}/portal",
        "REDIS_URL": f"redis://127.0.0.1:{silent_server}/0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
            *("portal.wsgi:application", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/livez")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        ready: list[tuple[int, float, float]] = []

        def wait_ready() -> None:
            ready.append((*_get(port, "/readyz"), time.monotonic()))

        waiting = threading.Thread(target=wait_ready)
        waiting.start()
        time.sleep(0.1)  # /readyz is now waiting on the silent Redis
        live_status, live_seconds = _get(port, "/livez")
        live_done = time.monotonic()
        waiting.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    ready_status, ready_seconds, ready_done = ready[0]
    assert ready_status == 503 and ready_seconds >= health.BUDGET_SECONDS
    assert ready_seconds < health.BUDGET_SECONDS + 1
    # A sync worker would answer /livez only after /readyz.
    assert live_status == 200 and live_done < ready_done, (live_seconds, ready_seconds)
