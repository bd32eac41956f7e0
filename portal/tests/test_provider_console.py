"""The provider console (`/provider/`, issue 22): the provider's staff list the
partners with their MRR, status and programme, create one by inviting its
owner, set its discount in % and move it in the tree after a preview; the
provider's collaborators read, its owners and admins (and platform staff)
write; anyone else gets a 404 on every page of it."""

import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import URLPattern, get_resolver, reverse

from tenants.models import AuditEvent, Membership, Role, Tenant, User
from tenants.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def provider_urls(partner_id=None, **ids) -> list[str]:
    """Every /provider/ URL, a partner's id where the pattern takes one (and any
    other id it takes from `ids`, else a new one)."""
    ids["partner_id"] = partner_id or uuid.uuid4()
    return [
        reverse(
            p.name,
            kwargs={name: ids.get(name) or uuid.uuid4() for name in p.pattern.converters},
        )
        for p in get_resolver().url_patterns
        if isinstance(p, URLPattern) and str(p.pattern).startswith("provider/")
    ]


def test_the_console_has_pages():
    some = uuid.uuid4()
    assert set(provider_urls(some, product_id=some, tender_id=some)) == {
        "/provider/partners/",
        "/provider/partners/new/",
        f"/provider/partners/{some}/status/",
        "/provider/catalog/",
        "/provider/catalog/new/",
        f"/provider/catalog/{some}/",
        f"/provider/catalog/{some}/status/",
        f"/provider/partners/{some}/",
        f"/provider/partners/{some}/discount/",
        f"/provider/partners/{some}/move/",
        f"/provider/partners/{some}/payment-terms/",
        "/provider/mrr/",
        "/provider/invoicing/",
        "/provider/audit/",
        "/provider/audit/export.csv",
        "/provider/tenders/",
        f"/provider/tenders/{some}/withdraw/",
    }


def test_partners_and_customers_get_404_on_every_provider_page(world, client):
    outsiders = [
        world.partner_owner,
        world.partner_admin,
        world.sub_partner_owner,
        world.customer_owner,
        world.other_owner,
        world.customer_admin,
        world.customer_user,
        world.collaborator,
    ]
    partners_before = Tenant.objects.filter(kind=Tenant.Kind.PARTNER).count()
    for user in outsiders:
        client.force_login(user)
        for url in provider_urls(world.sub_partner.pk):
            assert client.get(url).status_code == 404, (user, url)
            body = {
                "name": "Sneaky",
                "owner_email": "sneaky@example.test",
                "currency": "CHF",
                "status": "suspended",
            }
            assert client.post(url, body).status_code == 404, (user, url)
    assert Tenant.objects.filter(kind=Tenant.Kind.PARTNER).count() == partners_before
    assert not Tenant.objects.filter(status=Tenant.Status.SUSPENDED).exists()
    client.logout()
    for url in provider_urls(world.sub_partner.pk):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_staff_list_partners_with_mrr_status_and_programme(world, browser):
    world.other_partner.status = Tenant.Status.SUSPENDED
    world.other_partner.save()
    client = browser(world.staff)
    page = client.get("/provider/partners/")
    assert page.status_code == 200
    rows = {row["partner"].name: row for row in page.context["rows"]}
    assert set(rows) == set(
        Tenant.objects.filter(kind=Tenant.Kind.PARTNER).values_list("name", flat=True)
    )
    alpine = rows[world.partner.name]
    assert alpine["currency"] == world.partner.currency and isinstance(alpine["mrr"], Decimal)
    assert alpine["discount_percent"] == "20"
    assert "qualifies" in alpine["programme"]
    html = page.content.decode()
    assert "Suspended" in html and "20 %" in html

    suspended = client.get("/provider/partners/?status=suspended").context["rows"]
    assert [r["partner"] for r in suspended] == [world.other_partner]
    found = client.get("/provider/partners/", {"q": world.sub_partner.name}).context["rows"]
    assert [r["partner"] for r in found] == [world.sub_partner]


def test_staff_create_a_partner_by_inviting_its_owner(
    world, browser, django_capture_on_commit_callbacks
):
    client = browser(world.staff)
    assert client.get("/provider/partners/new/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/provider/partners/new/",
            {
                "name": "Ticino Cloud",
                "owner_email": "Boss@Ticino.test",
                "currency": "EUR",
                "parent": str(world.partner.pk),
                "discount_rate": "25",
            },
        )
    assert response.status_code == 302 and response["Location"] == "/provider/partners/"
    partner = Tenant.objects.get(name="Ticino Cloud")
    assert (partner.kind, partner.parent, partner.currency) == (
        Tenant.Kind.PARTNER,
        world.partner,
        "EUR",
    )
    assert partner.discount_rate == Decimal("0.2500")
    owner = User.objects.get(email="boss@ticino.test")
    assert not owner.has_usable_password()
    assert Membership.unscoped.get(user=owner, tenant=partner).role == Role.OWNER
    (invitation,) = [m for m in mail.outbox if m.to == ["boss@ticino.test"]]
    assert "/accounts/password/reset/key/" in invitation.body
    listing = client.get(response["Location"]).content.decode()
    assert "Ticino Cloud" in listing and "boss@ticino.test" in listing  # the message


