"""Upsell fixtures: the backup family of SPEC §5 (Backup Standard < Protect
Standard < Protect Advanced) and a customer of the sub-partner Lakeside, so a
Buy URL can sit on its partner, the partner's parent (Alpine IT), the provider,
or nowhere."""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from billing.services.orders import LineRequest, order_place
from catalog.models import Feature, Product
from catalog.tests.factories import ProductFactory
from partners.models import Partnership
from subscriptions.models import Subscription
from tenants.models import Role, Tenant, User
from tenants.selectors import org_context_for
from tenants.tests.factories import CustomerFactory, MembershipFactory


def ordered(customer: Tenant, product: Product, quantity: int) -> Subscription:
    """A subscription as a customer gets one: ordered today by an owner who is a
    buyer (only what was ordered unlocks features, upsell.selectors.ordered)."""
    buyer = customer.memberships.filter(role=Role.OWNER, buyer=True).first()
    owner = (buyer or MembershipFactory(tenant=customer, role=Role.OWNER, buyer=True)).user
    order = order_place(
        org=org_context_for(user=owner, tenant_id=customer.pk),
        customer_id=customer.pk,
        lines=[LineRequest(product, quantity)],
    )
    subscription = order.lines.get().subscription
    assert subscription is not None
    return subscription


@dataclass
class Family:
    standard: Product
    protect: Product
    advanced: Product
    features: dict[str, Feature]


@pytest.fixture
def family(db) -> Family:
    features = {
        code: Feature.objects.create(code=code, name=name)
        for code, name in [
            ("file-backup", "File backup"),
            ("vulnerability-assessment", "Vulnerability assessment"),
            ("patch-management", "Patch management"),
        ]
    }
    editions = []
    for rank, (code, feature_codes) in enumerate(
        [
            ("backup-standard", ["file-backup"]),
            ("protect-standard", ["file-backup", "vulnerability-assessment"]),
            ("protect-advanced", ["file-backup", "vulnerability-assessment", "patch-management"]),
        ],
        start=1,
    ):
        product = ProductFactory(
            code=code, name=code.replace("-", " ").title(), family="backup", edition_rank=rank
        )
        product.features.set([features[c] for c in feature_codes])
        editions.append(product)
    return Family(*editions, features=features)


@dataclass
class Shop:
    customer: Tenant
    members: dict[str, User]


MEMBER_TYPES = {
    "admin, buyer": (Role.ADMIN, True),
    "admin, not a buyer": (Role.ADMIN, False),
    "user, buyer": (Role.USER, True),
    "user, not a buyer": (Role.USER, False),
}


@pytest.fixture
def shop(world, family) -> Shop:
    """Seeblick, a customer of Lakeside (below Alpine IT, below the provider),
    with one member of each type, Backup Standard x 10, Lakeside managing it."""
    customer = CustomerFactory(name="Hotel Seeblick", parent=world.sub_partner, slug="seeblick")
    members = {
        name: MembershipFactory(tenant=customer, role=role, buyer=buyer).user
        for name, (role, buyer) in MEMBER_TYPES.items()
    }
    MembershipFactory(tenant=customer, role=Role.OWNER, buyer=True)
    Partnership.unscoped.create(
        partner=world.sub_partner,
        customer=customer,
        access="full",
        payment="customer",
        status="active",
        initiated_by="partner",
        activated_at=timezone.now(),
    )
    ordered(customer, family.standard, 10)
    return Shop(customer=customer, members=members)
