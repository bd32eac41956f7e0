"""The platform: API schema and docs, settings, Celery, migrations, demo data (the
health probes: test_health.py)."""

import importlib
import io
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from portal.demo import seed_demo
from subscriptions.models import Subscription
from tenants.models import Membership, Tenant, User
from tests.statistics import assert_analyzed_since, database_now

pytestmark = pytest.mark.django_db


def test_the_schema_and_docs_serve_with_local_assets(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/organization/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html and "cdn" not in html.lower()


def test_the_base_layout_uses_only_vendored_assets(world, browser):
    html = browser(world.partner_owner).get("/t/alpine/").content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in html and "/static/vendor/pico/pico.min.css" in html
    assert "https://" not in html.split("<body")[0]  # nothing fetched from elsewhere


def _load_prod(monkeypatch, **environ):
    for key in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    import portal.settings.prod as prod

    return importlib.reload(prod)


def test_production_settings_refuse_a_missing_secret_and_debug(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        _load_prod(monkeypatch, ALLOWED_HOSTS="portal.example.com")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        _load_prod(
            monkeypatch, SECRET_KEY="x" * 60, DEBUG="true", ALLOWED_HOSTS="portal.example.com"
        )
    prod = _load_prod(monkeypatch, SECRET_KEY="x" * 60, ALLOWED_HOSTS="portal.example.com")
    assert prod.DEBUG is False and prod.SESSION_COOKIE_SECURE and prod.SECURE_HSTS_SECONDS > 0


def test_production_logs_are_json_lines_with_the_request_id(monkeypatch, settings):
    prod = _load_prod(monkeypatch, SECRET_KEY="x" * 60, ALLOWED_HOSTS="portal.example.com")
    console = prod.LOGGING["handlers"]["console"]

    assert prod.LOGGING["formatters"][console["formatter"]] == {
        "()": "portal.logs.JsonLinesFormatter"
    }
    assert console["filters"] == ["request_id"]
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"  # untouched


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.prod",
        "SECRET_KEY": "k" * 64 + "-Zq9",
        "ALLOWED_HOSTS": "portal.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_celery_uses_json_only_and_late_acks():
    from portal.celery import app

    assert app.conf.accept_content == ["json"] and app.conf.task_serializer == "json"
    assert app.conf.task_acks_late is True


def test_a_task_travels_through_the_configured_broker_to_a_real_worker(settings):
    """With REDIS_URL set (CI) this goes through Redis; otherwise the in-memory transport."""
    import time
    import uuid

    from celery.contrib.testing.worker import start_worker
    from django.core.cache import cache

    from portal.celery import app
    from portal.tasks import ping

    token = uuid.uuid4().hex
    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10
        ):
            ping.delay(token)
            deadline = time.monotonic() + 20
            while cache.get(f"ping:{token}") is None and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        app.conf.task_always_eager = True
    assert cache.get(f"ping:{token}") == "pong"


def test_migrations_are_complete():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_seed_demo_is_idempotent_and_scales_with_bulk_inserts():
    first = seed_demo()
    counts = (User.objects.count(), Tenant.objects.count(), Membership.unscoped.count())
    seed_demo()
    assert (User.objects.count(), Tenant.objects.count(), Membership.unscoped.count()) == counts
    assert {login.email for login in first} >= {
        "partner.owner@demo.test",
        "customer.user@demo.test",
    }

    out = io.StringIO()
    call_command("seed_demo", "--customers", "250", "--quiet-logins", stdout=out)
    call_command("seed_demo", "--customers", "250", "--quiet-logins", stdout=out)
    alpine = Tenant.objects.get(slug="alpine-it")
    assert Tenant.objects.filter(parent=alpine, slug__startswith="scale-customer-").count() == 250
    assert alpine.children.filter(contacts__is_primary=True).count() >= 250


def test_seed_demo_refreshes_the_statistics_of_the_tables_it_writes(monkeypatch):
    """After the bulk inserts, ANALYZE (issue 28): on PostgreSQL every table the
    demo writes has fresh statistics; on SQLite the step does nothing."""
    import portal.demo
    from tenants.db import analyze

    calls = []

    def recording(models):
        calls.append(analyze(models))
        return calls[-1]

    monkeypatch.setattr(portal.demo, "analyze", recording)
    written = [
        "tenants_tenant",
        "tenants_contact",
        "partners_partnership",
        "subscriptions_subscription",
        "billing_order",
        "account_emailaddress",
    ]
    out = io.StringIO()
    if connection.vendor == "postgresql":
        since = database_now()
        call_command("seed_demo", "--customers", "20", "--quiet-logins", stdout=out)
        assert len(calls) == 1 and set(written) <= set(calls[0])
        assert_analyzed_since(calls[0], since)
        assert f"Statistics refreshed (ANALYZE): {len(calls[0])} tables." in out.getvalue()
    else:
        call_command("seed_demo", "--customers", "20", "--quiet-logins", stdout=out)
        assert calls == [[]] and "Statistics" not in out.getvalue()
    assert Subscription.unscoped.filter(customer__slug__startswith="scale-customer-").count() == 200


def _load_dev(monkeypatch, **environ):
    for key in ("SITE_URL", "PORT", "EMAIL_URL", "EMAIL_BACKEND"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    import portal.settings.dev as dev

    return importlib.reload(dev)


def test_make_run_links_follow_its_port_and_emails_go_to_files(monkeypatch):
    dev = _load_dev(monkeypatch, PORT="8765")
    assert dev.SITE_URL == "http://127.0.0.1:8765"
    assert dev.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"
    assert str(dev.EMAIL_FILE_PATH).endswith("var/mail")
    assert dev.DEMO_DATA_ALLOWED is True
    assert _load_dev(monkeypatch).SITE_URL == "http://127.0.0.1:8000"
    assert _load_dev(monkeypatch, SITE_URL="https://x.example/").SITE_URL == "https://x.example"


def test_production_settings_allow_no_demo_data(monkeypatch):
    monkeypatch.delenv("DEMO_DATA_ALLOWED", raising=False)
    prod = _load_prod(monkeypatch, SECRET_KEY="x" * 60, ALLOWED_HOSTS="portal.example.com")
    assert prod.DEMO_DATA_ALLOWED is False
