"""The reference matrix (issue 21, "Prove it where the matrix was blind", a):
every object reference the API accepts in a request body or a query
parameter, tried by every actor that must not reach the object it names.

The URL matrix (tests/test_isolation_matrix.py) proves the ids in paths; an id
in a body (`POST orders/ {"customer": …}`) or a filter (`GET orders/?customer=…`)
is read by other code — a serializer field, a FilterSet, a service — and was
not tried there. Here:

- **Discovery.** The references are read from the OpenAPI schema
  (drf-spectacular's generator, the same as `GET /api/schema/`): every
  request-body field and query parameter of every operation that is a uuid
  (or a list of uuids) or a product's code. `REFERENCES` fills each one (how
  to send it, which victim object it names, which actors try it);
  `NOT_TRIED` lists those left out, each with its reason. A reference in
  neither fails `test_every_reference_is_in_the_matrix`, named: a field added
  tomorrow is covered tomorrow, or the suite says so.
- **Cases.** The world is the URL matrix's (its `victim` fixture: Bäckerei
  Müller and Alpine IT, the 14 actors). Each reference is sent by the partners
  that must not reach the victim's object — unrelated (Rhein, signed in and
  with its API token), Alpine naming a customer whose grant is still pending
  (Konditorei Sahne), Alpine's
  collaborator not assigned to Müller, the partner whose grant ended (Ende),
  expired (Frist), or is past its `ends_on` without the job having run (Spät),
  the limited partner (Limes) naming a product outside its grant — and by a
  customer naming another customer's objects (Bergmann). Each acts in its own
  organization, on its own objects (a customer, a subscription, a template, a
  smart list made for it), so only the reference under test is foreign.
- **Oracle.** The same request with a missing id (a random uuid, an unknown
  product code) in place of the victim's: the answer must be the same
  (status, and the body with the two values replaced by one placeholder; for
  a product code of the public catalog, the status and the fields the errors
  name), the request must write nothing (tests/matrix.py's `send` records the
  writes of a savepoint it rolls back), and no answer may carry a marker (name,
  amount, id) of an object the actor may not know. A legitimate actor (Alpine,
  or Müller) sends each reference once with the victim's object to prove the
  object is live there: an answer no different from a missing id's would make
  the case prove nothing, and fails as "dead".

A parameter an API view reads by hand, outside its serializers and
FilterSets, is not in the schema: `READ_BY_HAND` lists those (none names an
object) and `test_no_api_reads_a_reference_outside_the_schema` fails on a new
one. The browser's forms that name objects are in the URL matrix's registry
(its `query` and `body`).

All findings are collected and reported at once. Run with `-s` for the figure.

Last run: 30 references discovered (24 tried, 6 left to other suites with
their reason) x 10 actors: 145 cases (each also sent with a missing id), 340
requests, 0 leaks, about 15 s on SQLite or PostgreSQL. Its discovery found one
schema error, fixed: `GET subscriptions/{id}/changes/` advertised the list's
`?customer` filter, which it never applied.
"""

import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from catalog.models import Product
from offers import services as offer_services
from partners import services as partner_services
from subscriptions.services import subscription_build
from subscriptions.smart_lists import smart_list_create
from tenants.models import Tenant
from tests import test_isolation_matrix as iso
from tests.matrix import Normalizer, id_forms, send

# The URL matrix's world and its quiet, cookie-session requests.
victim = iso.victim
quick_requests = iso.quick_requests

API = "/api/v1"

# --- discovery -------------------------------------------------------------------------------

_PRODUCT_CODE = re.compile(r"\bproduct(?:'s)? codes?\b|\bproduct code\b", re.IGNORECASE)


def _is_reference(schema: dict, description: str) -> bool:
    if schema.get("format") == "uuid":
        return True
    if schema.get("type") == "array" and (schema.get("items") or {}).get("format") == "uuid":
        return True
    return bool(_PRODUCT_CODE.search(description or ""))


