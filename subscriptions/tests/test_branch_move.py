"""Moving a partner in the tree (issue 22, the provider console): the preview's
figures, exactly; cycles and suspended targets refused; a move commits only
the branch its preview showed; crossed moves racing end in one tree without a
cycle; the move is audited and no cached figure outlives it."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError

from catalog.tests.factories import ProductFactory
from core.exceptions import Conflict
from partners.models import Partnership
from partners.services import customer_add, partnership_accept, partnership_invite_partner
from subscriptions import mrr
from subscriptions.branch_move import partner_move_preview
from subscriptions.models import Subscription
from subscriptions.tests.ledger import cancel_on, open_ledger
from tenants.models import AuditEvent, Role, Tenant
from tenants.selectors import org_context_for, partner_seen_by_owners
from tenants.services import partner_move
from tenants.tests.factories import MembershipFactory, PartnerFactory, UserFactory
from tests.concurrency import race

pytestmark = pytest.mark.django_db

START = datetime.date(2024, 1, 1)


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def sub(customer, price, *, quantity=1, annual=False, product=None):
    subscription = Subscription.unscoped.create(
        customer=customer,
        product=product or ProductFactory(),
        quantity=quantity,
        unit_price=Decimal(price),
        currency=customer.currency,
        billing_period="annual" if annual else "monthly",
        starts_on=START,
    )
    open_ledger(subscription)
    return subscription


def managed_by(partner, owner, name):
    return customer_add(org=ctx(owner, partner), name=name).customer


@pytest.fixture
def branch(world):
    """Lakeside (under Alpine) and its own sub-partner Seeblick, each with a
    customer it made; Lakeside also manages one product of Bergmann, Rhein
    Cloud's customer (EUR), under a limited grant."""
    lakeside, lakeside_owner = world.sub_partner, world.sub_partner_owner
    lakeside.listed_in_directory = True  # Bergmann finds it there
    lakeside.save()
    seeblick = PartnerFactory(name="Seeblick", parent=lakeside, slug="seeblick")
    seeblick_owner = MembershipFactory(tenant=seeblick, role=Role.OWNER).user
    fischer = managed_by(lakeside, lakeside_owner, "Fischer")
    ufer = managed_by(seeblick, seeblick_owner, "Ufer")
    sub(fischer, "10.00", quantity=2)  # 20.00 a month
    sub(fischer, "120.00", annual=True)  # 10.00 a month
    gone = sub(fischer, "99.00")
    cancel_on(gone, datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC))  # not live, no MRR
    sub(ufer, "7.50")
    mailbox = ProductFactory(code="mailbox")
    invited = partnership_invite_partner(
        org=ctx(world.other_customer_owner, world.other_customer),
        partner=lakeside,
        access="limited",
        products=[mailbox],
    )
    partnership_accept(org=ctx(lakeside_owner, lakeside), partnership=invited)
    sub(world.other_customer, "5.00", product=mailbox)
    sub(world.other_customer, "100.00")  # a product Lakeside does not manage
    return {"lakeside": lakeside, "seeblick": seeblick, "fischer": fischer, "ufer": ufer}


def test_the_preview_says_exactly_what_moves(world, branch):
    preview = partner_move_preview(
        partner=branch["lakeside"], new_parent=world.other_partner, user=world.staff
    )
    plan, figures = preview.plan, preview.figures
    assert (plan.old_parent, plan.new_parent) == (world.partner, world.other_partner)
    assert plan.sub_partners == 1  # Seeblick
    assert plan.customers_below == 2  # Fischer and Ufer hang in the branch
    assert figures.grants == 3  # Fischer's, Ufer's, and the limited one on Bergmann
    assert figures.customers == 3
    assert preview.customers_managed_elsewhere == 1  # Bergmann stays under Rhein Cloud
    # Fischer 2 + Ufer 1 + Bergmann's mailbox 1 (not the cancelled one, not Bergmann's other)
    assert figures.subscriptions == 4
    assert figures.mrr == {"CHF": Decimal("37.50"), "EUR": Decimal("5.00")}
    assert plan.leaving == [world.partner] and plan.joining == [world.other_partner]

    to_top = partner_move_preview(
        partner=branch["lakeside"], new_parent=world.provider, user=world.staff
    )
    assert to_top.plan.leaving == [world.partner] and to_top.plan.joining == []
    assert to_top.figures == figures


def test_the_move_carries_the_branch_and_its_figures(
    world, branch, django_capture_on_commit_callbacks
):
    alpine = partner_seen_by_owners(partner=world.partner, user=world.staff)
    rhein = partner_seen_by_owners(partner=world.other_partner, user=world.staff)

    def subtree_chf(org):
        return mrr.book_mrr(org=org, currency="CHF", months=1, subtree=True)["current_mrr"]

    alpine_before, rhein_before = subtree_chf(alpine), subtree_chf(rhein)  # now cached
    lakeside = branch["lakeside"]
    preview = partner_move_preview(
        partner=lakeside, new_parent=world.other_partner, user=world.staff
    )
    grants_before = set(Partnership.unscoped.values_list("pk", "partner", "customer", "status"))

    with django_capture_on_commit_callbacks(execute=True):
        partner_move(
            actor=world.staff,
            partner=lakeside,
            new_parent=world.other_partner,
            expected=preview.plan.digest,
        )

    for tenant in Tenant.objects.all():  # every path is its parent's and its own id
        assert tenant.path == Tenant.build_path(tenant.parent, tenant.pk)
        assert tenant.depth == (tenant.parent.depth + 1 if tenant.parent else 0)
    lakeside.refresh_from_db()
    assert lakeside.parent == world.other_partner
    assert (
        branch["seeblick"]
        .__class__.objects.get(pk=branch["seeblick"].pk)
        .path.startswith(lakeside.path)
    )
    # Partnerships are untouched; the partners above count the branch by its new place.
    assert set(Partnership.unscoped.values_list("pk", "partner", "customer", "status")) == (
        grants_before
    )
    assert subtree_chf(alpine) == alpine_before - Decimal("37.50")
    assert subtree_chf(rhein) == rhein_before + Decimal("37.50")

    events = AuditEvent.unscoped.filter(action=AuditEvent.Action.PARTNER_MOVED)
    assert {e.tenant for e in events} == {lakeside, world.provider}
    event = events.get(tenant=lakeside)
    assert event.actor == world.staff
    assert event.details["before"]["parent"] == str(world.partner.pk)
    assert event.details["after"]["parent"] == str(world.other_partner.pk)
    assert (event.details["sub_partners"], event.details["customers_below"]) == (1, 2)


