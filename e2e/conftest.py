"""Fixtures of the end-to-end journeys: Debian's Chromium driven by Playwright
against pytest-django's live server (e2e/README.md).

    demo             the demo world (portal.demo.seed_demo), seeded for the test
    page             a browser tab, 1280 by 800 px
    new_tab()        another tab in a context of its own (another person's cookies)
    as_user(email)   signs a tab in with a session cookie made by the test client
    step("…")        names the step a test is in: when the test fails, each finished
                     step's last screen and the failing one are saved as
                     tests/artifacts/e2e/<test>-<nn>-<step>.png
"""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "e2e"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def chromium() -> Browser:
    """Debian's Chromium, once per run. Playwright's sync API keeps an event loop
    running in this thread, where Django's ORM then refuses to run; the tests call
    the ORM only between browser calls, never concurrently with them, so the
    check is lifted while the browser is up."""
    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of its own on a server (test_portal_e2e), so the journeys
    can run while `make test` uses test_portal. SQLite's is per process anyway."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"] != "django.db.backends.sqlite3":
            test = db.setdefault("TEST", {})
            test["NAME"] = f"{test.get('NAME') or 'test_' + db['NAME']}_e2e"


@pytest.fixture(autouse=True)
def e2e_settings(settings, live_server):
    """The live server as the site: emailed links point at it, cookies travel over
    plain http, and Celery runs in-process (even with REDIS_URL set) so emails and
    offers are delivered before the request that queued them answers."""
    from portal.celery import app

    settings.SITE_URL = live_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    eager, propagates = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = eager, propagates


@pytest.fixture
def demo(transactional_db):
    """The demo world (portal/demo.py); logins use DEMO_PASSWORD. The VAT table
    first, as its migration seeds it: the flush after an earlier test of the run
    emptied it, and the demo's orders issue invoices."""
    import importlib

    from django.apps import apps
    from django.core import mail

    from portal.demo import seed_demo

    importlib.import_module("billing.migrations.0007_vat_rates").seed_rates(apps, None)
    seed_demo()
    mail.outbox.clear()  # the seed's own emails (offers, tenders) are not the test's


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class Steps:
    """The steps of one test and the screenshot at the end of each.

    `with step("the owner accepts", on=tab):` runs a step in `tab` (by default
    the tab of the previous step, at first `page`)."""

    def __init__(self, page: Page, test_name: str):
        self.page = page
        self.test_name = test_name
        self.current = "start"
        self.shots: list[tuple[str, bytes]] = []

    @contextmanager
    def __call__(self, name: str, on: Page | None = None):
        self.page = on or self.page
        self.current = name
        yield
        self.shots.append((name, self.page.screenshot(full_page=True)))
        self.current = f"after {name}"

    def save(self) -> list[Path]:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        saved = []
        for n, (name, png) in enumerate([*self.shots, (self.current, None)], start=1):
            path = ARTIFACTS / f"{self.test_name}-{n:02d}-{_slug(name)}.png"
            if png is None:
                try:
                    png = self.page.screenshot(full_page=True, timeout=5_000)
                except Exception as exc:  # the tab itself broke: keep the earlier steps
                    print(f"no screenshot of {name!r}: {exc}")
                    continue
            path.write_bytes(png)
            saved.append(path)
        return saved


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "step"


@pytest.fixture
def new_tab(request, chromium, live_server):
    """`new_tab()`: a browser tab in a context of its own (its own cookies: another
    person). All are closed after the test; on failure the steps' screenshots
    are saved first."""
    contexts = []
    steps: list[Steps] = []

    def open_tab(
        width: int = 1280, height: int = 800, bypass_csp: bool = False, locale: str = "en-US"
    ) -> Page:
        context = chromium.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            accept_downloads=True,
            bypass_csp=bypass_csp,
            locale=locale,  # the browser's language: Accept-Language
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        tab = context.new_page()
        if not steps:
            steps.append(Steps(tab, _slug(request.node.name)))
        tab.steps = steps[0]
        return tab

    yield open_tab
    report = getattr(request.node, "report_call", None)
    if steps and report is not None and report.failed:
        for path in steps[0].save():
            print(f"screenshot: {path.relative_to(ROOT)}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_tab) -> Page:
    return new_tab()


@pytest.fixture
def step(page) -> Steps:
    """`with step("the partner adds a customer"): …` names the step the test is in."""
    return page.steps


@pytest.fixture
def as_user(page, live_server):
    """`as_user(email, tab=page)`: sign a browser tab in as that user, by a
    session the Django test client opens, its cookie copied into the tab."""
    from django.conf import settings
    from django.test import Client

    from tenants.models import User

    def sign_in_tab(email: str, tab: Page | None = None) -> Page:
        tab = tab or page
        client = Client()
        client.force_login(User.objects.get(email=email))
        tab.context.clear_cookies()
        tab.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        return tab

    return sign_in_tab


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the real login page (allauth's, with the portal's
    template): the email first, then the password (tenants.sso_views)."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.locator("header details.dropdown summary", has_text="@").click()
    page.get_by_role("button", name="Sign out", exact=True).click()


def mail_to(address: str) -> list:
    """The emails delivered to `address` so far (locmem backend), oldest first."""
    from django.core import mail

    return [m for m in mail.outbox if address in m.to]


def link_in(message, path_prefix: str) -> str:
    """The first link in an email's text whose path starts with `path_prefix`."""
    from django.conf import settings

    pattern = re.escape(settings.SITE_URL + path_prefix) + r"\S*"
    found = re.search(pattern, message.body)
    assert found, f"no {path_prefix} link in {message.subject!r}:\n{message.body}"
    return found.group(0)