def discovered_references() -> set[tuple[str, str, str]]:
    """(METHOD, path, field) of every reference the API accepts: query
    parameters as `?name`, body fields by their path (`lines[].product`,
    `filters.sub_partner`)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        return node

    found: set[tuple[str, str, str]] = set()

    def walk(node: dict, prefix: str, key: tuple[str, str], depth: int = 0) -> None:
        node = resolve(node)
        if depth > 5:
            return
        for combined in ("allOf", "oneOf", "anyOf"):
            for sub in node.get(combined, []):
                walk(sub, prefix, key, depth + 1)
        for name, prop in node.get("properties", {}).items():
            resolved = resolve(prop)
            if prop.get("readOnly") or resolved.get("readOnly"):
                continue
            path = f"{prefix}{name}"
            description = prop.get("description") or resolved.get("description") or ""
            if _is_reference(resolved, description):
                found.add((*key, path))
            walk(resolved, f"{path}.", key, depth + 1)
            if resolved.get("type") == "array" and "items" in resolved:
                walk(resolved["items"], f"{path}[].", key, depth + 1)

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            key = (method.upper(), path)
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                if _is_reference(
                    resolve(parameter.get("schema", {})), parameter.get("description", "")
                ):
                    found.add((*key, f"?{parameter['name']}"))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                if "schema" in content:
                    walk(content["schema"], "", key)
                    break
    return found


# --- the actors of this matrix ---------------------------------------------------------------

RHEIN, COLLAB, ENDED, EXPIRED, LAPSED, LIMITED = (
    iso.RHEIN,
    iso.COLLABORATOR,
    iso.ENDED,
    iso.EXPIRED,
    iso.LAPSED,
    iso.LIMITED,
)
BERGMANN_OWNER, BERGMANN_ADMIN = iso.BERGMANN_OWNER, iso.BERGMANN_ADMIN
RHEIN_TOKEN = iso.RHEIN_TOKEN
ALPINE, MUELLER = iso.ALPINE_OWNER, iso.MUELLER_OWNER

# Partners foreign to Müller: each case's name says how.
NOT_MUELLERS = {
    RHEIN: "foreign",
    RHEIN_TOKEN: "foreign, API token",
    # Alpine names Konditorei Sahne, whose owner has not accepted its invitation
    # yet (`Run.value`): a pending grant gives no access.
    ALPINE: "grant still pending",
    COLLAB: "not assigned",
    ENDED: "grant ended",
    EXPIRED: "grant expired",
    LAPSED: "grant past ends_on",
}
# Partners foreign to Alpine's own objects (its policies, templates, sends, lists…).
NOT_ALPINES = {
    RHEIN: "foreign",
    RHEIN_TOKEN: "foreign, API token",
    LIMITED: "other partner",
    ENDED: "grant ended",
    EXPIRED: "grant expired",
    LAPSED: "grant past ends_on",
}
CUSTOMERS = {BERGMANN_OWNER: "other customer", BERGMANN_ADMIN: "other customer (buyer)"}
# A product outside the limited grant on Müller (Limes manages the mailbox only;
# Spät's grant on backup-standard is past its end).
OUTSIDE_GRANT = {
    LIMITED: "product outside its limited grant",
    LAPSED: "product outside its own customer's limited grant",
}
# The partners whose every grant is limited (their own customer too): a product
# outside their grants is not among their choices.
LIMITED_ONLY = {LIMITED, LAPSED}
PRODUCT_CHOOSERS = {
    LIMITED: "product outside its limited grant",
    LAPSED: "product of a grant past ends_on",
}


@dataclass
class Own:
    """An actor's own objects, so that only the reference under test is foreign."""

    customer: str = ""
    template: str = ""
    smart_list: str = ""
    granted: str = ""  # a customer it manages, where a product may lie outside its grant


