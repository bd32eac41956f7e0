"""Where a model's manager may be read without a scope (issue 19, item 5, its
static half; docs/architecture.md "The scoping rule").

Tenant-owned rows are read through a selector that takes an `OrgContext` or
an object the permission function gave, and written by services. So
`Model.objects` belongs in `services`, `selectors` (modules or packages),
`admin.py`, migrations and tests. Anywhere else (views, API, forms,
serializers, templates' helpers, tasks, notifications…) it must be one of:

- `Model.objects.none()`: an empty placeholder (DRF's schema, a form field
  whose queryset the view narrows), which fails closed by construction;
- the public catalog (products, prices, tiers, features: no tenant owns it);
- an entry of ALLOWED below, each with its reason.

A new use anywhere else fails this test: move the read into a selector (or the
write into a service), or add it here with a reason a reviewer accepts. A stale
entry fails too, so the list is always the truth.

The runtime half (core/scoping.py): every tenant-owned model (one with a
foreign key to the tenant model, directly or through a parent it points to;
found in the app registry, not listed by hand) has `objects` that refuse any
query until narrowed by `.for_org(org)` / `.of_tenants(...)`, and an explicit
`unscoped` manager, its default manager. `Model.unscoped` may appear only in
services, selectors, tasks, notifications, admin, migrations and tests (and
outside the apps: bench, scripts, fuzz, e2e), or in UNSCOPED_ALLOWED below with
its reason; a new use elsewhere (a view, an API module, a form, a serializer)
fails, named. A model that points at the tenant model without the strict
manager fails too.
"""

import ast
import datetime
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Count, Prefetch
from django.db.models.constants import LOOKUP_SEP
from django.test.utils import isolate_apps

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from core.scoping import Scope, TenantScopedQuerySet, UnscopedQuery
from partners.models import Access, Partnership, Payment, Side
from partners.selectors import customers_managed_now
from portal.demo import seed_demo
from subscriptions.models import Subscription, SubscriptionChange
from tenants.models import Contact, Tenant
from tenants.tests.factories import ContactFactory

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "core",
    "tenants",
    "catalog",
    "partners",
    "customers",
    "subscriptions",
    "billing",
    "amendments",
    "tenders",
    "imports",
    "offers",
    "resale",
    "upsell",
    "webhooks",
    "portal",
)
PUBLIC_CATALOG = {"Product", "ProductPrice", "PriceTier", "Feature"}
NOTIFY = "a notification's recipients: the owners/admins of the organization it is about"
DEMO = "seeds a fresh database (`make run`, seed_demo): no request, no tenant yet"

# `Model.objects` outside services, selectors, admin, migrations and tests, of
# models that are not tenant-owned (a tenant-owned model's `objects` refuses an
# unscoped query at run time; its unscoped reads are UNSCOPED_ALLOWED below).
ALLOWED: dict[str, dict[str, str]] = {
    "tenants/sessions.py": {
        "UserSession": "a person's own sessions (allauth's model, per user, no tenant)",
    },
    "tenants/sso.py": {
        "EmailAddress": "the signing-in person's own addresses (allauth's model, per user)",
        "SocialAccount": "the link of a person to an organization's provider (allauth, per user)",
        "SocialApp": "an organization's OIDC client, named by its SsoConnection",
        "Tenant": "the organization whose verified domain an email belongs to",
        "User": "the person an SSO sign-in names by email (the adapter's lookup)",
    },
    "tenants/sso_views.py": {
        "SsoDomain": "the login page routes an email's domain: domains are global, one organization each",
    },
    "tenants/mfa.py": {
        "Authenticator": "a person's own second factors (allauth's model, per user, no tenant)",
    },
    "tenants/management/commands/mfa_reset.py": {
        "User": "the operator names the person and the staff member by email (a command)",
    },
    "billing/notifications.py": {
        "Tenant": "the partners a credit order's clawback emails: those its reversal rows name",
    },
    "billing/vat.py": {
        "VatRate": "the VAT table: public standard rates by country and date, no tenant owns them",
    },
    "imports/plan.py": {
        "Tenant": "the import's plan: the partner's customers, already narrowed by the selector",
    },
    "imports/apply.py": {
        "Tenant": "the import's bulk write: a profile update of matched customers",
    },
    "partners/book_changes.py": {
        "Tenant": "model signals: which branches a tenant's change retires",
        "PendingShare": "the customers a write marks pending for the books' fold (no tenant's)",
    },
    "subscriptions/books.py": {
        "PendingShare": "the fold takes pending customers under a lock; a book's read, its own",
        "Tenant": "the partners of the books a fold's customers are in, by their paths",
    },
    "portal/demo.py": dict.fromkeys(("EmailAddress", "Tenant", "User"), DEMO),
    "portal/idempotency.py": {"IdempotencyRecord": "the caller's own records, by its key"},
    "tenants/branch_cache.py": {"BranchGeneration": "the cache's own bookkeeping rows"},
    "tenants/emails.py": {
        "OutboundEmail": "the email outbox: rows claimed by id by the delivery task",
        "User": "the recipient's language for a queued email",
    },
    "tenants/serializers.py": {
        "Tenant": "staff create a partner under any partner (PartnerCreateAPI: staff only)",
    },
}

