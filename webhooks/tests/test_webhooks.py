"""Webhooks (SPEC §8 rev. 2, issue 23): the outbox in the change's transaction,
Standard Webhooks signatures checked with the `standardwebhooks` verifier, the
retry schedule, SSRF refusals, a real local receiver end to end, who hears an
event (now), and the API."""

import datetime
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from core.events import event_emit
from partners import services as partner_services
from tenants import services as tenant_services
from tenants.models import OutboundEmail
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD
from tests.reauth import reauthenticate
from webhooks import services, targets
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


class Receiver:
    """A real HTTP receiver on 127.0.0.1, in a thread: it keeps every request."""

    def __init__(self, status: int = 204):
        received = self.received = []
        answer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers.items()), body))
                self.send_response(answer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.status = status
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def endpoint_for(user, tenant, url, events):
    return services.endpoint_create(org=ctx(user, tenant), url=url, events=events)


def deliver_all():
    """What the worker does: fan out the outbox, attempt what is due."""
    for event in WebhookEvent.objects.filter(fanned_out_at__isnull=True):
        services.event_fan_out(event_id=str(event.pk))
    for delivery in WebhookDelivery.unscoped.filter(status=Status.PENDING):
        services.delivery_attempt(delivery_id=str(delivery.pk))


# --- signing -----------------------------------------------------------------------------


def test_a_delivery_verifies_with_the_standardwebhooks_verifier(world):
    endpoint, secret = endpoint_for(
        world.partner_owner, world.partner, "https://127.0.0.1/h", ["order.placed"]
    )
    assert secret.startswith("whsec_") and endpoint.secret == secret
    body = '{"type":"order.placed","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    headers = services.signature_headers(
        endpoint=endpoint, msg_id="msg_1", body=body, now=timezone.now()
    )
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(secret).verify(body.replace("order", "offer"), headers)


def test_during_a_rotation_both_secrets_sign(world):
    endpoint, old = endpoint_for(
        world.partner_owner, world.partner, "https://127.0.0.1/h", ["order.placed"]
    )
    endpoint, new = services.endpoint_rotate_secret(
        org=ctx(world.partner_owner, world.partner), endpoint=endpoint
    )
    assert new != old
    body = "{}"
    headers = services.signature_headers(
        endpoint=endpoint, msg_id="msg_2", body=body, now=timezone.now()
    )
    assert headers["webhook-signature"].count("v1,") == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    later = timezone.now() + datetime.timedelta(days=2)  # the overlap (a day) is over
    with time_machine.travel(later, tick=False):
        headers = services.signature_headers(endpoint=endpoint, msg_id="m", body=body, now=later)
        assert headers["webhook-signature"].count("v1,") == 1
        Webhook(new).verify(body, headers)
        with pytest.raises(Exception, match="No matching signature"):
            Webhook(old).verify(body, headers)


# --- the outbox --------------------------------------------------------------------------