@dataclass(frozen=True)
class Ref:
    """One reference: `kind` names the victim object it takes (a key of the
    victim's ids, or `product`); `build(own, value)` is (url, body or query);
    `tried_by` maps actor → case name, `value_for` picks the victim value for
    an actor (default: the victim's object of `kind`); `prover` sends it
    legitimately."""

    kind: str
    build: Callable[[Own, str], tuple[str, dict]]
    tried_by: dict[str, str]
    prover: str = ALPINE
    value: str = ""  # a fixed value (a product code) instead of the victim's id
    proof: str = ""  # what the prover names instead (a victim id's key), if not the same

    @property
    def is_code(self) -> bool:
        return self.kind == "product"


LINE = "web-hosting"


def _q(url: str, name: str) -> Callable[[Own, str], tuple[str, dict]]:
    return lambda own, value: (url, {name: value})


def _with_own(url: str, fmt: Callable[[Own], str], body: Callable[[Own, str], dict]):
    return lambda own, value: (url.format(fmt(own)), body(own, value))


def _partner_and_customer(actors: dict[str, str]) -> dict[str, str]:
    return {**actors, **CUSTOMERS}


# A list filtered by Müller: Limes reaches Müller, but none of its rows there is
# its own (the subscription's product is outside its grant; the orders and the
# offer are Alpine's): its answer is a missing customer's.
FILTERS_BY_CUSTOMER = {
    **NOT_MUELLERS,
    LIMITED: "limited grant, others' rows",
    **CUSTOMERS,
}


