"""Billing fixtures: the web hosting of SPEC §7's worked example and helpers
that set up each kind of partnership between Alpine IT and Bäckerei Müller."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps

from catalog.models import PriceTier
from catalog.tests.factories import ProductFactory
from partners import services as partner_services
from tenants.selectors import org_context_for


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


@pytest.fixture
def hosting(db):
    """CHF 9.92 / EUR 5.75 a month; 10 % off from 10 units, 25 % off from 30."""
    product = ProductFactory(
        code="web-hosting", name="Web hosting", prices={"CHF": "9.92", "EUR": "5.75"}
    )
    PriceTier.objects.create(product=product, min_quantity=10, rate=Decimal("0.10"))
    PriceTier.objects.create(product=product, min_quantity=30, rate=Decimal("0.25"))
    return product


@pytest.fixture
def mailbox(db):
    return ProductFactory(code="mailbox", name="Mailbox", prices={"CHF": "4.00", "EUR": "3.50"})


def grant(world, *, access="full", payment="customer", products=None, partner=None):
    """The customer invites `partner` (Alpine IT) with this grant; it accepts."""
    partner = partner or world.partner
    owner = world.partner_owner if partner == world.partner else world.other_owner
    invited = partner_services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=partner,
        access=access,
        payment=payment if access == "full" else None,
        products=products,
    )
    return partner_services.partnership_accept(org=org(owner, partner), partnership=invited)


@pytest.fixture
def vat_table(db):
    """The VAT table as its migration seeds it (a transactional test elsewhere
    may have emptied the tables since)."""
    importlib.import_module("billing.migrations.0007_vat_rates").seed_rates(django_apps, None)
