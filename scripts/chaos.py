"""`make chaos`: a real worker on Redis is killed with SIGKILL in the middle of
delivering one template to 1,000 customers, then Redis restarts empty; a second
worker is killed too, while it sends the offers' emails. A third worker and
beat's sweepers must deliver every offer and every email exactly once within
five minutes of the send. See docs/reliability.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python scripts/chaos.py

(DATABASE_URL defaults to that server, as in .ci/run.) That is `--scenario
worker-kill`, described here. `--scenario redis-pause` and `postgres-restart`
pause the chaos Redis (10 s, then 30 s) or restart a private PostgreSQL under
mixed reads and writes through gunicorn (scripts/chaos_load.py). `--scenario
webhooks` emits --customers `customer.updated` events (the outbox, in the
emitting transactions) to an endpoint on a local receiver that verifies each
delivery with `standardwebhooks` and records its `webhook-id`; the workers are
killed and Redis restarted as in worker-kill, and every event must reach the
receiver at least once, exactly --customers once de-duplicated by
`webhook-id`. Without `--scenario` (or with `all`) the four run one after the
other, each in a process of its own.

It starts a Redis of its own (redis-server on --redis-port, 6390, keeping
nothing on disk: its restart loses every queued and unacknowledged message)
and a fresh database next to DATABASE_URL's (`<name>_chaos`, see
bench/benchdb.py), and removes both, and every process it started, at the end.
The workers send email through `RecordingEmailBackend` below, which appends one
line per message to a file: the record of what actually left, with its
Message-ID. The exit status is 1 when an offer is not delivered, an email row
not sent, or a recipient got two different messages (or none).

The sweepers re-enqueue what is older than SWEEP_AFTER_SECONDS (300 in
production), every SWEEP_EVERY_SECONDS (300); the run lowers them to
--sweep-after and --sweep-every so that recovery fits in the five minutes.
"""

import argparse
import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent
SENT_LOG = "CHAOS_SENT_LOG"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal"  # as .ci/run
OFFER_SUBJECT = "sent you an offer"
SCENARIOS = ("worker-kill", "redis-pause", "postgres-restart", "webhooks")


class RecordingEmailBackend(BaseEmailBackend):
    """Appends each message sent as one JSON line to the file $CHAOS_SENT_LOG.
    One `write` per line on a file opened for appending: lines from several
    processes never mix, and a line written survives a SIGKILL right after."""

    def send_messages(self, email_messages) -> int:
        fd = os.open(os.environ[SENT_LOG], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for message in email_messages:
                line = {
                    "to": message.to,
                    "subject": message.subject,
                    "message_id": message.message()["Message-ID"],
                    "pid": os.getpid(),
                }
                os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
        return len(email_messages)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000, help="Offers to send.")
    parser.add_argument("--concurrency", type=int, default=2, help="Worker processes.")
    parser.add_argument(
        "--kill-at", type=float, default=0.3, help="Kill the worker once this share is delivered."
    )
    parser.add_argument(
        "--deadline", type=float, default=300, help="Seconds from the send to all delivered."
    )
    parser.add_argument(
        "--second-kill-at",
        type=float,
        default=0.5,
        help="Kill the next worker once this share of the emails left (0: no second kill).",
    )
    parser.add_argument("--sweep-after", type=int, default=30, help="SWEEP_AFTER_SECONDS.")
    parser.add_argument("--sweep-every", type=float, default=10, help="SWEEP_EVERY_SECONDS.")
    parser.add_argument("--redis-port", type=int, default=6390, help="The chaos Redis's port.")
    parser.add_argument("--keep", action="store_true", help="Keep the database and the logs.")
    parser.add_argument(
        "--scenario",
        choices=(*SCENARIOS, "all"),
        default="all",
        help="One scenario, or all of them, each in a process of its own (the default).",
    )
    parser.add_argument(
        "--threads", type=int, default=6, help="Client threads of the Redis and PostgreSQL faults."
    )
    parser.add_argument(
        "--load-customers", type=int, default=200, help="Customers seeded for those faults."
    )
    return parser.parse_args()