REFERENCES: dict[tuple[str, str, str], Ref] = {
    # --- query parameters
    ("GET", f"{API}/customers/", "?collaborator"): Ref(
        "collaborator", _q(f"{API}/customers/", "collaborator"), NOT_ALPINES
    ),
    ("GET", f"{API}/offers/", "?customer"): Ref(
        "customer", _q(f"{API}/offers/", "customer"), FILTERS_BY_CUSTOMER
    ),
    ("GET", f"{API}/offers/", "?batch"): Ref(
        "batch", _q(f"{API}/offers/", "batch"), {**NOT_ALPINES, **CUSTOMERS}
    ),
    ("GET", f"{API}/orders/", "?customer"): Ref(
        "customer", _q(f"{API}/orders/", "customer"), FILTERS_BY_CUSTOMER
    ),
    ("GET", f"{API}/subscriptions/", "?customer"): Ref(
        "customer",
        _q(f"{API}/subscriptions/", "customer"),
        FILTERS_BY_CUSTOMER,
    ),
    # --- customers and their service
    ("POST", f"{API}/customers/", "service_profile.sla"): Ref(
        "sla_policy",
        lambda own, value: (
            f"{API}/customers/",
            {"name": "Neukunde 1", "service_profile": {"sla": value, "alert_profile": None}},
        ),
        NOT_ALPINES,
    ),
    ("POST", f"{API}/customers/", "service_profile.alert_profile"): Ref(
        "alert_profile",
        lambda own, value: (
            f"{API}/customers/",
            {"name": "Neukunde 2", "service_profile": {"sla": None, "alert_profile": value}},
        ),
        NOT_ALPINES,
    ),
    ("PUT", f"{API}/customers/{{id}}/service-profile/", "sla"): Ref(
        "sla_policy",
        _with_own(
            f"{API}/customers/{{}}/service-profile/",
            lambda own: own.customer,
            lambda own, value: {"sla": value, "alert_profile": None},
        ),
        NOT_ALPINES,
    ),
    ("PUT", f"{API}/customers/{{id}}/service-profile/", "alert_profile"): Ref(
        "alert_profile",
        _with_own(
            f"{API}/customers/{{}}/service-profile/",
            lambda own: own.customer,
            lambda own, value: {"sla": None, "alert_profile": value},
        ),
        NOT_ALPINES,
    ),
    ("PUT", f"{API}/customers/{{id}}/collaborators/", "users"): Ref(
        "collaborator",
        _with_own(
            f"{API}/customers/{{}}/collaborators/",
            lambda own: own.customer,
            lambda own, value: {"users": [value]},
        ),
        NOT_ALPINES,
    ),
    # --- offers
    ("POST", f"{API}/offers/", "customer"): Ref(
        "customer",
        lambda own, value: (f"{API}/offers/", {"customer": value, "template": own.template}),
        NOT_MUELLERS,
    ),
    ("POST", f"{API}/offers/", "customers"): Ref(
        "customer",
        lambda own, value: (f"{API}/offers/", {"customers": [value], "template": own.template}),
        NOT_MUELLERS,
    ),
    ("POST", f"{API}/offers/", "template"): Ref(
        "template",
        lambda own, value: (f"{API}/offers/", {"customer": own.customer, "template": value}),
        NOT_ALPINES,
    ),
    # --- orders, quotes, subscriptions: the customer, and a product outside a limited grant
    ("POST", f"{API}/orders/", "customer"): Ref(
        "customer",
        lambda own, value: (
            f"{API}/orders/",
            {"customer": value, "lines": [{"product": LINE, "quantity": 1}]},
        ),
        _partner_and_customer(NOT_MUELLERS),
    ),
    ("POST", f"{API}/orders/", "lines[].product"): Ref(
        "product",
        lambda own, value: (
            f"{API}/orders/",
            {"customer": own.granted, "lines": [{"product": value, "quantity": 1}]},
        ),
        OUTSIDE_GRANT,
        value=LINE,
    ),
    ("POST", f"{API}/orders/", "lines[].subscription"): Ref(
        "subscription",
        lambda own, value: (
            f"{API}/orders/",
            {
                "customer": own.customer,
                "lines": [{"subscription": value, "quantity": 99_999}],
                "dry_run": True,
            },
        ),
        # Müller's own subscription: Alpine, which manages Müller, is the prover
        # (its pending grant is another customer's, which names no subscription)
        {
            actor: case
            for actor, case in _partner_and_customer(NOT_MUELLERS).items()
            if actor != ALPINE
        },
    ),
    ("POST", f"{API}/quotes/", "customer"): Ref(
        "customer",
        lambda own, value: (
            f"{API}/quotes/",
            {"customer": value, "lines": [{"product": LINE, "quantity": 1}]},
        ),
        _partner_and_customer(NOT_MUELLERS),
    ),
    ("POST", f"{API}/quotes/", "lines[].product"): Ref(
        "product",
        lambda own, value: (
            f"{API}/quotes/",
            {"customer": own.granted, "lines": [{"product": value, "quantity": 1}]},
        ),
        OUTSIDE_GRANT,
        value=LINE,
    ),
    ("POST", f"{API}/subscriptions/", "customer"): Ref(
        "customer",
        lambda own, value: (
            f"{API}/subscriptions/",
            {"customer": value, "product": LINE, "quantity": 1, "dry_run": True},
        ),
        _partner_and_customer(NOT_MUELLERS),
    ),
    ("POST", f"{API}/subscriptions/", "product"): Ref(
        "product",
        lambda own, value: (
            f"{API}/subscriptions/",
            {"customer": own.granted, "product": value, "quantity": 1, "dry_run": True},
        ),
        OUTSIDE_GRANT,
        value=LINE,
    ),
    # --- smart lists: a sub-partner's customers, a product live today
    ("POST", f"{API}/smart-lists/", "filters.sub_partner"): Ref(
        "sub_partner",
        lambda own, value: (
            f"{API}/smart-lists/",
            {"name": "x", "filters": {"sub_partner": value}},
        ),
        NOT_ALPINES,
    ),
    ("PATCH", f"{API}/smart-lists/{{id}}/", "filters.sub_partner"): Ref(
        "sub_partner",
        _with_own(
            f"{API}/smart-lists/{{}}/",
            lambda own: own.smart_list,
            lambda own, value: {"filters": {"sub_partner": value}},
        ),
        NOT_ALPINES,
    ),
    # a view saved from the customer list: its collaborator filter (issue 25)
    ("POST", f"{API}/smart-lists/", "filters.collaborator"): Ref(
        "collaborator",
        lambda own, value: (
            f"{API}/smart-lists/",
            {"name": "x", "filters": {"collaborator": value}},
        ),
        NOT_ALPINES,
    ),
    ("PATCH", f"{API}/smart-lists/{{id}}/", "filters.collaborator"): Ref(
        "collaborator",
        _with_own(
            f"{API}/smart-lists/{{}}/",
            lambda own: own.smart_list,
            lambda own, value: {"filters": {"collaborator": value}},
        ),
        NOT_ALPINES,
    ),
    ("POST", f"{API}/smart-lists/", "filters.product"): Ref(
        "product",
        lambda own, value: (f"{API}/smart-lists/", {"name": "x", "filters": {"product": value}}),
        PRODUCT_CHOOSERS,
        value="backup-standard",  # live today on Müller's subscription alone
    ),
    ("PATCH", f"{API}/smart-lists/{{id}}/", "filters.product"): Ref(
        "product",
        _with_own(
            f"{API}/smart-lists/{{}}/",
            lambda own: own.smart_list,
            lambda own, value: {"filters": {"product": value}},
        ),
        PRODUCT_CHOOSERS,
        value="backup-standard",
    ),
    # --- a customer names a partner
    ("POST", f"{API}/partnerships/", "partner"): Ref(
        "sub_partner",  # Lakeside: not in the directory
        lambda own, value: (f"{API}/partnerships/", {"partner": value, "access": "full"}),
        CUSTOMERS,
        prover=MUELLER,
        proof="rhein",  # a partner of the directory: the invitation is made
    ),
}

