"""One load per request (issue 19, item 6; docs/architecture.md): every
endpoint and page of a customer resolves it once through the permission
function (partners.selectors.customer_get_for_partner) and hands it to the
service, which locks its row by pk and checks again only what may have changed
since (partners.services.customer_lock: the grant, the assignment). Each
request's SQL statements are pinned here, so a second load or a reload shows.

Statements are counted without the SAVEPOINT/RELEASE lines of atomic blocks: in
a test every block nests in the test's transaction, in production the outer one
is the connection's own BEGIN/COMMIT."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import scoping
from customers import services
from customers.models import Contract, ServiceProfile
from partners import selectors as partner_selectors
from partners import services as partner_services
from partners.models import CustomerAssignment, Partnership
from tenants.models import Contact, Tenant
from tenants.selectors import org_context_for
from tests.clock import on
from tests.spies import calls_in, calls_of

# Contracts here start on START (1 January 2027): the tests are about one not yet
# started, so they run on a day before it, also in the calendar pass.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(on(2026, 12, 7))]

CUSTOMERS = "/api/v1/customers/"
START = datetime.date(2027, 1, 1)
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def statements(captured: CaptureQueriesContext) -> int:
    return sum(1 for query in captured.captured_queries if not query["sql"].startswith(SAVEPOINTS))


@pytest.fixture
def neu(world) -> dict:
    """An unclaimed customer of Alpine IT with a primary contact (Anna), another
    contact (Bruno), a contract, and the partner's SLA policy."""
    org = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    customer = services.customer_onboard(
        org=org,
        name="Neu AG",
        contract={"type": "retainer", "name": "Care", "starts_on": START, "fee": Decimal("450")},
        primary_contact={"first_name": "Anna", "last_name": "Muster"},
    ).customer
    bruno = services.contact_add(org=org, customer=customer, first_name="Bruno", last_name="K")
    gold = services.sla_policy_save(
        org=org, data={"name": "Gold", "first_response_minutes": 30, "resolution_minutes": 240}
    )
    return {
        "customer": customer,
        "bruno": bruno.pk,
        "care": Contract.unscoped.get(customer=customer).pk,
        "gold": gold.pk,
        "collaborator": world.collaborator.pk,
    }


def _fill(value, ids: dict):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


def _ids(neu: dict) -> dict:
    return {**neu, "c": neu["customer"].pk}


def _measured(send) -> tuple:
    """(response, statements, loads through the permission function, permission
    queries built) of one request."""
    with (
        calls_of(partner_selectors, "customer_get_for_partner") as loads,
        calls_of(partner_selectors, "customers_visible_to") as checks,
        calls_in(scoping, "managed_condition") as subscription_checks,
        CaptureQueriesContext(connection) as captured,
    ):
        response = send()
    checks_built = len(checks) + len(subscription_checks)  # a subscription's narrows by grant
    return response, statements(captured), len(loads), checks_built


