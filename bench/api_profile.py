"""Where a request to the customer list API goes (issue 27 point 3): CPU per
request of `GET /api/v1/customers/?page_size=50` (API token) and of the
throughput floor (`bench_urls.customers_floor`), called through Django's WSGI
handler in this process with the throughput server's settings
(`bench/bench_settings.py`: production's, the Redis cache, the throttle on);
their queries and Redis round trips; optionally a `cProfile` of the API.

Not a test: it prints figures. CPU time (`time.process_time`) over N requests
is this process's only, so it holds on a shared machine where requests per
second do not; PostgreSQL's and Redis's own time is not in it (the queries and
round trips are counted instead).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/api_profile.py --requests 500 --profile

A fresh `<name>_bench_api_profile` seeded with --customers (2,000), dropped at
the end unless --keep; `--existing` measures the database DATABASE_URL names as
it is (already seeded, e.g. kept by a bench run).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

API_PATH = "/api/v1/customers/"
API_QUERY = "page_size=50"
FLOOR_PATH = "/bench/customers-floor/"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000, help="Scale customers.")
    parser.add_argument("--requests", type=int, default=500, help="Requests per target.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternations of the targets.")
    parser.add_argument("--profile", action="store_true", help="cProfile the API requests.")
    parser.add_argument("--top", type=int, default=45, help="Lines of the profile printed.")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key.")
    parser.add_argument(
        "--callees",
        action="append",
        default=[],
        help="Also print the callees of functions matching this (pstats regex).",
    )
    parser.add_argument(
        "--components",
        action="store_true",
        help="Also time what the API adds to the floor, one piece at a time.",
    )
    parser.add_argument("--existing", action="store_true", help="DATABASE_URL as it is.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def setup(database_url: str) -> None:
    """Django with the throughput server's settings on `database_url`."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    os.environ["DEBUG"] = "False"
    os.chdir(ROOT)
    sys.path[:0] = [str(ROOT), str(BENCH)]
    import django

    django.setup()


class RedisCalls:
    """Counts the commands sent to Redis (a pipeline or a script: one each)."""

    def __init__(self):
        from redis.connection import AbstractConnection

        self.count = 0
        self._cls = AbstractConnection
        self._send = AbstractConnection.send_packed_command

    def __enter__(self):
        counter = self
        send = self._send

        def send_packed_command(conn, command, check_health=True):
            counter.count += 1
            return send(conn, command, check_health)

        self._cls.send_packed_command = send_packed_command
        return self

    def __exit__(self, *exc):
        self._cls.send_packed_command = self._send


def make_call(path: str, query: str, headers: dict):
    """A function that sends one GET through the WSGI handler, as gunicorn
    would, and returns (status, body)."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    environ_base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for name, value in headers.items():
        environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    status_seen = []

    def start_response(status, response_headers, exc_info=None):
        status_seen.append(status)

    def call():
        status_seen.clear()
        environ = dict(environ_base, **{"wsgi.input": io.BytesIO(b"")})
        response = handler(environ, start_response)
        body = b"".join(response)
        response.close()  # request_finished: connections, as under gunicorn
        return status_seen[0], body

    return call


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _process_cpu(pid: int | None) -> float | None:
    """CPU seconds of a process on this machine (user + system), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ms(call, requests: int) -> tuple[float, float | None]:
    """CPU per request in ms: this process's, and PostgreSQL's backend serving it
    (from /proc, when the server runs on this machine; None otherwise)."""
    pid = _backend_pid()
    backend = _process_cpu(pid)
    started = time.process_time()
    for _ in range(requests):
        call()
    ours = (time.process_time() - started) / requests * 1000
    after = _process_cpu(pid)
    if backend is None or after is None or _backend_pid() != pid:
        return ours, None
    return ours, (after - backend) / requests * 1000