@pytest.mark.parametrize(
    "change, field",
    [
        ({"owner_email": "not-an-address"}, "owner_email"),
        ({"discount_rate": "40"}, "discount_rate"),
        ({"currency": "USD"}, "currency"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_400_with_the_fields_error_and_nothing_written(
    world, browser, change, field
):
    client = browser(world.staff)
    before = Tenant.objects.count(), User.objects.count()
    body = {"name": "Ticino Cloud", "owner_email": "boss@ticino.test", "currency": "CHF"}
    body["discount_rate"] = "20"
    response = client.post("/provider/partners/new/", {**body, **change})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert (Tenant.objects.count(), User.objects.count()) == before


def test_before_setup_platform_staff_see_what_to_run(client):
    client.force_login(UserFactory(is_staff=True))
    for url in provider_urls():
        response = client.post(url) if url.endswith("/status/") else client.get(url)
        assert response.status_code == 409
        assert b"setup_platform --name" in response.content


def test_staff_suspend_and_reactivate_a_partner(world, browser, api):
    client = browser(world.staff)
    url = f"/provider/partners/{world.partner.pk}/status/"
    response = client.post(url, {"status": "suspended"})
    assert response.status_code == 302
    world.partner.refresh_from_db()
    assert world.partner.status == Tenant.Status.SUSPENDED
    assert AuditEvent.unscoped.filter(
        tenant=world.partner, action=AuditEvent.Action.TENANT_SUSPENDED
    ).exists()
    # its members stop at once (403), as with the API's PATCH partners/{id}/
    assert api(world.partner_owner, world.partner).get("/api/v1/organization/").status_code == 403
    listing = client.get("/provider/partners/").content.decode()
    assert "is suspended" in listing and "Reactivate" in listing

    assert client.post(url, {"status": "active"}).status_code == 302
    world.partner.refresh_from_db()
    assert world.partner.status == Tenant.Status.ACTIVE
    assert api(world.partner_owner, world.partner).get("/api/v1/organization/").status_code == 200

    bad = client.post(url, {"status": "deleted"})
    assert bad.status_code == 400 and "Choose active or suspended." in bad.content.decode()
    missing = client.post(f"/provider/partners/{uuid.uuid4()}/status/", {"status": "suspended"})
    assert missing.status_code == 404
    customer = client.post(
        f"/provider/partners/{world.customer.pk}/status/", {"status": "suspended"}
    )
    assert customer.status_code == 404  # a customer is no partner here
    world.customer.refresh_from_db()
    assert world.customer.status == Tenant.Status.ACTIVE


def _provider_member(world, role):
    user = UserFactory()  # of the provider organization, not platform staff
    MembershipFactory(user=user, tenant=world.provider, role=role)
    return user


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.COLLABORATOR])
def test_the_providers_members_read_every_page(world, client, role):
    client.force_login(_provider_member(world, role))
    partner = world.sub_partner.pk
    for url in [
        "/provider/partners/",
        f"/provider/partners/{partner}/",
        f"/provider/partners/{partner}/move/",
        f"/provider/partners/{partner}/move/?preview=1&parent=",
    ]:
        assert client.get(url).status_code == 200, url
    assert "Provider console" in client.get("/profile/").content.decode()  # the menu links it


def test_the_providers_collaborators_change_nothing(world, client):
    client.force_login(_provider_member(world, Role.COLLABORATOR))
    partner = world.sub_partner
    listing = client.get("/provider/partners/").content.decode()
    assert "Invite a partner" not in listing and "/status/" not in listing
    page = client.get(f"/provider/partners/{partner.pk}/").content.decode()
    assert "Save the discount" not in page and "/status/" not in page
    preview = client.get(f"/provider/partners/{partner.pk}/move/?preview=1&parent=")
    assert preview.context["preview"] is not None
    assert "Confirm the move" not in preview.content.decode()
    writes = {
        "/provider/partners/new/": {
            "name": "x",
            "owner_email": "x@example.test",
            "currency": "CHF",
        },
        f"/provider/partners/{partner.pk}/status/": {"status": "suspended"},
        f"/provider/partners/{partner.pk}/discount/": {"discount_rate": "30"},
        f"/provider/partners/{partner.pk}/move/": {
            "parent": "",
            "expected": preview.context["preview"].plan.digest,
        },
    }
    for url, body in writes.items():
        assert client.post(url, body).status_code == 403, url
    partner.refresh_from_db()
    assert (partner.status, partner.discount_rate, partner.parent) == (
        Tenant.Status.ACTIVE,
        Decimal("0.2000"),
        world.partner,
    )
    assert not AuditEvent.unscoped.exists()


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_the_providers_owners_and_admins_write(
    world, client, role, django_capture_on_commit_callbacks
):
    user = _provider_member(world, role)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/provider/partners/new/",
            {
                "name": "Ticino Cloud",
                "owner_email": "boss@ticino.test",
                "currency": "CHF",
                "discount_rate": "20",
            },
        )
    assert created.status_code == 302
    partner = Tenant.objects.get(name="Ticino Cloud")
    url = f"/provider/partners/{partner.pk}/discount/"
    assert client.post(url, {"discount_rate": "22.5"}).status_code == 302
    partner.refresh_from_db()
    assert partner.discount_rate == Decimal("0.2250")
    event = AuditEvent.unscoped.get(
        tenant=partner, action=AuditEvent.Action.PARTNER_DISCOUNT_CHANGED
    )
    assert event.actor == user


