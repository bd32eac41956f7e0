"""`Idempotency-Key` (API.md): the same key and request give the first response
again, another request with the key gets 422, 20 identical requests at once
create one object, and keys are kept at least 24 hours.

Pass figure: 20 concurrent identical POSTs → 1 template, 0 duplicates (PostgreSQL
and SQLite)."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from offers.models import OfferTemplate
from portal.idempotency import idempotency_records_purge
from portal.models import IdempotencyRecord
from tenants import services as tenant_services
from tenants.selectors import org_context_for

TEMPLATES = "/api/v1/offer-templates/"


def token_client(user, tenant) -> APIClient:
    _, raw = tenant_services.api_token_create(
        org=org_context_for(user=user, tenant_id=tenant.id), name="integration"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post(client, body, key="order-7"):
    return client.post(TEMPLATES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_request_return_the_first_response(world):
    client = token_client(world.partner_owner, world.partner)

    first = post(client, {"name": "Starter"})
    again = post(client, {"name": "Starter"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OfferTemplate.objects.count() == 1


def test_the_same_key_with_another_request_is_a_422(world):
    client = token_client(world.partner_owner, world.partner)
    post(client, {"name": "Starter"})

    other = post(client, {"name": "Something else"})

    assert other.status_code == 422
    assert "another request" in other.json()["detail"]
    assert OfferTemplate.objects.count() == 1


def test_keys_belong_to_their_caller(world):
    owner = token_client(world.partner_owner, world.partner)
    admin = token_client(world.partner_admin, world.partner)
    assert post(owner, {"name": "Starter"}).status_code == 201
    # the same key from another caller is another request: it runs (and meets the
    # unique name), it does not replay the owner's answer
    response = post(admin, {"name": "Starter"})
    assert response.status_code == 400
    assert "Idempotent-Replayed" not in response


def test_a_refusal_is_remembered_like_a_success(world):
    client = token_client(world.partner_owner, world.partner)
    first = post(client, {"name": ""}, key="bad-1")
    again = post(client, {"name": ""}, key="bad-1")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_a_bad_key_is_a_400_and_requests_without_one_are_untouched(world):
    client = token_client(world.partner_owner, world.partner)
    assert post(client, {"name": "Starter"}, key="k" * 256).status_code == 400
    assert client.post(TEMPLATES, {"name": "A"}, format="json").status_code == 201
    assert client.post(TEMPLATES, {"name": "B"}, format="json").status_code == 201
    assert not IdempotencyRecord.objects.exists()


def test_keys_are_kept_a_day_and_then_purged(world):
    client = token_client(world.partner_owner, world.partner)
    post(client, {"name": "Starter"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=30))
    assert idempotency_records_purge() == 0  # 30 hours: still kept
    assert post(client, {"name": "Starter"})["Idempotent-Replayed"] == "true"
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=49))
    assert idempotency_records_purge() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_requests_at_once_create_one_object(world):
    _, raw = tenant_services.api_token_create(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id), name="race"
    )
    barrier = threading.Barrier(20)
    statuses = []

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        try:
            barrier.wait()
            response = post(client, {"name": "Raced"}, key="race-1")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert OfferTemplate.objects.filter(name="Raced").count() == 1
    # every answer is the first one's 201, or 409 "still being processed"; never a second object
    assert set(statuses) <= {201, 409}, statuses
    assert statuses.count(201) >= 1