def calls_per_request(call, requests: int = 20) -> int:
    """Python function calls per request (cProfile's count): the steadiest
    figure on a shared machine."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    return round(pstats.Stats(profiler).total_calls / requests)


def components(raw_token: str, runs: int = 300) -> None:
    """CPU per call of each piece the API adds to the floor, alone (best of 3
    x `runs`): the parts of a request that bench/api_profile.py's whole
    figures cannot separate. What the API costs beyond the floor less these
    pieces is what DRF and the view do around them (the request, negotiation,
    permissions, pagination, the URL)."""
    from benchdb import OWNER_EMAIL, PARTNER_SLUG
    from django.http import JsonResponse
    from rest_framework.renderers import JSONRenderer

    from customers import selectors
    from customers.serializers import CustomerRowSerializer
    from partners.selectors import customers_visible_count
    from portal.api.throttling import ApiRateThrottle
    from tenants.models import Tenant, User
    from tenants.selectors import api_token_authenticate, org_context_for

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    rows = list(
        selectors.customer_rows(selectors.customer_list(org=org).order_by("name", "pk"))[:50]
    )
    data = CustomerRowSerializer(rows, many=True).data
    request = type("Request", (), {"user": org.user})()

    pieces = {
        "token authentication": lambda: api_token_authenticate(raw=raw_token),
        "throttle": lambda: ApiRateThrottle().allow_request(request, None),
        "count (cached)": lambda: customers_visible_count(org=org),
        "serializer, 50 rows": lambda: CustomerRowSerializer(rows, many=True).data,
        "JSON, DRF's renderer": lambda: JSONRenderer().render(
            {"count": 1, "next": None, "previous": None, "results": data}
        ),
        "JSON, the floor's JsonResponse": lambda: JsonResponse({"results": rows}),
    }
    print(f"pieces alone, CPU per call (best of 3 x {runs}):")
    for name, piece in pieces.items():
        for _ in range(20):
            piece()
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for _ in range(runs):
                piece()
            best = min(best, (time.process_time() - started) / runs * 1000)
        print(f"  {name:<34}{best:7.3f} ms")


def api_token() -> str:
    from benchdb import OWNER_EMAIL, PARTNER_SLUG

    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for
    from tenants.services import api_token_create

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    _, raw = api_token_create(org=org, name="api-profile")
    return raw


def measure(args) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = api_token()
    api = make_call(API_PATH, API_QUERY, {"Authorization": f"Bearer {token}"})
    floor = make_call(FLOOR_PATH, "", {})
    for name, call in (("api", api), ("floor", floor)):
        status, body = call()
        assert status.startswith("200"), (name, status, body[:300])
        assert len(json.loads(body)["results"]) == 50, (name, body[:300])
        for _ in range(20):  # warm: connections, caches, lazy imports
            call()
    print(f"api response: {len(api()[1])} bytes; floor: {len(floor()[1])} bytes")
    for name, call in (("api", api), ("floor", floor)):
        with CaptureQueriesContext(connection) as queries, RedisCalls() as redis_calls:
            call()
        print(
            f"{name}: {len(queries)} queries, {redis_calls.count} Redis round trips, "
            f"{calls_per_request(call):,} Python function calls"
        )
        for query in queries:
            print(f"    {query['time']}s  {query['sql'][:150]}")
    per_round = max(1, args.requests // args.rounds)
    runs = {"api": [], "floor": []}
    for _ in range(args.rounds):
        runs["floor"].append(cpu_ms(floor, per_round))
        runs["api"].append(cpu_ms(api, per_round))
    best = {name: min(ms for ms, _ in measured) for name, measured in runs.items()}
    print(
        f"CPU per request (this process, best of {args.rounds} x {per_round}): "
        f"api {best['api']:.2f} ms, floor {best['floor']:.2f} ms, "
        f"ratio {best['api'] / best['floor']:.2f}  (rounds: "
        + "; ".join(
            f"{name} {', '.join(f'{ms:.2f}' for ms, _ in measured)}"
            for name, measured in runs.items()
        )
        + ")"
    )
    backend = {name: [pg for _, pg in measured] for name, measured in runs.items()}
    if all(pg is not None for measured in backend.values() for pg in measured):
        low = {name: min(measured) for name, measured in backend.items()}
        print(
            f"PostgreSQL backend CPU per request (best of {args.rounds}): "
            f"api {low['api']:.2f} ms, floor {low['floor']:.2f} ms; "
            f"with this process: api {best['api'] + low['api']:.2f} ms, "
            f"floor {best['floor'] + low['floor']:.2f} ms, ratio "
            f"{(best['api'] + low['api']) / (best['floor'] + low['floor']):.2f}"
        )
    if args.components:
        components(token)
    if args.profile:
        # CPU time, not wall time: waits on PostgreSQL and Redis and other
        # processes' turns on a shared machine are left out
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.requests):
            api()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
        stats.print_stats(args.top)
        for pattern in args.callees:
            stats.print_callees(pattern)
        print(out.getvalue())


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(BENCH))
    from benchdb import DEFAULT_REDIS_URL, bench_database, load_average

    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    print(f"load average {load_average()} at the start")
    if args.existing:
        setup(os.environ["DATABASE_URL"])
        measure(args)
    else:
        database_url, remove = bench_database("bench_api_profile")
        # the throughput server's settings are production's, which refuse the
        # demo seed: allowed here, on the bench's own throwaway database
        os.environ["DEMO_DATA_ALLOWED"] = "True"
        try:
            setup(database_url)
            from benchdb import seed
            from django.core.management import call_command
            from django.db import connection

            call_command("migrate", verbosity=0)
            print(f"seeded {args.customers} customers in {seed(args.customers):.1f}s")
            measure(args)
            connection.close()
        finally:
            if args.keep:
                print(f"kept: {database_url}")
            else:
                remove()
    print(f"load average {load_average()} now")
    return 0


if __name__ == "__main__":
    sys.exit(main())
