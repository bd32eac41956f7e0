"""API throughput: the customer list API under load, served by gunicorn, against
a plain `.values()` JSON view of the same 50 rows on the same server.

Not a test: it prints figures. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/throughput.py                 # database portal_bench_throughput

PostgreSQL only (the real server). It seeds `seed_demo --customers 10000`, makes
an API token for partner.owner@demo.test, starts `gunicorn` with 2 gthread workers of 4 threads
on a free port of 127.0.0.1 (settings `bench/bench_settings.py`: production's,
DEBUG off, persistent connections, the URLs plus the floor view of
`bench/bench_urls.py`), and loads it from a second process (`bench/load.py`,
--connections concurrent connections) in --rounds rounds, each the floor then the
API for --duration / --rounds seconds. Goals (issue 27): the API serves >= 80 %
of the floor's requests per second; its p99 latency <= 1.5 x the floor's; no errors.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from benchdb import (
    BENCH,
    DEFAULT_REDIS_URL,
    OWNER_EMAIL,
    PARTNER_SLUG,
    ROOT,
    Figure,
    is_postgres,
    run_alone,
    seed,
)

API_PATH = "/api/v1/customers/?page_size=50"
FLOOR_PATH = "/bench/customers-floor/"
RPS_GOAL = 0.8  # issue 27 (0.5 before)
P99_GOAL = 1.5  # issue 27 (2 before)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="Scale customers.")
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds per target.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternations of the targets.")
    parser.add_argument("--connections", type=int, default=4, help="Concurrent connections.")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers (gthread, 4 threads each)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api_token() -> str:
    """A fresh API token of the demo partner's owner (the raw value)."""
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for
    from tenants.services import api_token_create

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    _, raw = api_token_create(org=org, name="bench")
    return raw


def start_gunicorn(database_url: str, redis_url: str, port: int, workers: int):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "False",
    }
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--workers",
            str(workers),
            # what gunicorn ran anyway: it reads ./gunicorn.conf.py (threads = 4),
            # and with more than one thread it turns `sync` into gthread
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--pythonpath",
            f"{ROOT},{BENCH}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(server, port: int, timeout: float = 60) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            sys.exit(f"bench: gunicorn exited with {server.returncode}")
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("bench: gunicorn did not answer /healthz in time")


def load(port: int, path: str, headers: list[str], duration: float, connections: int) -> dict:
    command = [
        sys.executable,
        str(BENCH / "load.py"),
        "--port",
        str(port),
        "--path",
        path,
        "--duration",
        str(duration),
        "--warmup",
        "1",
        "--connections",
        str(connections),
        "--raw",
    ]
    for header in headers:
        command += ["--header", header]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(done.stdout)


def merge(results: list[dict], duration: float) -> dict:
    from load import percentile

    latencies = [latency for result in results for latency in result["latencies"]]
    return {
        "rps": len(latencies) / duration,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "errors": sum(result["errors"] for result in results),
    }


def run(
    *,
    database_url: str,
    redis_url: str,
    duration: float,
    rounds: int,
    connections: int,
    workers: int,
    log=print,
) -> list[Figure]:
    """On a seeded database: gunicorn, then the floor and the API in turns."""
    from django.db import connection

    token = api_token()
    connection.close()  # gunicorn's workers are the only users now
    port = free_port()
    server = start_gunicorn(database_url, redis_url, port, workers)
    try:
        wait_ready(server, port)
        auth = [f"Authorization: Bearer {token}"]
        status, body = get(port, API_PATH, {"Authorization": f"Bearer {token}"})
        assert status == 200 and len(json.loads(body)["results"]) == 50, (status, body[:300])
        status, body = get(port, FLOOR_PATH)
        assert status == 200 and len(json.loads(body)["results"]) == 50, (status, body[:300])
        per_round = duration / rounds
        floor_runs, api_runs = [], []
        for _ in range(rounds):
            floor_runs.append(load(port, FLOOR_PATH, [], per_round, connections))
            api_runs.append(load(port, API_PATH, auth, per_round, connections))
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor, api = merge(floor_runs, duration), merge(api_runs, duration)
    log(
        f"  throughput: gunicorn {workers} gthread workers x 4 threads, {connections} connections, "
        f"{rounds} x {per_round:.1f}s per target; p50 API {api['p50_ms']:.1f} ms, "
        f"floor {floor['p50_ms']:.1f} ms"
    )
    return [
        Figure("api customers: requests/s", api["rps"], floor["rps"], f">= {RPS_GOAL}"),
        Figure("api customers: p99 ms", api["p99_ms"], floor["p99_ms"], f"<= {P99_GOAL:g}"),
        Figure("api customers: failed requests", api["errors"] + floor["errors"], None, "< 1"),
    ]


def main() -> int:
    args = parse_args()
    if not is_postgres(os.environ.get("DATABASE_URL", "")):
        sys.exit("bench/throughput.py: PostgreSQL only; set DATABASE_URL=postgres://...")
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ["REDIS_URL"] = redis_url

    def measure(database_url: str) -> list[Figure]:
        print(f"seeded {args.customers} customers in {seed(args.customers):.1f}s")
        return run(
            database_url=database_url,
            redis_url=redis_url,
            duration=args.duration,
            rounds=args.rounds,
            connections=args.connections,
            workers=args.workers,
        )

    return run_alone("bench_throughput", keep=args.keep, measure=measure)


if __name__ == "__main__":
    sys.exit(main())
