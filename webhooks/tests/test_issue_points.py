"""Issue 23's points that test_webhooks.py left unproven: a new URL needs
re-authentication (API and page) and an admin may manage endpoints; the
delivery log carries the duration and the body sent; the sweeper hands on an
event whose fan-out message was lost; a former partner's receiver hears
nothing more; one failing event holds up no other; the request goes to the
address that was judged (no second DNS lookup); the timeouts; the response cap."""

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import time_machine
from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.events import events_emit
from partners import services as partner_services
from tenants import services as tenant_services
from tenants.tests.factories import PASSWORD
from tests.reauth import reauthenticate
from webhooks import services, targets
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.tests.test_webhooks import Receiver, _managed, ctx, deliver_all, endpoint_for

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


# --- endpoints: who, and re-authentication -------------------------------------------------


def test_a_new_url_needs_the_password_in_the_api_and_an_admin_may_manage(world, api, receiver):
    client = api(world.partner_admin, world.partner)  # admin, not owner
    url = "/api/v1/webhook-endpoints/"
    created = client.post(
        url,
        {"url": receiver.url, "events": ["customer.updated"], "password": PASSWORD},
        format="json",
    )
    assert created.status_code == 201
    detail = f"{url}{created.json()['id']}/"
    elsewhere = receiver.url.replace("/hook", "/other")
    refused = client.patch(detail, {"url": elsewhere}, format="json")
    assert refused.status_code == 400 and "password" in refused.json()
    wrong = client.patch(detail, {"url": elsewhere, "password": "wrong"}, format="json")
    assert wrong.status_code == 400
    assert WebhookEndpoint.unscoped.get().url == receiver.url  # nothing written
    same = client.patch(detail, {"url": receiver.url, "description": "x"}, format="json")
    assert same.status_code == 200  # the same URL sends nowhere new: no password
    moved = client.patch(detail, {"url": elsewhere, "password": PASSWORD}, format="json")
    assert moved.status_code == 200 and moved.json()["url"] == elsewhere
    assert "password" not in moved.json()


def test_a_new_url_on_the_page_goes_through_reauthentication(world, browser, receiver):
    endpoint, _secret = endpoint_for(
        world.partner_owner, world.partner, receiver.url, ["customer.updated"]
    )
    client = browser(world.partner_owner)
    page = f"/t/alpine/webhooks/{endpoint.pk}/"
    form = {"events": ["customer.updated"], "enabled": "on", "description": "ops"}
    kept = client.post(page, {**form, "url": receiver.url})
    assert kept.status_code == 302 and "reauthenticate" not in kept["Location"]
    elsewhere = receiver.url.replace("/hook", "/other")
    asked = client.post(page, {**form, "url": elsewhere})
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url  # not changed before the password
    reauthenticate(client)
    saved = client.post(page, {**form, "url": elsewhere})
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == elsewhere


# --- the delivery log --------------------------------------------------------------------


def test_the_log_shows_status_code_attempts_duration_and_the_body_sent(world, api, receiver):
    endpoint, _secret = endpoint_for(
        world.partner_owner, world.partner, receiver.url, ["customer.updated"]
    )
    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner), customer=_managed(world), data={"city": "Biel"}
    )
    deliver_all()
    (row,) = (
        api(world.partner_owner, world.partner)
        .get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/")
        .json()["results"]
    )
    assert (row["status"], row["response_code"], row["attempts"]) == ("delivered", 204, 1)
    assert isinstance(row["duration_ms"], int)
    assert row["body"].encode() == receiver.received[0][1]  # the very bytes sent
    page = (
        api(world.other_owner, world.other_partner)
        .get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/")
        .status_code
    )
    assert page == 404  # another organization's log: as a missing id


# --- the outbox and its sweeper ------------------------------------------------------------


