"""VAT numbers checked by the organization's country (tenants.vat_numbers,
docs/invoices.md "VAT numbers"): the Swiss UID with its VAT suffix and check
digit, an EU country's format and check digit; stored normalized; a bad one
is a 400 (or a form error) on `vat_number` wherever it is written, and nothing
is written."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from partners import services as partner_services
from tenants.models import AuditEvent, Tenant
from tenants.selectors import org_context_for, provider_root
from tenants.vat_numbers import vat_number_clean, vat_number_valid

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "number, country, stored",
    [
        ("che-123.456.788 tva", "CH", "CHE-123.456.788 TVA"),
        ("CHE 123 456 788 MWST", "ch", "CHE-123.456.788 MWST"),
        ("136 695 976", "DE", "DE136695976"),  # the prefix is added
        ("de 136.695.976", "DE", "DE136695976"),
        ("U13585627", "AT", "ATU13585627"),
        ("GR094259216", "GR", "EL094259216"),  # Greece's VAT prefix is EL
        ("094259216", "GR", "EL094259216"),
        ("nl004495445b01", "NL", "NL004495445B01"),
        ("FR 40 303 265 045", "FR", "FR40303265045"),
        ("ATU13585627", "", "ATU13585627"),  # no country: known by its prefix
        ("CHE-123.456.788 IVA", "", "CHE-123.456.788 IVA"),
        ("  GB 123 4567 89 ", "GB", "GB 123 4567 89"),  # outside CH/EU: as typed, trimmed
        ("12345", "LI", "12345"),
        ("   ", "DE", ""),
    ],
)
def test_a_valid_number_is_stored_normalized(number, country, stored):
    assert vat_number_clean(number, country) == stored


@pytest.mark.parametrize(
    "number, country, says",
    [
        ("CHE-123.456.789 MWST", "CH", "check digit of this Swiss VAT number"),
        ("CHE-123.456.788", "CH", "the UID and MWST, TVA or IVA"),  # a UID is no VAT number
        ("DE136695977", "DE", "check digit"),
        ("ATU12345678", "AT", "check digit"),
        ("ATU1358562", "AT", "Not a VAT number of AT"),
        ("DE136695976", "AT", "VAT number of DE; the organization's country is AT"),
        ("CHE-123.456.788 MWST", "DE", "Not a VAT number of DE"),
        ("12345", "", "Give the organization's country first"),
    ],
)
def test_a_bad_number_says_what_is_wrong(number, country, says):
    with pytest.raises(ValidationError) as raised:
        vat_number_clean(number, country)
    (message,) = raised.value.message_dict["vat_number"]
    assert says in message
    assert not vat_number_valid(number, country)


def test_only_a_swiss_or_eu_number_of_the_country_is_valid_for_the_reverse_charge():
    assert vat_number_valid("ATU13585627", "AT")
    assert vat_number_valid("CHE-123.456.788 MWST", "CH")
    assert not vat_number_valid("ATU13585627", "DE")  # another country's
    assert not vat_number_valid("ATU13585627", "")  # no country to be valid for
    assert not vat_number_valid("GB123456789", "GB")  # outside CH and the EU
    assert not vat_number_valid("", "AT")


# --- where it is written ---------------------------------------------------------------


def test_the_organization_profile_api_stores_the_normalized_number(world, api):
    world.customer.country = "DE"
    world.customer.save()
    response = api(world.customer_owner, world.customer).patch(
        "/api/v1/organization/", {"vat_number": "de 136 695 976"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["vat_number"] == "DE136695976"
    world.customer.refresh_from_db()
    assert world.customer.vat_number == "DE136695976"


@pytest.mark.parametrize(
    "payload",
    [
        {"country": "CH", "vat_number": "CHE-123.456.789 MWST"},  # the check digit
        {"country": "DE", "vat_number": "ATU13585627"},  # another country's
        {"vat_number": "12345"},  # no country to check it by
    ],
)
def test_a_bad_number_is_a_400_on_vat_number_and_writes_nothing(world, api, payload):
    before = Tenant.objects.filter(pk=world.customer.pk).values().get()
    response = api(world.customer_owner, world.customer).patch(
        "/api/v1/organization/", {**payload, "city": "Thun"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["vat_number"]
    assert Tenant.objects.filter(pk=world.customer.pk).values().get() == before


def test_a_new_country_checks_the_number_again(world, api):
    client = api(world.customer_owner, world.customer)
    saved = client.patch(
        "/api/v1/organization/",
        {"country": "CH", "vat_number": "CHE-123.456.788 MWST"},
        format="json",
    )
    assert saved.status_code == 200
    moved = client.patch("/api/v1/organization/", {"country": "DE"}, format="json")
    assert moved.status_code == 400 and "vat_number" in moved.json()
    world.customer.refresh_from_db()
    assert world.customer.country == "CH"


def test_a_number_stored_before_the_check_does_not_block_other_changes(world, api):
    Tenant.objects.filter(pk=world.customer.pk).update(country="AT", vat_number="ATU12345678")
    response = api(world.customer_owner, world.customer).patch(
        "/api/v1/organization/", {"city": "Wien", "vat_number": "ATU12345678"}, format="json"
    )
    assert response.status_code == 200  # unchanged: kept as it was, not checked
    world.customer.refresh_from_db()
    assert (world.customer.city, world.customer.vat_number) == ("Wien", "ATU12345678")
    assert not vat_number_valid(world.customer.vat_number, world.customer.country)


def test_the_organization_page_shows_a_form_error(world, browser):
    client = browser(world.customer_owner)
    profile = {"form": "profile", "name": "Bäckerei Müller", "country": "CH"}
    bad = client.post("/t/mueller/organization/", {**profile, "vat_number": "CHE-123.456.789 MWST"})
    assert bad.status_code == 400
    assert "check digit of this Swiss VAT number" in bad.content.decode()
    world.customer.refresh_from_db()
    assert (world.customer.country, world.customer.vat_number) == ("", "")
    good = client.post(
        "/t/mueller/organization/", {**profile, "vat_number": "che 123 456 788 mwst"}
    )
    assert good.status_code == 302
    world.customer.refresh_from_db()
    assert world.customer.vat_number == "CHE-123.456.788 MWST"


def test_a_partner_writes_its_customers_number_checked_too(world, api):
    org = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    customer = partner_services.customer_add(org=org, name="Wiener Würstel GmbH").customer
    client = api(world.partner_admin, world.partner)
    url = f"/api/v1/customers/{customer.pk}/"
    bad = client.patch(url, {"country": "AT", "vat_number": "ATU12345678"}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["vat_number"]
    good = client.patch(url, {"country": "AT", "vat_number": "atu 135 856 27"}, format="json")
    assert good.status_code == 200 and good.json()["vat_number"] == "ATU13585627"

    created = client.post(
        "/api/v1/customers/",
        {"name": "Muster SA", "country": "FR", "vat_number": "FR40303265046"},
        format="json",
    )
    assert created.status_code == 400 and "vat_number" in created.json()
    assert not Tenant.objects.filter(name="Muster SA").exists()


def test_the_provider_console_checks_the_issuers_number(world, client):
    client.force_login(world.staff)
    bad = client.post(
        "/provider/invoicing/", {"country": "CH", "vat_number": "CHE-123.456.789 MWST"}
    )
    assert bad.status_code == 400
    assert "check digit of this Swiss VAT number" in bad.content.decode()
    provider = provider_root()
    assert (provider.country, provider.vat_number) == ("", "")
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.INVOICING_CHANGED).exists()
    good = client.post(
        "/provider/invoicing/", {"country": "ch", "vat_number": "che-123.456.788 mwst"}
    )
    assert good.status_code == 302
    assert provider_root().vat_number == "CHE-123.456.788 MWST"
    event = AuditEvent.unscoped.get(action=AuditEvent.Action.INVOICING_CHANGED)
    assert event.details["after"]["vat_number"] == "CHE-123.456.788 MWST"


def test_setup_platform_refuses_a_bad_number_and_makes_nothing(db):
    options = {"name": "Acme Cloud", "currency": "CHF", "admin_email": "ops@acme.test"}
    with pytest.raises(CommandError, match="check digit of this Swiss VAT number"):
        call_command(
            "setup_platform",
            **options,
            country="CH",
            vat_number="CHE-123.456.789 MWST",
            stdout=io.StringIO(),
        )
    assert not Tenant.objects.exists()
    call_command(
        "setup_platform",
        **options,
        country="CH",
        vat_number="CHE 123 456 788 TVA",
        stdout=io.StringIO(),
    )
    assert provider_root().vat_number == "CHE-123.456.788 TVA"


def test_the_model_checks_a_new_or_changed_number_and_leaves_an_old_one(world):
    """Tenant.clean: what every full_clean runs (the services, the forms, the
    Django admin's change form)."""
    Tenant.objects.filter(pk=world.partner.pk).update(country="DE", vat_number="DE123456789")
    partner = Tenant.objects.get(pk=world.partner.pk)
    partner.full_clean(exclude=["path", "parent"])  # as read: not checked again
    partner.vat_number = "DE 123 456 789"
    with pytest.raises(ValidationError) as raised:
        partner.full_clean(exclude=["path", "parent"])
    assert list(raised.value.message_dict) == ["vat_number"]
    partner.vat_number = "de136695976"
    partner.full_clean(exclude=["path", "parent"])
    assert partner.vat_number == "DE136695976"
    fresh = Tenant(kind=Tenant.Kind.CUSTOMER, name="Neu", country="CH", vat_number="CHE-1")
    with pytest.raises(ValidationError) as raised:
        fresh.clean()
    assert "vat_number" in raised.value.message_dict


def test_staff_get_the_error_in_the_django_admin(world, client):
    client.force_login(world.staff)
    url = f"/admin/tenants/tenant/{world.customer.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in (
            (name, form[name].value()) for name in form.fields if form[name].value() is not None
        )
        if not isinstance(value, list | dict)
    }
    data.update(country="CH", vat_number="CHE-123.456.789 MWST")
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert set(refused.context["adminform"].form.errors) == {"vat_number"}
    assert "check digit of this Swiss VAT number" in refused.content.decode()
    world.customer.refresh_from_db()
    assert world.customer.vat_number == ""