# name: (method, path under customers/{c}/, body, status, statements). Before
# issue 19's item 6 every write loaded the customer twice (PATCH of the customer:
# three times) and the statements were: update 12, contacts 6, contact add 11,
# contact made primary 12, contracts 6, service profile 9, collaborators 6,
# owner invited 25; the others as now. An update validates the one-provider
# constraint (issue 22: Django evaluates its condition, kind = provider, in one
# SELECT): 10 → 11, the profile page's POST 9 → 10. Issue 23: the update's
# customer.updated event is one INSERT into the webhook outbox (11 → 12, the
# page's POST 10 → 11), the owner's invitation's partnership.invited one
# (23 → 24). Issue 26: a contract's billing terms are versioned (one INSERT
# when added, DELETE + INSERT when the terms of one not yet started change), and
# removing one removes its terms, time entries and top-ups (8 → 11). A list or
# page of contracts reads their terms, time entries and top-ups (a block's
# balance, the terms' versions) in three more queries however many contracts
# (contracts 5 → 8, the customer page 15 → 18, the contract's page 7 → 10); a
# contract in an answer reads its terms (add 10 → 11, update 9 → 10). Issue 26's
# payment terms: an update validates their range constraint in one SELECT (12 →
# 13, the profile page's POST 11 → 12).
# Issue 27: a write to the customer marks it pending for the partners' books
# (subscriptions.books): one INSERT (update 13 → 14, collaborators set 14 →
# 15, owner invited 24 → 25; the pages' profile POST 12 → 13, collaborators
# set 14 → 15).
API = {
    "retrieve": ("get", "", None, 200, 5),
    "update": ("patch", "", {"city": "Bern", "rank": "A"}, 200, 14),
    "update refused": ("patch", "", {"country": "CHE"}, 400, 5),
    "contacts": ("get", "contacts/", None, 200, 5),
    "contact add": ("post", "contacts/", {"first_name": "Carla", "last_name": "C"}, 201, 10),
    "contact update": ("patch", "contacts/{bruno}/", {"phone": "+41 44 000 00 00"}, 200, 9),
    "contact made primary": ("patch", "contacts/{bruno}/", {"is_primary": True}, 200, 11),
    "contact removed": ("delete", "contacts/{bruno}/", None, 204, 9),
    "contracts": ("get", "contracts/", None, 200, 8),
    "contract add": (
        "post",
        "contracts/",
        {"type": "hourly", "name": "Hours", "starts_on": "2027-02-01", "hourly_rate": "150"},
        201,
        11,
    ),
    "contract update": ("patch", "contracts/{care}/", {"name": "Care+"}, 200, 10),
    "contract removed": ("delete", "contracts/{care}/", None, 204, 11),
    "service profile": ("get", "service-profile/", None, 200, 5),
    "service profile set": (
        "put",
        "service-profile/",
        {"sla": "{gold}", "alert_profile": None},
        200,
        9,
    ),
    "collaborators": ("get", "collaborators/", None, 200, 5),
    "collaborators set": ("put", "collaborators/", {"users": ["{collaborator}"]}, 200, 15),
    "owner invited": ("post", "invite-owner/", {"email": "chef@neu.test"}, 200, 25),
}


@pytest.mark.parametrize("name", list(API))
def test_each_customer_endpoint_loads_the_customer_once(world, api, neu, name):
    method, path, body, status, expected = API[name]
    client = api(world.partner_owner, world.partner)
    client.get(CUSTOMERS)  # the session, warm
    url = f"{CUSTOMERS}{neu['customer'].pk}/{_fill(path, _ids(neu))}"
    send = getattr(client, method)
    body = _fill(body, _ids(neu))

    response, count, loads, checks = _measured(
        lambda: send(url, body, format="json") if body is not None else send(url)
    )

    assert response.status_code == status, response.content
    assert (loads, checks) == (1, 1)
    assert count == expected