def test_the_outbox_row_is_written_with_the_change_and_not_after_a_rollback(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        event_emit("customer.updated", {"id": world.customer.pk})
        assert WebhookEvent.objects.count() == 1  # in the change's transaction
        raise RuntimeError("the change fails")
    assert not WebhookEvent.objects.exists()
    with transaction.atomic():
        event_emit("customer.updated", {"id": world.customer.pk})
    assert WebhookEvent.objects.get().type == "customer.updated"


def test_a_service_writes_its_event_in_its_transaction(world):
    partner_services.customer_add(org=ctx(world.partner_owner, world.partner), name="Neu AG")
    assert set(WebhookEvent.objects.values_list("type", flat=True)) == {
        "customer.created",
        "partnership.accepted",
    }


# --- delivery end to end -------------------------------------------------------------------


def test_a_real_receiver_gets_a_signed_delivery_with_the_object_as_its_get(
    world, receiver, api, django_capture_on_commit_callbacks
):
    _endpoint, secret = endpoint_for(
        world.partner_owner, world.partner, receiver.url, ["customer.created"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = partner_services.customer_add(
            org=ctx(world.partner_owner, world.partner), name="Empfänger GmbH"
        )
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload["type"] == "customer.created"
    customer_id = str(created.customer_id)
    got = api(world.partner_owner, world.partner).get(f"/api/v1/customers/{customer_id}/")
    assert payload["data"] == got.json()
    delivery = WebhookDelivery.unscoped.get()
    assert headers["webhook-id"] == str(delivery.pk)
    assert (delivery.status, delivery.response_code, delivery.attempts) == (
        Status.DELIVERED,
        204,
        1,
    )
    assert delivery.duration_ms is not None and delivery.body == body.decode()


def test_retries_keep_the_webhook_id_back_off_and_give_up_after_three_days(world, receiver):
    receiver.status = 503
    endpoint_for(world.partner_owner, world.partner, receiver.url, ["customer.updated"])
    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner),
        customer=_managed(world),
        data={"city": "Bern"},
    )
    deliver_all()
    delivery = WebhookDelivery.unscoped.get()
    assert delivery.status == Status.PENDING and delivery.response_code == 503
    waits = []
    start = timezone.now()
    clock = start
    while delivery.status == Status.PENDING:
        waits.append((delivery.next_attempt_at - clock).total_seconds())
        clock = delivery.next_attempt_at
        with time_machine.travel(clock, tick=False):
            assert services.sweep()[1] == [str(delivery.pk)]
            services.delivery_attempt(delivery_id=str(delivery.pk))
        delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert clock - start >= datetime.timedelta(days=3)  # retried at least three days
    assert 20 <= waits[0] <= 40  # 30 s ± 25 %
    assert all(w <= 6 * 3600 * 1.25 for w in waits)
    assert waits[5] > waits[1]  # exponential
    ids = {headers["webhook-id"] for headers, _body in receiver.received}
    assert ids == {str(delivery.pk)} and len(receiver.received) == delivery.attempts


def test_retry_delay_doubles_with_jitter():
    for attempts, base in [(1, 30), (2, 60), (3, 120), (10, 15360), (11, 6 * 3600), (30, 6 * 3600)]:
        seconds = services.retry_delay(attempts).total_seconds()
        assert base * 0.75 <= seconds <= base * 1.25


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owners_emailed(world):
    endpoint, _ = endpoint_for(
        world.partner_owner, world.partner, "http://127.0.0.1:9/closed", ["customer.updated"]
    )
    customer = _managed(world)
    org = ctx(world.partner_owner, world.partner)
    start = timezone.now()
    for day in range(4):
        with time_machine.travel(start + datetime.timedelta(days=day, minutes=1), tick=False):
            partner_services.customer_profile_update(
                org=org, customer=customer, data={"city": f"B{day}"}
            )
            deliver_all()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason
    assert not WebhookDelivery.unscoped.filter(status=Status.PENDING).exists()
    told = OutboundEmail.objects.filter(key__startswith="webhook-endpoint-disabled:")
    assert [email.to for email in told] == [world.partner_owner.email]
    assert "disabled" in told.get().subject


def test_a_worker_killed_mid_delivery_loses_nothing(world, receiver, monkeypatch):
    endpoint_for(world.partner_owner, world.partner, receiver.url, ["customer.updated"])
    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner), customer=_managed(world), data={"city": "X"}
    )
    services.event_fan_out(event_id=str(WebhookEvent.objects.get(type="customer.updated").pk))
    delivery = WebhookDelivery.unscoped.get()

    def killed(*args, **kwargs):
        raise SystemExit("SIGKILL")  # the worker dies inside the attempt

    monkeypatch.setattr(targets.Session, "post", killed)
    with pytest.raises(SystemExit):
        services.delivery_attempt(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 0)  # rolled back
    monkeypatch.undo()
    later = timezone.now() + datetime.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        assert str(delivery.pk) in services.sweep()[1]  # the sweeper finds it
        assert services.delivery_attempt(delivery_id=str(delivery.pk))
    assert len(receiver.received) == 1


# --- who hears an event ------------------------------------------------------------------


def _managed(world):
    """Alpine manages Müller (full access) and returns the customer."""
    invited = partner_services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    partner_services.partnership_accept(
        org=ctx(world.partner_owner, world.partner), partnership=invited
    )
    return world.customer


def test_after_a_partnership_ends_the_former_partner_hears_nothing_of_the_customer(world):
    customer = _managed(world)
    alpine, _ = endpoint_for(
        world.partner_owner,
        world.partner,
        "http://127.0.0.1:9/a",
        ["customer.updated", "partnership.ended"],
    )
    mueller, _ = endpoint_for(
        world.customer_owner, world.customer, "http://127.0.0.1:9/m", ["customer.updated"]
    )
    rhein, _ = endpoint_for(
        world.other_owner, world.other_partner, "http://127.0.0.1:9/r", ["customer.updated"]
    )
    WebhookEvent.objects.all().delete()
    tenant_services.organization_update(
        org=ctx(world.customer_owner, customer), data={"city": "Luzern"}
    )
    deliver_all()
    assert set(WebhookDelivery.unscoped.values_list("endpoint", flat=True)) == {
        alpine.pk,
        mueller.pk,
    }
    partnership = customer.partnerships_as_customer.get(partner=world.partner)
    partner_services.partnership_end(
        org=ctx(world.customer_owner, customer), partnership=partnership, password=PASSWORD
    )
    tenant_services.organization_update(
        org=ctx(world.customer_owner, customer), data={"city": "Zug"}
    )
    deliver_all()
    heard = WebhookDelivery.unscoped.all()  # every delivery made, of every event above
    ended = WebhookDelivery.unscoped.get(type="partnership.ended")
    assert ended.endpoint_id == alpine.pk  # its own partnership's end: it may still GET it
    updates = WebhookDelivery.unscoped.filter(type="customer.updated").order_by("created_at")
    assert [d.endpoint_id for d in updates if "Zug" in d.body] == [mueller.pk]
    assert rhein.pk not in set(heard.values_list("endpoint", flat=True))


