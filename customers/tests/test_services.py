"""What a partner records about its customers, through the services and selectors."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from catalog.tests.factories import ProductFactory
from customers import services
from customers.filters import CustomerFilter
from customers.models import CONTRACT_AMOUNTS, AlertProfile, Contract, SlaPolicy
from customers.selectors import customer_list
from partners import services as partner_services
from partners.models import Partnership
from tenants.models import Contact, Tenant
from tenants.selectors import org_context_for
from tests.clock import on

# Contracts here start on START (1 January 2027): the tests are about one not yet
# started, so they run on a day before it, also in the calendar pass.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(on(2026, 12, 7))]
START = datetime.date(2027, 1, 1)


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


@pytest.fixture
def owner(world):
    return ctx(world.partner_owner, world.partner)


def onboard(org, name="Neu AG", **parts):
    return services.customer_onboard(org=org, name=name, **parts)


def test_onboarding_writes_customer_contract_service_profile_and_primary_contact_together(
    world, owner
):
    sla = services.sla_policy_save(
        org=owner, data={"name": "Gold", "first_response_minutes": 30, "resolution_minutes": 240}
    )
    alerts = services.alert_profile_save(org=owner, data={"name": "Servers", "cpu_percent": 85})
    partnership = onboard(
        owner,
        city="Bern",
        tax_id="CHE-1",
        contract={"type": "retainer", "name": "Care", "starts_on": START, "fee": Decimal("450.00")},
        service_profile={"sla": sla, "alert_profile": alerts},
        primary_contact={"first_name": "Anna", "last_name": "Muster", "email": "anna@neu.test"},
    )
    customer = partnership.customer
    assert customer.city == "Bern" and partnership.status == Partnership.Status.ACTIVE
    assert Contract.unscoped.get(customer=customer).fee == Decimal("450.00")
    assert customer.service_profiles.get().sla == sla
    assert Contact.unscoped.get(customer=customer).is_primary


def test_a_bad_part_writes_nothing_at_all(world, owner):
    before = (Tenant.objects.count(), Partnership.unscoped.count(), Contact.unscoped.count())
    with pytest.raises(ValidationError) as error:
        onboard(
            owner,
            contract={"type": "hourly", "name": "Hours", "starts_on": START},
            primary_contact={"first_name": "A", "last_name": "B"},
        )
    assert "hourly_rate" in error.value.message_dict
    assert (
        Tenant.objects.count(),
        Partnership.unscoped.count(),
        Contact.unscoped.count(),
    ) == before


@pytest.mark.parametrize("kind", sorted(CONTRACT_AMOUNTS))
def test_each_contract_type_asks_for_its_own_amounts_only(kind):
    needed = CONTRACT_AMOUNTS[kind]
    data = {"type": kind, "name": "C", "starts_on": START, **dict.fromkeys(needed, Decimal("10"))}
    assert services.contract_clean(dict(data)) == data
    missing = {k: v for k, v in data.items() if k != needed[0]}
    with pytest.raises(ValidationError) as error:
        services.contract_clean(missing)
    assert needed[0] in error.value.message_dict
    extra_field = next(f for f in ("fee", "hourly_rate", "hours", "amount") if f not in needed)
    with pytest.raises(ValidationError) as error:
        services.contract_clean({**data, extra_field: Decimal("1")})
    assert extra_field in error.value.message_dict


def test_contract_dates_and_zero_amounts_are_refused():
    with pytest.raises(ValidationError) as error:
        services.contract_clean(
            {
                "type": "retainer",
                "name": "C",
                "starts_on": START,
                "ends_on": START,
                "fee": Decimal("0"),
            }
        )
    assert {"ends_on", "fee"} <= set(error.value.message_dict)


def test_changing_a_contracts_type_starts_from_its_own_amounts(world, owner):
    customer = onboard(owner).customer
    contract = services.contract_create(
        org=owner,
        customer=customer,
        data={"type": "retainer", "name": "Care", "starts_on": START, "fee": Decimal("100")},
    )
    changed = services.contract_update(
        org=owner,
        contract=contract,
        data={"type": "block_of_hours", "hours": Decimal("20"), "amount": Decimal("2000")},
    )
    assert (changed.fee, changed.hours, changed.amount) == (None, Decimal("20"), Decimal("2000"))


def test_exactly_one_primary_contact_and_it_cannot_just_be_removed(world, owner):
    customer = onboard(owner, primary_contact={"first_name": "Anna", "last_name": "A"}).customer
    anna = Contact.unscoped.get(customer=customer)
    bob = services.contact_add(org=owner, customer=customer, first_name="Bob", last_name="B")
    assert not bob.is_primary
    with pytest.raises(ValidationError):
        services.contact_remove(org=owner, contact=anna)

    services.contact_set_primary(org=owner, contact=bob)

    assert list(Contact.unscoped.filter(customer=customer, is_primary=True)) == [bob]
    services.contact_remove(org=owner, contact=anna)
    with pytest.raises(ValidationError):
        services.contact_update(org=owner, contact=bob, data={"is_primary": False})


def test_records_of_a_customer_are_out_of_reach_for_others(world, owner):
    customer = onboard(owner, primary_contact={"first_name": "Anna", "last_name": "A"}).customer
    contact = Contact.unscoped.get(customer=customer)
    other = ctx(world.other_owner, world.other_partner)
    with pytest.raises(Http404):
        services.contact_add(org=other, customer=customer, first_name="X", last_name="Y")
    with pytest.raises(Http404):
        services.contact_set_primary(org=other, contact=contact)
    with pytest.raises(Http404):
        services.contract_create(
            org=ctx(world.collaborator, world.partner),
            customer=customer,
            data={"type": "retainer", "name": "C", "starts_on": START, "fee": 1},
        )


def test_sla_policies_and_alert_profiles_are_the_partners_own(world, owner):
    sla = services.sla_policy_save(
        org=owner, data={"name": "Gold", "first_response_minutes": 30, "resolution_minutes": 240}
    )
    with pytest.raises(ValidationError) as error:
        services.sla_policy_save(
            org=owner, data={"name": "Gold", "first_response_minutes": 10, "resolution_minutes": 20}
        )
    assert "name" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.sla_policy_save(
            org=owner,
            data={"name": "Silly", "first_response_minutes": 60, "resolution_minutes": 30},
        )
    assert "resolution_minutes" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.alert_profile_save(org=owner, data={"name": "Hot", "cpu_percent": 150})
    with pytest.raises(PermissionDenied):
        services.sla_policy_save(
            org=ctx(world.collaborator, world.partner),
            data={"name": "X", "first_response_minutes": 1, "resolution_minutes": 2},
        )

    other = ctx(world.other_owner, world.other_partner)
    foreign_sla = services.sla_policy_save(
        org=other, data={"name": "Rhein", "first_response_minutes": 5, "resolution_minutes": 50}
    )
    customer = onboard(owner).customer
    with pytest.raises(ValidationError) as error:
        services.service_profile_set(org=owner, customer=customer, sla=foreign_sla)
    assert "sla" in error.value.message_dict
    profile = services.service_profile_set(org=owner, customer=customer, sla=sla)
    services.partner_list_entry_delete(org=owner, entry=sla)
    profile.refresh_from_db()
    assert profile.sla is None and not SlaPolicy.unscoped.filter(pk=sla.pk).exists()
    assert AlertProfile.unscoped.count() == 0


def _filtered(world, org, **params):
    class Request:
        pass

    request = Request()
    request.org = org
    return list(CustomerFilter(params, queryset=customer_list(org=org), request=request).qs)


def test_the_list_searches_names_domains_contact_emails_and_tax_ids(world, owner):
    mueller = onboard(
        owner,
        name="Bäckerei Müller AG",
        email_domains=["mueller.ch"],
        tax_id="CHE-123",
        primary_contact={"first_name": "Anna", "last_name": "M", "email": "anna@mail.test"},
    ).customer
    rossi = onboard(owner, name="Studio Rossi", country="IT").customer
    assert _filtered(world, owner, q="müller") == [mueller]
    assert _filtered(world, owner, q="mueller.ch") == [mueller]
    assert _filtered(world, owner, q="anna@mail") == [mueller]
    assert _filtered(world, owner, q="CHE-123") == [mueller]
    assert _filtered(world, owner, country="it") == [rossi]
    assert _filtered(world, owner, ordering="-name") == [rossi, mueller]
    row = _filtered(world, owner, q="müller")[0]
    assert (row.grant_access, row.grant_payment, row.primary_contact_email) == (
        "full",
        "partner",
        "anna@mail.test",
    )


def test_the_list_filters_by_grant_and_assigned_collaborator(world, owner):
    full = onboard(owner, name="Full AG").customer
    limited_partnership = partner_services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="limited",
        products=[ProductFactory()],
    )
    partner_services.partnership_accept(org=owner, partnership=limited_partnership)
    assert _filtered(world, owner, access="limited") == [world.customer]
    assert _filtered(world, owner, payment="partner") == [full]
    partner_services.collaborators_set(org=owner, customer=full, user_ids=[world.collaborator.pk])
    assert _filtered(world, owner, collaborator=str(world.collaborator.pk)) == [full]
