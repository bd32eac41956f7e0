"""Webhook fan-out with a real Celery worker on Redis: `--events` domain events
(`customer.updated`, emitted in one transaction through core.events, so the
outbox rows are written as a service writes them) to `--endpoints` endpoints of
one partner, delivered signed over HTTP to a local receiver that verifies every
delivery with the `standardwebhooks` library. Deliveries per second, from the
commit until the receiver has every one and every row is `delivered`, against
a no-op task's throughput on the same broker and worker (goal: at least 50 %).

Not a test: it prints figures. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/webhook_fanout.py

(`webhooks.py` would shadow the webhooks app, as offers.py shadows offers.)
The broker database (REDIS_URL, default redis://127.0.0.1:6379/14) is flushed:
give the bench a Redis database of its own. `Receiver` also serves `make
chaos`'s webhooks scenario (scripts/chaos.py).
"""

import argparse
import os
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchdb import (
    DEFAULT_REDIS_URL,
    OWNER_EMAIL,
    PARTNER_SLUG,
    Figure,
    is_postgres,
    run_alone,
    seed,
)

RATIO_GOAL = 0.5
EVENT_TYPE = "customer.updated"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500, help="Events emitted.")
    parser.add_argument("--endpoints", type=int, default=4, help="Endpoints hearing each event.")
    parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds per phase, at most.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


# --- the receiver -------------------------------------------------------------------------