def test_a_pending_retry_stops_when_the_organization_may_no_longer_see_the_object(world):
    customer = _managed(world)
    endpoint_for(world.partner_owner, world.partner, "http://127.0.0.1:9/a", ["customer.updated"])
    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner), customer=customer, data={"city": "Chur"}
    )
    deliver_all()  # refused: nothing listens on port 9
    delivery = WebhookDelivery.unscoped.get()
    assert delivery.status == Status.PENDING
    partnership = customer.partnerships_as_customer.get(partner=world.partner)
    partner_services.partnership_end(
        org=ctx(world.customer_owner, customer), partnership=partnership, password=PASSWORD
    )
    with time_machine.travel(delivery.next_attempt_at, tick=False):
        services.delivery_attempt(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED and "no longer" in delivery.last_error
    assert delivery.attempts == 1


# --- SSRF ----------------------------------------------------------------------------------


@pytest.fixture
def dns(monkeypatch):
    """`dns[name] = address`: what socket.getaddrinfo answers for a name."""
    answers = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_a_name_resolving_to_a_private_address_is_refused(settings, dns, address):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    dns["hooks.example.com"] = address
    with pytest.raises(targets.TargetRefused, match="private, loopback or link-local"):
        targets.target_check("https://hooks.example.com/in")


@pytest.mark.parametrize("address", ["::1", "fc00::1", "fe80::1", "::ffff:127.0.0.1"])
def test_private_ipv6_is_not_public(address):
    assert not targets.address_is_public(address)


def test_https_only_and_public_addresses_pass(settings, dns):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    dns["hooks.example.com"] = "93.184.216.34"
    targets.target_check("https://hooks.example.com/in")
    with pytest.raises(targets.TargetRefused, match="https"):
        targets.target_check("http://hooks.example.com/in")
    with pytest.raises(targets.TargetRefused):
        targets.target_check("https://user:pw@hooks.example.com/in")


def test_the_address_is_checked_again_at_delivery(world, settings, dns):
    dns["hooks.example.com"] = "93.184.216.34"
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    endpoint_for(
        world.partner_owner, world.partner, "https://hooks.example.com/in", ["customer.updated"]
    )
    dns["hooks.example.com"] = "127.0.0.1"  # the name now points inside (DNS rebinding)
    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner), customer=_managed(world), data={"city": "Sion"}
    )
    deliver_all()
    delivery = WebhookDelivery.unscoped.get()
    assert delivery.status == Status.PENDING and delivery.response_code is None
    assert "private, loopback or link-local" in delivery.last_error


def test_registration_refuses_a_private_target_when_the_setting_is_off(world, settings, api):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    answer = api(world.partner_owner, world.partner).post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://127.0.0.1/in", "events": ["order.placed"], "password": PASSWORD},
        format="json",
    )
    assert answer.status_code == 400 and "url" in answer.json()
    assert not WebhookEndpoint.unscoped.exists()


def test_redirects_are_not_followed(world):
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = targets.post(f"http://127.0.0.1:{server.server_port}/", body=b"{}", headers={})
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status == 307


# --- API -----------------------------------------------------------------------------------


