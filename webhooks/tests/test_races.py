"""Workers racing for one delivery (the task and the sweeper's copy, a
redelivered message): the row lock (skip_locked) lets one attempt through, so
the receiver gets one POST. PostgreSQL row locks; on SQLite the losers meet the
database lock instead."""

import pytest
from django.db import OperationalError

from tenants.selectors import org_context_for
from tests.concurrency import race
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.test_webhooks import Receiver


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_delivery_post_it_once(world):
    receiver = Receiver()
    try:
        org = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
        endpoint, _secret = services.endpoint_create(
            org=org, url=receiver.url, events=["customer.updated"]
        )
        # the rows as the fan-out leaves them (its own task would deliver at once here)
        event = WebhookEvent.objects.create(
            type="customer.updated", object_id=str(world.customer.pk)
        )
        delivery = WebhookDelivery.unscoped.create(
            tenant=world.customer, endpoint=endpoint, event=event, type=event.type, body="{}"
        )

        outcomes = race(lambda: services.delivery_attempt(delivery_id=str(delivery.pk)), count=8)
    finally:
        receiver.close()
    assert outcomes.count(True) == 1, outcomes
    assert all(o is False or isinstance(o, OperationalError) for o in outcomes if o is not True)
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 1)