class Receiver:
    """A local receiver written from the Standard Webhooks spec: each path is one
    endpoint with its secret; a delivery whose signature `standardwebhooks`
    verifies is answered 204 and its `webhook-id` recorded (duplicates too: the
    caller de-duplicates), one that fails is answered 400 and counted."""

    def __init__(self):
        self.secrets: dict[str, object] = {}
        self.received: list[tuple[str, str]] = []  # (path, webhook-id), every arrival
        self.refused: Counter = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver.hear(self.path, body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def add(self, path: str, secret: str) -> None:
        from standardwebhooks.webhooks import Webhook

        self.secrets[path] = Webhook(secret)

    def hear(self, path: str, body: bytes, headers: dict) -> int:
        from standardwebhooks.webhooks import WebhookVerificationError

        verifier = self.secrets.get(path)
        if verifier is None:
            return 404
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            verifier.verify(body, lowered)
        except WebhookVerificationError as exc:
            with self.lock:
                self.refused[str(exc)] += 1
            return 400
        with self.lock:
            self.received.append((path, lowered["webhook-id"]))
        return 204

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def arrivals(self) -> int:
        with self.lock:
            return len(self.received)

    def unique(self) -> int:
        with self.lock:
            return len({webhook_id for _, webhook_id in self.received})


# --- the world ----------------------------------------------------------------------------


def outbox_settle() -> int:
    """The seed's events (orders, subscriptions, offers…) were emitted before any
    endpoint existed, so their fan-out reaches nobody: mark them fanned out, as
    it would, so that the worker and the sweeper spend the run on the measured
    events alone. Returns how many."""
    from django.utils import timezone

    from webhooks.models import WebhookEndpoint, WebhookEvent

    assert not WebhookEndpoint.unscoped.exists()
    return WebhookEvent.objects.filter(fanned_out_at__isnull=True).update(
        fanned_out_at=timezone.now()
    )


def endpoints_create(receiver: Receiver, count: int) -> list:
    """`count` endpoints of the demo partner, each a path of the receiver,
    hearing EVENT_TYPE; their secrets go to the receiver."""
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for
    from webhooks.services import endpoint_create

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    endpoints = []
    for number in range(count):
        path = f"/hooks/{number}"
        endpoint, secret = endpoint_create(org=org, url=receiver.url(path), events=[EVENT_TYPE])
        receiver.add(path, secret)
        endpoints.append(endpoint)
    return endpoints


def events_emit(customer_ids: list, per_transaction: int = 100) -> list:
    """One `customer.updated` per customer, `per_transaction` to a transaction, as
    `customer_profile_update` emits it; returns the outbox rows' ids."""
    from django.db import transaction

    from core.events import events_emit as emit
    from tenants.models import Tenant
    from webhooks.models import WebhookEvent

    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    before = set(WebhookEvent.objects.values_list("pk", flat=True))
    for start in range(0, len(customer_ids), per_transaction):
        with transaction.atomic():
            emit(
                EVENT_TYPE,
                [
                    {"id": pk, "partner": partner.pk}
                    for pk in customer_ids[start : start + per_transaction]
                ],
            )
    return [pk for pk in WebhookEvent.objects.values_list("pk", flat=True) if pk not in before]


def scale_customers(count: int) -> list:
    from tenants.models import Tenant

    ids = list(
        Tenant.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("pk", flat=True)[:count]
    )
    assert len(ids) == count, (len(ids), count)
    return ids


def delivered(event_ids: list) -> int:
    from webhooks.models import WebhookDelivery

    return WebhookDelivery.unscoped.filter(
        event_id__in=event_ids, status=WebhookDelivery.Status.DELIVERED
    ).count()


# --- the run ------------------------------------------------------------------------------


def run(
    *,
    database_url: str,
    redis_url: str,
    events: int,
    endpoints: int,
    concurrency: int,
    timeout: float,
    log=print,
) -> list[Figure]:
    """On a database seeded with at least `events` scale customers and Django set
    up with REDIS_URL: a receiver, a real worker, the no-op floor, then the
    events. Flushes the Redis database."""
    import redis
    from django.conf import settings
    from django.db import connection

    offers = _bench_offers()
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # this process registers the endpoints
    redis.Redis.from_url(redis_url).flushdb()
    outbox_settle()
    receiver = Receiver()
    receiver.start()
    endpoints_create(receiver, endpoints)
    ids = scale_customers(events)
    expected = events * endpoints
    connection.close()
    # offers.py's worker, with loopback receivers allowed (dev's default, made explicit)
    os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "True"
    worker = offers.start_worker(database_url, redis_url, concurrency)
    try:
        offers.noop_throughput(20, timeout)  # the worker is up and warm
        noop = offers.noop_throughput(expected, timeout)
        started = time.perf_counter()
        event_ids = events_emit(ids)
        committed = time.perf_counter()
        offers.wait_until(
            lambda: receiver.unique() >= expected and delivered(event_ids) == expected,
            timeout,
            poll=0.1,
        )
        rate = expected / (time.perf_counter() - committed)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        receiver.stop()
    if receiver.refused:
        sys.exit(f"bench: the receiver refused deliveries: {dict(receiver.refused)}")
    log(
        f"  webhooks: worker prefork x{concurrency} on {redis_url}; {events} events x "
        f"{endpoints} endpoints = {expected} deliveries, every signature verified; "
        f"the emit (outbox rows) {committed - started:.1f}s; "
        f"{receiver.arrivals() - receiver.unique()} arrived twice"
    )
    return [
        Figure(f"webhook deliveries/s ({expected:,})", rate, noop, f">= {RATIO_GOAL}", digits=0),
    ]


def _bench_offers():
    """bench/offers.py's worker and no-op floor (its name is the offers app's)."""
    import importlib.util

    from benchdb import BENCH

    spec = importlib.util.spec_from_file_location("bench_offers", BENCH / "offers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    args = parse_args()
    if not is_postgres(os.environ.get("DATABASE_URL", "")):
        sys.exit("bench/webhook_fanout.py: PostgreSQL only; set DATABASE_URL=postgres://...")
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    os.environ["REDIS_URL"] = redis_url

    def measure(database_url: str) -> list[Figure]:
        print(f"seeded {args.events} customers in {seed(args.events):.1f}s")
        return run(
            database_url=database_url,
            redis_url=redis_url,
            events=args.events,
            endpoints=args.endpoints,
            concurrency=args.concurrency,
            timeout=args.timeout,
        )

    return run_alone("bench_webhooks", keep=args.keep, measure=measure)


if __name__ == "__main__":
    sys.exit(main())
