"""Tenders and the partner programme (SPEC §3) through their services: who sees a
tender, the excerpt emailed once per partner, the poster's signed links,
cancelling at once, proposals, expiry; the programme's yearly value."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from billing.services.orders import order_refund
from catalog.tests.factories import ProductFactory
from partners.book_changes import book_changed
from partners.models import Partnership
from partners.services import partnership_accept, partnership_invite_partner
from subscriptions.services import subscription_build
from tenants.exceptions import Conflict
from tenants.models import OutboundEmail
from tenants.selectors import org_context_for
from tenders import tasks
from tenders.models import Tender
from tenders.selectors import programme_progress, tender_get, tenders_for
from tenders.services import (
    tender_cancel,
    tender_confirm,
    tender_for_token,
    tender_post,
    tender_post_visitor,
    tender_propose,
    tender_tell_partner,
    tender_token,
)
from tenders.tests.invoicing import invoiced
from tests.clock import on

# These tests are about one day (the last day of a month): they travel there (tests/clock.py).
MOMENT = on(2027, 1, 31)
TODAY = MOMENT.date()
pytestmark = pytest.mark.time_machine(MOMENT)


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def fields(**overrides):
    return {
        "title": "Ten mailboxes and a website",
        "description": "We are a bakery with 10 staff and need email and a simple website. " * 8,
        "category": "email",
        "contact_name": "Anna Müller",
        "contact_email": "anna@mueller.test",
        "valid_until": TODAY + datetime.timedelta(days=30),
        **overrides,
    }


@pytest.fixture
def opted_in(world):
    """Alpine IT receives tenders; Rhein Cloud does not."""
    world.partner.receives_tenders = True
    world.partner.save(update_fields=["receives_tenders"])
    return world.partner


def test_a_customer_tender_opens_at_once_and_partners_opted_in_see_it(
    world, opted_in, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tender = tender_post(org=org(world.customer_owner, world.customer), **fields())
    assert tender.status == Tender.Status.OPEN
    # the partner that opted in sees it in full; the other partner never does
    assert tender_get(org=org(world.partner_owner, world.partner), tender_id=tender.pk) == tender
    with pytest.raises(Http404):
        tender_get(org=org(world.other_owner, world.other_partner), tender_id=tender.pk)
    # its owners and admins got an excerpt, once each; the poster got the manage link
    excerpts = OutboundEmail.objects.filter(
        subject="[Partner Portal] New request: Ten mailboxes and a website"
    )
    assert sorted(excerpts.values_list("to", flat=True)) == sorted(
        [world.partner_owner.email, world.partner_admin.email]
    )
    assert "anna@mueller.test" not in excerpts.first().body_text  # no contact in the excerpt
    # the manage link goes to the posting member's own address, not to the contact
    assert OutboundEmail.objects.filter(
        to=world.customer_owner.email, subject__contains="is published"
    ).exists()
    assert not OutboundEmail.objects.filter(to="anna@mueller.test").exists()
    # the per-partner task run again sends nothing more
    assert tasks.tell_partner_of_tender(str(tender.pk), str(world.partner.pk)) == 0
    assert excerpts.count() == 2


def test_only_owners_and_admins_of_a_customer_post(world):
    with pytest.raises(PermissionDenied):
        tender_post(org=org(world.customer_user, world.customer), **fields())
    with pytest.raises(PermissionDenied):
        tender_post(org=org(world.partner_owner, world.partner), **fields())


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": ""}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"category": "cars"}, "category"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"valid_until": TODAY - datetime.timedelta(days=1)}, "valid_until"),
        ({"valid_until": TODAY + datetime.timedelta(days=400)}, "valid_until"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(world, override, field):
    with pytest.raises(ValidationError) as error:
        tender_post_visitor(**fields(**override))
    assert field in error.value.message_dict
    assert not Tender.unscoped.exists()


def test_a_visitor_confirms_by_the_signed_link_once(
    world, opted_in, django_capture_on_commit_callbacks
):
    tender = tender_post_visitor(**fields())
    assert tender.status == Tender.Status.UNCONFIRMED
    assert not tenders_for(org=org(world.partner_owner, world.partner)).exists()
    token = tender_token(tender, "confirm")
    assert tender_for_token(token=token, purpose="manage") is None  # another purpose
    assert tender_for_token(token=token + "x", purpose="confirm") is None  # tampered
    with django_capture_on_commit_callbacks(execute=True):
        tender_confirm(tender=tender_for_token(token=token, purpose="confirm"))
        tender_confirm(tender=tender)  # a second click changes nothing
    assert Tender.unscoped.get(pk=tender.pk).status == Tender.Status.OPEN
    assert OutboundEmail.objects.filter(subject__contains="New request").count() == 2


def test_the_poster_cancels_at_once_and_partners_stop_seeing_it(world, opted_in):
    tender = tender_post(org=org(world.customer_owner, world.customer), **fields())
    manage = tender_for_token(token=tender_token(tender, "manage"), purpose="manage")
    tender_cancel(tender=manage)
    assert not tenders_for(org=org(world.partner_owner, world.partner)).exists()
    with pytest.raises(Conflict):
        tender_cancel(tender=tender, org=org(world.customer_owner, world.customer))
    assert tender_tell_partner(tender_id=tender.pk, partner_id=world.partner.pk) == 0


def test_expired_tenders_disappear_by_themselves(world, opted_in):
    tender = tender_post(org=org(world.customer_owner, world.customer), **fields())
    Tender.unscoped.filter(pk=tender.pk).update(valid_until=TODAY - datetime.timedelta(days=1))
    assert not tenders_for(org=org(world.partner_owner, world.partner)).exists()


def test_a_partner_proposes_once_and_the_poster_is_emailed(world, opted_in):
    tender = tender_post(org=org(world.customer_owner, world.customer), **fields())
    partner = org(world.partner_owner, world.partner)
    tender_propose(org=partner, tender=tender, message="We can do it for CHF 90 a month.")
    with pytest.raises(ValidationError, match="already answered"):
        tender_propose(org=partner, tender=tender, message="Again")
    with pytest.raises(PermissionDenied):  # not opted in
        tender_propose(org=org(world.other_owner, world.other_partner), tender=tender, message="Hi")
    mail = OutboundEmail.objects.get(subject__contains="Alpine IT answered")
    assert mail.to == world.customer_owner.email
    assert "CHF 90 a month" in mail.body_text
    poster = tender_get(org=org(world.customer_owner, world.customer), tender_id=tender.pk)
    assert [p.partner for p in poster.proposals.all()] == [world.partner]


# --- the partner programme ---------------------------------------------------------------


def test_the_programme_counts_what_was_invoiced_in_the_last_12_months(
    world, time_machine, django_capture_on_commit_callbacks
):
    """SPEC §3, §7 rev. 2: what was invoiced for the products the partner sold and
    manages, net of credit notes, over the 12 months up to today (2026-02-01 to
    2027-01-31); never a price on a subscription."""
    hosting = ProductFactory(code="web-hosting", prices={"CHF": "100.00", "EUR": "90.00"})
    domain = ProductFactory(
        code="domain", billing_period="annual", prices={"CHF": "13.00", "EUR": "11.50"}
    )
    invited = partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access="limited",
        payment=None,
        products=[hosting],
    )
    partnership_accept(org=org(world.partner_owner, world.partner), partnership=invited)
    time_machine.move_to(on(2026, 1, 31, 23, 30))  # a day too early
    invoiced(world, hosting, 5)
    time_machine.move_to(on(2026, 2, 1, 0, 30))  # the window's first day
    invoiced(world, hosting, 12)  # CHF 1,200.00
    time_machine.move_to(MOMENT)
    refunded = invoiced(world, hosting, 10)  # CHF 1,000.00
    # a product it does not manage, ordered by the customer itself
    invoiced(world, domain, 3, by=world.customer_owner, tenant=world.customer)
    # a price typed into a subscription counts for nothing
    subscription_build(
        customer=world.customer,
        product=hosting,
        quantity=1,
        unit_price=Decimal("999999.00"),
        starts_on=TODAY - datetime.timedelta(days=10),
    ).save()

    progress = programme_progress(partner=world.partner)

    chf = next(c for c in progress["currencies"] if c["currency"] == "CHF")
    assert chf["yearly_value"] == Decimal("2200.00")
    assert chf["reached"] is True and chf["missing"] == Decimal("0.00")
    assert progress["qualifies"] is True
    eur = next(c for c in progress["currencies"] if c["currency"] == "EUR")
    assert (eur["yearly_value"], eur["threshold"], eur["percent"]) == (
        Decimal("0.00"),
        Decimal("1800.00"),
        0,
    )
    assert programme_progress(partner=world.other_partner)["qualifies"] is False

    # a refund's credit note takes its amount off again, once committed (tenders.programme)
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(actor=world.staff, order_id=refunded.pk, reason="returned")
    progress = programme_progress(partner=world.partner)
    assert progress["currencies"][0]["yearly_value"] == Decimal("1200.00")
    assert progress["qualifies"] is False
    # and on 2027-02-01 the first day's order leaves the window
    time_machine.move_to(on(2027, 2, 1, 12))
    assert programme_progress(partner=world.partner)["currencies"][0]["yearly_value"] == 0


def test_the_programme_counts_only_what_the_partner_manages_now(world):
    hosting = ProductFactory(code="web-hosting", prices={"CHF": "100.00", "EUR": "90.00"})
    invited = partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="partner",
    )
    grant = partnership_accept(org=org(world.partner_owner, world.partner), partnership=invited)
    invoiced(world, hosting, 30)  # the partner pays the preferential price: 30 x 100 x 0.8
    assert programme_progress(partner=world.partner)["currencies"][0]["yearly_value"] == (
        Decimal("2400.00")
    )

    Partnership.unscoped.filter(pk=grant.pk).update(ends_on=TODAY - datetime.timedelta(days=1))
    book_changed(customer_ids=[world.customer.pk])  # an update() sends no signal

    assert programme_progress(partner=world.partner)["currencies"][0]["yearly_value"] == 0
