"""The receiver printed in docs/webhooks.md, run as it is written, verifies real
deliveries and drops a resent one by its webhook-id."""

import re
import threading
from http.server import HTTPServer
from pathlib import Path

import pytest

from partners import services as partner_services
from tenants.selectors import org_context_for
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def receiver_source() -> str:
    section = DOC.read_text().split("## A receiver in 20 lines", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_receiver_is_twenty_lines_at_most():
    code = [line for line in receiver_source().splitlines() if line.strip()]
    assert len(code) <= 20


def test_the_documented_receiver_verifies_every_delivery(world, monkeypatch, capsys):
    source = receiver_source()
    last = 'HTTPServer(("", 8080), Receiver).serve_forever()'
    assert source.rstrip().endswith(last)
    org = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    server = HTTPServer(("127.0.0.1", 0), object)  # the port, then the documented handler
    url = f"http://127.0.0.1:{server.server_port}/"
    endpoint, secret = services.endpoint_create(
        org=org, url=url, events=["customer.created", "partnership.accepted"]
    )
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    namespace: dict = {}
    exec(source.replace(last, ""), namespace)  # the documentation's own code
    server.RequestHandlerClass = namespace["Receiver"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        partner_services.customer_add(org=org, name="Doku AG")
        for event in WebhookEvent.objects.all():
            services.event_fan_out(event_id=str(event.pk))
        deliveries = list(WebhookDelivery.unscoped.filter(endpoint=endpoint))
        assert len(deliveries) == 2
        for delivery in deliveries:
            assert services.delivery_attempt(delivery_id=str(delivery.pk))
        services.delivery_resend(org=org, delivery=deliveries[0])
        assert services.delivery_attempt(delivery_id=str(deliveries[0].pk))  # a repeat
    finally:
        server.shutdown()
        server.server_close()
    printed = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in printed) == [
        "customer.created",
        "partnership.accepted",
    ]
