"""The provider console (`/provider/`, issue 22): staff list the partners with
their MRR, status and programme and create one by inviting its owner; anyone
else gets a 404 on every page of it."""

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
    assert set(provider_urls(some, tender_id=some)) == {
        "/provider/partners/",
        "/provider/partners/new/",
        f"/provider/partners/{some}/status/",
        "/provider/mrr/",
        "/provider/audit/",
        "/provider/audit/export.csv",
        "/provider/tenders/",
        f"/provider/tenders/{some}/withdraw/",
    }


def test_partners_and_customers_get_404_on_every_provider_page(world, client):
    provider_member = UserFactory()  # of the provider organization, but not platform staff
    MembershipFactory(user=provider_member, tenant=world.provider, role=Role.ADMIN)
    outsiders = [
        world.partner_owner,
        world.partner_admin,
        world.sub_partner_owner,
        world.customer_owner,
        world.other_owner,
        provider_member,
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
    assert alpine["discount_percent"] == Decimal("20")
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
