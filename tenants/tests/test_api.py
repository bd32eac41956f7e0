"""The tenancy API: me, organization, branding, members, tokens, partners."""

import pytest
from django.core import mail

from tenants import selectors, services
from tenants.models import ApiToken, Membership, Role
from tenants.tests.factories import PASSWORD
from tests.isolation import missing_id

pytestmark = pytest.mark.django_db


def test_me_lists_memberships_and_the_current_tenant(world, api):
    services.member_invite(
        org=selectors.org_context_for(user=world.staff, tenant_id=world.customer.id),
        email=world.partner_owner.email,
        role=Role.USER,
    )
    body = api(world.partner_owner).get("/api/v1/me/").json()
    assert body["email"] == world.partner_owner.email
    assert {m["tenant"]["name"] for m in body["memberships"]} == {"Alpine IT", "Bäckerei Müller"}
    assert body["current_tenant"] is None  # two organizations, none named

    named = api(world.partner_owner, world.customer).get("/api/v1/me/").json()
    assert named["current_tenant"] == {
        "id": str(world.customer.id),
        "name": "Bäckerei Müller",
        "kind": "customer",
    }


def test_anonymous_requests_get_401_or_403(client):
    response = client.get("/api/v1/organization/")
    assert response.status_code in (401, 403)


def test_a_single_membership_needs_no_header_and_several_need_one(world, api):
    assert api(world.other_owner).get("/api/v1/organization/").json()["name"] == "Rhein Cloud"
    services.member_invite(
        org=selectors.org_context_for(user=world.staff, tenant_id=world.customer.id),
        email=world.other_owner.email,
        role=Role.USER,
    )
    response = api(world.other_owner).get("/api/v1/organization/")
    assert response.status_code == 400 and "X-Tenant" in response.json()


def test_a_foreign_tenant_in_the_header_is_the_same_404_as_a_missing_one(world, api):
    foreign = api(world.partner_owner, world.other_partner).get("/api/v1/organization/")
    client = api(world.partner_owner)
    client.credentials(HTTP_X_TENANT=missing_id())
    missing = client.get("/api/v1/organization/")
    client.credentials(HTTP_X_TENANT="not-a-uuid")
    garbage = client.get("/api/v1/organization/")
    assert foreign.status_code == missing.status_code == garbage.status_code == 404
    assert foreign.json() == missing.json() == garbage.json()


def test_organization_profile_read_by_members_changed_by_admins(world, api):
    body = api(world.partner_owner, world.partner).get("/api/v1/organization/").json()
    assert body["kind"] == "partner" and "listed_in_directory" in body
    customer_body = api(world.customer_user, world.customer).get("/api/v1/organization/").json()
    assert "listed_in_directory" not in customer_body

    refused = api(world.customer_user, world.customer).patch(
        "/api/v1/organization/", {"city": "Thun"}
    )
    assert refused.status_code == 403

    changed = api(world.partner_admin, world.partner).patch(
        "/api/v1/organization/",
        {"city": "Bern", "specialities": ["backup"], "listed_in_directory": True},
    )
    assert changed.status_code == 200
    assert changed.json()["city"] == "Bern" and changed.json()["listed_in_directory"] is True