def bench_module(name: str):
    """A module of bench/ (bench/offers.py's name is taken by the offers app)."""
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


# --- processes -------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (from /proc: no psutil here)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_tree(process: subprocess.Popen) -> list[int]:
    """SIGKILL a process and all its children at once, as a machine dying would."""
    pids = [process.pid, *descendants(process.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def stop(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """Warm shutdown (SIGTERM), then SIGKILL whatever is left of its tree."""
    if process is None or process.poll() is not None:
        return
    tree = descendants(process.pid)
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(process)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class ChaosRedis:
    """A redis-server of our own on `port`, nothing on disk: a restart is empty."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir, self.process = port, workdir, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        if self.ping():
            sys.exit(f"chaos: something already listens on port {self.port}; give --redis-port")
        self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline or self.process.poll() is not None:
                sys.exit("chaos: redis-server did not start")
            time.sleep(0.05)

    def crash(self) -> None:
        kill_tree(self.process)

    def stop(self) -> None:
        stop(self.process, timeout=10)


class Celery:
    """Workers and beat started with the chaos environment, each with its log."""

    def __init__(self, env: dict, workdir: Path):
        self.env, self.workdir = env, workdir
        self.processes: list[subprocess.Popen] = []

    def _start(self, name: str, *arguments: str) -> subprocess.Popen:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "celery", "-A", "portal", *arguments],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.workdir / f"{name}.out", "ab"),  # noqa: SIM115 (the child owns it)
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def worker(self, name: str, concurrency: int) -> subprocess.Popen:
        return self._start(
            name,
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--logfile",
            str(self.workdir / f"{name}.log"),
            "--hostname",
            f"{name}@chaos",
            "--without-gossip",
            "--without-mingle",
        )

    def beat(self) -> subprocess.Popen:
        return self._start(
            "beat",
            "beat",
            "--loglevel",
            "INFO",
            "--logfile",
            str(self.workdir / "beat.log"),
            "--schedule",
            str(self.workdir / "beat-schedule"),
            "--pidfile",
            str(self.workdir / "beat.pid"),
        )

    def stop_all(self) -> None:
        for process in self.processes:
            stop(process)


# --- the run -----------------------------------------------------------------------------


def wait_for_worker(timeout: float = 60) -> None:
    """A `ping` task through the broker and a worker (it writes the cache)."""
    from django.core.cache import cache

    from portal.tasks import ping

    token = f"chaos-{uuid.uuid4().hex}"
    ping.delay(token)
    deadline = time.monotonic() + timeout
    while cache.get(f"ping:{token}") != "pong":
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not answer a ping")
        time.sleep(0.1)


def send_offers(customer_ids: list, partner_slug: str, owner_email: str):
    """One template (two products) sent to every customer in one transaction."""
    from django.db import transaction

    from catalog.models import Product
    from offers import services
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    partner = Tenant.objects.get(slug=partner_slug)
    org = org_context_for(user=User.objects.get(email=owner_email), tenant_id=partner.pk)
    template = services.template_create(org=org, name=f"Chaos {uuid.uuid4().hex[:6]}")
    for code, quantity, mode in (("web-hosting", 1, "absolute"), ("mail-pro", 5, "relative")):
        services.template_item_add(
            org=org,
            template=template,
            product=Product.objects.get(code=code),
            quantity=quantity,
            license_mode=mode,
            term_months=12,
        )
    with transaction.atomic():
        return services.offer_send(org=org, template=template, customer_ids=customer_ids)


def delivered_count(batch) -> int:
    from offers.models import Offer

    return Offer.unscoped.filter(batch=batch, status=Offer.Status.AWAITING_CONFIRMATION).count()


def offer_emails(batch):
    from tenants.models import OutboundEmail

    return OutboundEmail.objects.filter(
        key__startswith="offer:", key__contains=":delivered:", created_at__gte=batch.created_at
    )


def sent_lines(path: Path, batch=None) -> list[dict]:
    """What left, as the backend recorded it; with `batch`, only its offers' emails."""
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line]
    if batch is None:
        return lines
    subject = f"sent you an offer: {batch.template_name}"
    return [line for line in lines if line["subject"].endswith(subject)]


TASK_DONE = re.compile(r"Task (\S+)\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: (.*)$")
TASK_RECEIVED = re.compile(r"Task (\S+)\[[0-9a-f-]+\] received")
DELIVERIES = (
    "deliver_offers",
    "deliver_offer",
    "deliver_emails",
    "deliver_email",
    "fan_out",  # webhooks
    "deliver_many",
    "deliver",
)
SWEEPERS = ("sweep_waiting_offers", "sweep_pending_emails", "sweep")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 1 if value == "True" else 0


def redeliveries(logs: list[Path]) -> dict:
    """What the workers' logs show of work done again: what the sweepers
    re-enqueued, and delivery tasks that ran and found nothing left to do (a
    duplicate absorbed by the status guard)."""
    figures = Counter()
    for path in logs:
        text = path.read_text(errors="replace") if path.exists() else ""
        for line in text.splitlines():
            if match := TASK_RECEIVED.search(line):
                figures[f"tasks received: {match[1].rsplit('.', 1)[1]}"] += 1
            elif match := TASK_DONE.search(line):
                task, result = match[1].rsplit(".", 1)[1], match[2].strip()
                if task in SWEEPERS:
                    figures[f"{task}: re-enqueued"] += _int(result)
                elif task in DELIVERIES and _int(result) == 0:
                    figures[f"{task}: runs with nothing left to do"] += 1
    return dict(sorted(figures.items()))


def check(batch, customers: int, sent_path: Path) -> list[str]:
    """Every offer delivered, one email row per offer and recipient, sent, and
    in what actually left one message (one Message-ID, its row's) per recipient.
    Returns the failures."""
    from offers.models import Offer
    from tenants.emails import message_id
    from tenants.models import Membership, OutboundEmail, Role

    failures = []
    statuses = Counter(Offer.unscoped.filter(batch=batch).values_list("status", flat=True))
    if statuses != {Offer.Status.AWAITING_CONFIRMATION: customers}:
        failures.append(f"offers by status: {dict(statuses)}")
    rows = list(offer_emails(batch).values_list("pk", "key", "status"))
    per_offer = Counter(key.split(":")[1] for _, key, _ in rows)
    offer_ids = {str(pk) for pk in Offer.unscoped.filter(batch=batch).values_list("pk", flat=True)}
    if set(per_offer) != offer_ids or set(per_offer.values()) != {1}:
        failures.append(
            f"email rows per offer: {dict(Counter(per_offer.values()))}, "
            f"offers without one: {len(offer_ids - set(per_offer))}"
        )
    not_sent = Counter(status for _, _, status in rows if status != "sent")
    if not_sent:
        failures.append(f"email rows not sent: {dict(not_sent)}")
    recipients = set(
        Membership.unscoped.filter(
            tenant__offers_received__batch=batch, role__in=(Role.OWNER, Role.ADMIN)
        ).values_list("user__email", flat=True)
    )
    messages = {}  # recipient: the Message-IDs that reached them
    for line in sent_lines(sent_path, batch):
        for to in line["to"]:
            messages.setdefault(to, set()).add(line["message_id"])
    twice = [to for to, ids in messages.items() if len(ids) > 1]
    if twice:
        failures.append(f"recipients that got two different emails: {len(twice)} ({twice[0]}, …)")
    row_ids = {message_id(OutboundEmail(pk=pk)) for pk, _, _ in rows}
    if set().union(*messages.values()) != row_ids:
        failures.append("the Message-IDs that left are not those of the email rows")
    if set(messages) != recipients:
        failures.append(
            f"recipients: {len(recipients)} expected, {len(set(messages) & recipients)} reached, "
            f"{len(set(messages) - recipients)} unexpected"
        )
    return failures


def copies(sent_path: Path, batch) -> int:
    """Transmissions of a message that had already left (same Message-ID): a
    worker killed between the mail server's acceptance and the `sent` commit."""
    per_message = Counter(line["message_id"] for line in sent_lines(sent_path, batch))
    return sum(n - 1 for n in per_message.values())


# --- the scenario --------------------------------------------------------------------------


class Scenario:
    """Send, kill, restart, recover; `figures` collects what happened when."""

    def __init__(self, args, celery: Celery, redis_server: ChaosRedis, sent_path: Path):
        self.args, self.celery, self.redis, self.sent_path = args, celery, redis_server, sent_path
        self.figures: dict[str, object] = {}
        self.sent_at = None
        self.batch = None

    def at(self) -> str:
        return f"{time.monotonic() - self.sent_at:5.1f} s"

    def say(self, message: str) -> None:
        print(f"[{self.at()}] {message}", flush=True)

    def wait(self, condition, what: str, poll: float = 0.02):
        while not (value := condition()):
            if time.monotonic() - self.sent_at > self.args.deadline:
                raise RuntimeError(f"deadline passed waiting for {what}")
            time.sleep(poll)
        return value

    def emails_left(self) -> int:
        return len(sent_lines(self.sent_path, self.batch))

    def kill(self, process: subprocess.Popen, label: str) -> None:
        delivered, emails = delivered_count(self.batch), self.emails_left()
        pids = kill_tree(process)
        self.figures[f"{label}: SIGKILL at"] = (
            f"{self.at()}, {delivered} offers delivered, {emails} of their emails left "
            f"(pids {', '.join(map(str, pids))})"
        )
        self.say(f"{label}: SIGKILL ({len(pids)} processes) at {delivered} offers, {emails} emails")

    def run(self, customer_ids: list, partner_slug: str, owner_email: str) -> float:
        args, count = self.args, len(customer_ids)
        first = self.celery.worker("worker1", args.concurrency)
        self.celery.beat()
        wait_for_worker()
        self.batch = send_offers(customer_ids, partner_slug, owner_email)
        self.sent_at = time.monotonic()
        self.say(f"sent: {count} offers waiting; worker1 (prefork x{args.concurrency}) and beat up")

        self.wait(lambda: delivered_count(self.batch) >= count * args.kill_at, "the first kill")
        self.kill(first, "worker1")
        self.redis.crash()
        self.redis.start()
        self.say("Redis restarted empty: every queued and unacknowledged message is gone")
        second = self.celery.worker("worker2", args.concurrency)
        wait_for_worker()
        self.say("worker2 up")

        if args.second_kill_at:
            # The emails' window: a worker killed between handing a message to
            # the mail server and committing `sent` would send it again.
            self.wait(lambda: self.emails_left() >= count * args.second_kill_at, "the second kill")
            self.kill(second, "worker2")
            self.celery.worker("worker3", args.concurrency)
            wait_for_worker()
            self.say("worker3 up (worker2's unacknowledged messages wait for the sweepers)")

        def all_done() -> bool:
            rows = offer_emails(self.batch)
            return (
                delivered_count(self.batch) == count
                and rows.count() == count
                and not rows.exclude(status="sent").exists()
            )

        self.wait(all_done, "every offer and email", poll=0.25)
        elapsed = time.monotonic() - self.sent_at
        self.say("every offer awaits confirmation and every email row is sent")
        return elapsed


def main() -> int:
    args = parse_args()
    if args.scenario == "all":
        return run_all(args)
    if args.scenario == "webhooks":
        return webhooks(args)
    if args.scenario != "worker-kill":
        return run_load(args)
    return worker_kill(args)


def run_all(args) -> int:
    """Each scenario in a process of its own (Django is set up once per process,
    on the scenario's database); the exit status is 1 if one failed."""
    started, statuses = time.monotonic(), {}
    passed, skip = [], False
    for argument in sys.argv[1:]:
        if skip or argument.startswith("--scenario"):
            skip = argument == "--scenario"
            continue
        passed.append(argument)
    for name in SCENARIOS:
        print(f"\n=== chaos: {name} ===", flush=True)
        done = subprocess.run(  # noqa: S603 (our own interpreter and script)
            [sys.executable, __file__, *passed, "--scenario", name], check=False
        )
        statuses[name] = "ok" if done.returncode == 0 else "FAILED"
    summary = ", ".join(f"{name} {status}" for name, status in statuses.items())
    print(f"\nchaos: {summary} ({time.monotonic() - started:.0f} s in all)")
    return 0 if set(statuses.values()) == {"ok"} else 1


def run_load(args) -> int:
    """Redis paused (10 s, then 30 s) or PostgreSQL restarted under mixed reads
    and writes through gunicorn (scripts/chaos_load.py)."""
    import chaos_load

    started = time.monotonic()
    benchdb = bench_module("benchdb")
    workdir = Path(tempfile.mkdtemp(prefix=f"portal-chaos-{args.scenario}-"))
    postgres = drop = None
    redis_server = ChaosRedis(args.redis_port, workdir)
    celery = server = None
    results, missed = {}, []
    try:
        if args.scenario == "postgres-restart":
            postgres = chaos_load.PrivatePostgres(workdir)
            postgres.start()
            database_url = postgres.url
        else:
            os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
            if not benchdb.is_postgres(os.environ["DATABASE_URL"]):
                sys.exit("chaos: DATABASE_URL must name a PostgreSQL server")
            database_url, drop = benchdb.bench_database("chaos")
        redis_server.start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
            "DEBUG": "False",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "CONN_MAX_AGE": "60",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url,
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
        benchdb.setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        call_command(
            "seed_demo", customers=args.load_customers, quiet_logins=True, stdout=io.StringIO()
        )
        benchdb.analyze()
        token, customer_id = load_world(benchdb)
        log(started, f"{benchdb.database_label(connection)}; broker and cache {redis_server.url}")
        connection.close()
        celery = Celery(env, workdir)
        celery.worker("worker", 1)
        wait_for_worker()
        server = chaos_load.Gunicorn(env, workdir)
        check_order(chaos_load, server.port, token, customer_id)
        log(
            started, f"gunicorn (gthread) on {server.port}, a Celery worker; {args.threads} clients"
        )

        def say(message: str) -> None:
            log(started, message)

        if args.scenario == "redis-pause":
            pid = redis_server.process.pid
            faults = {
                f"Redis paused {seconds} s": (lambda s=seconds: chaos_load.pause(pid, s, say))
                for seconds in (10, 30)
            }
        else:

            def restart() -> None:
                say("PostgreSQL: pg_ctl restart -m fast")
                postgres.restart()
                say("PostgreSQL: up again")

            faults = {"PostgreSQL restarted": restart}
        for name, fault in faults.items():
            figures, misses = chaos_load.run_fault(
                port=server.port,
                token=token,
                customer_id=customer_id,
                threads=args.threads,
                before=10,
                after=20,
                fault=fault,
                say=say,
                reads_refused_ok=args.scenario == "postgres-restart",
            )
            results[name] = figures
            missed += [f"{name}: {miss}" for miss in misses]
    except Exception as exc:  # reported below, after the clean-up
        missed.append(f"{type(exc).__name__}: {exc}")
    finally:
        if server is not None:
            stop(server.process)
        if celery is not None:
            celery.stop_all()
        redis_server.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept: {workdir}")
        else:
            if drop is not None:
                drop()
            if postgres is not None:
                postgres.remove()
            shutil.rmtree(workdir, ignore_errors=True)
        if postgres is not None and args.keep:
            postgres.remove()
    for name, figures in results.items():
        print(f"  {name}")
        for label, value in figures.items():
            print(f"    {label:<46} {value}")
    took = time.monotonic() - started
    if missed:
        print(f"chaos {args.scenario}: goals missed ({took:.0f} s)\n  " + "\n  ".join(missed))
        return 1
    print(
        f"chaos {args.scenario}: ok, no read failed (or, the database down, refused "
        f"with 503), no write answered 500, no order lost or doubled ({took:.0f} s)"
    )
    return 0


def load_world(benchdb) -> tuple[str, str]:
    """The demo partner's owner may buy; an API token of theirs; a customer of theirs."""
    from tenants.models import Membership, Tenant, User
    from tenants.selectors import org_context_for
    from tenants.services import api_token_create

    partner = Tenant.objects.get(slug=benchdb.PARTNER_SLUG)
    Membership.unscoped.filter(tenant=partner, user__email=benchdb.OWNER_EMAIL).update(buyer=True)
    org = org_context_for(user=User.objects.get(email=benchdb.OWNER_EMAIL), tenant_id=partner.pk)
    _, raw = api_token_create(org=org, name="chaos")
    customer = Tenant.objects.filter(slug__startswith="scale-").order_by("slug").first()
    return raw, str(customer.pk)


def check_order(chaos_load, port: int, token: str, customer_id: str) -> None:
    """The order the clients place is accepted (a dry run)."""
    answer = chaos_load.call(
        port,
        "POST",
        "/api/v1/orders/",
        {"Authorization": f"Bearer {token}"},
        {
            "customer": customer_id,
            "lines": [{"product": chaos_load.PRODUCT, "quantity": 1}],
            "dry_run": True,
        },
    )
    if answer.status != 200:
        raise RuntimeError(f"the dry run of an order: {answer.status} {answer.body[:300]!r}")


def worker_kill(args) -> int:
    started = time.monotonic()
    benchdb = bench_module("benchdb")
    customers_bench = bench_module("customers")
    offers_bench = bench_module("offers")
    # PostgreSQL: the workers race on rows (SELECT … FOR UPDATE SKIP LOCKED).
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        sys.exit("chaos: DATABASE_URL must name a PostgreSQL server")
    database_url, drop = benchdb.bench_database("chaos")
    workdir = Path(tempfile.mkdtemp(prefix="portal-chaos-"))
    redis_server = ChaosRedis(args.redis_port, workdir)
    sent_path = workdir / "sent.jsonl"
    env = {
        **os.environ,
        **offers_bench.WORKER_ENV,
        "EMAIL_BACKEND": "chaos.RecordingEmailBackend",
        SENT_LOG: str(sent_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SCRIPTS), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "SWEEP_AFTER_SECONDS": str(args.sweep_after),
        "SWEEP_EVERY_SECONDS": str(args.sweep_every),
        "LOG_LEVEL": "WARNING",
    }
    celery = Celery(env, workdir)
    scenario = Scenario(args, celery, redis_server, sent_path)
    failures = []
    try:
        redis_server.start()
        os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
        customers_bench.setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        from offers.models import Offer
        from tenants.models import Tenant

        call_command("migrate", verbosity=0)
        call_command("seed_demo", customers=args.customers, quiet_logins=True, stdout=io.StringIO())
        offers_bench.add_owners()
        customers_bench.analyze()
        ids = list(
            Tenant.objects.filter(slug__startswith="scale-")
            .order_by("slug")
            .values_list("pk", flat=True)[: args.customers]
        )
        log(
            started,
            f"{customers_bench.database_label(connection)}: {len(ids)} customers with an owner; "
            f"broker {redis_server.url} (no persistence); "
            f"sweepers: after {args.sweep_after} s, every {args.sweep_every:g} s",
        )
        connection.close()

        elapsed = scenario.run(ids, customers_bench.PARTNER_SLUG, customers_bench.OWNER_EMAIL)
        time.sleep(3)  # a duplicate still on its way would show now
        failures = check(scenario.batch, len(ids), sent_path)
        if elapsed > args.deadline:
            failures.insert(0, f"not all delivered within {args.deadline:g} s")
        attempts = Counter(
            Offer.unscoped.filter(batch=scenario.batch).values_list("delivery_attempts", flat=True)
        )
        scenario.figures.update(
            {
                "all delivered, from the send": f"{elapsed:.1f} s (deadline {args.deadline:g} s)",
                "offer emails that left (recorded)": scenario.emails_left(),
                "  of which copies of one already sent": copies(sent_path, scenario.batch),
                "offers by delivery_attempts": dict(sorted(attempts.items())),
                **redeliveries(sorted(workdir.glob("worker*.log"))),
            }
        )
        connection.close()
    except Exception as exc:  # reported below, after the clean-up
        failures = [f"{type(exc).__name__}: {exc}"]
    finally:
        celery.stop_all()
        redis_server.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept: the database and {workdir}")
        else:
            drop()
            shutil.rmtree(workdir, ignore_errors=True)
    for name, value in scenario.figures.items():
        print(f"  {name:<48} {value}")
    took = time.monotonic() - started
    if failures:
        print("chaos: FAILED\n  " + "\n  ".join(failures))
        return 1
    print(
        "chaos: ok, every offer delivered once and every recipient got its email once "
        f"({took:.0f} s in all)"
    )
    return 0


# --- webhooks ------------------------------------------------------------------------------


def webhook_rows(event_ids: list) -> Counter:
    """The deliveries of these events by status."""
    from webhooks.models import WebhookDelivery

    return Counter(
        WebhookDelivery.unscoped.filter(event_id__in=event_ids).values_list("status", flat=True)
    )


def webhook_check(event_ids: list, receiver, count: int) -> list[str]:
    """One delivery per event, delivered; what the receiver verified is exactly
    those deliveries' ids (at least once each, nothing else), and it refused no
    signature. Returns the failures."""
    from webhooks.models import WebhookDelivery

    failures = []
    rows = WebhookDelivery.unscoped.filter(event_id__in=event_ids)
    per_event = Counter(rows.values_list("event_id", flat=True))
    if len(event_ids) != count or len(per_event) != count or set(per_event.values()) != {1}:
        failures.append(
            f"{len(event_ids)} events, {len(per_event)} with deliveries, "
            f"deliveries per event {dict(Counter(per_event.values()))}"
        )
    statuses = webhook_rows(event_ids)
    if statuses != {WebhookDelivery.Status.DELIVERED: count}:
        failures.append(f"deliveries by status: {dict(statuses)}")
    expected = {str(pk) for pk in rows.values_list("pk", flat=True)}
    heard = {webhook_id for _, webhook_id in receiver.received}
    if heard != expected:
        failures.append(
            f"the receiver de-duplicated {len(heard)} webhook-ids; missing "
            f"{len(expected - heard)}, unknown {len(heard - expected)}"
        )
    if receiver.refused:
        failures.append(f"signatures refused: {dict(receiver.refused)}")
    return failures


def webhooks(args) -> int:
    """The webhooks scenario (module docstring): worker1 killed at --kill-at of
    the deliveries verified, Redis restarted empty, worker2 killed at
    --second-kill-at, worker3 and beat's sweeper finish."""
    started = time.monotonic()
    benchdb = bench_module("benchdb")
    fanout = bench_module("webhook_fanout")
    offers_bench = bench_module("offers")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not benchdb.is_postgres(os.environ["DATABASE_URL"]):
        sys.exit("chaos: DATABASE_URL must name a PostgreSQL server")
    database_url, drop = benchdb.bench_database("chaos")
    workdir = Path(tempfile.mkdtemp(prefix="portal-chaos-webhooks-"))
    redis_server = ChaosRedis(args.redis_port, workdir)
    env = {
        **os.environ,
        **offers_bench.WORKER_ENV,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "True",  # the receiver is on loopback, plain HTTP
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "SWEEP_AFTER_SECONDS": str(args.sweep_after),
        "SWEEP_EVERY_SECONDS": str(args.sweep_every),
        "LOG_LEVEL": "WARNING",
    }
    celery = Celery(env, workdir)
    receiver = fanout.Receiver()
    figures: dict[str, object] = {}
    failures: list[str] = []
    sent_at = time.monotonic()
    event_ids: list = []

    def say(message: str) -> None:
        print(f"[{time.monotonic() - sent_at:5.1f} s] {message}", flush=True)

    def wait(condition, what: str, poll: float = 0.02) -> None:
        while not condition():
            if time.monotonic() - sent_at > args.deadline:
                raise RuntimeError(f"deadline passed waiting for {what}")
            time.sleep(poll)

    def kill(process: subprocess.Popen, label: str) -> None:
        verified, rows = receiver.unique(), webhook_rows(event_ids)
        pids = kill_tree(process)
        figures[f"{label}: SIGKILL at"] = (
            f"{time.monotonic() - sent_at:.1f} s, {verified} webhook-ids verified, "
            f"rows {dict(rows)} (pids {', '.join(map(str, pids))})"
        )
        say(f"{label}: SIGKILL ({len(pids)} processes) at {verified} webhook-ids verified")

    try:
        redis_server.start()
        receiver.start()
        os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
        benchdb.setup_django(database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        call_command("seed_demo", customers=args.customers, quiet_logins=True, stdout=io.StringIO())
        benchdb.analyze()
        # the seed's own events and their fan-out messages: nobody hears them
        settled = fanout.outbox_settle()
        redis_server.crash()
        redis_server.start()
        fanout.endpoints_create(receiver, 1)
        ids = fanout.scale_customers(args.customers)
        count = len(ids)
        log(
            started,
            f"{benchdb.database_label(connection)}: {count} customers ({settled} events of the "
            f"seed settled, its messages dropped), one endpoint on "
            f"{receiver.url('/hooks/0')}; broker {redis_server.url} (no persistence); "
            f"sweeper: after {args.sweep_after} s, every {args.sweep_every:g} s",
        )
        connection.close()
        first = celery.worker("worker1", args.concurrency)
        celery.beat()
        wait_for_worker()
        event_ids = fanout.events_emit(ids)
        sent_at = time.monotonic()
        say(f"emitted: {len(event_ids)} events in {-(-count // 100)} transactions; worker1 up")

        wait(lambda: receiver.unique() >= count * args.kill_at, "the first kill")
        kill(first, "worker1")
        redis_server.crash()
        redis_server.start()
        say("Redis restarted empty: every queued and unacknowledged message is gone")
        second = celery.worker("worker2", args.concurrency)
        wait_for_worker()
        say("worker2 up")
        if args.second_kill_at:
            wait(lambda: receiver.unique() >= count * args.second_kill_at, "the second kill")
            kill(second, "worker2")
            celery.worker("worker3", args.concurrency)
            wait_for_worker()
            say("worker3 up (worker2's unacknowledged messages wait for the sweeper)")

        def all_done() -> bool:
            return receiver.unique() >= count and webhook_rows(event_ids) == {"delivered": count}

        wait(all_done, "every delivery", poll=0.25)
        elapsed = time.monotonic() - sent_at
        say("every event verified by the receiver and every delivery row delivered")
        time.sleep(3)  # a duplicate still on its way would show now
        failures = webhook_check(event_ids, receiver, count)
        from webhooks.models import WebhookDelivery

        attempts = Counter(
            WebhookDelivery.unscoped.filter(event_id__in=event_ids).values_list(
                "attempts", flat=True
            )
        )
        arrivals = receiver.arrivals()
        figures.update(
            {
                "all delivered, from the emit": f"{elapsed:.1f} s (deadline {args.deadline:g} s)",
                "deliveries verified (arrivals)": arrivals,
                "  distinct webhook-ids (after de-duplication)": receiver.unique(),
                "  of which arrived more than once": arrivals - receiver.unique(),
                "deliveries by attempts (rows)": dict(sorted(attempts.items())),
                **redeliveries(sorted(workdir.glob("worker*.log"))),
            }
        )
        connection.close()
    except Exception as exc:  # reported below, after the clean-up
        failures = [f"{type(exc).__name__}: {exc}"]
    finally:
        celery.stop_all()
        redis_server.stop()
        receiver.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept: the database and {workdir}")
        else:
            drop()
            shutil.rmtree(workdir, ignore_errors=True)
    for name, value in figures.items():
        print(f"  {name:<48} {value}")
    took = time.monotonic() - started
    if failures:
        print("chaos webhooks: FAILED\n  " + "\n  ".join(failures))
        return 1
    print(
        "chaos webhooks: ok, every event delivered at least once, signed, and exactly "
        f"{args.customers:,} after de-duplication by webhook-id ({took:.0f} s in all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
