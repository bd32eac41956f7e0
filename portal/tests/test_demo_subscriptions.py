"""The demo's subscription history: idempotent, and a book that shows every movement."""

import pytest
from django.db.models import F

from portal.demo import (
    SCALE_SUBSCRIPTIONS_PER_CUSTOMER,
    seed_demo,
    seed_scale_customers,
    seed_scale_subscriptions,
)
from subscriptions import mrr
from subscriptions.models import Subscription
from tenants.models import Tenant, User
from tenants.selectors import org_context_for

pytestmark = pytest.mark.django_db


def alpine_owner():
    alpine = Tenant.objects.get(slug="alpine-it")
    return org_context_for(
        user=User.objects.get(email="partner.owner@demo.test"), tenant_id=alpine.id
    )


def test_seeding_twice_adds_no_subscription():
    seed_demo()
    first = set(
        Subscription.unscoped.values_list(
            "customer__slug", "product__code", "quantity", "starts_on", "ends_on"
        )
    )
    seed_demo()
    again = set(
        Subscription.unscoped.values_list(
            "customer__slug", "product__code", "quantity", "starts_on", "ends_on"
        )
    )
    assert Subscription.unscoped.count() == len(first) > 20
    assert again == first
    by_slug = set(Subscription.unscoped.values_list("customer__slug", flat=True))
    assert {"baeckerei-mueller", "studio-rossi", "praxis-weber"} <= by_slug
    assert not Subscription.unscoped.exclude(currency=F("customer__currency")).exists()


def test_alpine_book_shows_every_movement_over_twelve_months():
    seed_demo()
    book = mrr.book_mrr(org=alpine_owner(), months=12)
    assert book["currency"] == "CHF"
    assert book["current_mrr"] > 0
    for kind in mrr.KINDS:
        assert any(month[kind] != 0 for month in book["history"]), kind
    eur = mrr.book_mrr(org=alpine_owner(), months=12, currency="EUR")
    assert eur["current_mrr"] > 0  # Studio Rossi


def test_scale_customers_get_ten_subscriptions_each_once():
    seed_demo()
    seed_scale_customers(count=30)
    assert seed_scale_subscriptions() == 30 * SCALE_SUBSCRIPTIONS_PER_CUSTOMER
    assert seed_scale_subscriptions() == 0
    scale = Subscription.unscoped.filter(customer__slug__startswith="scale-customer-")
    assert scale.count() == 300
    assert not scale.exclude(currency=F("customer__currency")).exists()
