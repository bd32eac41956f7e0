"""An API request's objects are freed when its response is closed, not left to
the garbage collector (portal.api.cycles; docs/performance.md, issue 27 point
3), and gunicorn's workers freeze what they hold after start-up
(gunicorn.conf.py's `post_worker_init`)."""

import gc
import runpy
import types
from pathlib import Path

import pytest
from django.test.client import ClientHandler, RequestFactory
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from customers.services import customer_onboard
from tenants.selectors import org_context_for
from tenants.services import api_token_create

ROOT = Path(__file__).resolve().parent.parent.parent
# What DRF's reference cycles kept for the collector before: the view, its
# request and response, the serializers (and through them the page's rows).
KEPT_BEFORE = (APIView, Request, Response, Serializer)


def _get(path: str, **headers) -> tuple[int, dict]:
    """GET through Django's handler as a WSGI server calls it, the response closed
    after (Django's test client adds links of its own to the response)."""
    response = ClientHandler()(RequestFactory().get(path, headers=headers).environ)
    return response.status_code, response.data


def _cyclic_garbage(call) -> list:
    """The objects `call()` leaves that only the cyclic collector frees."""
    gc.collect()
    gc.disable()
    try:
        call()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return found


@pytest.mark.django_db
def test_the_customer_list_api_leaves_no_view_request_response_or_rows_to_the_collector(world):
    org = org_context_for(user=world.partner_owner, tenant_id=world.partner.pk)
    for name in ("Alpha AG", "Beta GmbH", "Gamma SA"):
        customer_onboard(org=org, name=name)
    _, raw = api_token_create(org=org, name="cycles")
    responses = []

    def call():
        status, data = _get("/api/v1/customers/?page_size=2", authorization=f"Bearer {raw}")
        responses.append(status)
        assert [row["name"] for row in data["results"]] == ["Alpha AG", "Beta GmbH"]
        assert data["count"] == 3 and data["next"]

    call()  # warm: the count's cache, the token's last use
    garbage = _cyclic_garbage(call)
    assert responses == [200, 200]
    kept = [type(o).__name__ for o in garbage if issubclass(type(o), KEPT_BEFORE)]
    assert kept == []
    # the page's rows (dicts with a customer's name) are freed with the response
    assert not [o for o in garbage if type(o) is dict and o.get("name") == "Alpha AG"]


@pytest.mark.django_db
def test_an_error_response_of_the_api_leaves_no_view_to_the_collector():
    def call():
        assert _get("/api/v1/customers/", authorization="Bearer not-a-token")[0] == 401

    call()
    garbage = _cyclic_garbage(call)
    assert [type(o).__name__ for o in garbage if issubclass(type(o), APIView)] == []


def test_gunicorn_workers_import_the_urlconf_freeze_what_they_hold_and_collect_less_often():
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logged = []
    worker = types.SimpleNamespace(log=types.SimpleNamespace(exception=logged.append))
    thresholds = gc.get_threshold()
    try:
        conf["post_worker_init"](worker)
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (conf["GC_THRESHOLD"], *thresholds[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert logged == []