@pytest.mark.parametrize("target", ["itself", "own sub-partner", "suspended", "customer", "same"])
def test_cycles_suspended_and_pointless_targets_are_refused(world, branch, target):
    lakeside = branch["lakeside"]
    world.other_partner.status = Tenant.Status.SUSPENDED
    world.other_partner.save()
    new_parent = {
        "itself": lakeside,
        "own sub-partner": branch["seeblick"],
        "suspended": world.other_partner,
        "customer": branch["fischer"],
        "same": world.partner,
    }[target]
    paths = dict(Tenant.objects.values_list("pk", "path"))
    with pytest.raises(ValidationError) as refused:
        partner_move_preview(partner=lakeside, new_parent=new_parent, user=world.staff)
    assert "parent" in refused.value.message_dict
    with pytest.raises(ValidationError):
        partner_move(actor=world.staff, partner=lakeside, new_parent=new_parent, expected="x")
    assert dict(Tenant.objects.values_list("pk", "path")) == paths
    assert not AuditEvent.unscoped.filter(action=AuditEvent.Action.PARTNER_MOVED).exists()


def test_a_branch_changed_since_the_preview_is_a_conflict_and_nothing_moves(world, branch):
    lakeside = branch["lakeside"]
    preview = partner_move_preview(partner=lakeside, new_parent=world.provider, user=world.staff)
    PartnerFactory(name="Neu", parent=branch["seeblick"], slug="neu")  # meanwhile
    with pytest.raises(Conflict):
        partner_move(
            actor=world.staff,
            partner=lakeside,
            new_parent=world.provider,
            expected=preview.plan.digest,
        )
    lakeside.refresh_from_db()
    assert lakeside.parent == world.partner
    fresh = partner_move_preview(partner=lakeside, new_parent=world.provider, user=world.staff)
    assert fresh.plan.sub_partners == 2
    partner_move(
        actor=world.staff, partner=lakeside, new_parent=world.provider, expected=fresh.plan.digest
    )
    lakeside.refresh_from_db()
    assert lakeside.parent == world.provider


def test_only_the_providers_owners_admins_and_staff_move(world, branch):
    lakeside = branch["lakeside"]
    preview = partner_move_preview(partner=lakeside, new_parent=world.provider, user=world.staff)
    collaborator = MembershipFactory(tenant=world.provider, role=Role.COLLABORATOR).user
    for user in (collaborator, world.partner_owner, UserFactory()):
        with pytest.raises(PermissionDenied):
            partner_move(
                actor=user,
                partner=lakeside,
                new_parent=world.provider,
                expected=preview.plan.digest,
            )
    admin = MembershipFactory(tenant=world.provider, role=Role.ADMIN).user
    partner_move(
        actor=admin, partner=lakeside, new_parent=world.provider, expected=preview.plan.digest
    )
    lakeside.refresh_from_db()
    assert lakeside.parent == world.provider


@pytest.mark.django_db(transaction=True)
def test_crossed_moves_racing_leave_one_tree_without_a_cycle(world):
    """Half the threads move Alpine under Rhein Cloud, half Rhein Cloud under
    Alpine, each with the preview it saw before anything moved: one move wins,
    every other is refused (the branch changed, a cycle, already there, or
    SQLite's lock), and the tree stays a tree."""
    alpine, rhein = world.partner, world.other_partner
    one = partner_move_preview(partner=alpine, new_parent=rhein, user=world.staff).plan.digest
    other = partner_move_preview(partner=rhein, new_parent=alpine, user=world.staff).plan.digest
    turn = iter(range(1000))

    def move():
        if next(turn) % 2:
            return _attempt(alpine, rhein, one, world.staff)
        return _attempt(rhein, alpine, other, world.staff)

    outcomes = race(move, count=10)

    moved = [o for o in outcomes if isinstance(o, tuple)]
    assert len(moved) == 1, outcomes
    assert all(
        isinstance(o, (Conflict, ValidationError, OperationalError))
        for o in outcomes
        if not isinstance(o, tuple)
    )
    for tenant in Tenant.objects.all():
        assert tenant.path == Tenant.build_path(tenant.parent, tenant.pk)
    alpine.refresh_from_db()
    rhein.refresh_from_db()
    assert (alpine.parent, rhein.parent) in {(rhein, world.provider), (world.provider, alpine)}
    assert AuditEvent.unscoped.filter(action=AuditEvent.Action.PARTNER_MOVED).count() == 2


def _attempt(partner, new_parent, digest, actor):
    try:
        plan = partner_move(actor=actor, partner=partner, new_parent=new_parent, expected=digest)
    except ValidationError as exc:
        return exc
    return (plan.partner.pk, plan.new_parent.pk)
