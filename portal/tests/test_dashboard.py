"""The dashboards: what a partner and a customer see first."""

import pytest
from django.core.cache import cache

from partners import services
from tenants.selectors import org_context_for
from tests.isolation import assert_all_404

pytestmark = pytest.mark.django_db


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def test_the_partner_dashboard_counts_managed_customers_and_waiting_invitations(world, browser):
    owner = ctx(world.partner_owner, world.partner)
    services.customer_add(org=owner, name="Managed AG")
    services.customer_add(
        org=owner,
        name="Invited AG",
        owner_email="boss@invited.test",
        access="full",
        payment="customer",
    )

    page = browser(world.partner_owner).get("/t/alpine/").content.decode()

    assert "Managed AG" in page and "customers you manage" in page
    assert "Invited AG" in page and "you invited them" in page


def test_the_partner_dashboard_takes_a_fixed_number_of_queries(
    world, browser, django_assert_max_num_queries
):
    owner = ctx(world.partner_owner, world.partner)
    client = browser(world.partner_owner)
    services.customer_add(org=owner, name="First AG")
    services.customer_add(
        org=owner,
        name="First Asked AG",
        owner_email="o@first.test",
        access="full",
        payment="customer",
    )
    client.get("/t/alpine/")
    cache.clear()  # the book figures computed, not read from the cache
    # +1: the programme card; +5: each cached figure's branch generation
    # (tenants.branch_cache), the book's twice (its figures, its customers' shares)
    # issue 26: the margin card (+1); issue 27: the book read from the book kept
    # by deltas (subscriptions.books), its pending customers counted (+1)
    with django_assert_max_num_queries(22) as few:
        client.get("/t/alpine/")
    with django_assert_max_num_queries(len(few.captured_queries) - 5):
        # cached: the book (one query here and its shares' generation), programme,
        # customer count, the tree's count
        client.get("/t/alpine/")
    for n in range(12):
        services.customer_add(org=owner, name=f"More {n} AG")
        services.customer_add(
            org=owner,
            name=f"Asked {n} AG",
            owner_email=f"o{n}@asked.test",
            access="full",
            payment="customer",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/t/alpine/")  # the book changed: computed again


def test_the_customer_overview_lists_its_partners(world, browser):
    partnership = services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    page = browser(world.customer_owner).get("/t/mueller/").content.decode()
    # The customer's own invitation waits for the partner: listed apart, not counted.
    assert "Alpine IT" in page and "Your invitations, waiting for the partner" in page
    assert 'data-waiting-count="0"' in page
    services.partnership_accept(
        org=ctx(world.partner_owner, world.partner), partnership=partnership
    )
    page = browser(world.customer_user).get("/t/mueller/").content.decode()
    assert "Alpine IT" in page and "Nothing is waiting for your answer." in page


def test_another_organizations_dashboard_is_a_404(world, browser):
    assert_all_404(browser(world.partner_owner), ["/t/rhein/", "/t/bergmann/", "/t/nowhere/"])