def test_an_event_whose_fan_out_message_was_lost_is_handed_on_by_the_sweeper(
    world, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=False) as enqueued,  # the message is lost
        transaction.atomic(),
    ):
        events_emit("customer.updated", [{"id": world.customer.pk}])
    assert enqueued  # the fan-out was handed over only at the commit
    event = WebhookEvent.objects.get()
    assert services.sweep()[0] == []  # too fresh: its message may still come
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10), tick=False):
        assert services.sweep()[0] == [str(event.pk)]
        services.events_fan_out([str(event.pk)])
        assert services.sweep()[0] == []  # fanned out once, not again


def test_one_event_that_fails_to_fan_out_holds_up_no_other(world, monkeypatch):
    endpoint_for(world.partner_owner, world.partner, "http://127.0.0.1:9/a", ["customer.updated"])
    customer = _managed(world)
    WebhookEvent.objects.all().delete()
    with transaction.atomic():
        events_emit("customer.updated", [{"id": customer.pk}, {"id": customer.pk}])
    first, second = WebhookEvent.objects.order_by("occurred_at", "pk")
    real = services._body

    def broken(event, data):
        if event.pk == first.pk:
            raise RuntimeError("a bug in one serializer")
        return real(event, data)

    monkeypatch.setattr(services, "_body", broken)
    made = services.events_fan_out([str(first.pk), str(second.pk)])
    assert len(made) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.fanned_out_at is None and second.fanned_out_at is not None  # left for the sweeper


def test_a_fan_out_reads_each_organizations_owner_once(world):
    customer = _managed(world)
    for n in range(3):
        endpoint_for(
            world.partner_owner, world.partner, f"http://127.0.0.1:9/{n}", ["customer.updated"]
        )
    WebhookEvent.objects.all().delete()
    with transaction.atomic():
        events_emit("customer.updated", [{"id": customer.pk}] * 5)
    ids = [str(pk) for pk in WebhookEvent.objects.values_list("pk", flat=True)]
    with CaptureQueriesContext(connection) as queries:
        assert len(services.events_fan_out(ids)) == 15
    owners = [q for q in queries.captured_queries if 'FROM "tenants_membership"' in q["sql"]]
    assert len(owners) == 1


# --- who hears: a former partner's receiver ------------------------------------------------


def test_a_former_partners_receiver_gets_nothing_after_the_partnership_ends(world, receiver):
    customer = _managed(world)
    endpoint_for(world.partner_owner, world.partner, receiver.url, ["customer.updated"])
    customer_org = ctx(world.customer_owner, customer)
    tenant_services.organization_update(org=customer_org, data={"city": "Thun"})
    deliver_all()
    assert len(receiver.received) == 1  # a partner managing it now hears
    receiver.status = 503  # the next one fails first, then is retried
    tenant_services.organization_update(org=customer_org, data={"city": "Spiez"})
    deliver_all()
    assert len(receiver.received) == 2
    pending = WebhookDelivery.unscoped.get(status=Status.PENDING)
    partnership = customer.partnerships_as_customer.get(partner=world.partner)
    partner_services.partnership_end(org=customer_org, partnership=partnership, password=PASSWORD)
    receiver.status = 204
    tenant_services.organization_update(org=customer_org, data={"city": "Brig"})
    with time_machine.travel(pending.next_attempt_at, tick=False):
        deliver_all()  # the retry, and the new event
    assert len(receiver.received) == 2  # nothing more reached the former partner
    pending.refresh_from_db()
    assert pending.status == Status.FAILED and "no longer" in pending.last_error
    assert not WebhookDelivery.unscoped.filter(body__contains="Brig").exists()


# --- targets: the judged address, timeouts, the cap -----------------------------------------


