"""Issue 10, item 6: the security headers go out on every page, and no template
carries inline JavaScript (which the Content-Security-Policy would refuse).

The walk requests every browser URL of the project (every pattern outside the
JSON API, found by walking the resolver, so a new page is covered the day it is
added) in the demo world, as the people who reach them, with the production
HTTPS settings. A page may answer 200, 302, 403 or 404: the headers must be on
every answer. `manage.py check --deploy` itself is portal/tests/test_platform.py's.
"""

import importlib
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.models import Invoice, Order
from catalog.models import Feature, Product
from customers.models import AlertProfile, Contract, SlaPolicy
from imports.models import ImportJob
from offers.models import Offer, OfferBatch, OfferTemplate, TemplateItem
from partners.models import Partnership
from partners.selectors import invitation_token
from partners.services import customer_add
from portal.demo import seed_demo
from subscriptions.models import SmartList, Subscription
from tenants.models import Contact, Membership, Tenant, User
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD
from tenders.models import Tender
from tenders.services import tender_token
from upsell.models import UpgradeRequest

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
SITE_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
HTTPS_SETTINGS = (
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)


def production(monkeypatch, **environ) -> dict:
    """The HTTPS settings of portal.settings.prod, loaded with `environ`."""
    for key in ("DEBUG", "SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    monkeypatch.setenv("ALLOWED_HOSTS", "testserver")
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    import portal.settings.prod as prod

    prod = importlib.reload(prod)
    return {name: getattr(prod, name) for name in HTTPS_SETTINGS}


def policy(response) -> dict[str, set[str]]:
    directives = {}
    for part in response.get("Content-Security-Policy", "").split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


def header_problems(response) -> list[str]:
    problems = []
    csp = policy(response) if response.has_header("Content-Security-Policy") else {}
    scripts = csp.get("script-src", csp.get("default-src"))
    if scripts is None:
        problems.append("no Content-Security-Policy for scripts")
    elif {"'unsafe-inline'", "'unsafe-eval'"} & scripts:
        problems.append(f"script-src allows inline code: {scripts}")
    if response.get("Content-Type", "").startswith("text/html"):
        for name in ("object-src", "base-uri", "form-action", "frame-ancestors"):
            if csp.get(name) != SITE_POLICY[name]:
                problems.append(f"{name} is {csp.get(name)}")
    if response.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options {response.get('X-Frame-Options')}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if response.get("Referrer-Policy") not in ("same-origin", "no-referrer"):
        problems.append(f"Referrer-Policy {response.get('Referrer-Policy')}")
    hsts = response.get("Strict-Transport-Security", "")
    if hsts != "max-age=31536000; includeSubDomains; preload":
        problems.append(f"Strict-Transport-Security {hsts!r}")
    return problems


# --- the pages ---------------------------------------------------------------------------------


def _routes(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace) if n)
            if entry.namespace and entry.namespace.startswith("api"):
                continue  # the JSON API, not a browser page
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern)


def browser_urls(values: dict, *, area: str) -> list[str]:
    """Every browser URL under `area` ("admin/", "t/" or "" for the rest), filled
    with `values`; a parameter without a value fails, so no page is skipped."""
    urls = []
    for name, route in _routes(get_resolver().url_patterns):
        in_area = route.startswith(area) if area else not route.startswith(("admin/", "t/"))
        if not in_area or route.startswith("api/v1/"):
            continue
        params = re.findall(r"<(?:\w+:)?(\w+)>", route) + re.findall(r"\(\?P<(\w+)>", route)
        missing = [p for p in params if (name, p) not in values and p not in values]
        assert not missing, f"no value for {missing} of URL {name or route!r}"
        kwargs = {p: str(values.get((name, p), values.get(p))) for p in params}
        if name:
            urls.append(reverse(name, kwargs=kwargs))
        else:  # the admin's unnamed ones: <path:object_id>/ and its catch-all
            path = re.sub(
                r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", lambda m: kwargs[m[1] or m[2]], route
            )
            path = path.replace("^", "").replace("$", "")
            assert not re.search(r"[()\\*?]", path), route
            urls.append("/" + path)
    return sorted(set(urls))


def first_pk(model, **filters):
    row = model._default_manager.filter(**filters).values_list("pk", flat=True).first()
    return row or uuid.uuid4()


