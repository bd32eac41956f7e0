"""Fixtures every app's tests share: a world with two partner trees, so
"the other tenant gets 404" is one line (STYLE.md, Tests)."""

import os
from dataclasses import dataclass

import pytest
import time_machine
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from tenants.models import Role, Tenant, User
from tenants.tests.factories import (
    CustomerFactory,
    MembershipFactory,
    PartnerFactory,
    ProviderFactory,
    UserFactory,
)
from tests.clock import travel_destination


@dataclass
class World:
    provider: Tenant
    partner: Tenant  # "Alpine": owner, admin, collaborator
    sub_partner: Tenant  # below partner
    customer: Tenant  # of partner: owner, admin, user
    other_partner: Tenant  # unrelated tree
    other_customer: Tenant  # of other_partner
    partner_owner: User
    partner_admin: User
    collaborator: User
    sub_partner_owner: User
    customer_owner: User
    customer_admin: User
    customer_user: User
    other_owner: User
    other_customer_owner: User
    staff: User


def pytest_addoption(parser):
    parser.addoption(
        "--travel-to",
        default=os.environ.get("PORTAL_TEST_NOW") or None,
        metavar="ISO",
        help="Run every test at this moment (e.g. 2028-02-29T12:00, or 2026-12-31T23:30 "
        "in the project's time zone; an offset names an instant). Also PORTAL_TEST_NOW. "
        "Tests marked @pytest.mark.time_machine (their own date) are left out.",
    )


def pytest_report_header(config):
    destination = config.getoption("--travel-to")
    if destination:
        return f"calendar: every test travels to {travel_destination(destination).isoformat()}"
    return None


def pytest_collection_modifyitems(config, items):
    """With --travel-to, the tests with their own date (the time_machine marker)
    are left out: they would run exactly as in the suite, at every moment."""
    if not config.getoption("--travel-to"):
        return
    own_date = [item for item in items if item.get_closest_marker("time_machine")]
    if own_date:
        config.hook.pytest_deselected(items=own_date)
        items[:] = [item for item in items if not item.get_closest_marker("time_machine")]


@pytest.fixture(autouse=True)
def _calendar(request):
    """With --travel-to, each test starts at that moment, the clock ticking from
    there (time-machine): the suite proven on the day that breaks things. A test
    with its own date (the time_machine marker) is not collected then."""
    destination = request.config.getoption("--travel-to")
    if not destination or request.node.get_closest_marker("time_machine"):
        yield
        return
    with time_machine.travel(travel_destination(destination), tick=True):
        yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request activates its
    language for the rest of the thread (as in a worker, until the next one)."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: no cached figure, rate-limit window
    or generation carries over from another test (or, with Redis, another run)."""
    cache.clear()


def _member(tenant: Tenant, role: str, buyer: bool = False) -> User:
    return MembershipFactory(tenant=tenant, role=role, buyer=buyer).user


@pytest.fixture
def world(db) -> World:
    provider = ProviderFactory(slug="provider")
    # Both top-level partners are listed in the directory; the sub-partner is not.
    partner = PartnerFactory(
        name="Alpine IT", parent=provider, slug="alpine", listed_in_directory=True
    )
    sub_partner = PartnerFactory(name="Lakeside", parent=partner, slug="lakeside")
    customer = CustomerFactory(name="Bäckerei Müller", parent=partner, slug="mueller")
    other_partner = PartnerFactory(
        name="Rhein Cloud", parent=provider, currency="EUR", slug="rhein", listed_in_directory=True
    )
    other_customer = CustomerFactory(
        name="Bergmann", parent=other_partner, currency="EUR", slug="bergmann"
    )
    return World(
        provider=provider,
        partner=partner,
        sub_partner=sub_partner,
        customer=customer,
        other_partner=other_partner,
        other_customer=other_customer,
        partner_owner=_member(partner, Role.OWNER, buyer=True),
        partner_admin=_member(partner, Role.ADMIN),
        collaborator=_member(partner, Role.COLLABORATOR),
        sub_partner_owner=_member(sub_partner, Role.OWNER),
        customer_owner=_member(customer, Role.OWNER, buyer=True),
        customer_admin=_member(customer, Role.ADMIN, buyer=True),
        customer_user=_member(customer, Role.USER),
        other_owner=_member(other_partner, Role.OWNER),
        other_customer_owner=_member(other_customer, Role.OWNER),
        staff=UserFactory(is_staff=True, is_superuser=True, email="staff@example.test"),
    )


@pytest.fixture
def api():
    """`api(user, tenant)`: an API client signed in as `user`, acting in `tenant`."""

    def make(user: User | None = None, tenant: Tenant | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        if tenant is not None:
            client.credentials(HTTP_X_TENANT=str(tenant.id))
        return client

    return make


@pytest.fixture
def browser(client):
    """`browser(user)`: the Django test client signed in as `user`."""

    def make(user: User):
        client.force_login(user)
        return client

    return make
