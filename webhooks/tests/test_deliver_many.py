"""`deliver_many` (issue 27): deliveries claimed in chunks under their row
locks, so workers racing for the same batch post each delivery once; the
visibility asked again for the chunk; after a failed attempt, the batch's
other deliveries to that endpoint are handed on one message each."""

import pytest
from django.db import OperationalError

from tenants.selectors import org_context_for
from tests.concurrency import race
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.test_webhooks import Receiver

Status = WebhookDelivery.Status


def _endpoint(world, url):
    org = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
    endpoint, _secret = services.endpoint_create(org=org, url=url, events=["customer.updated"])
    return endpoint


def _deliveries(world, endpoint, count: int, object_id=None) -> list[str]:
    """Rows as the fan-out leaves them (its own task would deliver at once here)."""
    ids = []
    for _ in range(count):
        event = WebhookEvent.objects.create(
            type="customer.updated", object_id=str(object_id or world.customer.pk)
        )
        delivery = WebhookDelivery.unscoped.create(
            tenant=world.customer, endpoint=endpoint, event=event, type=event.type, body="{}"
        )
        ids.append(str(delivery.pk))
    return ids


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_batch_post_each_delivery_once(world):
    receiver = Receiver()
    try:
        ids = _deliveries(world, _endpoint(world, receiver.url), 12)  # two chunks
        outcomes = race(lambda: services.deliveries_attempt(ids), count=4)
    finally:
        receiver.close()
    assert sum(o for o in outcomes if isinstance(o, int)) == 12, outcomes
    assert all(isinstance(o, int | OperationalError) for o in outcomes)
    heard = [headers["webhook-id"] for headers, _body in receiver.received]
    assert sorted(heard) == sorted(ids)  # each once
    rows = WebhookDelivery.unscoped.filter(pk__in=ids)
    assert {(row.status, row.attempts) for row in rows} == {(Status.DELIVERED, 1)}


@pytest.mark.django_db
def test_a_batch_hands_on_a_failing_endpoints_other_deliveries_one_message_each(world, monkeypatch):
    receiver = Receiver()
    try:
        down = _deliveries(world, _endpoint(world, "http://127.0.0.1:9/down"), 3)
        live = _deliveries(world, _endpoint(world, receiver.url), 2)
        handed = []
        monkeypatch.setattr(services, "enqueue_on_commit", lambda *args: handed.append(args))
        assert services.deliveries_attempt([down[0], live[0], down[1], live[1], down[2]]) == 2
    finally:
        receiver.close()
    assert handed == [("webhooks.tasks.deliver", down[1]), ("webhooks.tasks.deliver", down[2])]
    attempts = {str(pk): n for pk, n in WebhookDelivery.unscoped.values_list("pk", "attempts")}
    assert [attempts[pk] for pk in down] == [1, 0, 0]  # the first tried, the others handed on
    assert len(receiver.received) == 2


@pytest.mark.django_db
def test_a_batch_asks_the_visibility_again_and_closes_what_may_no_longer_be_seen(world):
    receiver = Receiver()
    try:
        endpoint = _endpoint(world, receiver.url)
        seen = _deliveries(world, endpoint, 2)
        unseen = _deliveries(world, endpoint, 1, object_id=world.partner.pk)  # not itself
        assert services.deliveries_attempt([*seen, *unseen]) == 2
    finally:
        receiver.close()
    closed = WebhookDelivery.unscoped.get(pk=unseen[0])
    assert closed.status == Status.FAILED and "no longer" in closed.last_error
    assert sorted(h["webhook-id"] for h, _b in receiver.received) == sorted(seen)
