"""`Idempotency-Key` (API.md): the same key and request give the first response
again, another request with the key gets 422, 20 identical requests at once
create one object, and keys are kept at least 24 hours. What is kept never
holds a secret, nor anything for an unauthenticated caller or a 4xx (issue 21).

Pass figure: 20 concurrent identical POSTs → 1 template, 0 duplicates (PostgreSQL
and SQLite)."""

import datetime
import threading

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from offers.models import OfferTemplate
from portal.idempotency import IdempotencyKeyMiddleware, idempotency_records_purge
from portal.models import IdempotencyRecord
from tenants import services as tenant_services
from tenants.models import ApiToken, Tenant
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD

TEMPLATES = "/api/v1/offer-templates/"
TOKENS = "/api/v1/tokens/"
# Creating a token is a sensitive action: the caller's password confirms it.
TOKEN_CONFIRMATION = {"password": PASSWORD}


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
    assert OfferTemplate.unscoped.count() == 1


def test_the_same_key_with_another_request_is_a_422(world):
    client = token_client(world.partner_owner, world.partner)
    post(client, {"name": "Starter"})

    other = post(client, {"name": "Something else"})

    assert other.status_code == 422
    assert "another request" in other.json()["detail"]
    assert OfferTemplate.unscoped.count() == 1


def test_keys_belong_to_their_caller(world):
    owner = token_client(world.partner_owner, world.partner)
    admin = token_client(world.partner_admin, world.partner)
    assert post(owner, {"name": "Starter"}).status_code == 201
    # the same key from another caller is another request: it runs (and meets the
    # unique name), it does not replay the owner's answer
    response = post(admin, {"name": "Starter"})
    assert response.status_code == 400
    assert "Idempotent-Replayed" not in response


def test_a_refusal_is_not_kept_the_corrected_request_runs_with_the_same_key(world):
    client = token_client(world.partner_owner, world.partner)
    first = post(client, {"name": ""}, key="bad-1")
    again = post(client, {"name": ""}, key="bad-1")
    assert first.status_code == again.status_code == 400
    assert "Idempotent-Replayed" not in again
    assert not IdempotencyRecord.objects.exists()  # a 4xx is never kept (issue 21)
    corrected = post(client, {"name": "Starter"}, key="bad-1")
    assert corrected.status_code == 201
    assert post(client, {"name": "Starter"}, key="bad-1")["Idempotent-Replayed"] == "true"


def record_inserts(queries) -> list[str]:
    return [q["sql"] for q in queries if "INSERT" in q["sql"] and "idempotencyrecord" in q["sql"]]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer pp_made-up-token", "Bearer", "bearer pp_x y", "Basic Zm9vOmJhcg==", None],
)
def test_an_unauthenticated_request_with_a_key_writes_no_row(world, authorization):
    """Issue 21, reproduction 5: any `Bearer` with a key wrote a row (unbounded,
    unthrottled); now a caller the API does not know is not remembered at all."""
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    for n in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = post(client, {"name": "Starter"}, key=f"stranger-{n}")
        assert response.status_code == 401
        assert not record_inserts(queries)
    assert not IdempotencyRecord.objects.exists()
    assert not OfferTemplate.unscoped.exists()


def test_a_revoked_or_suspended_token_with_a_key_writes_no_row(world):
    token, raw = tenant_services.api_token_create(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id), name="old"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    world.partner.status = Tenant.Status.SUSPENDED
    world.partner.save()
    with CaptureQueriesContext(connection) as queries:
        assert post(client, {"name": "Starter"}, key="suspended").status_code == 403
    assert not record_inserts(queries)
    world.partner.status = Tenant.Status.ACTIVE
    world.partner.save()
    tenant_services.api_token_revoke(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id), token=token
    )
    with CaptureQueriesContext(connection) as queries:
        assert post(client, {"name": "Starter"}, key="revoked").status_code == 401
    assert not record_inserts(queries)
    assert not IdempotencyRecord.objects.exists()


def test_the_replay_of_a_token_creation_says_it_was_created_without_the_token(world):
    """Issue 21, reproduction 5: the record kept the new token for 48 hours and
    the replay showed it again, even after the token was revoked."""
    client = token_client(world.partner_owner, world.partner)
    body = {"name": "CI", **TOKEN_CONFIRMATION}

    first = client.post(TOKENS, body, format="json", HTTP_IDEMPOTENCY_KEY="token-1")
    assert first.status_code == 201, first.content
    raw = first.json()["token"]
    assert raw.startswith("pp_")
    (record,) = IdempotencyRecord.objects.all()
    kept = bytes(record.response_body)
    assert raw.encode() not in kept and raw[10:].encode() not in kept

    again = client.post(TOKENS, body, format="json", HTTP_IDEMPOTENCY_KEY="token-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    replay = again.json()
    assert replay["token"] is None
    assert "Created by the first request" in replay["detail"]
    assert {k: v for k, v in replay.items() if k not in ("token", "detail")} == {
        k: v for k, v in first.json().items() if k != "token"
    }
    assert ApiToken.unscoped.filter(name="CI").count() == 1

    # revoked: the replay still shows no token (there is none to show)
    client.delete(f"{TOKENS}{replay['id']}/")
    revoked = client.post(TOKENS, body, format="json", HTTP_IDEMPOTENCY_KEY="token-1")
    assert revoked.json()["token"] is None and raw not in revoked.content.decode()


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

    assert OfferTemplate.unscoped.filter(name="Raced").count() == 1
    # every answer is the first one's 201, or 409 "still being processed"; never a second object
    assert set(statuses) <= {201, 409}, statuses
    assert statuses.count(201) >= 1


@pytest.mark.django_db(transaction=True)
def test_a_database_lost_after_the_view_leaves_nothing_and_the_retry_creates_it_once(
    world, monkeypatch
):
    # PostgreSQL restarted between the view's writes and the stored answer (make
    # chaos): before the fix the object was committed and the key either freed
    # (a retry made a second one) or stranded `in_progress` (409 for ever)
    client = token_client(world.partner_owner, world.partner)
    client.raise_request_exception = False
    store = IdempotencyKeyMiddleware._store
    calls = []

    def lost(record, response):
        calls.append(record.pk)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return store(record, response)

    monkeypatch.setattr(IdempotencyKeyMiddleware, "_store", staticmethod(lost))

    refused = post(client, {"name": "Lost"}, key="restart-1")

    assert refused.status_code == 503 and refused["Retry-After"]
    assert not OfferTemplate.unscoped.filter(name="Lost").exists()
    assert not IdempotencyRecord.objects.exists()

    retried = post(client, {"name": "Lost"}, key="restart-1")
    replayed = post(client, {"name": "Lost"}, key="restart-1")

    assert retried.status_code == replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert OfferTemplate.unscoped.filter(name="Lost").count() == 1
