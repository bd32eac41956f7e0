"""Every API error is JSON, 500s included, and carries the request's id (issue
28): the id is the caller's `X-Request-ID` when well-formed, else a new one; it
is in the body of a 500, in the `X-Request-ID` header of every answer and in
every log line of the request. Logs are in UTC, ISO 8601; JSON lines in
production. A page's 500 stays Django's HTML page; a page that cannot reach
the database is a 503 page with Retry-After, like the API."""

import datetime
import io
import json
import logging
import re

import pytest
from django.db import InterfaceError, OperationalError
from django.utils import translation

from portal.api.exceptions import database_unavailable_page
from portal.logs import JsonLinesFormatter, UtcFormatter
from portal.request_id import RequestIdFilter
from portal.views import DashboardView
from tenants.api import OrganizationAPI

HEX_ID = re.compile(r"[0-9a-f]{32}")


def fail(*args, **kwargs):
    raise RuntimeError("something nobody expected")


@pytest.fixture
def json_log():
    """The production log format (JSON lines, with the request id filter) on the
    root logger; the lines it wrote, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


def test_a_500_under_the_api_is_json_with_the_request_id_in_body_header_and_logs(
    world, api, monkeypatch, json_log
):
    monkeypatch.setattr(OrganizationAPI, "get", fail)
    client = api(world.partner_owner, world.partner)
    client.raise_request_exception = False

    response = client.get("/api/v1/organization/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {"detail": "A server error occurred.", "request_id": body["request_id"]}
    assert HEX_ID.fullmatch(body["request_id"])
    assert response["X-Request-ID"] == body["request_id"]
    [logged] = [line for line in json_log() if line["level"] == "ERROR"]
    assert logged["request_id"] == body["request_id"]
    assert logged["message"] == "Internal Server Error: /api/v1/organization/"
    assert "RuntimeError: something nobody expected" in logged["exc_info"]
    assert logged["time"].endswith("+00:00")


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after_in_the_apis_shape(
    world, api, monkeypatch, json_log, error
):
    # what psycopg raises, wrapped by Django, while PostgreSQL restarts (make chaos)
    def unreachable(*args, **kwargs):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(OrganizationAPI, "get", unreachable)
    client = api(world.partner_owner, world.partner)
    client.raise_request_exception = False

    response = client.get("/api/v1/organization/")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {
        "detail": "The database is briefly unavailable. Retry shortly.",
        "request_id": response["X-Request-ID"],
    }
    [logged] = [line for line in json_log() if line["level"] == "ERROR"]
    assert logged["request_id"] == body["request_id"]
    assert "server closed the connection unexpectedly" in logged["exc_info"]


def test_a_500_on_a_page_is_djangos_html_page(world, browser, monkeypatch):
    monkeypatch.setattr(DashboardView, "get", fail)
    client = browser(world.partner_owner)
    client.raise_request_exception = False

    response = client.get("/t/alpine/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"Server Error (500)" in response.content
    assert HEX_ID.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_that_cannot_be_reached_is_a_503_page_with_retry_after(
    world, browser, monkeypatch, json_log, error
):
    def unreachable(*args, **kwargs):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(DashboardView, "get", unreachable)
    client = browser(world.partner_owner)
    client.raise_request_exception = False

    response = client.get("/t/alpine/")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<h1>Briefly unavailable</h1>" in page
    assert f"Reference: {response['X-Request-ID']}" in page
    [logged] = [line for line in json_log() if line["level"] == "ERROR"]
    assert logged["request_id"] == response["X-Request-ID"]


def test_the_503_page_is_in_the_requests_language_and_reads_no_database(rf, django_db_blocker):
    request = rf.get("/t/alpine/")
    request.request_id = "0123456789abcdef0123456789abcdef"
    with django_db_blocker.block(), translation.override("de"):
        response = database_unavailable_page(request)
    assert response.status_code == 503 and response["Retry-After"] == "2"
    page = response.content.decode()
    assert '<html lang="de"' in page and "<h1>Kurz nicht erreichbar</h1>" in page
    assert "Referenz: 0123456789abcdef0123456789abcdef" in page


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-2026-12-06:0001", True),
        ("0123456789abcdef0123456789abcdef", True),
        ("short", False),
        ("x" * 65, False),
        ("has spaces in it", False),
        ("<script>alert(1)</script>", False),
    ],
)
def test_a_well_formed_incoming_request_id_is_kept_any_other_replaced(world, api, given, kept):
    client = api(world.partner_owner, world.partner)

    answered = client.get("/api/v1/organization/", HTTP_X_REQUEST_ID=given)["X-Request-ID"]

    assert answered == given if kept else HEX_ID.fullmatch(answered)


def test_every_answer_has_a_request_id_and_each_request_its_own(world, api):
    client = api(world.partner_owner, world.partner)

    ids = {
        client.get("/api/v1/organization/")["X-Request-ID"],
        client.get("/api/v1/no-such-thing/")["X-Request-ID"],  # the JSON 404
        client.get("/healthz")["X-Request-ID"],
    }

    assert len(ids) == 3


def test_the_console_handler_adds_the_request_id():
    handlers = logging.getLogger().handlers
    assert any(isinstance(f, RequestIdFilter) for handler in handlers for f in handler.filters)


def test_log_times_are_utc_iso_8601_whatever_the_time_zone(settings):
    assert settings.TIME_ZONE == "Europe/Zurich"
    record = logging.LogRecord("portal", logging.WARNING, __file__, 1, "stalled", None, None)
    record.created = datetime.datetime(2026, 12, 6, 19, 42, 4, 123000, datetime.UTC).timestamp()
    RequestIdFilter().filter(record)
    plain = UtcFormatter(settings.LOGGING["formatters"]["plain"]["format"])

    assert plain.format(record) == "2026-12-06T19:42:04.123+00:00 WARNING portal [-] stalled"
    assert json.loads(JsonLinesFormatter().format(record)) == {
        "time": "2026-12-06T19:42:04.123+00:00",
        "level": "WARNING",
        "logger": "portal",
        "request_id": "-",
        "message": "stalled",
    }