def test_the_partner_page_edits_the_discount_in_percent(world, browser, api):
    client = browser(world.staff)
    partner = world.partner
    page = client.get(f"/provider/partners/{partner.pk}/")
    assert page.status_code == 200
    assert page.context["sub_partners_count"] == 1
    assert [child for child, _percent in page.context["children"]] == [world.sub_partner]
    assert page.context["customers_count"] == 0  # the world grants nothing yet
    html = page.content.decode()
    assert 'name="discount_rate" value="20"' in html and "Lakeside" in html

    url = f"/provider/partners/{partner.pk}/discount/"
    response = client.post(url, {"discount_rate": "27.5"})
    assert (
        response.status_code == 302 and response["Location"] == f"/provider/partners/{partner.pk}/"
    )
    partner.refresh_from_db()
    assert partner.discount_rate == Decimal("0.2750")
    assert "27.5 %" in client.get(response["Location"]).content.decode()
    events = AuditEvent.unscoped.filter(action=AuditEvent.Action.PARTNER_DISCOUNT_CHANGED)
    assert {e.tenant for e in events} == {partner, world.provider}
    event = events.get(tenant=partner)
    assert event.details["before"] == {"discount_rate": "0.2000"}
    assert event.details["after"] == {"discount_rate": "0.2750"}
    # the same service as the API's PATCH partners/{id}/: audited there too
    assert (
        api(world.staff)
        .patch(f"/api/v1/partners/{partner.pk}/", {"discount_rate": "0.3"}, format="json")
        .status_code
        == 200
    )
    assert events.filter(tenant=partner).count() == 2

    for bad in ("40", "-1", "abc", ""):
        refused = client.post(url, {"discount_rate": bad})
        assert refused.status_code == 400 and "discount_rate" in refused.context["form"].errors
    partner.refresh_from_db()
    assert partner.discount_rate == Decimal("0.3000")
    assert client.get(f"/provider/partners/{world.customer.pk}/").status_code == 404
    assert client.get(f"/provider/partners/{uuid.uuid4()}/").status_code == 404


def test_a_move_is_previewed_then_confirmed(world, browser):
    client = browser(world.staff)
    lakeside = world.sub_partner
    url = f"/provider/partners/{lakeside.pk}/move/"
    assert client.get(url).context["preview"] is None
    preview = client.get(url, {"preview": "1", "parent": str(world.other_partner.pk)})
    assert preview.status_code == 200
    plan = preview.context["preview"].plan
    assert (plan.old_parent, plan.new_parent) == (world.partner, world.other_partner)
    html = preview.content.decode()
    assert "Alpine IT" in html and "Confirm the move" in html
    lakeside.refresh_from_db()
    assert lakeside.parent == world.partner  # a preview moves nothing

    done = client.post(url, {"parent": str(world.other_partner.pk), "expected": plan.digest})
    assert done.status_code == 302 and done["Location"] == f"/provider/partners/{lakeside.pk}/"
    lakeside.refresh_from_db()
    assert lakeside.parent == world.other_partner
    assert "now hangs under Rhein Cloud" in client.get(done["Location"]).content.decode()
    assert AuditEvent.unscoped.filter(
        tenant=lakeside, action=AuditEvent.Action.PARTNER_MOVED
    ).exists()

    stale = client.post(url, {"parent": "", "expected": plan.digest})  # another preview's
    assert stale.status_code == 409 and stale.context["preview"].plan.new_parent == world.provider
    lakeside.refresh_from_db()
    assert lakeside.parent == world.other_partner


def test_a_move_into_its_own_branch_or_under_a_suspended_partner_is_a_form_error(world, browser):
    client = browser(world.staff)
    world.other_partner.status = Tenant.Status.SUSPENDED
    world.other_partner.save()
    url = f"/provider/partners/{world.partner.pk}/move/"
    for target, words in [
        (world.sub_partner, "one of its own sub-partners"),
        (world.other_partner, "is suspended"),
    ]:
        preview = client.get(url, {"preview": "1", "parent": str(target.pk)})
        assert preview.status_code == 400 and words in str(preview.context["form"].errors)
        confirm = client.post(url, {"parent": str(target.pk), "expected": "whatever"})
        assert confirm.status_code == 400 and words in str(confirm.context["form"].errors)
    world.partner.refresh_from_db()
    assert world.partner.parent == world.provider
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.PARTNER_MOVED).exists()