# References named by the schema that this matrix leaves to other suites, each
# with its reason.
NOT_TRIED: dict[tuple[str, str, str], str] = {
    ("POST", f"{API}/customers/", "products"): "the limited grant's product codes of a "
    "customer the partner creates: the public catalog, any active product may be granted",
    ("POST", f"{API}/partnerships/", "products"): "product codes a customer grants: the "
    "public catalog",
    ("PATCH", f"{API}/partnerships/{{id}}/", "products"): "product codes a customer grants: "
    "the public catalog",
    ("POST", f"{API}/partnerships/{{id}}/accept/", "products"): "product codes a customer "
    "grants on acceptance: the public catalog",
    ("POST", f"{API}/offer-templates/{{id}}/items/", "product"): "a template is the "
    "partner's own and names any product of the public catalog; what it may send to a "
    "limited customer is offer_send's rule (offers' tests)",
    ("POST", f"{API}/contracts/{{id}}/time-entries/", "technician"): "a member's user id, "
    "chosen from the partner's own members by TechnicianField's queryset; another "
    "organization's member reads as a missing id (customers/tests/test_time_entries.py::"
    "test_a_technician_of_another_organization_reads_as_a_missing_one)",
    ("POST", f"{API}/partners/", "parent"): "staff only (IsAdminUser); staff reach every "
    "organization (SPEC §1), anyone else gets 403 before the body is read (URL matrix)",
}


def test_every_reference_is_in_the_matrix():
    """A body field or query parameter that names an object and is in neither
    `REFERENCES` nor `NOT_TRIED` fails here, named; so does an entry for a
    reference that is gone."""
    found = discovered_references()
    known = set(REFERENCES) | set(NOT_TRIED)
    missing = sorted(found - known)
    stale = sorted(known - found)
    assert not set(REFERENCES) & set(NOT_TRIED)
    assert not missing, "references not in the reference matrix:\n" + "\n".join(
        f"{m} {p} {f}" for m, p, f in missing
    )
    assert not stale, f"the matrix names references the schema no longer has: {stale}"