@pytest.mark.parametrize(
    "payload",
    [
        {"country": "Switzerland"},
        {"email_domains": ["me@example.ch"]},
        {"website": "not a url"},
        {"name": ""},
        {"email_domains": "example.ch"},
    ],
)
def test_bad_organization_input_is_a_400_with_field_errors_and_writes_nothing(world, api, payload):
    response = api(world.customer_owner, world.customer).patch(
        "/api/v1/organization/", payload, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == set(payload)
    world.customer.refresh_from_db()
    assert world.customer.name == "Bäckerei Müller" and world.customer.country == ""


def test_the_read_only_identity_of_an_organization_cannot_be_patched(world, api):
    api(world.customer_owner, world.customer).patch(
        "/api/v1/organization/", {"kind": "partner", "currency": "EUR"}
    )
    world.customer.refresh_from_db()
    assert world.customer.kind == "customer" and world.customer.currency == "CHF"


def test_branding_is_stored_and_shows_effective_values(world, api):
    owner = api(world.partner_owner, world.partner)
    response = owner.put(
        "/api/v1/organization/branding/",
        {
            "display_name": "Alpine IT",
            "support_email": "help@alpine.test",
            "accent_color": "#0b7a53",
            "buy_url": "https://alpine.test/buy",
        },
    )
    assert response.status_code == 200
    customer_view = (
        api(world.customer_user, world.customer).get("/api/v1/organization/branding/").json()
    )
    assert customer_view["buy_url"] == ""
    assert customer_view["effective"]["buy_url"] == "https://alpine.test/buy"
    assert customer_view["effective"]["display_name"] == "Alpine IT"

    insecure = owner.put("/api/v1/organization/branding/", {"buy_url": "http://alpine.test/buy"})
    assert insecure.status_code == 400 and "buy_url" in insecure.json()
    bad_colour = owner.put("/api/v1/organization/branding/", {"accent_color": "green"})
    assert bad_colour.status_code == 400 and "accent_color" in bad_colour.json()
    assert (
        api(world.customer_user, world.customer)
        .put("/api/v1/organization/branding/", {})
        .status_code
        == 403
    )


def test_members_list_is_paginated_with_a_fixed_number_of_queries(
    world, api, django_assert_max_num_queries
):
    client = api(world.partner_owner, world.partner)
    client.get("/api/v1/members/")  # warm the session
    with django_assert_max_num_queries(6):
        first = client.get("/api/v1/members/").json()
    for n in range(20):
        Membership.unscoped.create(
            user=type(world.staff).objects.create_user(f"m{n}@example.test"),
            tenant=world.partner,
            role=Role.COLLABORATOR,
        )
    with django_assert_max_num_queries(6):
        second = client.get("/api/v1/members/?page_size=10").json()
    assert first["count"] == 3 and second["count"] == 23 and len(second["results"]) == 10
    assert second["next"] and set(second["results"][0]) == {
        "id",
        "user",
        "email",
        "role",
        "buyer",
        "created_at",
    }


def test_members_invite_change_remove_through_the_api(
    world, api, django_capture_on_commit_callbacks
):
    client = api(world.customer_owner, world.customer)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/members/", {"email": "new@example.test", "role": "user", "buyer": True}
        )
    assert created.status_code == 201
    member_id = created.json()["id"]
    assert created.json()["email"] == "new@example.test" and created.json()["buyer"] is True
    assert mail.outbox[-1].to == ["new@example.test"]

    changed = client.patch(
        f"/api/v1/members/{member_id}/", {"role": "admin", "buyer": False, "password": PASSWORD}
    )
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert client.delete(f"/api/v1/members/{member_id}/").status_code == 204
    assert not Membership.unscoped.filter(id=member_id).exists()


def test_member_rules_map_to_http_answers(world, api):
    owner_membership = Membership.unscoped.get(user=world.customer_owner, tenant=world.customer)
    admin = api(world.customer_admin, world.customer)
    assert (
        admin.patch(f"/api/v1/members/{owner_membership.id}/", {"role": "user"}).status_code == 403
    )
    assert (
        admin.post("/api/v1/members/", {"email": "x@example.test", "role": "owner"}).status_code
        == 403
    )
    bad = admin.post("/api/v1/members/", {"email": "not-an-email", "role": "collaborator"})
    assert bad.status_code == 400 and set(bad.json()) == {"email"}
    wrong_kind = admin.post("/api/v1/members/", {"email": "x@example.test", "role": "collaborator"})
    assert wrong_kind.status_code == 400
    last_owner = api(world.customer_owner, world.customer).delete(
        f"/api/v1/members/{owner_membership.id}/"
    )
    assert last_owner.status_code == 409
    assert api(world.customer_user, world.customer).get("/api/v1/members/").status_code == 403


