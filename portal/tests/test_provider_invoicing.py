"""The provider console's part of invoices people can pay (docs/invoices.md):
the issuer's details on /provider/invoicing/ and a partner's payment terms on
its page; owners, admins and platform staff write, audited; collaborators read;
bad input changes nothing."""

import datetime
import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command

from billing.models import Invoice
from billing.services.orders import LineRequest, order_place
from billing.tests.conftest import grant, org
from catalog.tests.factories import ProductFactory
from tenants.models import AuditEvent, Role
from tenants.selectors import provider_root
from tenants.tests.factories import MembershipFactory, UserFactory
from tests.clock import on

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("vat_table")]


@pytest.fixture
def vat_table(db):
    """The seeded VAT table (a transactional test may have emptied it)."""
    importlib.import_module("billing.migrations.0007_vat_rates").seed_rates(apps, None)


def provider_member(world, role):
    user = UserFactory()
    MembershipFactory(user=user, tenant=world.provider, role=role)
    return user


def test_staff_set_the_issuers_details_and_they_are_audited(world, client):
    client.force_login(world.staff)
    page = client.get("/provider/invoicing/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "VAT rates in force today" in text and "8.1 %" in text and "19 %" in text
    response = client.post(
        "/provider/invoicing/",
        {
            "address": "Bahnhofstrasse 1",
            "postal_code": "8001",
            "city": "Zürich",
            "country": "ch",
            "vat_number": " CHE-123.456.788 MWST ",
        },
    )
    assert response.status_code == 302
    provider = provider_root()
    assert (provider.city, provider.country, provider.vat_number) == (
        "Zürich",
        "CH",
        "CHE-123.456.788 MWST",
    )
    event = AuditEvent.unscoped.get(action=AuditEvent.Action.INVOICING_CHANGED)
    assert event.tenant == provider and event.details["after"]["country"] == "CH"


def test_a_bad_country_is_a_form_error_and_changes_nothing(world, client):
    client.force_login(world.staff)
    response = client.post("/provider/invoicing/", {"country": "Schweiz", "city": "Bern"})
    assert response.status_code == 400
    assert "Ensure this value has at most 2 characters" in response.content.decode()
    response = client.post("/provider/invoicing/", {"country": "C1", "city": "Bern"})
    assert response.status_code == 400
    assert "An ISO 3166-1 alpha-2 code, e.g. CH." in response.content.decode()
    provider = provider_root()
    assert (provider.country, provider.city) == ("", "")
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.INVOICING_CHANGED).exists()


def test_the_providers_collaborators_read_but_do_not_write(world, client):
    client.force_login(provider_member(world, Role.COLLABORATOR))
    page = client.get("/provider/invoicing/").content.decode()
    assert "Save the invoicing details" not in page
    assert client.post("/provider/invoicing/", {"country": "CH"}).status_code == 403
    url = f"/provider/partners/{world.partner.pk}/payment-terms/"
    assert client.post(url, {"payment_terms_days": "10"}).status_code == 403
    world.partner.refresh_from_db()
    assert world.partner.payment_terms_days == 30 and provider_root().country == ""


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_a_partners_payment_terms_set_its_next_invoices_due_date(world, client, role, time_machine):
    time_machine.move_to(on(2026, 12, 7))
    client.force_login(provider_member(world, role))
    url = f"/provider/partners/{world.partner.pk}/payment-terms/"
    page = client.get(f"/provider/partners/{world.partner.pk}/").content.decode()
    assert "30 days" in page and "Save the payment terms" in page
    for bad in ("-1", "366", "ten"):
        assert client.post(url, {"payment_terms_days": bad}).status_code == 400
    assert client.post(url, {"payment_terms_days": "10"}).status_code == 302
    world.partner.refresh_from_db()
    assert world.partner.payment_terms_days == 10
    logs = AuditEvent.unscoped.filter(action=AuditEvent.Action.PAYMENT_TERMS_CHANGED)
    assert {event.tenant_id for event in logs} == {world.partner.pk, world.provider.pk}
    assert logs.first().details["after"] == {"payment_terms_days": 10}
    assert client.post(url, {"payment_terms_days": "10"}).status_code == 302  # no change
    assert logs.count() == 2

    # the partner pays its order for Müller: due 10 days after the invoice date
    grant(world, access="full", payment="partner")
    order = order_place(
        org=org(world.partner_owner, world.partner),
        customer_id=world.customer.pk,
        lines=[LineRequest(ProductFactory(prices={"CHF": "9.92", "EUR": "5.75"}), 3)],
    )
    invoice = Invoice.unscoped.get(order=order)
    assert invoice.payer == world.partner
    assert invoice.due_on == datetime.date(2026, 12, 17)


def test_a_customer_is_no_partner_for_the_payment_terms_form(world, client):
    client.force_login(world.staff)
    url = f"/provider/partners/{world.customer.pk}/payment-terms/"
    assert client.post(url, {"payment_terms_days": "10"}).status_code == 404


def test_setup_platform_takes_the_providers_country(db):
    call_command(
        "setup_platform",
        name="Acme Cloud",
        currency="CHF",
        admin_email="ops@acme.test",
        country="ch",
        vat_number="CHE-123.456.788 MWST",
        stdout=io.StringIO(),
    )
    provider = provider_root()
    assert (provider.country, provider.vat_number) == ("CH", "CHE-123.456.788 MWST")