# Names an API module reads from the request itself, outside its serializers and
# FilterSets (so outside the schema's reach): none names an object.
READ_BY_HAND = {
    "at": "billing/api.py: a subscription's end, `period_end` or a date",
    "lines": "amendments/api.py: whether a line names a subscription (the body is then "
    "read by OrderChangeSerializer, in the schema: `lines[].subscription` is above)",
    "kind": "imports/api.py: the import template's kind",
    "q": "partners/api.py: the directory's search text",
    "ordering": "subscriptions/api_smart_lists.py: a column of the list's results",
    "currency": "resale/api.py: the price list's currency (CHF or EUR)",
}
_BY_HAND = re.compile(r"""(?:query_params|request\.data)(?:\.get\(|\[)\s*["'](\w+)["']""")


def test_no_api_reads_a_reference_outside_the_schema():
    """A parameter an API view reads by hand is not in the schema, so discovery
    would not see it: each one is listed in `READ_BY_HAND`, and a new one fails
    here until it is (and, if it names an object, is in `REFERENCES`)."""
    root = Path(__file__).resolve().parent.parent
    read = {}
    for path in sorted(root.glob("*/**/api*.py")):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for name in _BY_HAND.findall(path.read_text(encoding="utf-8")):
            read.setdefault(name, str(path.relative_to(root)))
    unknown = {name: where for name, where in read.items() if name not in READ_BY_HAND}
    assert not unknown, f"API parameters read by hand, not in READ_BY_HAND: {unknown}"
    assert set(READ_BY_HAND) <= set(read), sorted(set(READ_BY_HAND) - set(read))


# --- the world's additions: each actor's own objects -----------------------------------------


def _own_objects(victim) -> dict[str, Own]:
    """A customer (with a web-hosting subscription, so that its lists are not
    empty), a template and a smart list for each partner actor; a subscription
    of Bergmann's for the customers. Alpine and Müller act on the victim's."""
    today = timezone.localdate()
    hosting = Product.objects.get(code=LINE)
    mailbox = Product.objects.get(code="mailbox")
    owns: dict[str, Own] = {}
    for name in sorted({*NOT_MUELLERS, *NOT_ALPINES} - {ALPINE, RHEIN_TOKEN}):
        actor = victim.actors[name]
        ctx = iso._ctx(actor.user, actor.home)
        if name == COLLAB:
            ctx = iso._ctx(victim.actors[ALPINE].user, actor.home)
        if name in LIMITED_ONLY:
            # A customer of its own under a limited grant (the mailbox): a full
            # grant would make it manage every product.
            asked = partner_services.customer_add(
                org=ctx,
                name=f"Eigenkunde {name[:12]}",
                owner_email=f"eigen-{len(owns)}@limited.example",
                access="limited",
                products=[mailbox],
            )
            customer = asked.customer
            owner = customer.memberships.get().user
            partner_services.partnership_accept(org=iso._ctx(owner, customer), partnership=asked)
        else:
            customer = partner_services.customer_add(
                org=ctx, name=f"Eigenkunde {name[:12]}"
            ).customer
        if name == COLLAB:
            partner_services.collaborators_set(org=ctx, customer=customer, user_ids=[actor.user.pk])
        subscription_build(
            customer=customer,
            product=hosting,
            quantity=1,
            unit_price=Decimal("10.00"),
            starts_on=today,
        ).save()
        template = offer_services.template_create(org=ctx, name=f"Eigene Vorlage {name[:12]}")
        offer_services.template_item_add(
            org=ctx,
            template=template,
            product=hosting,
            quantity=1,
            license_mode="relative",
            term_months=12,
        )
        smart_list = smart_list_create(org=ctx, name=f"Eigene Liste {name[:12]}")
        owns[name] = Own(
            customer=str(customer.pk),
            template=str(template.pk),
            smart_list=str(smart_list.pk),
            granted=str(victim.mueller.pk if name == LIMITED else customer.pk),
        )
    bergmann = victim.actors[BERGMANN_OWNER].home
    subscription_build(
        customer=bergmann,
        product=hosting,
        quantity=1,
        unit_price=Decimal("10.00"),
        starts_on=today,
    ).save()
    for name in CUSTOMERS:
        owns[name] = Own(customer=str(bergmann.pk))
    owns[RHEIN_TOKEN] = owns[RHEIN]
    owns[MUELLER] = Own(customer=str(victim.mueller.pk))
    # Alpine proves with the victim's objects on Müller: its own customer is Müller.
    owns[ALPINE] = Own(
        customer=str(victim.mueller.pk),
        template=victim.ids["template"],
        smart_list=victim.ids["smart_list"],
        granted=str(victim.mueller.pk),
    )
    return owns


