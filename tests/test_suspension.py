"""Issue 21, reproduction 2: a suspended organization keeps no access (SPEC §2,
§3). Its API tokens get 403 on every request and its members on every page and
API call made in it, with a message that says why; its customers keep their own
access; staff still act in it; suspending and reinstating (the API's
`PATCH partners/{id}/`, the Django admin) are audited in the organization's log
and the provider's; reinstating restores access at once.

The check lives in one place per entrance (tenants.web.OrgViewMixin,
tenants.api_base.OrgScopedMixin, tenants.authentication): the route sweep at the
end requests every page of the organization and every API URL and finds no way
round it."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import Order
from catalog.tests.factories import ProductFactory
from partners import services as partner_services
from tenants.models import ApiToken, AuditEvent, Tenant
from tenants.selectors import org_context_for
from tenants.services import api_token_create
from tenants.tests.factories import PASSWORD
from tests.matrix import project_routes

pytestmark = pytest.mark.django_db

SUSPENDED = "is suspended"


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def alpine(world):
    """Alpine IT manages Bäckerei Müller (full access, the customer pays) and
    has an API token of its owner, a buyer; Müller has one of its own."""
    invited = partner_services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    partner_services.partnership_accept(
        org=org(world.partner_owner, world.partner), partnership=invited
    )
    _token, raw = api_token_create(org=org(world.partner_owner, world.partner), name="sync")
    _token, customer_raw = api_token_create(
        org=org(world.customer_owner, world.customer), name="own"
    )
    product = ProductFactory(code="backup-standard", prices={"CHF": "10.00", "EUR": "9.00"})
    return {"raw": raw, "customer_raw": customer_raw, "product": product}


def order_body(world, product) -> dict:
    return {
        "customer": str(world.customer.pk),
        "lines": [{"product": product.code, "quantity": 7}],
    }


def set_status(api, world, status: str):
    response = api(world.staff).patch(
        f"/api/v1/partners/{world.partner.pk}/", {"status": status}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == status
    return response


def test_a_suspended_partner_is_refused_everywhere_its_customer_is_not_and_reinstating_restores_it(
    world, api, client, alpine
):
    token = bearer(alpine["raw"])
    # before: the token reads, orders and makes tokens (what the reproduction got through)
    assert token.get("/api/v1/organization/").status_code == 200

    set_status(api, world, Tenant.Status.SUSPENDED)

    # the token: 403 with the reason, on a read and on two writes, and nothing written
    for response in (
        token.get("/api/v1/organization/"),
        token.post("/api/v1/orders/", order_body(world, alpine["product"]), format="json"),
        token.post("/api/v1/tokens/", {"name": "persistence"}, format="json"),
    ):
        assert response.status_code == 403, response.content
        assert SUSPENDED in response.json()["detail"]
        assert "Alpine IT" in response.json()["detail"]
    assert not Order.unscoped.exists()
    assert ApiToken.unscoped.filter(tenant=world.partner).count() == 1
    # a member's session: the pages and the API in that organization
    client.force_login(world.partner_owner)
    page = client.get("/t/alpine/")
    assert page.status_code == 403
    assert SUSPENDED in page.content.decode() and "<h1>Access refused</h1>" in page.content.decode()
    assert client.get("/t/alpine/customers/").status_code == 403
    session_api = api(world.partner_admin, world.partner)
    refused = session_api.get("/api/v1/customers/")
    assert refused.status_code == 403 and SUSPENDED in refused.json()["detail"]
    # ... the member still signs in and reads their own account (me/ is not the organization's)
    assert api(world.partner_admin).get("/api/v1/me/").status_code == 200

    # the customer keeps its own access: it signs in, its pages, its token, its orders
    customer = client.__class__()
    signed_in = customer.post(
        "/accounts/login/", {"login": world.customer_owner.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert customer.get("/t/mueller/").status_code == 200
    assert bearer(alpine["customer_raw"]).get("/api/v1/organization/").status_code == 200
    own_order = api(world.customer_owner, world.customer).post(
        "/api/v1/orders/", order_body(world, alpine["product"]), format="json"
    )
    assert own_order.status_code == 201, own_order.content
    # staff still act in it (to look, and to reinstate it)
    staff = client.__class__()
    staff.force_login(world.staff)
    assert staff.get("/t/alpine/").status_code == 200

    set_status(api, world, Tenant.Status.ACTIVE)

    assert token.get("/api/v1/organization/").status_code == 200
    placed = token.post("/api/v1/orders/", order_body(world, alpine["product"]), format="json")
    assert placed.status_code == 201, placed.content
    assert client.get("/t/alpine/").status_code == 200
    assert session_api.get("/api/v1/customers/").status_code == 200

    # audited: in the partner's log and the provider's, by staff, before and after
    for tenant in (world.partner, world.provider):
        events = list(
            AuditEvent.unscoped.filter(
                tenant=tenant,
                action__in=[
                    AuditEvent.Action.TENANT_SUSPENDED,
                    AuditEvent.Action.TENANT_REINSTATED,
                ],
            ).order_by("at")
        )
        assert [e.action for e in events] == ["tenant.suspended", "tenant.reinstated"]
        assert {e.actor_email for e in events} == {world.staff.email}
        assert events[0].target == "Alpine IT"
        assert events[0].details["before"] == {"status": "active"}
        assert events[0].details["after"] == {"status": "suspended"}


def test_patch_partners_is_for_staff_and_partners_only(world, api):
    url = f"/api/v1/partners/{world.partner.pk}/"
    assert api(world.partner_owner).patch(url, {"status": "suspended"}).status_code == 403
    assert api().patch(url, {"status": "suspended"}).status_code in (401, 403)
    staff = api(world.staff)
    assert staff.patch(f"/api/v1/partners/{world.customer.pk}/", {}).status_code == 404
    assert staff.patch(f"/api/v1/partners/{uuid.uuid4()}/", {}).status_code == 404
    bad = staff.patch(url, {"status": "closed", "discount_rate": "0.9"})
    assert bad.status_code == 400
    assert set(bad.json()) == {"status", "discount_rate"}
    world.partner.refresh_from_db()
    assert world.partner.status == Tenant.Status.ACTIVE
    changed = staff.patch(url, {"discount_rate": "0.25"})
    assert changed.status_code == 200 and changed.json()["discount_rate"] == "0.2500"
    assert changed.json()["status"] == "active"
    # the status it already has: nothing to record
    set_status(api, world, Tenant.Status.ACTIVE)
    assert not AuditEvent.unscoped.filter(action__startswith="tenant.").exists()


def test_suspending_in_the_django_admin_is_audited_and_refuses_the_members(world, client):
    client.force_login(world.staff)
    change_url = reverse("admin:tenants_tenant_change", args=[world.partner.pk])
    page = client.get(change_url).context
    form = page["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name in form.fields
    }
    data.update(
        {
            "status": "suspended",
            "email_domains": "",  # one a line (issue 22), no longer JSON text
            "specialities": "",
            "discount_rate": "20",  # in percent (issue 22)
            "parent": str(world.provider.pk),
        }
    )
    for inline in page["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(change_url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.partner.refresh_from_db()
    assert world.partner.status == Tenant.Status.SUSPENDED
    event = AuditEvent.unscoped.get(tenant=world.partner, action="tenant.suspended")
    assert event.actor == world.staff

    member = client.__class__()
    member.force_login(world.partner_admin)
    assert member.get("/t/alpine/").status_code == 403

    # the list's action reinstates (also audited)
    changelist = reverse("admin:tenants_tenant_changelist")
    client.post(changelist, {"action": "reinstate", "_selected_action": [str(world.partner.pk)]})
    world.partner.refresh_from_db()
    assert world.partner.status == Tenant.Status.ACTIVE
    assert AuditEvent.unscoped.filter(tenant=world.partner, action="tenant.reinstated").exists()
    assert member.get("/t/alpine/").status_code == 200


def _url(route, slug: str | None) -> str:
    kwargs = {k: (slug if k == "slug" else str(uuid.uuid4())) for k in route.kwargs}
    return reverse(route.name, kwargs=kwargs)


def test_no_page_or_api_url_lets_a_suspended_organization_in(world, api, client, alpine):
    """Every page of `/t/<slug>/` answers the suspended organization's members
    403, whatever the ids in the URL, and every API URL its token, whatever it
    asks: the checks are the resolvers', not each view's.

    Last run: 66 pages x GET, POST and 83 API URLs x GET, POST, PATCH, DELETE:
    464 requests, 464 x 403."""
    world.partner.status = Tenant.Status.SUSPENDED
    world.partner.save()
    client.force_login(world.partner_owner)
    token = bearer(alpine["raw"])
    pages = [r for r in project_routes() if r.in_org and r.name]
    endpoints = [r for r in project_routes() if r.is_api and r.name]
    assert len(pages) > 50 and len(endpoints) > 50
    let_in = []
    for route in pages:
        url = _url(route, "alpine")
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if status != 403:
                let_in.append(f"{method.upper()} {url}: {status}")
    for route in endpoints:
        url = _url(route, None)
        for method in ("get", "post", "patch", "delete"):
            response = getattr(token, method)(url, {}, format="json")
            if response.status_code != 403 or SUSPENDED not in response.json()["detail"]:
                let_in.append(f"token {method.upper()} {url}: {response.status_code}")
    assert not let_in, "\n".join(let_in)
