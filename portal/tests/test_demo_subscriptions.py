"""The demo's subscription history: idempotent, and a book that shows every movement."""

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import portal.demo
from partners import book_changes
from partners.models import Partnership
from portal.demo import (
    SCALE_SLUG_PREFIX,
    SCALE_SUBSCRIPTIONS_PER_CUSTOMER,
    seed_demo,
    seed_scale_customers,
    seed_scale_subscriptions,
)
from subscriptions import mrr, selectors
from subscriptions.models import Subscription
from tenants.branch_cache import branch_of
from tenants.models import Contact, Tenant, User
from tenants.selectors import org_context_for
from tenants.services import tenant_build

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


def _fields(instance, *, leave=()) -> dict:
    return {
        f.attname: getattr(instance, f.attname)
        for f in type(instance)._meta.concrete_fields
        if f.attname not in {"id", "created_at", "updated_at", *leave}
    }


def test_the_scale_seeds_bulk_rows_are_what_the_services_build(monkeypatch):
    """The scale seed writes with COPY (issue 27), outside the models' save():
    each customer is what `tenant_build` gives (its tree path under the partner),
    its grant and primary contact what the models' defaults give, its ten
    subscriptions those of `_scale_subscriptions` with their opening changes;
    the partner's cached books are retired for every customer written."""
    seed_demo()
    partner = Tenant.objects.get(slug="alpine-it")
    elsewhere = Tenant.objects.get(slug="rhein-cloud")  # a grant in another branch

    assert seed_scale_customers(count=7, batch_size=3) == 7
    assert seed_scale_customers(count=12, batch_size=3) == 5
    scale = list(Tenant.objects.filter(slug__startswith=SCALE_SLUG_PREFIX).order_by("slug"))
    assert [t.slug for t in scale] == [f"{SCALE_SLUG_PREFIX}{n:05d}" for n in range(1, 13)]
    for n, customer in enumerate(scale, start=1):
        expected = tenant_build(
            kind=Tenant.Kind.CUSTOMER,
            name=f"Scale Customer {n:05d}",
            parent=partner,
            currency="CHF" if n % 3 else "EUR",
            slug=customer.slug,
            city=portal.demo._SCALE_CITIES[n % 8],
            country="CH",
            rank="ABC"[n % 3],
        )
        assert _fields(customer, leave=["path"]) == _fields(expected, leave=["path"])
        assert customer.path == Tenant.build_path(partner, customer.pk)
        customer.full_clean(exclude=["path", "parent"])
        (grant,) = Partnership.unscoped.filter(customer=customer)
        assert grant.partner_id == partner.pk and grant.activated_at is not None
        assert _fields(grant, leave=["activated_at", "customer_id"]) == _fields(
            Partnership(
                partner=partner,
                access="full",
                payment="partner",
                initiated_by="partner",
                status=Partnership.Status.ACTIVE,
                requested={"access": "full", "payment": "partner", "products": [], "ends_on": None},
            ),
            leave=["activated_at", "customer_id"],
        )
        (contact,) = Contact.unscoped.filter(customer=customer)
        assert (contact.first_name, contact.last_name, contact.email, contact.is_primary) == (
            "Contact",
            f"{n:05d}",
            f"contact{n:05d}@scale.demo.test",
            True,
        )

    Partnership.unscoped.create(
        partner=elsewhere, customer=scale[0], access="limited", initiated_by="partner"
    )
    retired = []
    monkeypatch.setattr(portal.demo, "branch_changed", lambda *, paths: retired.append(paths))
    assert seed_scale_subscriptions(batch_size=5) == 12 * SCALE_SUBSCRIPTIONS_PER_CUSTOMER
    assert len(retired) == 3  # each transaction retires what `book_changed` would, or more
    for batch, paths in zip([scale[:5], scale[5:10], scale[10:]], retired, strict=True):
        with transaction.atomic():
            expected = []
            monkeypatch.setattr(
                book_changes,
                "branch_changed",
                lambda *, paths, change=None: expected.extend(paths),
            )
            book_changes.book_changed(customer_ids=[c.pk for c in batch])
        # at least those (the partners' branches are those of every batch)
        assert {branch_of(p) for p in paths} >= {branch_of(p) for p in expected}
    assert {branch_of(p) for p in retired[0]} == {
        branch_of(partner.path),
        branch_of(elsewhere.path),
    }
    today, prices = timezone.localdate(), portal.demo._catalog_prices()
    for n, customer in enumerate(scale, start=1):
        built = portal.demo._scale_subscriptions(customer.pk, customer.currency, n, today, prices)
        stored = Subscription.unscoped.filter(customer=customer)
        assert sorted(
            stored.values_list(
                "customer_id",
                "currency",
                "product_id",
                "billing_period",
                "quantity",
                "unit_price",
                "starts_on",
                "ends_on",
            ),
            key=str,
        ) == sorted(map(tuple, built), key=str)
    assert (
        selectors.ledger_consistent(
            Subscription.unscoped.filter(customer__slug__startswith=SCALE_SLUG_PREFIX)
        )
        == []
    )
