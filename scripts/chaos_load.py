"""`make chaos`'s faults under mixed reads and writes (issue 28): the chaos Redis
paused (`kill -STOP`, then `kill -CONT`), and a private PostgreSQL restarted
(`pg_ctl restart -m fast`), while client threads read and place orders through
a real gunicorn (gthread workers, gunicorn.conf.py) and a Celery worker.

Each client thread loops over rounds: `GET customers/`, `GET mrr/`,
`GET customers/{id}/` and `POST orders/` with an `Idempotency-Key`. A write that
fails (a timeout, a refused connection, a 5xx, a 409 "still being processed")
is retried with the same key and body, after its `Retry-After` when one is
given, as a careful integrator would. Every order carries a quantity of its own,
so the database's rows are matched to the client's keys afterwards: an order
confirmed (201) with no row is lost, a key with two rows is doubled.

The figures, per fault: requests by kind and answer; reads failed; writes
answered 500 (and of those, for a write that was committed); orders confirmed,
lost, doubled and placed without the client ever hearing so (its retries ran
out); the time from the end of the fault to the first round in which every
request of every thread succeeded at its first try.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PRODUCT = "web-hosting"
READ_TIMEOUT = 15.0  # the client's budget for one read (seconds)
WRITE_TIMEOUT = 15.0  # and for one attempt of a write
WRITE_GIVE_UP = 120.0  # a write is retried with its key for this long


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: no answer (timeout, refused, reset)
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    error: str = ""

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def kind(self) -> str:
        """The answer as the figures count it."""
        if self.status == 0:
            return f"no answer ({self.error})"
        if self.status >= 500:
            shape = "JSON" if isinstance(self.json, dict) else "HTML"
            retry = ", Retry-After" if "retry-after" in self.headers else ""
            return f"{self.status} {shape}{retry}"
        replay = " (replayed)" if self.headers.get("idempotent-replayed") == "true" else ""
        return f"{self.status}{replay}"


def call(port: int, method: str, path: str, headers: dict, body=None, timeout=15.0) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={**headers, **({"Content-Type": "application/json"} if data else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(
                response.status,
                response.read(),
                {k.lower(): v for k, v in response.headers.items()},
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), {k.lower(): v for k, v in error.headers.items()})
    except TimeoutError:
        return Answer(0, error="timeout")
    except (urllib.error.URLError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        name = "timeout" if isinstance(reason, TimeoutError | socket.timeout) else "connection"
        return Answer(0, error=name)


# --- the servers -----------------------------------------------------------------------------


class Gunicorn:
    """gunicorn with the project's gunicorn.conf.py (gthread), production settings
    (bench/bench_settings.py: DEBUG off, persistent connections)."""

    def __init__(self, env: dict, workdir: Path):
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--pythonpath",
                f"{ROOT},{BENCH}",
                "--chdir",
                str(ROOT),
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "bench_settings", "LOG_LEVEL": "ERROR"},
            stdout=open(workdir / "gunicorn.out", "ab"),  # noqa: SIM115 (the child owns it)
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while call(self.port, "GET", "/livez", {}, timeout=2).status != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start (see gunicorn.out)")
            time.sleep(0.2)


class PrivatePostgres:
    """A PostgreSQL cluster of this run only, in a temp dir, on a free port;
    initdb and pg_ctl as the `postgres` user (we run as root)."""

    def __init__(self, workdir: Path):
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not versions:
            raise RuntimeError("no PostgreSQL under /usr/lib/postgresql")
        self.bin = versions[-1].parent
        self.dir = workdir / "pgdata"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portal"
        self.started = False

    def _as_postgres(self, *command: str) -> None:
        line = " ".join(str(part) for part in command)
        subprocess.run(  # noqa: S603 (fixed programs, our paths)
            ["su", "postgres", "-c", line],  # noqa: S607
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def _ctl(self, *arguments: str) -> None:
        self._as_postgres(
            self.bin / "pg_ctl",
            "-D",
            self.dir,
            "-l",
            self.dir.parent / "postgres.log",
            "-w",
            *arguments,
        )

    def start(self) -> None:
        self.dir.parent.chmod(0o755)
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        (self.dir.parent / "postgres.log").touch()
        shutil.chown(self.dir.parent / "postgres.log", "postgres", "postgres")
        self._as_postgres(
            self.bin / "initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "--no-sync"
        )
        options = f"'-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off'"
        self._ctl("-o", options, "start")
        self.started = True
        self._as_postgres(
            self.bin / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "portal"
        )

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def remove(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._ctl("-m", "immediate", "stop")
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Event:
    at: float
    thread: int
    round: int
    kind: str  # read:customers, read:mrr, read:customer, write
    answer: str
    ok: bool
    first_try: bool = True
    took: float = 0.0


class Load:
    """`threads` clients, each looping over rounds of 3 reads and 1 order."""

    def __init__(self, port: int, token: str, customer_id: str, threads: int):
        self.port, self.customer_id, self.threads = port, customer_id, threads
        self.auth = {"Authorization": f"Bearer {token}"}
        self.events: list[Event] = []
        self.confirmed: dict[int, str] = {}  # quantity: order id, as the client was told
        self.abandoned: list[int] = []  # quantities whose retries ran out
        self.committed_500: list[int] = []  # quantities answered 500, then replayed 201
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.next_quantity = 1
        self.workers = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def start(self) -> None:
        self.started = time.monotonic()
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.join(timeout=WRITE_GIVE_UP + 30)

    def _record(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def _quantity(self) -> int:
        with self.lock:
            quantity, self.next_quantity = self.next_quantity, self.next_quantity + 1
            return quantity

    def _run(self, thread: int) -> None:
        reads = (
            ("read:customers", "/api/v1/customers/?page_size=20"),
            ("read:mrr", "/api/v1/mrr/"),
            ("read:customer", f"/api/v1/customers/{self.customer_id}/"),
        )
        number = 0
        while not self.stopping.is_set():
            number += 1
            for kind, path in reads:
                at = time.monotonic()
                answer = call(self.port, "GET", path, self.auth, timeout=READ_TIMEOUT)
                took = time.monotonic() - at
                self._record(
                    Event(at, thread, number, kind, answer.kind(), answer.status == 200, took=took)
                )
            self._write(thread, number)

    def _write(self, thread: int, number: int) -> None:
        quantity = self._quantity()
        headers = {**self.auth, "Idempotency-Key": f"chaos-{uuid.uuid4()}"}
        body = {"customer": self.customer_id, "lines": [{"product": PRODUCT, "quantity": quantity}]}
        first_at, answered_500 = time.monotonic(), False
        attempt = 0
        while True:
            attempt += 1
            at = time.monotonic()
            answer = call(self.port, "POST", "/api/v1/orders/", headers, body, WRITE_TIMEOUT)
            ok = answer.status == 201
            took = time.monotonic() - at
            self._record(
                Event(at, thread, number, "write", answer.kind(), ok, attempt == 1, took=took)
            )
            if ok:
                with self.lock:
                    self.confirmed[quantity] = answer.json["id"]
                    if answered_500 and answer.headers.get("idempotent-replayed") == "true":
                        self.committed_500.append(quantity)
                return
            if answer.status >= 500:
                answered_500 = answered_500 or answer.status == 500
            elif answer.status and answer.status not in (409, 429):
                raise RuntimeError(f"order refused: {answer.status} {answer.body[:300]!r}")
            if time.monotonic() - first_at > WRITE_GIVE_UP:
                with self.lock:
                    self.abandoned.append(quantity)
                return
            wait = answer.headers.get("retry-after", "1")
            time.sleep(min(float(wait) if wait.isdigit() else 1.0, 5.0))


# --- the figures ----------------------------------------------------------------------------


def recovery(events: list[Event], since: float, threads: int) -> float | None:
    """Seconds from `since` (the fault's end) until every thread has completed a
    round, begun after it, in which every request succeeded at its first try;
    None if one never did."""
    rounds: dict[tuple[int, int], list[Event]] = {}
    for event in events:
        rounds.setdefault((event.thread, event.round), []).append(event)
    back: dict[int, float] = {}
    for (thread, _), round_events in sorted(rounds.items()):
        if thread in back or min(e.at for e in round_events) < since:
            continue
        if len(round_events) == 4 and all(e.ok and e.first_try for e in round_events):
            back[thread] = max(e.at + e.took for e in round_events)
    if len(back) < threads:
        return None
    return max(back.values()) - since


def database_orders(customer_id: str, since) -> dict[int, list[str]]:
    """The orders placed for the customer since `since`, by their line's quantity."""
    from billing.models import OrderLine

    found: dict[int, list[str]] = {}
    for order_id, quantity in OrderLine.unscoped.filter(
        order__customer_id=customer_id, order__placed_at__gte=since
    ).values_list("order_id", "quantity"):
        found.setdefault(quantity, []).append(str(order_id))
    return found


def figures(
    load: Load, rows: dict[int, list[str]], fault_end: float, *, reads_refused_ok: bool
) -> tuple[dict, list[str]]:
    """What the run measured, and the goals it missed. With `reads_refused_ok`
    (the database itself is down) a read refused cleanly, 503 in the API's shape
    with Retry-After, is no miss; any other failed read is."""
    by_kind: dict[str, Counter] = {}
    for event in load.events:
        group = "reads" if event.kind.startswith("read") else "writes"
        by_kind.setdefault(group, Counter())[event.answer] += 1
    reads_failed = sum(1 for e in load.events if e.kind.startswith("read") and not e.ok)
    writes_500 = sum(1 for e in load.events if e.kind == "write" and e.answer.startswith("500"))
    writes_html = sum(1 for e in load.events if e.kind == "write" and "HTML" in e.answer)
    lost = [q for q, order_id in load.confirmed.items() if order_id not in rows.get(q, [])]
    doubled = [q for q, ids in rows.items() if len(ids) > 1]
    unheard = [q for q in rows if q not in load.confirmed]
    back = recovery(load.events, fault_end, load.threads)
    slowest_read = max((e.took for e in load.events if e.kind.startswith("read")), default=0)
    slowest_write = max((e.took for e in load.events if e.kind == "write" and e.ok), default=0)
    result = {
        "requests": len(load.events),
        "reads by answer": dict(sorted(by_kind.get("reads", Counter()).items())),
        "writes (attempts) by answer": dict(sorted(by_kind.get("writes", Counter()).items())),
        "reads failed": reads_failed,
        "slowest read, slowest 201": f"{slowest_read:.1f} s, {slowest_write:.1f} s",
        "writes answered 500": writes_500,
        "  of which for a committed write": len(load.committed_500),
        "orders confirmed / in the database": f"{len(load.confirmed)} / {len(rows)}",
        "orders lost": len(lost),
        "orders doubled": len(doubled),
        "orders placed, client gave up": len(unheard),
        "recovery after the fault ends": "never" if back is None else f"{back:.1f} s",
    }
    missed = []
    refused = "503 JSON, Retry-After"
    unclean_reads = sum(
        1
        for e in load.events
        if e.kind.startswith("read") and not e.ok and not (reads_refused_ok and e.answer == refused)
    )
    if unclean_reads:
        missed.append(f"{unclean_reads} reads failed")
    if load.committed_500:
        missed.append(f"{len(load.committed_500)} committed writes answered 500")
    if writes_html:
        missed.append(f"{writes_html} writes answered an HTML 5xx")
    if lost or doubled:
        missed.append(f"orders lost {len(lost)}, doubled {len(doubled)}")
    if unheard:
        missed.append(f"{len(unheard)} orders placed whose client never heard")
    if back is None:
        missed.append("no fully successful round after the fault")
    return result, missed


def run_fault(
    *,
    port: int,
    token: str,
    customer_id: str,
    threads: int,
    before: float,
    after: float,
    fault,
    say,
    reads_refused_ok: bool = False,
) -> tuple[dict, list[str]]:
    """The load for `before` seconds, `fault()` (it returns when the fault ends),
    the load for `after` seconds more; the figures."""
    from django.db import connection
    from django.utils import timezone

    since = timezone.now()
    load = Load(port, token, customer_id, threads)
    load.start()
    time.sleep(before)
    say(f"load: {len(load.events)} requests so far, all fine: {all(e.ok for e in load.events)}")
    fault()
    fault_end = time.monotonic()
    time.sleep(after)
    load.stop()
    rows = database_orders(customer_id, since)
    connection.close()
    return figures(load, rows, fault_end, reads_refused_ok=reads_refused_ok)


def pause(pid: int, seconds: float, say) -> None:
    os.kill(pid, signal.SIGSTOP)
    say(f"redis-server {pid}: SIGSTOP for {seconds:g} s")
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)
    say(f"redis-server {pid}: SIGCONT")
