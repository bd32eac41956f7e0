"""The browser pages of tenders (SPEC §3, §9), the public partner directory and
the programme card of the partner dashboard: what a visitor, a customer and a
partner see and do, the visitor form's bot traps and rate limit, the poster's
signed links, and 404s for everyone else."""

import datetime
import re
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

import tenders.urls
from catalog.tests.factories import ProductFactory
from partners.services import partnership_accept, partnership_invite_partner
from tenants.models import OutboundEmail, Tenant
from tenants.selectors import org_context_for
from tenants.tests.factories import PartnerFactory
from tenders.forms import form_stamp
from tenders.models import Tender, TenderProposal
from tenders.services import (
    tender_post,
    tender_post_visitor,
    tender_propose,
    tender_token,
)
from tenders.tests.invoicing import invoiced
from tests.clock import on
from tests.isolation import METHODS, assert_all_404, org_page_urls

# These tests are about one day: they travel there (tests/clock.py).
MOMENT = on(2026, 12, 6)
TODAY = MOMENT.date()
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MOMENT)]
DIRECTORY = reverse("directory")
VISITOR_FORM = reverse("tender_new_public")


@pytest.fixture(autouse=True)
def fresh_cache():
    """The visitor form's rate limit counts in the cache: each test starts at zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def opted_in(world):
    """Alpine IT receives tenders; Rhein Cloud does not."""
    world.partner.receives_tenders = True
    world.partner.save(update_fields=["receives_tenders"])
    return world.partner


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def fields(**overrides):
    return {
        "title": "Ten mailboxes and a website",
        "description": "We are a bakery with 10 staff and need email and a simple website.",
        "category": "email",
        "contact_name": "Anna Müller",
        "contact_email": "anna@mueller.test",
        "contact_phone": "+41 31 000 00 00",
        "valid_until": TODAY + datetime.timedelta(days=30),
        **overrides,
    }


def visitor_post(client, *, seconds_ago=10, ip="203.0.113.7", **overrides):
    """POST the visitor form as a person would: a stamp served `seconds_ago`."""
    data = fields(**overrides)
    data["valid_until"] = data["valid_until"].isoformat()
    data.setdefault("stamp", form_stamp(time.time() - seconds_ago))
    data.setdefault("homepage", "")
    return client.post(VISITOR_FORM, data, REMOTE_ADDR=ip)


def without_csrf(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def link(name, tender, purpose):
    return reverse(name, kwargs={"token": tender_token(tender, purpose)})


def customer_tender(world, **overrides):
    return tender_post(org=org(world.customer_owner, world.customer), **fields(**overrides))


# --- the public directory ----------------------------------------------------------------------


def test_the_directory_lists_only_opted_in_partners_to_anyone_and_is_searchable(world):
    Tenant.objects.filter(pk=world.partner.pk).update(
        city="Bern", country="CH", website="https://alpine.test", specialities=["backup", "hosting"]
    )
    Tenant.objects.filter(pk=world.other_partner.pk).update(
        city="Basel", country="CH", specialities=["Sécurité", "email"]
    )
    world.sub_partner.city = "Bern"
    world.sub_partner.save(update_fields=["city"])  # Lakeside is not listed
    visitor = Client()

    page = visitor.get(DIRECTORY).content.decode()

    assert "Alpine IT" in page and "Rhein Cloud" in page and "Lakeside" not in page
    assert '<a href="https://alpine.test" rel="nofollow noopener"' in page
    assert "backup, hosting" in page and "Bern, CH" in page

    def names(query):
        html = visitor.get(DIRECTORY, {"q": query}).content.decode()
        return [name for name in ("Alpine IT", "Rhein Cloud", "Lakeside") if name in html]

    assert names("alpine") == ["Alpine IT"]  # name
    assert names("BERN") == ["Alpine IT"]  # city, not the unlisted Lakeside
    assert names("hosting") == ["Alpine IT"]  # an ASCII speciality
    assert names("sécurité") == ["Rhein Cloud"]  # a non-ASCII speciality, on every database
    assert names("ch") == ["Alpine IT", "Rhein Cloud"]  # country
    assert names("lakeside") == []
    assert names('backup", "hosting') == []  # JSON punctuation never matches across items
    empty = visitor.get(DIRECTORY, {"q": "nowhere"}).content.decode()
    assert "No listed partner matches “nowhere”" in empty


def test_the_directory_is_paginated_by_25_with_a_fixed_number_of_queries(
    world, django_assert_max_num_queries
):
    visitor = Client()
    visitor.get(DIRECTORY)
    with django_assert_max_num_queries(3) as few:
        visitor.get(DIRECTORY)
    for n in range(30):
        PartnerFactory(name=f"Zeta {n:02d}", parent=world.provider, listed_in_directory=True)

    with django_assert_max_num_queries(len(few.captured_queries)):
        first = visitor.get(DIRECTORY).content.decode()
    second = visitor.get(DIRECTORY, {"page": 2}).content.decode()

    assert "Page 1 of 2 (32 in all)" in first and "Zeta 22" in first and "Zeta 23" not in first
    assert "Zeta 29" in second and "Alpine IT" not in second


def test_the_directory_has_an_empty_state(db):
    assert "No partner is listed yet" in Client().get(DIRECTORY).content.decode()


# --- the visitor's form ------------------------------------------------------------------------


def test_a_visitor_request_waits_unconfirmed_and_one_confirm_email_is_queued(
    world, opted_in, django_capture_on_commit_callbacks
):
    visitor = Client()
    form = visitor.get(VISITOR_FORM).content.decode()
    honeypot = re.search(r'<div class="visually-hidden" aria-hidden="true">.*?</div>', form, re.S)
    assert honeypot and 'tabindex="-1"' in honeypot[0] and 'autocomplete="off"' in honeypot[0]

    with django_capture_on_commit_callbacks() as callbacks:
        response = visitor_post(visitor)

    assert response.status_code == 200
    assert "Check your inbox to confirm" in response.content.decode()
    tender = Tender.unscoped.get()
    assert tender.status == Tender.Status.UNCONFIRMED and tender.customer is None
    assert tender.contact_phone == "+41 31 000 00 00"
    mail = OutboundEmail.objects.get()
    assert mail.to == "anna@mueller.test" and "Confirm your request" in mail.subject
    assert len(callbacks) == 1  # its delivery, and no partner is told yet


def test_a_filled_honeypot_gets_the_same_page_and_nothing_is_written(world):
    visitor = Client()
    human = visitor_post(visitor, title="A person").content.decode()
    Tender.unscoped.all().delete()
    OutboundEmail.objects.all().delete()

    bot = visitor_post(visitor, homepage="https://spam.test")

    assert bot.status_code == 200
    assert without_csrf(bot.content.decode()) == without_csrf(human)  # don't tell bots
    assert not Tender.unscoped.exists() and not OutboundEmail.objects.exists()


def test_a_form_sent_back_too_fast_or_unstamped_writes_nothing(world):
    visitor = Client()
    page = visitor.get(VISITOR_FORM).content.decode()
    stamp = re.search(r'name="stamp" value="([^"]+)"', page)[1]

    too_fast = visitor_post(visitor, stamp=stamp)  # straight back, as a script would
    forged = visitor_post(visitor, stamp=stamp[:-2] + "xx")
    unstamped = visitor_post(visitor, stamp="")

    for response in (too_fast, forged, unstamped):
        assert response.status_code == 200
        assert "Check your inbox to confirm" in response.content.decode()
    assert not Tender.unscoped.exists() and not OutboundEmail.objects.exists()


def test_a_form_left_open_more_than_a_day_is_shown_again(world):
    response = visitor_post(Client(), seconds_ago=2 * 24 * 60 * 60)

    assert response.status_code == 400
    page = response.content.decode()
    assert "open for more than a day" in page and "Ten mailboxes and a website" in page
    assert not Tender.unscoped.exists()


def test_invalid_input_comes_back_with_the_fields_errors(world):
    response = visitor_post(Client(), contact_email="not-an-email", title="")

    assert response.status_code == 400
    assert 'id="id_contact_email_error"' in response.content.decode()
    assert not Tender.unscoped.exists()


def test_the_sixth_post_from_one_address_within_an_hour_is_refused(world):
    visitor = Client()
    answers = [visitor_post(visitor, title=f"Request {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [200] * 5

    sixth = visitor_post(visitor, title="Request 6")

    assert sixth.status_code == 429 and sixth["Retry-After"] == "3600"
    assert "Too many requests from your connection" in sixth.content.decode()
    assert not Tender.unscoped.filter(title="Request 6").exists()
    assert Tender.unscoped.count() == 5
    # another address is not held back
    assert visitor_post(visitor, ip="198.51.100.1", title="Elsewhere").status_code == 200


# --- the poster's links ------------------------------------------------------------------------


def test_opening_the_confirm_link_changes_nothing_and_its_button_publishes(
    world, opted_in, django_capture_on_commit_callbacks
):
    tender = tender_post_visitor(**fields())
    visitor = Client()
    url = link("tender_confirm", tender, "confirm")

    opened = visitor.get(url)

    assert opened.status_code == 200 and opened["Referrer-Policy"] == "same-origin"
    assert "Confirm and publish" in opened.content.decode()
    tender.refresh_from_db()
    assert tender.status == Tender.Status.UNCONFIRMED
    assert not OutboundEmail.objects.filter(subject__contains="New request").exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = visitor.post(url)

    assert confirmed.status_code == 302
    tender.refresh_from_db()
    assert tender.status == Tender.Status.OPEN
    page = visitor.get(url).content.decode()
    assert "<h1>Published</h1>" in page
    assert "/requests/manage/" in page
    partners_told = OutboundEmail.objects.filter(subject__contains="New request")
    assert partners_told.count() == 2  # Alpine's owner and admin
    # a second click changes nothing
    visitor.post(url)
    assert partners_told.count() == 2


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_or_misused_link_shows_a_clear_page_and_changes_nothing(world, method):
    tender = tender_post_visitor(**fields())
    confirm = tender_token(tender, "confirm")
    visitor = Client()
    bad = [
        reverse("tender_confirm", kwargs={"token": confirm[:-3] + "abc"}),
        reverse("tender_confirm", kwargs={"token": "nonsense"}),
        reverse("tender_confirm", kwargs={"token": tender_token(tender, "manage")}),
        reverse("tender_manage", kwargs={"token": confirm}),
    ]
    for url in bad:
        response = getattr(visitor, method)(url, {"action": "cancel"})
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    tender.refresh_from_db()
    assert tender.status == Tender.Status.UNCONFIRMED


def test_the_manage_link_lists_the_proposals_and_cancels(world, opted_in):
    tender = customer_tender(world)
    tender_propose(
        org=org(world.partner_owner, world.partner),
        tender=tender,
        message="We can do it for CHF 90 a month.",
    )
    visitor = Client()
    url = link("tender_manage", tender, "manage")

    page = visitor.get(url).content.decode()

    assert "Alpine IT" in page and "CHF 90 a month" in page and "Proposals received (1)" in page
    assert 'data-confirm="Cancel your request' in page
    cancelled = visitor.post(url, {"action": "cancel"}, follow=True).content.decode()
    assert "Cancelled" in cancelled and "partners no longer see it" in cancelled
    assert "Cancel the request</button>" not in cancelled
    tender.refresh_from_db()
    assert tender.status == Tender.Status.CANCELLED
    # the confirm link of a cancelled request cannot publish it again
    visitor.post(link("tender_confirm", tender, "confirm"))
    tender.refresh_from_db()
    assert tender.status == Tender.Status.CANCELLED


# --- a customer's requests ---------------------------------------------------------------------


def test_a_customer_owner_posts_from_the_portal_and_cancels(
    world, opted_in, browser, django_capture_on_commit_callbacks
):
    owner = browser(world.customer_owner)
    listing = owner.get(reverse("tenders", kwargs={"slug": "mueller"})).content.decode()
    assert "Post a request" in listing and "No request yet" in listing
    form = owner.get(reverse("tender_new", kwargs={"slug": "mueller"})).content.decode()
    assert f'value="{world.customer_owner.email}"' in form  # the contact is prefilled

    data = {**fields(), "valid_until": (TODAY + datetime.timedelta(days=10)).isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        posted = owner.post(reverse("tender_new", kwargs={"slug": "mueller"}), data)

    tender = Tender.unscoped.get()
    detail = reverse("tender_detail", kwargs={"slug": "mueller", "tender_id": tender.pk})
    assert posted.status_code == 302 and posted["Location"] == detail
    assert tender.status == Tender.Status.OPEN and tender.customer == world.customer
    assert OutboundEmail.objects.filter(subject__contains="New request").count() == 2
    tender_propose(org=org(world.partner_admin, world.partner), tender=tender, message="Hello!")
    listing = owner.get(reverse("tenders", kwargs={"slug": "mueller"})).content.decode()
    assert "Ten mailboxes and a website" in listing
    assert re.search(r'data-figure="proposal-count">1<', listing)
    page = owner.get(detail).content.decode()
    assert "Hello!" in page and "Alpine IT" in page and "Cancel the request</button>" in page

    page = owner.post(detail, {"action": "cancel"}, follow=True).content.decode()

    assert "Your request was cancelled" in page
    tender.refresh_from_db()
    assert tender.status == Tender.Status.CANCELLED


def test_a_customer_user_sees_the_requests_but_neither_posts_nor_cancels(world, browser):
    tender = customer_tender(world)
    user = browser(world.customer_user)
    listing = user.get(reverse("tenders", kwargs={"slug": "mueller"})).content.decode()
    assert "Ten mailboxes and a website" in listing and "Post a request" not in listing
    assert user.get(reverse("tender_new", kwargs={"slug": "mueller"})).status_code == 403
    detail = reverse("tender_detail", kwargs={"slug": "mueller", "tender_id": tender.pk})
    assert "Cancel the request</button>" not in user.get(detail).content.decode()
    assert user.post(detail, {"action": "cancel"}).status_code == 403
    tender.refresh_from_db()
    assert tender.status == Tender.Status.OPEN


def test_bad_input_on_the_customer_form_is_shown_inline(world, browser):
    data = {**fields(), "valid_until": (TODAY - datetime.timedelta(days=1)).isoformat()}
    response = browser(world.customer_owner).post(
        reverse("tender_new", kwargs={"slug": "mueller"}), data
    )
    assert response.status_code == 400
    assert "Choose a day from today to a year from now." in response.content.decode()
    assert not Tender.unscoped.exists()


# --- a partner's view --------------------------------------------------------------------------


def test_a_partner_opted_in_reads_the_whole_request_and_proposes_once(world, opted_in, browser):
    tender = customer_tender(world)
    partner = browser(world.partner_owner)
    listing = partner.get(reverse("tenders", kwargs={"slug": "alpine"})).content.decode()
    assert "Ten mailboxes and a website" in listing and "bakery with 10 staff" in listing
    assert "Answered" not in listing
    detail = reverse("tender_detail", kwargs={"slug": "alpine", "tender_id": tender.pk})
    page = partner.get(detail).content.decode()
    assert "anna@mueller.test" in page and "+41 31 000 00 00" in page
    assert "Send the proposal" in page

    sent = partner.post(detail, {"action": "propose", "message": "CHF 90 a month, all in."})

    assert sent.status_code == 302
    proposal = TenderProposal.unscoped.get()
    assert (proposal.partner, proposal.author) == (world.partner, world.partner_owner)
    mail = OutboundEmail.objects.get(subject__contains="Alpine IT answered")
    poster = Tender.unscoped.get().poster_email  # the posting member, not the contact
    assert mail.to == poster and "CHF 90 a month" in mail.body_text
    page = partner.get(detail).content.decode()
    assert "CHF 90 a month, all in." in page and "Send the proposal" not in page
    listing = partner.get(reverse("tenders", kwargs={"slug": "alpine"})).content.decode()
    assert "Answered" in listing
    again = partner.post(detail, {"action": "propose", "message": "Again"}, follow=True)
    assert "You already answered this request." in again.content.decode()
    assert TenderProposal.unscoped.count() == 1


def test_a_request_without_a_contact_name_names_its_email_instead(world, opted_in, browser):
    visitor = visitor_post(Client(), contact_name="", ip="203.0.113.9")
    assert visitor.status_code == 200
    assert Tender.unscoped.get().contact_name == ""
    tender = customer_tender(world, contact_name="")
    partner = browser(world.partner_owner)
    detail = reverse("tender_detail", kwargs={"slug": "alpine", "tender_id": tender.pk})

    sent = partner.post(detail, {"action": "propose", "message": "Yes."}, follow=True)

    page = sent.content.decode()
    assert "Your proposal was emailed to anna@mueller.test." in page
    assert "anna@mueller.test received it by email" in page


def test_an_empty_proposal_is_refused_inline(world, opted_in, browser):
    tender = customer_tender(world)
    detail = reverse("tender_detail", kwargs={"slug": "alpine", "tender_id": tender.pk})
    response = browser(world.partner_owner).post(detail, {"action": "propose", "message": " "})
    assert response.status_code == 400 and 'id="id_message_error"' in response.content.decode()
    assert not TenderProposal.unscoped.exists()


def test_a_partner_not_opted_in_sees_an_explanation_and_no_request(world, browser):
    tender = customer_tender(world)
    partner = browser(world.other_owner)

    listing = partner.get(reverse("tenders", kwargs={"slug": "rhein"})).content.decode()

    assert "does not receive tenders yet" in listing
    assert reverse("organization", kwargs={"slug": "rhein"}) in listing
    assert "Ten mailboxes" not in listing
    detail = reverse("tender_detail", kwargs={"slug": "rhein", "tender_id": tender.pk})
    assert_all_404(partner, [detail], data={"action": "propose", "message": "Hi"})
    assert not TenderProposal.unscoped.exists()


def test_a_closed_request_is_a_404_for_partners(world, opted_in, browser):
    tender = customer_tender(world)
    Tender.unscoped.filter(pk=tender.pk).update(valid_until=TODAY - datetime.timedelta(days=1))
    detail = reverse("tender_detail", kwargs={"slug": "alpine", "tender_id": tender.pk})
    assert browser(world.partner_owner).get(detail).status_code == 404


# --- isolation ---------------------------------------------------------------------------------


def test_every_tender_page_is_a_404_to_another_organization(world, opted_in, client):
    tender = customer_tender(world)
    Tenant.objects.filter(pk=world.other_partner.pk).update(receives_tenders=True)
    cases = [
        (world.other_owner, "mueller"),  # a partner that opted in, at the customer's pages
        (world.other_customer_owner, "mueller"),  # another customer
        (world.other_customer_owner, "alpine"),  # another customer, at a partner's pages
        (world.customer_owner, "rhein"),
    ]
    for actor, slug in cases:
        client.force_login(actor)
        urls = org_page_urls(tenders.urls, slug=slug, tender_id=tender.pk)
        assert len(urls) == 3
        assert_all_404(client, urls)


def test_another_customers_tender_is_a_404_at_its_own_address(world, browser):
    tender = customer_tender(world)
    other = browser(world.other_customer_owner)
    detail = reverse("tender_detail", kwargs={"slug": "bergmann", "tender_id": tender.pk})
    assert_all_404(other, [detail], methods=METHODS, data={"action": "cancel"})
    tender.refresh_from_db()
    assert tender.status == Tender.Status.OPEN


# --- the programme card ------------------------------------------------------------------------


def test_the_partner_dashboard_shows_the_programme_progress(world, browser):
    hosting = ProductFactory(code="web-hosting", prices={"CHF": "9.92", "EUR": "5.75"})
    invited = partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    partnership_accept(org=org(world.partner_owner, world.partner), partnership=invited)
    for _month in range(12):  # 10 x 9.92 invoiced, twelve times
        invoiced(world, hosting, 10)
    dashboard = browser(world.partner_owner)

    page = dashboard.get("/t/alpine/").content.decode()

    # 12 x 99.20 = 1,190.40 invoiced in the last 12 months, of CHF 2,000
    assert re.search(r'data-figure="programme-chf">CHF 1,190.40<', page)
    assert '<progress value="59" max="100"' in page
    assert "CHF 809.60 to go" in page and "EUR 1,800.00 to go" in page
    assert "You qualify</strong> for" not in page

    for _month in range(12):
        invoiced(world, hosting, 10)
    page = dashboard.get("/t/alpine/").content.decode()

    assert re.search(r'data-figure="programme-chf">CHF 2,380.80<', page)
    assert "You qualify</strong> for" in page and "CHF 0.00 to go" not in page
