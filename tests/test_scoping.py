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

Not yet here (issue 19 item 5's runtime half, still open): managers that refuse
an unscoped query at run time, with an explicit `unscoped` manager.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "tenants",
    "catalog",
    "partners",
    "customers",
    "subscriptions",
    "billing",
    "tenders",
    "offers",
    "upsell",
    "portal",
)
PUBLIC_CATALOG = {"Product", "ProductPrice", "PriceTier", "Feature"}
NOTIFY = "a notification's recipients: the owners/admins of the organization it is about"

ALLOWED: dict[str, dict[str, str]] = {
    "billing/notifications.py": {
        "Membership": NOTIFY,
        "Invoice": "an order's email rendered at delivery: the invoice its outbox row names",
        "Order": "an order's email rendered at delivery: the order its outbox row names",
    },
    "offers/notifications.py": {"Membership": NOTIFY},
    "partners/notifications.py": {"Membership": NOTIFY},
    "partners/audit.py": {"Membership": "which side an owner acted on (the audit writer)"},
    "customers/imports/plan.py": {
        "Contact": "the import's plan: contacts of the customers it matched (customers_visible_to)",
        "Tenant": "the import's plan: the partner's customers, already narrowed by the selector",
    },
    "customers/imports/apply.py": {
        "Contact": "the import's bulk write (a service step of the package)",
        "Tenant": "the import's bulk write: a profile update of matched customers",
    },
    "customers/imports/jobs.py": {
        "ImportJob": "the import's Celery job: claimed by id, under its row lock",
    },
    "partners/book_changes.py": {
        "Partnership": "model signals: which branches a grant's change retires",
        "Tenant": "model signals: which branches a tenant's change retires",
    },
    "subscriptions/mrr.py": {
        "Subscription": "the book's figures (a selector module): narrowed by manages_now",
    },
    "subscriptions/smart_lists.py": {
        "SmartList": "smart lists' reads and writes (selectors and services in one module)",
        "Subscription": "smart lists' figures: narrowed by manages_now",
    },
    "portal/demo.py": dict.fromkeys(
        (
            "AlertProfile",
            "Branding",
            "Contact",
            "Contract",
            "CustomerAssignment",
            "EmailAddress",
            "Membership",
            "OfferTemplate",
            "Order",
            "Partnership",
            "PartnershipEvent",
            "ServiceProfile",
            "SlaPolicy",
            "Subscription",
            "Tenant",
            "Tender",
            "UpsellSwitch",
            "User",
        ),
        "seeds a fresh database (`make run`, seed_demo): no request, no tenant yet",
    ),
    "portal/idempotency.py": {"IdempotencyRecord": "the caller's own records, by its key"},
    "tenants/api_base.py": {
        "Membership": "the scoping entry itself: resolves the request's organization once",
    },
    "tenants/audit.py": {"AuditEvent": "the audit log's one writer"},
    "tenants/branch_cache.py": {"BranchGeneration": "the cache's own bookkeeping rows"},
    "tenants/emails.py": {
        "OutboundEmail": "the email outbox: rows claimed by id by the delivery task",
        "User": "the recipient's language for a queued email",
    },
    "tenants/reauthentication.py": {
        "Membership": "the organizations a failed password is audited in: the person's own",
    },
    "tenants/serializers.py": {
        "Tenant": "staff create a partner under any partner (PartnerCreateAPI: staff only)",
    },
    "tenants/tasks.py": {"Membership": "a beat job: the owners to tell, by tenant id"},
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