def _serve(handler_class):
    server = HTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def test_the_request_goes_to_the_address_judged_not_to_a_second_lookup(receiver, monkeypatch):
    """DNS rebinding: the name answers a reachable address when judged and
    another one after; the POST must use the first (one lookup only)."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    lookups = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port_, *args, **kwargs):
        if host != "rebind.example":  # an address (the connection's own call)
            return real(host, port_, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.255.255.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answer = targets.post(f"http://rebind.example:{port}/hook", body=b"{}", headers={})
    assert answer.status == 204 and lookups == ["rebind.example"]
    assert receiver.received[0][0]["Host"].startswith("rebind.example")  # the name, kept


def test_the_timeouts_are_three_seconds_to_connect_and_ten_in_all(monkeypatch):
    assert (targets.CONNECT_TIMEOUT, targets.TOTAL_TIMEOUT) == (3.0, 10.0)

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(200):  # a byte every 50 ms: never done within the deadline
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the client hung up at its deadline

        def log_message(self, *args):
            pass

    class Silent(BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(3)  # answers nothing in time

        def log_message(self, *args):
            pass

    monkeypatch.setattr(targets, "TOTAL_TIMEOUT", 0.6)
    for handler in (Trickle, Silent):
        server = _serve(handler)
        try:
            started = time.monotonic()
            with pytest.raises(OSError):  # TimeoutError is one
                targets.post(f"http://127.0.0.1:{server.server_port}/", body=b"{}", headers={})
            assert time.monotonic() - started < 2.5, handler.__name__
        finally:
            server.shutdown()
            server.server_close()


def test_the_response_body_is_read_up_to_its_cap():
    class Flood(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Length", str(1024 * 1024))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading at the cap
                self.wfile.write(b"y" * (1024 * 1024))

        def log_message(self, *args):
            pass

    server = _serve(Flood)
    try:
        answer = targets.post(f"http://127.0.0.1:{server.server_port}/", body=b"{}", headers={})
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status == 200 and len(answer.body) == targets.RESPONSE_CAP


def test_a_session_keeps_its_connection_and_judges_the_address_of_a_new_one(monkeypatch):
    """deliver_many's keep-alive: one connection (one lookup) for several POSTs;
    a new one, judged again, once the receiver closes it, said or unsaid."""
    ports = []

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            ports.append(self.client_address[1])
            self.send_response(204)
            if self.path == "/close":
                self.send_header("Connection", "close")
            self.end_headers()
            if self.path == "/drop":  # closes without saying so
                self.close_connection = True

        def log_message(self, *args):
            pass

    resolved = []
    real = targets.target_resolve

    def target_resolve(url):
        resolved.append(url)
        return real(url)

    monkeypatch.setattr(targets, "target_resolve", target_resolve)
    server = _serve(KeepAlive)
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with targets.Session() as session:
            for path in ("/a", "/b", "/close", "/c", "/drop", "/d"):
                assert session.post(url + path, body=b"{}", headers={}).status == 204
    finally:
        server.shutdown()
        server.server_close()
    assert len(ports) == 6  # each once (the dropped connection's retry was not heard twice)
    assert ports[0] == ports[1] == ports[2] != ports[3] == ports[4] != ports[5]
    assert len(resolved) == 3


# --- the deliveries' queue ---------------------------------------------------------------


def test_deliveries_have_a_queue_of_their_own_that_every_worker_consumes():
    """A long fan-out (or any task queued before) does not hold the deliveries
    up in one FIFO; a worker started without -Q (compose, chaos, the benches)
    consumes both queues, and one started with `-Q webhooks` the deliveries only."""
    app = current_app._get_current_object()
    assert set(app.amqp.queues) == {"celery", "webhooks"}  # a worker's queues without -Q
    route = app.amqp.router.route
    assert route({}, "webhooks.tasks.deliver")["queue"].name == "webhooks"
    assert route({}, "webhooks.tasks.deliver_many")["queue"].name == "webhooks"
    assert route({}, "webhooks.tasks.fan_out")["queue"].name == "celery"
    compose = (Path(settings.BASE_DIR) / "docker-compose.yml").read_text()
    workers = [line for line in compose.splitlines() if '"worker"' in line]
    assert workers and all("-Q" not in line or "webhooks" in line for line in workers)