def test_another_organizations_member_or_token_is_a_404_like_a_missing_id(world, api):
    foreign_member = Membership.unscoped.get(user=world.other_owner)
    foreign_token, _ = services.api_token_create(
        org=selectors.org_context_for(user=world.other_owner, tenant_id=world.other_partner.id),
        name="x",
    )
    client = api(world.partner_owner, world.partner)
    cases = [
        ("patch", f"/api/v1/members/{foreign_member.id}/"),
        ("patch", f"/api/v1/members/{missing_id()}/"),
        ("delete", f"/api/v1/members/{foreign_member.id}/"),
        ("delete", f"/api/v1/members/{missing_id()}/"),
        ("delete", f"/api/v1/tokens/{foreign_token.id}/"),
        ("delete", f"/api/v1/tokens/{missing_id()}/"),
    ]
    answers = {}
    for method, url in cases:
        response = getattr(client, method)(url, {"role": "admin"})
        assert response.status_code == 404, (method, url)
        answers.setdefault(url.split("/")[3], set()).add(response.content)
    assert all(len(bodies) == 1 for bodies in answers.values())  # foreign and missing read the same
    assert ApiToken.unscoped.get(pk=foreign_token.pk).revoked_at is None


def test_tokens_are_shown_once_then_authenticate_as_their_user_in_their_tenant(world, api):
    created = api(world.partner_admin, world.partner).post(
        "/api/v1/tokens/", {"name": "billing sync", "password": PASSWORD}
    )
    assert created.status_code == 201
    raw = created.json()["token"]
    listed = api(world.partner_admin, world.partner).get("/api/v1/tokens/").json()
    assert "token" not in listed["results"][0] and listed["results"][0]["prefix"] == raw[:10]

    bearer = api()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    me = bearer.get("/api/v1/me/").json()
    assert me["email"] == world.partner_admin.email and me["current_tenant"]["id"] == str(
        world.partner.id
    )
    assert bearer.get("/api/v1/organization/").json()["name"] == "Alpine IT"
    assert ApiToken.unscoped.get(prefix=raw[:10]).last_used_at is not None

    bearer.credentials(
        HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_TENANT=str(world.other_partner.id)
    )
    assert bearer.get("/api/v1/organization/").status_code == 404

    token_id = created.json()["id"]
    assert (
        api(world.partner_owner, world.partner).delete(f"/api/v1/tokens/{token_id}/").status_code
        == 204
    )
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/api/v1/organization/").status_code == 401
    bearer.credentials(HTTP_AUTHORIZATION="Bearer pp_made_up")
    assert bearer.get("/api/v1/me/").status_code == 401


def test_staff_create_partners_through_the_api(world, api):
    payload = {
        "name": "Ticino Cloud",
        "owner_email": "boss@ticino.test",
        "currency": "CHF",
        "parent": str(world.partner.id),
        "discount_rate": "0.30",
    }
    assert api(world.partner_owner).post("/api/v1/partners/", payload).status_code == 403
    response = api(world.staff).post("/api/v1/partners/", payload)
    assert response.status_code == 201
    assert (
        response.json()["parent"] == str(world.partner.id)
        and response.json()["discount_rate"] == "0.3000"
    )
    too_generous = api(world.staff).post("/api/v1/partners/", {**payload, "discount_rate": "0.5"})
    assert too_generous.status_code == 400 and "discount_rate" in too_generous.json()
    under_customer = api(world.staff).post(
        "/api/v1/partners/", {**payload, "parent": str(world.customer.id)}
    )
    assert under_customer.status_code == 400 and "parent" in under_customer.json()


def test_the_token_list_takes_a_fixed_number_of_queries(world, api, django_assert_max_num_queries):
    client = api(world.partner_owner, world.partner)
    owner = selectors.org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    services.api_token_create(org=owner, name="first")
    client.get("/api/v1/tokens/")
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/tokens/").json()["count"] == 1
    for n in range(15):
        services.api_token_create(org=owner, name=f"t{n}")
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/tokens/?ordering=-created_at").json()["count"] == 16
