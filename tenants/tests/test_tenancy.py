"""The tenancy core: users, the tenant tree, memberships, contacts, branding."""

import pytest
from django.db import IntegrityError, transaction
from django.http import Http404

from tenants import selectors, services
from tenants.models import Branding, Contact, Tenant, User
from tenants.tests.factories import ContactFactory, CustomerFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def test_create_user_logs_in_by_lowercased_email_and_may_have_no_password():
    user = User.objects.create_user("Ada@Example.TEST")
    assert user.email == "ada@example.test"
    assert not user.has_usable_password()
    with_password = User.objects.create_user(
        "bob@example.test", password="s3cret-pass", full_name="Bob"
    )
    assert with_password.check_password("s3cret-pass")
    assert with_password.full_name == "Bob"


def test_emails_are_unique_whatever_their_case():
    User.objects.create_user("ada@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="ADA@example.test")


def test_all_descendants_at_any_depth_come_in_one_query(world, django_assert_num_queries):
    deep = world.sub_partner
    for _ in range(4):
        deep = PartnerFactory(parent=deep)
    leaf_customer = CustomerFactory(parent=deep)

    with django_assert_num_queries(1):
        below = set(selectors.tenant_descendants(tenant=world.partner))

    assert {world.sub_partner, world.customer, deep, leaf_customer} <= below
    assert world.partner not in below
    assert world.other_customer not in below
    with django_assert_num_queries(1):
        customers = list(
            selectors.tenant_descendants(tenant=world.partner, kind=Tenant.Kind.CUSTOMER)
        )
    assert set(customers) == {world.customer, leaf_customer}


def test_ancestors_come_nearest_first_in_one_query(world, django_assert_num_queries):
    customer = CustomerFactory(parent=world.sub_partner)
    with django_assert_num_queries(1):
        chain = selectors.tenant_ancestors(tenant=customer)
    assert chain == [world.sub_partner, world.partner, world.provider]


def test_moving_a_subtree_rewrites_every_path(world):
    below_sub = CustomerFactory(parent=world.sub_partner)

    services.tenant_move(tenant=world.sub_partner, new_parent=world.other_partner)

    below_sub.refresh_from_db()
    assert below_sub in selectors.tenant_descendants(tenant=world.other_partner)
    assert below_sub not in selectors.tenant_descendants(tenant=world.partner)
    assert below_sub.depth == world.other_partner.depth + 2
    assert selectors.tenant_ancestors(tenant=below_sub)[0] == world.sub_partner


def test_a_tenant_cannot_move_below_itself(world):
    with pytest.raises(Exception, match="below itself"):
        services.tenant_move(tenant=world.partner, new_parent=world.sub_partner)


def test_customers_hang_under_partners_only(world):
    with pytest.raises(Exception, match="home partner"):
        services.tenant_create(kind=Tenant.Kind.CUSTOMER, name="X", parent=world.customer)
    customer = services.tenant_create(
        kind=Tenant.Kind.CUSTOMER, name="Direct Customer", parent=None
    )
    assert customer.path == f"{customer.id.hex}/"
    assert customer.slug.startswith("direct-customer")


def test_the_database_allows_one_primary_contact_per_customer(world):
    ContactFactory(customer=world.customer, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(customer=world.customer, is_primary=True)
    ContactFactory(customer=world.other_customer, is_primary=True)  # another customer is fine


def test_the_first_contact_becomes_primary_and_switching_keeps_exactly_one(world):
    first = services.contact_create(customer=world.customer, first_name="Anna", last_name="Müller")
    second = services.contact_create(
        customer=world.customer, first_name="Peter", last_name="Keller"
    )
    assert first.is_primary and not second.is_primary

    services.contact_make_primary(contact=second)

    primaries = list(Contact.unscoped.filter(customer=world.customer, is_primary=True))
    assert primaries == [second]


def test_branding_inherits_field_by_field_from_the_nearest_ancestor(
    world, django_assert_num_queries
):
    Branding.unscoped.create(
        tenant=world.provider,
        display_name="Provider",
        buy_url="https://provider.test/buy",
        support_email="help@provider.test",
    )
    Branding.unscoped.create(tenant=world.partner, display_name="Alpine", accent_color="#112233")
    customer = CustomerFactory(parent=world.sub_partner)

    with django_assert_num_queries(1):
        effective = selectors.branding_effective(tenant=customer)

    assert effective["display_name"] == "Alpine"
    assert effective["accent_color"] == "#112233"
    assert effective["buy_url"] == "https://provider.test/buy"
    assert effective["support_email"] == "help@provider.test"
    assert selectors.branding_effective(tenant=world.other_customer)["display_name"] == "Provider"


def test_org_context_is_404_for_a_tenant_the_user_does_not_belong_to(world):
    ctx = selectors.org_context_for(user=world.partner_owner, slug="alpine")
    assert ctx.tenant == world.partner and ctx.is_owner
    with pytest.raises(Http404):
        selectors.org_context_for(user=world.partner_owner, slug="rhein")
    with pytest.raises(Http404):
        selectors.org_context_for(user=world.partner_owner, slug="does-not-exist")
    with pytest.raises(Http404):
        selectors.org_context_for(user=world.partner_owner, tenant_id="not-a-uuid")
    staff_ctx = selectors.org_context_for(user=world.staff, slug="rhein")
    assert staff_ctx.membership is None and staff_ctx.is_owner
