"""Organization settings (API.md `organization/settings/`) and the subscriptions
switch: off, the organization's subscription API is absent; on, it is back as it was."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from partners.services import customer_add
from subscriptions.models import Subscription
from subscriptions.tests.ledger import open_ledger
from tenants import services
from tenants.selectors import org_context_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/organization/settings/"


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def test_members_read_the_settings(world, api):
    for user in (world.partner_owner, world.partner_admin, world.collaborator):
        response = api(user, world.partner).get(URL)
        assert response.status_code == 200
        assert response.json() == {"subscriptions_enabled": True}


@pytest.mark.parametrize("who", ["partner_admin", "collaborator"])
def test_only_the_owner_changes_them(world, api, who):
    response = api(getattr(world, who), world.partner).patch(
        URL, {"subscriptions_enabled": False}, format="json"
    )
    assert response.status_code == 403
    world.partner.refresh_from_db()
    assert world.partner.subscriptions_enabled is True


def test_the_service_refuses_a_non_owner(world):
    with pytest.raises(PermissionDenied):
        services.organization_settings_update(
            org=ctx(world.partner_admin, world.partner), subscriptions_enabled=False
        )


def test_patch_needs_a_boolean_and_touches_nothing_else(world, api):
    client = api(world.partner_owner, world.partner)
    # a PATCH naming nothing changes nothing; a non-boolean is a 400
    empty = client.patch(URL, {}, format="json")
    assert (empty.status_code, empty.json()) == (200, {"subscriptions_enabled": True})
    assert client.patch(URL, {"subscriptions_enabled": "maybe"}, format="json").status_code == 400
    response = client.patch(URL, {"subscriptions_enabled": False, "name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"subscriptions_enabled": False}
    world.partner.refresh_from_db()
    assert world.partner.subscriptions_enabled is False
    assert world.partner.name == "Alpine IT"
    world.other_partner.refresh_from_db()
    assert world.other_partner.subscriptions_enabled is True


def test_switching_off_hides_the_subscription_api_and_on_brings_it_back(world, api):
    # Given a customer of Alpine with a subscription live for a year
    owner = ctx(world.partner_owner, world.partner)
    customer = customer_add(org=owner, name="Switch Test AG").customer
    today = timezone.localdate()
    open_ledger(  # MRR reads the ledger
        Subscription.unscoped.create(
            customer=customer,
            product=ProductFactory(),
            quantity=3,
            unit_price=Decimal("10.00"),
            currency="CHF",
            billing_period="monthly",
            starts_on=today - datetime.timedelta(days=400),
        )
    )
    month = today.strftime("%Y-%m")
    urls = [
        "/api/v1/mrr/",
        f"/api/v1/mrr/movements/?month={month}",
        f"/api/v1/customers/{customer.id}/mrr/",
        "/api/v1/subscriptions/",
    ]
    client = api(world.partner_owner, world.partner)
    before = {url: client.get(url).json() for url in urls}
    assert before["/api/v1/mrr/"]["current_mrr"] == "30.00"
    other = api(world.other_owner, world.other_partner)

    # When the owner switches subscriptions off
    assert client.patch(URL, {"subscriptions_enabled": False}, format="json").status_code == 200

    # Then every subscription endpoint is a 404 for Alpine's users, not for others
    for user in (world.partner_owner, world.partner_admin, world.collaborator):
        for url in urls:
            assert api(user, world.partner).get(url).status_code == 404, url
    assert other.get("/api/v1/mrr/").status_code == 200
    assert Subscription.unscoped.filter(customer=customer).count() == 1

    # And switching on again answers exactly as before
    assert client.patch(URL, {"subscriptions_enabled": True}, format="json").status_code == 200
    assert {url: client.get(url).json() for url in urls} == before