@pytest.fixture
def demo(db):
    seed_demo()
    alpine = Tenant.objects.get(slug="alpine-it")
    mueller = Tenant.objects.get(slug="baeckerei-mueller")
    partner_owner = User.objects.get(email="partner.owner@demo.test")
    pending = customer_add(
        org=org_context_for(user=partner_owner, tenant_id=alpine.pk),
        name="Neukunde AG",
        owner_email="owner@neukunde.test",
        access="full",
        payment="customer",
    )
    tender = Tender.unscoped.filter(status=Tender.Status.OPEN).first()
    values = {
        "job_id": first_pk(ImportJob),
        "customer_id": mueller.pk,
        "contact_id": first_pk(Contact, customer=mueller),
        "contract_id": first_pk(Contract, customer=mueller),
        "policy_id": first_pk(SlaPolicy),
        "profile_id": first_pk(AlertProfile),
        "partnership_id": first_pk(Partnership, partner=alpine, customer=mueller),
        "list_id": first_pk(SmartList),
        "subscription_id": first_pk(Subscription, customer=mueller, ends_on__isnull=True),
        "order_id": first_pk(Order),
        "invoice_id": first_pk(Invoice),
        ("partner_invoice_detail", "invoice_id"): uuid.uuid4(),  # none in the demo: a 404
        ("partner_invoice_pdf", "invoice_id"): uuid.uuid4(),
        "offer_id": first_pk(Offer),
        "batch_id": first_pk(OfferBatch),
        "template_id": first_pk(OfferTemplate),
        "item_id": first_pk(TemplateItem),
        "product_id": first_pk(Product),  # the provider console's catalog
        "endpoint_id": uuid.uuid4(),  # a webhook endpoint (none in the demo: a 404)
        "entry_id": uuid.uuid4(),  # a contract's time entry (none in the demo: a 404)
        "feature_code": Feature.objects.values_list("code", flat=True).first(),
        "request_id": first_pk(UpgradeRequest),
        "tender_id": tender.pk,
        "tenant_id": alpine.pk,
        "partner_id": alpine.pk,  # the provider console's
        ("invitation", "token"): invitation_token(pending),
        ("tender_confirm", "token"): tender_token(tender, "confirm"),
        ("tender_manage", "token"): tender_token(tender, "manage"),
        "uidb36": "0",
        "key": "0-nothing",
        "provider_id": "org-nothing",  # single sign-on: no such organization's provider
        "session_ref": "nothing",  # a session of the person's own (none such: a 404)
        # the admin's
        "object_id": uuid.uuid4(),
        "content_type_id": 1,
        "app_label": "tenants",
        "url": "nowhere/",
        "id": User.objects.get(email="staff@demo.test").pk,
        # a passkey of allauth's two-factor pages (none here: a 404 with its headers)
        "pk": 1,
    }
    return values


def test_every_page_sends_the_security_headers(demo, client, monkeypatch):
    client.raise_request_exception = False  # a failing page must send the headers too
    walks = [  # (who, where, their organization)
        (None, "", None),
        (None, "t/", "alpine-it"),
        ("partner.owner@demo.test", "t/", "alpine-it"),
        ("partner.owner@demo.test", "", None),
        ("customer.owner@demo.test", "t/", "baeckerei-mueller"),
        ("staff@demo.test", "admin/", None),
    ]
    problems, answered = [], {}
    with override_settings(**production(monkeypatch)):
        for email, area, slug in walks:
            client.logout()
            if email:
                client.force_login(User.objects.get(email=email))
            org = Membership.unscoped.filter(tenant__slug=slug).first()
            values = {**demo, "slug": slug, "membership_id": org.pk if org else uuid.uuid4()}
            for url in browser_urls(values, area=area):
                response = client.get(url, secure=True)
                answered[response.status_code] = answered.get(response.status_code, 0) + 1
                problems += [
                    f"{email or 'anonymous'} GET {url}: {p}" for p in header_problems(response)
                ]
                problems += [
                    f"{email or 'anonymous'} GET {url}: {p}" for p in inline_code(response)
                ]
    assert not problems, "\n".join(problems)
    assert answered.get(200, 0) > 100, answered  # the walk reached real pages


def test_the_site_policy_is_strict(client):
    response = client.get(reverse("account_login"))
    assert policy(response) == SITE_POLICY
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_api_docs_run_their_inline_script_by_nonce_only(client):
    first, second = client.get(reverse("api-docs")), client.get(reverse("api-docs"))
    nonces = []
    for response in (first, second):
        scripts = policy(response)["script-src"]
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
        (nonce,) = [s[len("'nonce-") : -1] for s in scripts if s.startswith("'nonce-")]
        assert policy(response)["style-src"] == {"'self'", f"'nonce-{nonce}'"}
        html = response.content.decode()
        inline = re.findall(r"<(?:script|style)(?![^>]*\ssrc=)([^>]*)>", html)
        assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
        assert "SwaggerUIBundle(" in html
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22  # 128 random bits, per request