# `Model.unscoped` (a tenant-owned model read without the scoping entry) outside
# services, selectors, tasks, notifications, admin, migrations and tests.
UNSCOPED_ALLOWED: dict[str, dict[str, str]] = {
    "resale/invoicing.py": {
        "Partnership": "the month-end run (a beat task's service): the grants under which "
        "a partner bills, locked one by one",
        "Membership": "the billed customer's first owner, whose language the contracts' "
        "lines are written in",
        "PartnerInvoice": "the run's once-per-month check and the invoice it writes",
        "PartnerInvoiceLine": "the run writes the invoice's lines",
        "SubscriptionChange": "the run reads the billed customer's ledger (the grant it "
        "bills under was checked and locked first)",
    },
    "resale/pricing.py": {
        "ResalePriceEntry": "a price book reads the one partner's rules it is built for "
        "(the partner in whose name the caller prices)",
    },
    "tenants/sso.py": {
        "Membership": "whether the person signing in is a member of the organization whose "
        "provider vouched for them (the sign-in's own check)",
        "SsoConnection": "the organization's connection, found by its provider's app (sign-in) "
        "or by the owner's organization (the services of the settings page)",
        "SsoDomain": "one organization per domain: the uniqueness and routing checks",
    },
    "tenants/mfa.py": {
        "Membership": "whether any organization of the signed-in person requires a second "
        "factor: that person's own memberships",
    },
    "subscriptions/branch_move.py": {
        "Subscription": "a partner's branch in the provider console: the live subscriptions of "
        "the customers its grants cover now (managing_grants), for provider staff only",
    },
    "amendments/credits.py": {
        "OrderLine": "the credit order's quote, a service step (billing/services/credits.py "
        "until issue 19): the lines already credited of a subscription its service locked",
        "CashbackEntry": "the credit order's quote: the partner's cashback on the credited "
        "days, to take back",
    },
    "partners/audit.py": {"Membership": "which side an owner acted on (the audit writer)"},
    "customers/contract_billing.py": dict.fromkeys(
        ("Contract", "ContractTerms", "TimeEntry", "ContractTopUp"),
        "what contracts bill (a selector module for the partner's invoice run): the "
        "contracts of the partner and customer its caller names, and their terms, time and "
        "top-ups",
    ),
    "imports/plan.py": {
        "Contact": "the import's plan: contacts of the customers it matched (customers_visible_to)",
    },
    "imports/jobs.py": {
        "ImportJob": "the import's Celery job: claimed by id, under its row lock",
    },
    "partners/book_changes.py": {
        "Partnership": "model signals: which branches a grant's change retires",
    },
    "subscriptions/mrr.py": {
        "Subscription": "the book's figures (a selector module): narrowed by manages_now",
    },
    "subscriptions/mrr_rules.py": {
        "Subscription": "the book's subscriptions (the rule both books use): narrowed by "
        "manages_now and by the book's customers",
    },
    "subscriptions/books.py": dict.fromkeys(
        ("Book", "BookShare", "BookDayDelta", "Partnership", "Subscription"),
        "the partners' books kept by deltas (a selector and the fold's service in one "
        "module): a book read by its partner's key, shares by the customers a fold counts",
    ),
    "subscriptions/platform_mrr.py": {
        "Subscription": "the platform's figures (a selector module) for platform staff: every "
        "subscription, its callers checked provider_console_user",
    },
    "subscriptions/smart_lists.py": {
        "SmartList": "smart lists' reads and writes (selectors and services in one module)",
        "Subscription": "smart lists' figures: narrowed by manages_now",
        "CustomerAssignment": "the collaborator filter of a view saved from the customer "
        "list: this partner's assignments of that collaborator (owners and admins only)",
    },
    "portal/demo.py": dict.fromkeys(
        (
            "AlertProfile",
            "Branding",
            "Contact",
            "Contract",
            "ContractTerms",
            "CustomerAssignment",
            "Membership",
            "OfferTemplate",
            "Order",
            "Partnership",
            "PartnershipEvent",
            "ServiceProfile",
            "SlaPolicy",
            "Subscription",
            "Tender",
            "UpsellSwitch",
        ),
        DEMO,
    ),
    "tenants/api_base.py": {
        "Membership": "the scoping entry itself: resolves the request's organization once",
    },
    "tenants/reauthentication.py": {
        "Membership": "the organizations a failed password is audited in: the person's own",
    },
}


