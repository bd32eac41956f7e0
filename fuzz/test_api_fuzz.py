"""Schemathesis against `/api/schema/`, as three roles (issue 10, item 2).

Every operation of the schema, as a partner owner (Alpine IT), a customer owner
(Bäckerei Müller) and a customer user, each with an API token; the examples and
coverage phases (boundary values, NUL bytes, huge numbers, unicode, missing
fields, wrong types) and 100 generated examples per operation, positive and
negative; every check schemathesis has.

Pass figure (PostgreSQL, 2026-11-22): 120 operations x 3 roles x >=100 generated
examples = 36,000 requests, 52,452 with the examples and coverage phases; 0
server errors, 0 schema violations, 0 failed checks (about 12 minutes on 2
loaded cores; `make fuzz`, part of `.ci/run`).
"""

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup

from fuzz.conftest import AUTH_ENFORCED, CALLS, World, pick

load_all_checks()


def ignored_auth(ctx, response, case):
    ctx.auth_enforced_operations = AUTH_ENFORCED
    return CHECKS.get_one("ignored_auth")(ctx, response, case)


ALL_CHECKS = [
    ignored_auth if name == "ignored_auth" else CHECKS.get_one(name)
    for name in CHECKS.get_all_names()
]

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())

# URLs as Django's URLValidator takes them (JSON Schema's `uri` takes far more,
# e.g. a 64-letter label): schema-valid data the generator makes is then valid
LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
schemathesis.openapi.format(
    "uri",
    st.builds(
        "{}://{}.{}{}".format,
        st.sampled_from(["http", "https"]),
        LABEL,
        st.from_regex(r"[a-z]{2,10}", fullmatch=True),
        st.from_regex(r"(?:/[a-zA-Z0-9._~-]{0,20}){0,3}", fullmatch=True),
    ),
)

# path parameter → the pool of real values it names, where the segment before it does not say
PATH_POOLS = {
    "customer_id": "customers",
    "contact_id": "contacts",
    "contract_id": "contracts",
    "job_id": "jobs",
    "item_id": "items",
    "batch_id": "batches",
    "subscription_id": "subscriptions",
    "feature_code": "features",
    "code": "products",
}
# body or query key (at any depth) → the pool of real values it names
REF_POOLS = {
    "customer": "customers",
    "customers": "customers",
    "template": "offer-templates",
    "product": "products",
    "products": "products",
    "partner": "directory",
    "parent": "partners",
    "sub_partner": "sub-partners",
    "users": "collaborators",
    "collaborator": "collaborators",
    "sla": "sla-policies",
    "alert_profile": "alert-profiles",
    "batch": "batches",
    "password": "password",
}


def _path_pool(path: str, name: str) -> str | None:
    if name in PATH_POOLS:
        return PATH_POOLS[name]
    segments = path.strip("/").split("/")
    index = segments.index("{" + name + "}")
    return segments[index - 1] if index else None


def _aim(case, pools: dict[str, list[str]]) -> None:
    """Point generated references at real objects, so that requests get past the
    lookups to the code behind them: in bodies and queries always (a valid
    request names things that exist; the case is judged again afterwards), in
    paths for all but one value in len+1, which stays unknown (a 404)."""
    for name, value in case.path_parameters.items():
        pool = pools.get(_path_pool(case.operation.path, name) or "")
        if pool and isinstance(value, str):
            case.path_parameters[name] = pick(pool, value, keep=True)
    _aim_refs(case.query, pools)
    _aim_refs(case.body, pools)


def _aim_refs(value, pools: dict[str, list[str]]) -> None:
    if isinstance(value, list):
        for item in value:
            _aim_refs(item, pools)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        pool = pools.get(REF_POOLS.get(key, ""))
        if pool and isinstance(item, str):
            value[key] = pick(pool, item, keep=False)
        elif pool and isinstance(item, list) and all(isinstance(i, str) for i in item):
            value[key] = [pick(pool, i, keep=False) for i in item]
        else:
            _aim_refs(item, pools)