def test_the_api_creates_with_the_password_shows_the_secret_once_and_logs(
    world, api, receiver, django_capture_on_commit_callbacks
):
    client = api(world.partner_owner, world.partner)
    url = "/api/v1/webhook-endpoints/"
    body = {"url": receiver.url, "events": ["customer.updated"]}
    assert client.post(url, body, format="json").status_code == 400  # no password
    assert client.post(url, {**body, "password": "wrong"}, format="json").status_code == 400
    created = client.post(url, {**body, "password": PASSWORD}, format="json")
    assert created.status_code == 201
    secret, endpoint_id = created.json()["secret"], created.json()["id"]
    assert secret.startswith("whsec_")
    shown = client.get(f"{url}{endpoint_id}/").json()
    assert "secret" not in shown and shown["events"] == ["customer.updated"]
    assert client.get(url).json()["results"][0]["id"] == endpoint_id
    bad = client.patch(f"{url}{endpoint_id}/", {"events": ["no.such"]}, format="json")
    assert bad.status_code == 400
    assert (
        client.patch(f"{url}{endpoint_id}/", {"enabled": False}, format="json").json()["enabled"]
        is False
    )
    client.patch(f"{url}{endpoint_id}/", {"enabled": True}, format="json")

    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner),
        customer=_managed(world),
        data={"city": "Olten"},
    )
    deliver_all()
    log = client.get(f"{url}{endpoint_id}/deliveries/").json()["results"]
    assert [(d["type"], d["status"], d["response_code"], d["attempts"]) for d in log] == [
        ("customer.updated", "delivered", 204, 1)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(f"{url}{endpoint_id}/deliveries/{log[0]['id']}/resend/")
    assert resent.status_code == 202
    assert len(receiver.received) == 2
    assert {h["webhook-id"] for h, _b in receiver.received} == {log[0]["id"]}

    rotated = client.post(
        f"{url}{endpoint_id}/rotate-secret/", {"password": PASSWORD}, format="json"
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (None, secret)
    assert client.delete(f"{url}{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.unscoped.exists()


def test_members_below_admin_cannot_manage_endpoints(world, api):
    answer = api(world.customer_user, world.customer).get("/api/v1/webhook-endpoints/")
    assert answer.status_code == 403


def test_event_types_list_every_type_with_an_example(world, api):
    answer = api(world.customer_user, world.customer).get("/api/v1/webhook-event-types/")
    assert answer.status_code == 200
    types = {row["type"]: row for row in answer.json()}
    assert len(types) == 18
    example = types["order.placed"]["example"]
    assert example["type"] == "order.placed" and "id" in example["data"]
    assert types["invoice.issued"]["object_path"] == "invoices/{id}/"


# --- pages ---------------------------------------------------------------------------------


def test_the_pages_create_show_the_secret_once_and_resend(
    world, browser, receiver, django_capture_on_commit_callbacks
):
    client = browser(world.partner_owner)
    reauthenticate(client)
    page = client.post(
        "/t/alpine/webhooks/",
        {"url": receiver.url, "events": ["customer.updated"], "enabled": "on"},
    )
    assert page.status_code == 201
    endpoint = WebhookEndpoint.unscoped.get()
    assert endpoint.secret in page.content.decode()
    detail = client.get(f"/t/alpine/webhooks/{endpoint.pk}/")
    assert detail.status_code == 200 and endpoint.secret not in detail.content.decode()
    partner_services.customer_profile_update(
        org=ctx(world.partner_owner, world.partner),
        customer=_managed(world),
        data={"city": "Aarau"},
    )
    deliver_all()
    delivery = WebhookDelivery.unscoped.get()
    assert str(delivery.pk) in client.get(f"/t/alpine/webhooks/{endpoint.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(
            f"/t/alpine/webhooks/{endpoint.pk}/",
            {"action": "resend", "delivery": str(delivery.pk)},
        )
    assert resent.status_code == 302
    assert len(receiver.received) == 2
    client.post(f"/t/alpine/webhooks/{endpoint.pk}/", {"action": "delete"})
    assert not WebhookEndpoint.unscoped.exists()


def test_a_limited_partner_hears_only_of_the_products_it_manages(world):
    from decimal import Decimal

    from catalog.tests.factories import ProductFactory
    from subscriptions.models import Subscription
    from subscriptions.services import subscriptions_open
    from tenants.tests.factories import MembershipFactory, PartnerFactory

    mailbox = ProductFactory(code="mailbox", name="Mailbox")
    hosting = ProductFactory(code="web-hosting", name="Web hosting")
    limes = PartnerFactory(
        name="Limes", parent=world.provider, slug="limes", listed_in_directory=True
    )
    limes_owner = MembershipFactory(tenant=limes, role="owner").user
    invited = partner_services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=limes,
        access="limited",
        products=[mailbox],
    )
    partner_services.partnership_accept(org=ctx(limes_owner, limes), partnership=invited)
    _managed(world)  # Alpine: full access
    alpine, _ = endpoint_for(
        world.partner_owner, world.partner, "http://127.0.0.1:9/a", ["subscription.changed"]
    )
    limited, _ = endpoint_for(limes_owner, limes, "http://127.0.0.1:9/l", ["subscription.changed"])
    WebhookEvent.objects.all().delete()
    subscriptions_open(
        [
            Subscription(
                customer=world.customer,
                product=product,
                quantity=1,
                unit_price=Decimal("9.90"),
                currency="CHF",
                billing_period="monthly",
                starts_on=timezone.localdate(),
            )
            for product in (mailbox, hosting)
        ]
    )
    for event in WebhookEvent.objects.all():
        services.event_fan_out(event_id=str(event.pk))
    heard = {
        (d.endpoint_id, json.loads(d.body)["data"]["product"])
        for d in WebhookDelivery.unscoped.all()
    }
    assert heard == {(alpine.pk, "mailbox"), (alpine.pk, "web-hosting"), (limited.pk, "mailbox")}