def test_production_cookies_are_secure_and_http_goes_to_https(world, client, monkeypatch):
    with override_settings(**production(monkeypatch)):
        assert client.get("/accounts/login/").status_code == 301  # plain http
        page = client.get("/accounts/login/", secure=True)
        assert page.cookies["csrftoken"]["secure"]
        signed_in = client.post(
            "/accounts/login/",
            {"login": world.customer_owner.email, "password": PASSWORD},
            secure=True,
        )
        assert signed_in.status_code == 302
        session = signed_in.cookies["sessionid"]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_the_plain_http_compose_stack_may_switch_secure_cookies_off(monkeypatch):
    local = production(monkeypatch, SECURE_COOKIES="False", SECURE_SSL_REDIRECT="False")
    assert local["SESSION_COOKIE_SECURE"] is False and local["CSRF_COOKIE_SECURE"] is False
    assert production(monkeypatch)["SESSION_COOKIE_SECURE"] is True


# --- no inline JavaScript in a template --------------------------------------------------------

NONCED = 'nonce="{{ request.csp_nonce }}"'
DATA_TYPES = ('type="application/json"', 'type="application/ld+json"')


def inline_code(response) -> list[str]:
    """Inline scripts and handlers in a rendered page that the CSP would refuse."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    html = response.content.decode()
    nonces = [s for s in policy(response).get("script-src", ()) if s.startswith("'nonce-")]
    allowed = [f'nonce="{n[7:-1]}"' for n in nonces]
    return script_problems(html, allowed)


def script_problems(html: str, allowed_attrs=(NONCED,)) -> list[str]:
    problems = []
    for attrs in re.findall(r"<script\b([^>]*)>", html, re.I):
        if re.search(r"\ssrc\s*=", attrs) or any(a in attrs for a in (*DATA_TYPES, *allowed_attrs)):
            continue
        problems.append(f"inline <script{attrs}>")
    for tag in re.findall(r"<[a-zA-Z][^<>]*>", html):
        handler = re.search(r"\s(on[a-z]+|hx-on[:\-][\w:-]*)\s*=", tag, re.I)
        if handler:
            problems.append(f"inline handler {handler[1]}= in {tag[:80]}")
        if re.search(r"""(?:href|action|src)\s*=\s*["']?\s*javascript:""", tag, re.I):
            problems.append(f"javascript: URL in {tag[:80]}")
    return problems


def without_comments(source: str) -> str:
    source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", source, flags=re.S)
    return re.sub(r"{#.*?#}", "", source, flags=re.S)


def test_the_scan_finds_inline_code():
    assert script_problems('<button type="button" onclick="window.print()">') != []
    assert script_problems("<script>\n  dialog.showModal();\n</script>") != []
    assert script_problems('<div hx-on:click="alert(1)">') != []
    assert script_problems('<a href="javascript:void(0)">') != []
    assert script_problems("<script src=\"{% static 'portal/portal.js' %}\" defer></script>") == []
    assert script_problems('<script type="application/json">{"a": 1}</script>') == []
    assert script_problems('<button data-confirm="Remove it?" data-print>') == []


def test_no_template_has_inline_javascript_or_inline_styles():
    problems = []
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        source = without_comments(path.read_text())
        name = path.relative_to(TEMPLATES_DIR)
        problems += [f"{name}: {p}" for p in script_problems(source)]
        if name.parts[0] != "email":  # emails are read in mail clients, not under the CSP
            for tag in re.findall(r"<[a-zA-Z][^<>]*>", source):
                if re.search(r"\sstyle\s*=", tag) or (
                    tag.lower().startswith("<style") and NONCED not in tag
                ):
                    problems.append(f"{name}: inline style in {tag[:80]}")
    assert not problems, "\n".join(problems)


def test_htmx_is_told_not_to_inject_its_style_or_evaluate_code(world, browser):
    html = browser(world.partner_owner).get(f"/t/{world.partner.slug}/").content.decode()
    assert (
        """<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>"""
        in html
    )
    css = (Path(settings.BASE_DIR) / "static/portal/portal.css").read_text()
    assert ".htmx-indicator" in css and ".htmx-request .htmx-indicator" in css


def test_the_moved_scripts_live_in_portal_js():
    js = (Path(settings.BASE_DIR) / "static/portal/portal.js").read_text()
    assert "[data-print]" in js and "window.print()" in js
    assert "htmx:afterSwap" in js and "showModal()" in js and "htmx:responseError" in js