# A check that cannot apply to an operation, and why: `positive_data_acceptance`
# expects a 2xx for every schema-valid request, which a rule no schema states
# (uniqueness, a state, a relation between fields, a file's content) makes wrong.
UNIQUE_NAME = "names are unique in an organization; the generator repeats names"
GRANT = "payment only with full access, products with limited, an end after today"
# `?cursor=` takes only a token a page of the same list gave (signed), and a
# cursor walk refuses `page` and `ordering` (tenants.api_sync)
SYNC_WALK = "a cursor is one a page of this list gave; a walk takes neither page nor ordering"
# a webhook URL's host must resolve, to addresses it may reach (webhooks.targets)
WEBHOOK_TARGET = "the URL's host must resolve in DNS, which no schema can say of a string"
# every endpoint ignores a query parameter it does not name (none is an error)
UNNAMED_QUERY = "a query parameter the operation does not name is ignored, as on every endpoint"
# a VAT number is checked against the organization's country, with its check digit
# (tenants.vat_numbers): no schema can say which strings pass
VAT_NUMBER = "a VAT number must be valid for the organization's country, check digit included"
EXCLUDED: dict[str, dict[str, str]] = {
    "PATCH /api/v1/customers/{id}/": {"positive_data_acceptance": VAT_NUMBER},
    "GET /api/v1/contracts/{id}/time-entries/": {"negative_data_rejection": UNNAMED_QUERY},
    "GET /api/v1/contracts/{id}/top-ups/": {"negative_data_rejection": UNNAMED_QUERY},
    "GET /api/v1/invoices/{id}/pdf/": {"negative_data_rejection": UNNAMED_QUERY},
    "GET /api/v1/credit-notes/{id}/pdf/": {"negative_data_rejection": UNNAMED_QUERY},
    "PUT /api/v1/resale-prices/": {
        "positive_data_acceptance": "a public price takes no value; a markup or fixed one needs one"
    },
    "POST /api/v1/webhook-endpoints/": {"positive_data_acceptance": WEBHOOK_TARGET},
    "PATCH /api/v1/webhook-endpoints/{id}/": {"positive_data_acceptance": WEBHOOK_TARGET},
    "GET /api/v1/customers/": {"positive_data_acceptance": SYNC_WALK},
    "GET /api/v1/subscriptions/": {"positive_data_acceptance": SYNC_WALK},
    "GET /api/v1/orders/": {"positive_data_acceptance": SYNC_WALK},
    "GET /api/v1/invoices/": {"positive_data_acceptance": SYNC_WALK},
    "GET /api/v1/credit-notes/": {"positive_data_acceptance": SYNC_WALK},
    "POST /api/v1/alert-profiles/": {"positive_data_acceptance": UNIQUE_NAME},
    "PATCH /api/v1/alert-profiles/{id}/": {"positive_data_acceptance": UNIQUE_NAME},
    "POST /api/v1/sla-policies/": {"positive_data_acceptance": UNIQUE_NAME},
    "PATCH /api/v1/sla-policies/{id}/": {"positive_data_acceptance": UNIQUE_NAME},
    "POST /api/v1/offer-templates/": {"positive_data_acceptance": UNIQUE_NAME},
    "PATCH /api/v1/offer-templates/{id}/": {"positive_data_acceptance": UNIQUE_NAME},
    "POST /api/v1/offer-templates/{id}/items/": {
        "positive_data_acceptance": "a product is in a template once"
    },
    "POST /api/v1/tenders/{id}/proposals/": {
        "positive_data_acceptance": "a partner answers a tender once"
    },
    "POST /api/v1/customers/": {
        "positive_data_acceptance": "a contract's amounts depend on its type, its end on its "
        f"start; {VAT_NUMBER}"
    },
    "POST /api/v1/customers/{id}/contracts/": {
        "positive_data_acceptance": "a contract's amounts depend on its type, its end on its start"
    },
    "POST /api/v1/contracts/{id}/time-entries/": {
        "positive_data_acceptance": "the day falls within the contract's dates, on a type that "
        "bills time"
    },
    "POST /api/v1/contracts/{id}/top-ups/": {
        "positive_data_acceptance": "only a block is topped up, hours for a block of hours only, "
        "this month or later"
    },
    "DELETE /api/v1/contracts/{id}/time-entries/{entry_id}/": {
        "positive_data_acceptance": "a time entry of a month already billed stays"
    },
    "POST /api/v1/customers/import/": {
        "positive_data_acceptance": "the file must be CSV text, which no schema says of bytes"
    },
    "PUT /api/v1/organization/branding/logo/": {
        "positive_data_acceptance": "the file must be a PNG, JPEG or WebP image"
    },
    "POST /api/v1/members/": {
        "positive_data_acceptance": "the roles of an organization depend on its kind"
    },
    "PATCH /api/v1/members/{id}/": {
        "positive_data_acceptance": "the roles of an organization depend on its kind"
    },
    "GET /api/v1/mrr/movements/": {
        "positive_data_acceptance": "the month must not be after today's"
    },
    "GET /api/v1/provider/mrr/": {
        "positive_data_acceptance": "the month must be one of the `months` shown"
    },
    "PATCH /api/v1/customers/{id}/contracts/{contract_id}/": {
        "positive_data_acceptance": "a contract's amounts depend on its type, its end on its start"
    },
    "PATCH /api/v1/customers/{id}/contacts/{contact_id}/": {
        "positive_data_acceptance": "the primary contact stays until another one is primary"
    },
    "DELETE /api/v1/customers/{id}/contacts/{contact_id}/": {
        "positive_data_acceptance": "the primary contact stays until another one is primary"
    },
    "POST /api/v1/offers/": {
        "positive_data_acceptance": "customer and customers exclude each other"
    },
    "POST /api/v1/orders/": {
        "positive_data_acceptance": "each product once, for a customer a partner names"
    },
    "POST /api/v1/quotes/": {
        "positive_data_acceptance": "each product once, for a customer a partner names"
    },
    "POST /api/v1/subscriptions/": {
        "positive_data_acceptance": "a partner names the customer; the end is not before today; "
        "the caller needs the buyer flag and a product with a price in the customer's currency"
    },
    "PATCH /api/v1/subscriptions/{id}/": {
        "positive_data_acceptance": "a quantity only above the current one, by a buyer; "
        "the end from today on, not with a quantity"
    },
    "DELETE /api/v1/subscriptions/{id}/": {
        "positive_data_acceptance": "a buyer ends a live subscription once"
    },
    "PATCH /api/v1/organization/": {
        "positive_data_acceptance": "JSON Schema's `uri` takes URLs Django's validator "
        f"refuses; {VAT_NUMBER}"
    },
    "PUT /api/v1/organization/branding/": {
        "positive_data_acceptance": "JSON Schema's `uri` takes URLs Django's validator refuses"
    },
    "POST /api/v1/partnerships/": {"positive_data_acceptance": GRANT},
    "PATCH /api/v1/partnerships/{id}/": {"positive_data_acceptance": GRANT},
    "POST /api/v1/partnerships/{id}/accept/": {"positive_data_acceptance": GRANT},
    "POST /api/v1/tenders/": {
        "positive_data_acceptance": "a tender is valid from today to a year from now"
    },
    "POST /api/v1/smart-lists/": {
        "positive_data_acceptance": "the saved-list service checks its filters beyond their shape"
    },
    "PATCH /api/v1/smart-lists/{id}/": {
        "positive_data_acceptance": "the saved-list service checks its filters beyond their shape"
    },
}


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_api(case, world: World, db):
    """One generated request, sent as each role in turn."""
    _aim(case, world.pools)
    # The token replaces any generated Authorization (`ignored_auth` sends the
    # request without one and with a wrong one); reading `meta` after the edits
    # judges the case anew, so a generated bad id replaced by a real one counts
    # as the valid request it now is.
    headers = CaseInsensitiveDict(case.headers or {})
    headers.update(world.identities[0].headers)
    case.headers = headers
    phase = case.meta.phase.name.value if case.meta is not None else "examples"
    excluded = EXCLUDED.get(case.operation.label, {})
    checks = [check for check in ALL_CHECKS if check.__name__ not in excluded]
    for identity in world.identities:
        case.headers.update(identity.headers)
        CALLS[identity.role, case.operation.label, phase] += 1
        try:
            case.call_and_validate(headers=identity.headers, checks=checks)
        except FailureGroup as group:
            role = identity.role.replace("_", " ")
            raise FailureGroup(list(group.exceptions), f"{group.message} (as the {role})") from None