# --- the run ---------------------------------------------------------------------------------

MISSING_CODE = "no-such-product-7f3a"


def _error_fields(body: str) -> str:
    """The fields a 400's errors name (the keys of its JSON, nested), or the body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body

    def keys(node, prefix=""):
        if isinstance(node, dict):
            return {
                k
                for key, v in node.items()
                for k in {f"{prefix}{key}"} | keys(v, f"{prefix}{key}.")
            }
        if isinstance(node, list):
            return set().union(*(keys(v, prefix) for v in node)) if node else set()
        return set()

    return ",".join(sorted(keys(data)))


@dataclass
class Run:
    victim: object
    owns: dict[str, Own]
    findings: list[str] = field(default_factory=list)
    requests: int = 0
    cases: int = 0
    actors: set = field(default_factory=set)
    extra: dict[str, str] = field(default_factory=dict)

    def request(self, actor_name: str, method: str, url: str, data: dict):
        actor = self.victim.actors[actor_name]
        self.requests += 1
        return send(
            actor.client,
            method.lower(),
            url,
            data=data,
            api=True,
            headers=(
                {"HTTP_AUTHORIZATION": f"Bearer {actor.token}"}
                if actor.token
                else {"HTTP_X_TENANT": str(actor.home.pk)}
            ),
        )

    def value(self, ref: Ref, actor_name: str = "") -> str:
        if ref.value:
            return ref.value
        if ref.kind == "customer" and actor_name == ALPINE:
            return self.extra["pending"]
        return self.victim.ids[ref.kind]

    def normalize(self, text: str, sent: str, missing: str) -> str:
        pairs = {form: "<ref>" for v in (sent, missing) for form in id_forms(v)}
        return Normalizer(pairs)(text)

    def leaked(self, actor_name: str, body: str, sent: str) -> list[str]:
        for form in id_forms(sent):
            body = body.replace(form, "<sent>")
        return sorted(
            {
                f"{marker!r} ({obj})"
                for marker, obj in self.victim.markers.items()
                if actor_name not in iso.KNOW[obj] and marker in body
            }
        )

    def case(self, key, ref: Ref, actor_name: str, how: str) -> None:
        method, path, name = key
        own = self.owns[actor_name]
        value = self.value(ref, actor_name)
        missing = MISSING_CODE if ref.is_code else str(uuid.uuid4())
        url, data = ref.build(own, value)
        answer = self.request(actor_name, method, url, data)
        _, stand_in = ref.build(own, missing)
        oracle = self.request(actor_name, method, url, stand_in)
        self.cases += 1
        self.actors.add(actor_name)
        where = f"{actor_name} ({how}) · {method} {path} {name}={value}"
        for one in (answer, oracle):
            if one.error or one.status >= 500:
                self.findings.append(f"{where} · {one.summary()}")
                return
        if ref.is_code:
            problem = self.code_refusal(ref, own, name, answer, oracle, actor_name, method, url)
            if problem:
                self.findings.append(f"{where} · {problem}")
        elif answer.status != oracle.status:
            self.findings.append(
                f"{where} · {answer.summary()} where a missing one answers {oracle.summary()}: "
                f"{answer.body[:300]} vs {oracle.body[:300]}"
            )
        else:
            mine = self.normalize(answer.body, value, missing)
            theirs = self.normalize(oracle.body, value, missing)
            if mine != theirs:
                self.findings.append(
                    f"{where} · {answer.status}, body differs from a missing id's: "
                    f"{mine[:300]!r} vs {theirs[:300]!r}"
                )
        if answer.writes:
            self.findings.append(f"{where} · {answer.status}, yet wrote {answer.writes}")
        leaks = self.leaked(actor_name, answer.body, value)
        if leaks:
            self.findings.append(f"{where} · {answer.status} carries {', '.join(leaks)}")

    def code_refusal(self, ref, own, name, answer, oracle, actor_name, method, url) -> str:
        """A product code outside the actor's grants: the catalog is public, so
        the refusal may say so, but it must be one: the answer of an unknown
        code, or a 400 naming the field (`lines[].product` → `lines`), or the
        404 of a customer missing for that product (exactly, body and all)."""
        if answer.status == oracle.status and (
            _error_fields(answer.body) == _error_fields(oracle.body)
        ):
            return ""
        top = name.split(".", 1)[0].split("[", 1)[0]
        if answer.status == 400 and top in _error_fields(answer.body).split(","):
            return ""
        if answer.status == 404:
            _, elsewhere = ref.build(dataclasses.replace(own, granted=str(uuid.uuid4())), ref.value)
            no_customer = self.request(actor_name, method, url, elsewhere)
            if (answer.status, answer.body) == (no_customer.status, no_customer.body):
                return ""
            return (
                f"404 {answer.body[:200]} unlike a missing customer's "
                f"{no_customer.status} {no_customer.body[:200]}"
            )
        return (
            f"{answer.summary()} {answer.body[:300]} where a missing code answers "
            f"{oracle.summary()} {oracle.body[:300]}"
        )

    def prove(self, key, ref: Ref) -> None:
        """The legitimate actor's answer for the victim's object differs from a
        missing one's: the object is live through this reference."""
        method, path, name = key
        own = self.owns[ref.prover]
        value = self.extra[ref.proof] if ref.proof else self.value(ref)
        missing = MISSING_CODE if ref.is_code else str(uuid.uuid4())
        url, data = ref.build(own, value)
        answer = self.request(ref.prover, method, url, data)
        _, stand_in = ref.build(own, missing)
        oracle = self.request(ref.prover, method, url, stand_in)
        same = answer.status == oracle.status and (
            self.normalize(answer.body, value, missing)
            == self.normalize(oracle.body, value, missing)
        )
        if answer.error or same:
            self.findings.append(
                f"dead: {ref.prover} · {method} {path} {name}={value} answers "
                f"{answer.summary()} like a missing one ({oracle.summary()})"
            )

    def run(self) -> None:
        for key, ref in REFERENCES.items():
            self.prove(key, ref)
            for actor_name, how in ref.tried_by.items():
                self.case(key, ref, actor_name, how)


def test_no_reference_reaches_another_tenants_objects(victim, quick_requests):
    """Every reference x every actor that must not reach its object: the
    answer of a missing id, nothing written, no foreign marker.

    Last run: see the module's docstring."""
    run = Run(
        victim,
        _own_objects(victim),
        extra={
            "rhein": str(victim.actors[RHEIN].home.pk),
            "pending": str(Tenant.objects.get(name="Konditorei Sahne 2468").pk),
        },
    )
    run.run()
    figure = (
        f"reference matrix: {len(REFERENCES) + len(NOT_TRIED)} references discovered "
        f"({len(REFERENCES)} tried, {len(NOT_TRIED)} left to other suites) x "
        f"{len(run.actors)} actors: {run.cases} cases, {run.requests} requests, "
        f"{len(run.findings)} leaks"
    )
    print(f"\n{figure}")
    assert not run.findings, f"{figure}:\n" + "\n".join(run.findings)