# name: (url name, the URL's ids after the customer, POST data or None for a
# GET, status, statements). Before, every POST loaded the customer twice, and a
# refused profile took 16 statements; a write that now locks the customer (or
# the contract) and checks the grant again took one statement less with its
# second, unlocked permission query: service profile, contract add, update and
# removed, contact removed, collaborators set.
PAGES = {
    "page": ("customer_detail", (), None, 200, 18),
    "profile": (
        "customer_detail",
        (),
        {"action": "profile", "name": "Neu AG", "city": "Zug"},
        302,
        13,
    ),
    "profile refused": (
        "customer_detail",
        (),
        {"action": "profile", "name": "Neu AG", "country": "CHE"},
        400,
        18,
    ),
    "service profile": (
        "customer_detail",
        (),
        {"action": "service_profile", "sla": "{gold}", "alert_profile": ""},
        302,
        9,
    ),
    "contact add": (
        "customer_detail",
        (),
        {"action": "contact_add", "new-contact-first_name": "C", "new-contact-last_name": "D"},
        302,
        10,
    ),
    "contract add": (
        "customer_detail",
        (),
        {
            "action": "contract_add",
            "new-contract-type": "retainer",
            "new-contract-name": "More",
            "new-contract-starts_on": "2027-02-01",
            "new-contract-fee": "5",
        },
        302,
        10,
    ),
    "contact made primary": ("customer_contact", ("bruno",), {"action": "make_primary"}, 302, 10),
    "contact removed": ("customer_contact", ("bruno",), {"action": "remove"}, 302, 9),
    "contract page": ("customer_contract", ("care",), None, 200, 10),
    "contract update": (
        "customer_contract",
        ("care",),
        {
            "action": "update",
            "type": "retainer",
            "name": "Care",
            "starts_on": "2027-01-01",
            "fee": "9",
        },
        302,
        11,
    ),
    "contract removed": ("customer_contract", ("care",), {"action": "remove"}, 302, 11),
    "collaborators page": ("customer_collaborators", (), None, 200, 9),
    "collaborators set": ("customer_collaborators", (), {"users": ["{collaborator}"]}, 302, 15),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_customer_page_loads_the_customer_once(world, browser, neu, name):
    url_name, more, data, status, expected = PAGES[name]
    client = browser(world.partner_owner)
    page = reverse("customer_detail", args=["alpine", neu["customer"].pk])
    client.get(page)  # the session, warm
    url = reverse(url_name, args=["alpine", neu["customer"].pk, *(neu[key] for key in more)])
    data = _fill(data, _ids(neu))

    response, count, loads, checks = _measured(
        lambda: client.post(url, data) if data is not None else client.get(url)
    )

    assert response.status_code == status
    # the page's subscription widget narrows the subscriptions to the customers seen
    assert (loads, checks) == (1, 2 if url_name == "customer_detail" and status != 302 else 1)
    assert count == expected


def _end_grant(customer: Tenant):
    def end(loaded):
        Partnership.unscoped.filter(customer=customer).update(status=Partnership.Status.ENDED)

    return end


def _records(customer: Tenant) -> tuple:
    customer.refresh_from_db()
    return (
        customer.city,
        sorted(Contact.unscoped.filter(customer=customer).values_list("first_name", "is_primary")),
        sorted(Contract.unscoped.filter(customer=customer).values_list("name", "hourly_rate")),
        list(ServiceProfile.unscoped.filter(customer=customer).values_list("sla_id", flat=True)),
        CustomerAssignment.unscoped.filter(customer=customer).count(),
    )


WRITES = [
    "update",
    "contact add",
    "contact update",
    "contact made primary",
    "contact removed",
    "contract add",
    "contract update",
    "contract removed",
    "service profile set",
    "collaborators set",
    "owner invited",
]


@pytest.mark.parametrize("name", WRITES)
def test_a_grant_ended_between_the_load_and_the_lock_writes_nothing(world, api, neu, name):
    """The service checks the grant again under the lock: ended after the view
    loaded the customer, it is the 404 of a missing customer, and nothing is written."""
    method, path, body, _status, _count = API[name]
    customer = neu["customer"]
    before = _records(customer)
    client = api(world.partner_owner, world.partner)
    url = f"{CUSTOMERS}{customer.pk}/{_fill(path, _ids(neu))}"
    send = getattr(client, method)
    body = _fill(body, _ids(neu))

    with calls_of(partner_selectors, "customer_get_for_partner", after=_end_grant(customer)):
        response = send(url, body, format="json") if body is not None else send(url)

    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "No such customer."}
    assert _records(customer) == before


@pytest.mark.parametrize("name", ["update", "contact add", "contract update"])
def test_a_collaborator_unassigned_between_the_load_and_the_lock_writes_nothing(
    world, api, neu, name
):
    method, path, body, _status, _count = API[name]
    customer = neu["customer"]
    admin = org_context_for(user=world.partner_admin, tenant_id=world.partner.id)
    partner_services.collaborators_set(
        org=admin, customer=customer, user_ids=[world.collaborator.pk]
    )
    before = _records(customer)
    client = api(world.collaborator, world.partner)
    url = f"{CUSTOMERS}{customer.pk}/{_fill(path, _ids(neu))}"

    def unassign(loaded):
        CustomerAssignment.unscoped.filter(customer=customer).delete()

    with calls_of(partner_selectors, "customer_get_for_partner", after=unassign):
        response = getattr(client, method)(url, _fill(body, _ids(neu)), format="json")

    assert response.status_code == 404, response.content
    assert _records(customer)[:4] == before[:4]


def test_a_page_write_after_the_grant_ended_is_a_404_and_writes_nothing(world, browser, neu):
    customer = neu["customer"]
    before = _records(customer)
    client = browser(world.partner_owner)
    url = reverse("customer_detail", args=["alpine", customer.pk])

    with calls_of(partner_selectors, "customer_get_for_partner", after=_end_grant(customer)):
        response = client.post(url, {"action": "profile", "name": "Neu AG", "city": "Zug"})

    assert response.status_code == 404
    assert _records(customer) == before