def _outside_services(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    if "tests" in parts or "migrations" in parts:
        return False
    if path.name in ("services.py", "selectors.py", "admin.py"):
        return False
    return "services" not in parts and "selectors" not in parts


def reads_in(tree: ast.AST) -> set[str]:
    """The models read as `Model.objects…` in `tree`, less `.none()` and the
    public catalog."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    models = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and node.attr == "objects"
            and isinstance(node.value, ast.Name)
        ):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr == "none":
            continue
        if node.value.id not in PUBLIC_CATALOG:
            models.add(node.value.id)
    return models


def unscoped_reads() -> dict[str, set[str]]:
    """{file: models} read outside services, selectors, admin, migrations and tests."""
    found: dict[str, set[str]] = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if _outside_services(path):
                models = reads_in(ast.parse(path.read_text(), filename=str(path)))
                if models:
                    found[str(path.relative_to(ROOT))] = models
    return found


def test_model_managers_are_read_only_where_the_scoping_rule_allows():
    found = unscoped_reads()
    new = {
        f"{path}: {model}"
        for path, models in found.items()
        for model in models
        if model not in ALLOWED.get(path, {})
    }
    assert not new, (
        "Model.objects outside services/selectors/admin: move the read into a selector "
        "(or list it in tests/test_scoping.py with a reason):\n" + "\n".join(sorted(new))
    )
    stale = {
        f"{path}: {model}"
        for path, models in ALLOWED.items()
        for model in models
        if model not in found.get(path, set())
    }
    assert not stale, "ALLOWED lists uses that are gone:\n" + "\n".join(sorted(stale))


def test_the_scan_sees_a_new_use_and_lets_placeholders_and_the_catalog_be():
    source = (
        "def view(request, org):\n"
        "    queryset = Offer.objects.none()\n"
        "    products = Product.objects.filter(is_active=True)\n"
        "    return Contact.objects.filter(email=request.GET['q'])\n"
    )
    assert reads_in(ast.parse(source)) == {"Contact"}
    assert all(reason for entries in ALLOWED.values() for reason in entries.values())


# --- `.unscoped`: where a tenant-owned model may be read without the scoping entry -----

UNSCOPED_ROOMS = ("services.py", "selectors.py", "tasks.py", "notifications.py", "admin.py")


def _an_unscoped_room(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    if any(part in ("tests", "migrations", "services", "selectors") for part in parts[1:-1]):
        return True
    return (
        path.name in UNSCOPED_ROOMS or path.name.startswith("test_") or path.name == "conftest.py"
    )


def unscoped_in(tree: ast.AST) -> set[str]:
    """The models read as `Model.unscoped…` in `tree`."""
    return {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "unscoped"
        and isinstance(node.value, ast.Name)
    }


def unscoped_uses() -> dict[str, set[str]]:
    """{file: models} read through `unscoped` outside the rooms that may."""
    found: dict[str, set[str]] = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if not _an_unscoped_room(path):
                models = unscoped_in(ast.parse(path.read_text(), filename=str(path)))
                if models:
                    found[str(path.relative_to(ROOT))] = models
    return found


def test_unscoped_appears_only_where_the_scoping_rule_allows():
    found = unscoped_uses()
    new = {
        f"{path}: {model}"
        for path, models in found.items()
        for model in models
        if model not in UNSCOPED_ALLOWED.get(path, {})
    }
    assert not new, (
        "Model.unscoped outside services/selectors/tasks/notifications/admin/migrations/tests: "
        "scope the read (`Model.objects.for_org(org)` in a selector), or list it in "
        "tests/test_scoping.py UNSCOPED_ALLOWED with a reason:\n" + "\n".join(sorted(new))
    )
    stale = {
        f"{path}: {model}"
        for path, models in UNSCOPED_ALLOWED.items()
        for model in models
        if model not in found.get(path, set())
    }
    assert not stale, "UNSCOPED_ALLOWED lists uses that are gone:\n" + "\n".join(sorted(stale))
    assert all(reason for entries in UNSCOPED_ALLOWED.values() for reason in entries.values())


@pytest.mark.parametrize(
    "path", ["offers/views.py", "offers/api.py", "customers/forms.py", "billing/serializers.py"]
)
def test_a_new_unscoped_use_in_a_view_api_form_or_serializer_is_named(path):
    source = "def view(request, org):\n    return Offer.unscoped.filter(pk=request.GET['id'])\n"
    assert unscoped_in(ast.parse(source)) == {"Offer"}
    assert not _an_unscoped_room(ROOT / path)
    assert "Offer" not in UNSCOPED_ALLOWED.get(path, {})
    for room in ("offers/services/offers.py", "offers/selectors.py", "offers/tasks.py"):
        assert _an_unscoped_room(ROOT / room)


# --- the runtime half: the strict managers --------------------------------------------

# The tenant model itself is no tenant's row: its reads go through the
# organization resolver (tenants/api_base.py, web.py) and the permission
# function (`customers_visible_to`, `customer_get_for_partner`), which are the
# scope. A strict `Tenant.objects` would have for_org depend on itself.
EXEMPT = {"tenants.Tenant": "the tenant model: its scope is the permission function"}


def tenant_owned(candidates: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    """Every model with a foreign key (or one-to-one) to the tenant model, or to
    a model that has one (an order's line, a template's item), transitively."""
    candidates = [m for m in candidates if m._meta.label not in EXEMPT]
    owned: set[type[models.Model]] = set()
    grown = True
    while grown:
        grown = False
        for model in candidates:
            if model in owned:
                continue
            targets = {
                field.related_model
                for field in model._meta.concrete_fields
                if field.is_relation and (field.many_to_one or field.one_to_one)
            }
            if Tenant in targets or targets & owned:
                owned.add(model)
                grown = True
    return sorted(owned, key=lambda m: m._meta.label)


def _resolves_to(model: type[models.Model], path: str) -> type[models.Model] | None:
    for name in path.split(LOOKUP_SEP):
        field = model._meta.get_field(name)
        if not (field.is_relation and field.related_model):
            return None
        model = field.related_model
    return model


def not_strict(model: type[models.Model]) -> list[str]:
    """What `model` lacks of the strict pair (empty: it has it all)."""
    problems = []
    objects = model._meta.managers_map.get("objects")
    if objects is None or not isinstance(objects.all(), TenantScopedQuerySet):
        problems.append("`objects` is not a TenantScopedQuerySet manager")
    unscoped = model._meta.managers_map.get("unscoped")
    if unscoped is None or isinstance(unscoped.all(), TenantScopedQuerySet):
        problems.append("no plain `unscoped` manager")
    if model._meta.default_manager_name != "unscoped":
        problems.append('Meta.default_manager_name is not "unscoped"')
    scope = getattr(model, "tenant_scope", None)
    if not isinstance(scope, Scope) or not scope.owners:
        problems.append("no tenant_scope = Scope(owners=...)")
    else:
        for path in (*scope.owners, *filter(None, [scope.customer])):
            if _resolves_to(model, path) is not Tenant:
                problems.append(f"tenant_scope path {path!r} does not reach the tenant model")
        if scope.product and _resolves_to(model, scope.product) is not Product:
            problems.append(f"tenant_scope product {scope.product!r} does not reach a product")
    return problems


TENANT_OWNED = [model._meta.label for model in tenant_owned(apps.get_models())]


def test_every_model_pointing_at_the_tenant_model_has_the_strict_managers():
    assert len(TENANT_OWNED) >= 30  # the registry was read (32 on 2026-12-06)
    problems = {
        label: problems for label in TENANT_OWNED if (problems := not_strict(apps.get_model(label)))
    }
    assert not problems, "tenant-owned models without the strict managers:\n" + "\n".join(
        f"{label}: {'; '.join(found)}" for label, found in sorted(problems.items())
    )


def test_a_new_model_with_a_tenant_key_and_no_strict_manager_fails(settings):
    with isolate_apps("tenants"):

        class Rogue(models.Model):  # noqa: DJ008
            tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "tenants"

        class RogueLine(models.Model):  # noqa: DJ008
            parent = models.ForeignKey(Rogue, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "tenants"

        class Loose(models.Model):  # noqa: DJ008
            product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "tenants"

        found = tenant_owned([*apps.get_models(), Rogue, RogueLine, Loose])
        assert Rogue in found and RogueLine in found and Loose not in found
        assert "`objects` is not a TenantScopedQuerySet manager" in not_strict(Rogue)
        assert 'Meta.default_manager_name is not "unscoped"' in not_strict(RogueLine)
    assert not_strict(Contact) == []


REFUSED = {
    "list(all())": lambda qs: list(qs.all()),
    "count()": lambda qs: qs.count(),
    "exists()": lambda qs: qs.exists(),
    "get()": lambda qs: qs.get(pk=uuid.uuid4()),
    "first()": lambda qs: qs.filter(pk__isnull=False).first(),
    "values()": lambda qs: list(qs.values("pk")),
    "aggregate()": lambda qs: qs.aggregate(n=Count("pk")),
    "iterator()": lambda qs: next(qs.iterator(), None),
    "bool()": lambda qs: bool(qs.all()),
    "in a lookup": lambda qs: list(Tenant.objects.filter(pk__in=qs.values("pk"))),
    "update()": lambda qs: qs.update(pk=None),
    "delete()": lambda qs: qs.delete(),
    "get_or_create()": lambda qs: qs.get_or_create(pk=uuid.uuid4()),
    "for_org(None)": lambda qs: list(qs.for_org(None)),
    "scoped | unscoped": lambda qs: list(qs.for_org(_nobody()) | qs.all()),
    "scoped.union(unscoped)": lambda qs: list(qs.for_org(_nobody()).union(qs.all())),
}


def _nobody() -> Tenant:
    """An organization that owns nothing (never saved: no query is reached)."""
    return Tenant(pk=uuid.uuid4(), kind=Tenant.Kind.CUSTOMER)


@pytest.mark.parametrize("label", TENANT_OWNED)
def test_objects_refuses_every_unscoped_query(label):
    """No database needed: the refusal comes before any SQL (and pytest-django
    would fail a test that reached the database without `django_db`)."""
    model = apps.get_model(label)
    for operation, run in REFUSED.items():
        with pytest.raises(UnscopedQuery, match=model.__name__):
            run(model.objects)
        assert operation
    assert list(model.objects.none()) == []


def _value_at(row: models.Model, path: str) -> object:
    *hops, last = path.split(LOOKUP_SEP)
    for hop in hops:
        row = getattr(row, hop)
    return getattr(row, f"{last}_id")


def expected_for(org: Tenant, model: type[models.Model], rows: list, managed) -> set:
    """The oracle of `for_org`, row by row in Python: an owner path names `org`;
    for a partner, the row's customer (and product) is one it manages now."""
    scope: Scope = model.tenant_scope
    partner_reads_managed = org.is_partner and scope.customer is not None
    keep = set()
    for row in rows:
        owners = [p for p in scope.owners if not (partner_reads_managed and p == scope.customer)]
        if any(_value_at(row, path) == org.pk for path in owners):
            keep.add(row.pk)
        elif partner_reads_managed:
            product = _value_at(row, scope.product) if scope.product else None
            if managed(org, _value_at(row, scope.customer), product):
                keep.add(row.pk)
    return keep


@pytest.mark.django_db
def test_for_org_returns_exactly_the_rows_of_the_organization_in_the_demo_world():
    seed_demo()
    tenants = list(Tenant.objects.all())
    cache: dict = {}

    def managed(partner, customer_id, product_id):
        key = (partner.pk, product_id)
        if key not in cache:
            product = Product.objects.get(pk=product_id) if product_id else None
            cache[key] = set(
                customers_managed_now(partner=partner, product=product).values_list("pk", flat=True)
            )
        return customer_id in cache[key]

    with_rows, partner_reads = set(), 0
    for label in TENANT_OWNED:
        model = apps.get_model(label)
        rows = list(model.unscoped.all())
        if rows:
            with_rows.add(label)
        for org in tenants:
            got = set(model.objects.for_org(org).values_list("pk", flat=True))
            assert got == expected_for(org, model, rows, managed), (label, org.slug)
            if got and org.is_partner and model.tenant_scope.customer:
                partner_reads += 1
    assert {"subscriptions.Subscription", "tenants.Contact", "billing.Order"} <= with_rows
    assert len(with_rows) >= 15, sorted(with_rows)
    assert partner_reads  # a partner read its managed customers' rows somewhere


@pytest.fixture
def two_books(world):
    """Alpine manages Müller (full) and Bergmann for hosting only; Rhein manages
    nobody here. Each customer has a contact and two subscriptions."""
    hosting, backup = ProductFactory(code="hosting-s"), ProductFactory(code="backup-s")
    full = Partnership.unscoped.create(
        partner=world.partner,
        customer=world.customer,
        access=Access.FULL,
        payment=Payment.CUSTOMER,
        status=Partnership.Status.ACTIVE,
        initiated_by=Side.PARTNER,
    )
    limited = Partnership.unscoped.create(
        partner=world.partner,
        customer=world.other_customer,
        access=Access.LIMITED,
        status=Partnership.Status.ACTIVE,
        initiated_by=Side.PARTNER,
    )
    limited.products.set([hosting])
    rows = {}
    for customer in (world.customer, world.other_customer):
        ContactFactory(customer=customer)
        for product in (hosting, backup):
            sub = Subscription.unscoped.create(
                customer=customer,
                product=product,
                quantity=1,
                unit_price=Decimal("10.00"),
                currency="CHF",
                billing_period=product.billing_period,
                starts_on=datetime.date(2026, 1, 1),
            )
            rows[(customer.slug, product.code)] = sub.pk
    return {"full": full, "limited": limited, "rows": rows}


@pytest.mark.django_db
def test_a_partner_reads_its_managed_customers_rows_and_no_one_elses(world, two_books):
    rows = two_books["rows"]
    alpine = set(Subscription.objects.for_org(world.partner).values_list("pk", flat=True))
    assert alpine == {
        rows[("mueller", "hosting-s")],
        rows[("mueller", "backup-s")],
        rows[("bergmann", "hosting-s")],  # the limited grant lists hosting only
    }
    assert not Subscription.objects.for_org(world.other_partner).exists()
    assert set(Subscription.objects.for_org(world.customer).values_list("pk", flat=True)) == {
        rows[("mueller", "hosting-s")],
        rows[("mueller", "backup-s")],
    }
    contacts = Contact.objects.for_org(world.partner)
    assert {c.customer_id for c in contacts} == {world.customer.pk, world.other_customer.pk}
    assert not Contact.objects.for_org(world.other_partner).exists()
    assert {c.customer_id for c in Contact.objects.for_org(world.other_customer)} == {
        world.other_customer.pk
    }
    # An ended grant gives nothing, at once (manages_now: the one rule).
    Partnership.unscoped.filter(pk=two_books["limited"].pk).update(status=Partnership.Status.ENDED)
    assert not Contact.objects.for_org(world.partner).filter(customer=world.other_customer).exists()
    # of_tenants: the tenants the permission function already resolved.
    assert set(
        Subscription.objects.of_tenants([world.other_customer]).values_list("pk", flat=True)
    ) == {rows[("bergmann", "hosting-s")], rows[("bergmann", "backup-s")]}
    assert Partnership.objects.for_org(world.other_partner).count() == 0
    assert Partnership.objects.for_org(world.partner).count() == 2


@pytest.mark.django_db
def test_related_managers_and_prefetches_of_a_loaded_instance_count_as_scoped(world, two_books):
    customer = world.customer
    assert customer.contacts.count() == 1
    assert len(list(customer.subscriptions.active_on(datetime.date(2026, 6, 1)))) == 2
    loaded = Tenant.objects.prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.all(), to_attr="the_contacts")
    ).get(pk=customer.pk)
    assert len(loaded.the_contacts) == 1
    subscription = Subscription.unscoped.filter(customer=customer).first()
    assert subscription is not None and subscription.customer == customer
    # Writes are not reads: create() through the strict manager is allowed.
    made = Contact.objects.create(customer=customer, first_name="Ada", last_name="L")
    assert Contact.unscoped.filter(pk=made.pk).exists()
    # Scoped, the AppendOnly rule still holds on bulk writes.
    with pytest.raises(ValueError, match="cannot be deleted"):
        SubscriptionChange.objects.for_org(customer).delete()
