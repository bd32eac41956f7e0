"""The tenders and partner-programme API (API.md `tenders/`, `programme/`; SPEC §3):
posting, reading, cancelling and answering tenders, the emails they queue, what
each side reads, the 400/403/404/409 of API.md, a fixed number of queries per
list; the programme's progress; a partner's listing and tender opt-in through
`organization/`, and the directory."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.fields import DateTimeField

from catalog.tests.factories import ProductFactory
from partners.services import partnership_accept, partnership_invite_partner
from subscriptions.services import subscription_build
from tenants.models import OutboundEmail
from tenants.selectors import org_context_for
from tenders.models import Tender, TenderProposal
from tenders.services import (
    tender_cancel,
    tender_confirm,
    tender_post,
    tender_post_visitor,
    tender_propose,
)
from tenders.tests.invoicing import invoiced
from tests.clock import on
from tests.isolation import missing_id

TENDERS = "/api/v1/tenders/"
PROGRAMME = "/api/v1/programme/"
ORGANIZATION = "/api/v1/organization/"
DIRECTORY = "/api/v1/partners/directory/"

# These tests are about one day (a leap day): they travel there (tests/clock.py).
MOMENT = on(2028, 2, 29)
TODAY = MOMENT.date()
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MOMENT)]
EXCERPT = "[Partner Portal] New request: Ten mailboxes and a website"
NOT_AVAILABLE = {"detail": "Not available for this organization."}
NO_SUCH_REQUEST = {"detail": "No such request."}


# --- helpers ------------------------------------------------------------------------------


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def fields(**overrides) -> dict:
    return {
        "title": "Ten mailboxes and a website",
        "description": "We are a bakery with 10 staff and need email and a simple website. " * 8,
        "category": "email",
        "contact_name": "Anna Müller",
        "contact_email": "anna@mueller.test",
        "valid_until": TODAY + datetime.timedelta(days=30),
        **overrides,
    }


def body(**overrides) -> dict:
    """The JSON body of `POST tenders/`."""
    data = fields(**{"contact_phone": "+41 61 555 12 12", **overrides})
    if isinstance(data["valid_until"], datetime.date):
        data["valid_until"] = data["valid_until"].isoformat()
    return data


def opt_in(*partners) -> None:
    for partner in partners:
        partner.receives_tenders = True
        partner.save(update_fields=["receives_tenders"])


def posted(world, **overrides) -> Tender:
    """A tender the world's customer posted (through the service)."""
    return tender_post(org=org(world.customer_owner, world.customer), **fields(**overrides))


def as_customer(api, world, user=None):
    return api(user or world.customer_owner, world.customer)


def as_partner(api, world, user=None):
    return api(user or world.partner_owner, world.partner)


def url(tender_or_id, action: str = "") -> str:
    pk = getattr(tender_or_id, "pk", tender_or_id)
    return f"{TENDERS}{pk}/{action + '/' if action else ''}"


@pytest.fixture
def opted_in(world):
    """Alpine IT receives tenders; Rhein Cloud does not."""
    opt_in(world.partner)
    return world.partner


# --- posting ------------------------------------------------------------------------------


@pytest.mark.parametrize("poster", ["customer_owner", "customer_admin"])
def test_a_customer_owner_or_admin_posts_and_opted_in_partners_are_emailed_after_commit(
    world, api, django_capture_on_commit_callbacks, poster
):
    # given both top-level partners opted in (the sub-partner did not)
    opt_in(world.partner, world.other_partner)
    client = as_customer(api, world, getattr(world, poster))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(TENDERS, body(), format="json")
        # nothing goes to the partners before the request is saved
        assert not OutboundEmail.objects.filter(subject=EXCERPT).exists()

    assert response.status_code == 201, response.json()
    data = response.json()
    tender = Tender.unscoped.get()
    assert data == {
        "id": str(tender.pk),
        "title": "Ten mailboxes and a website",
        "description": fields()["description"].strip(),
        "category": "email",
        "contact_name": "Anna Müller",
        "contact_email": "anna@mueller.test",
        "contact_phone": "+41 61 555 12 12",
        "valid_until": (TODAY + datetime.timedelta(days=30)).isoformat(),
        "status": "open",
        "created_at": data["created_at"],
        "customer": str(world.customer.pk),
        "proposals": [],
    }
    assert tender.posted_by == getattr(world, poster)
    # one excerpt per owner and admin of each partner that opted in, without the contact
    excerpts = OutboundEmail.objects.filter(subject=EXCERPT)
    assert sorted(excerpts.values_list("to", flat=True)) == sorted(
        [world.partner_owner.email, world.partner_admin.email, world.other_owner.email]
    )
    assert all("anna@mueller.test" not in e.body_text for e in excerpts)
    # the posting member (not the contact address) got the link to see and cancel it
    assert OutboundEmail.objects.filter(
        to=getattr(world, poster).email, subject__contains="is published"
    ).exists()


def test_the_phone_is_optional(world, api):
    data = body()
    del data["contact_phone"]
    response = as_customer(api, world).post(TENDERS, data, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["contact_phone"] == ""


def test_the_contact_name_is_optional_as_api_md_lists_it(world, api):
    # API.md: `{title, description, category, contact_email, valid_until}`
    # (`contact_name` optional): an integrator following it gets its tender
    data = body()
    del data["contact_name"], data["contact_phone"]
    response = as_customer(api, world).post(TENDERS, data, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["contact_name"] == ""
    blank = as_customer(api, world).post(TENDERS, body(contact_name="  "), format="json")
    assert blank.status_code == 201, blank.json()
    assert Tender.unscoped.filter(contact_name="").count() == 2


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"category": "cars"}, "category"),
        ({"contact_name": "x" * 201}, "contact_name"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_phone": "1" * 41}, "contact_phone"),
        ({"valid_until": "next week"}, "valid_until"),
        ({"valid_until": TODAY - datetime.timedelta(days=1)}, "valid_until"),
        ({"valid_until": TODAY + datetime.timedelta(days=400)}, "valid_until"),
    ],
)
def test_bad_input_is_a_400_on_the_field_and_nothing_is_written(
    world, api, opted_in, django_capture_on_commit_callbacks, override, field
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_customer(api, world).post(TENDERS, body(**override), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Tender.unscoped.exists()
    assert not OutboundEmail.objects.exists()


def test_a_missing_field_is_a_400_on_the_field(world, api):
    data = body()
    del data["contact_email"], data["valid_until"]
    response = as_customer(api, world).post(TENDERS, data, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"contact_email", "valid_until"}
    assert not Tender.unscoped.exists()


def test_a_customer_user_may_not_post_and_partners_cannot(world, api):
    # a customer's user: the role does not allow it
    response = as_customer(api, world, world.customer_user).post(TENDERS, body(), format="json")
    assert response.status_code == 403
    # partners do not post tenders: the 404 of an endpoint not for their kind,
    # whatever the role and whatever the body
    for user in (world.partner_owner, world.collaborator):
        for data in (body(), {}):
            response = as_partner(api, world, user).post(TENDERS, data, format="json")
            assert response.status_code == 404
            assert response.json() == NOT_AVAILABLE
    assert not Tender.unscoped.exists()


def test_a_provider_has_no_tenders(world, api):
    staff = api(world.staff, world.provider)
    assert staff.get(TENDERS).status_code == 404


# --- reading ------------------------------------------------------------------------------


def test_a_customer_lists_its_own_tenders_in_every_status(world, api):
    # given an open tender, a cancelled one, one past its day, and another customer's
    open_ = posted(world, title="Open")
    cancelled = posted(world, title="Cancelled")
    tender_cancel(tender=cancelled, org=org(world.customer_owner, world.customer))
    expired = posted(world, title="Expired")
    Tender.unscoped.filter(pk=expired.pk).update(valid_until=TODAY - datetime.timedelta(days=1))
    tender_post(org=org(world.other_customer_owner, world.other_customer), **fields())

    response = as_customer(api, world, world.customer_user).get(TENDERS)

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3
    assert {(t["id"], t["status"]) for t in data["results"]} == {
        (str(open_.pk), "open"),
        (str(cancelled.pk), "cancelled"),
        (str(expired.pk), "open"),
    }
    assert set(data) == {"count", "next", "previous", "results"}
    # filterable by status
    only_cancelled = as_customer(api, world).get(TENDERS, {"status": "cancelled"}).json()
    assert [t["id"] for t in only_cancelled["results"]] == [str(cancelled.pk)]


def test_a_partner_that_opted_in_lists_open_valid_tenders_in_full(
    world, api, opted_in, django_capture_on_commit_callbacks
):
    # given a customer's open tender, a visitor's confirmed one, and three it must not see
    open_ = posted(world, title="Open")
    visitor = tender_post_visitor(**fields(title="A visitor's", contact_email="v@visitor.test"))
    with django_capture_on_commit_callbacks(execute=True):
        tender_confirm(tender=visitor)
    tender_post_visitor(**fields(title="Unconfirmed"))
    tender_cancel(tender=posted(world, title="Cancelled"), org=None)
    expired = posted(world, title="Expired")
    Tender.unscoped.filter(pk=expired.pk).update(valid_until=TODAY - datetime.timedelta(days=1))

    response = as_partner(api, world, world.collaborator).get(TENDERS)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [t["title"] for t in results] == ["A visitor's", "Open"]  # newest first
    by_title = {t["title"]: t for t in results}
    assert by_title["Open"]["contact_email"] == "anna@mueller.test"
    assert by_title["Open"]["contact_name"] == "Anna Müller"
    assert by_title["Open"]["description"] == open_.description
    assert by_title["Open"]["customer"] == str(world.customer.pk)
    assert by_title["A visitor's"]["customer"] is None
    assert by_title["A visitor's"]["contact_email"] == "v@visitor.test"


def test_a_partner_that_did_not_opt_in_lists_nothing(world, api):
    posted(world)
    for user, tenant in (
        (world.partner_owner, world.partner),
        (world.other_owner, world.other_partner),
        (world.sub_partner_owner, world.sub_partner),
    ):
        response = api(user, tenant).get(TENDERS)
        assert response.status_code == 200
        assert (response.json()["count"], response.json()["results"]) == (0, [])


def test_the_poster_reads_every_proposal_and_a_partner_only_its_own(world, api):
    # given both partners opted in and each answered
    opt_in(world.partner, world.other_partner)
    tender = posted(world)
    alpine = tender_propose(
        org=org(world.partner_owner, world.partner), tender=tender, message="Alpine: CHF 90"
    )
    rhein = tender_propose(
        org=org(world.other_owner, world.other_partner), tender=tender, message="Rhein: EUR 80"
    )

    def proposal(p, partner):
        return {
            "id": str(p.pk),
            "partner": {"id": str(partner.pk), "name": partner.name},
            "message": p.message,
            "created_at": DateTimeField().to_representation(p.created_at),
        }

    poster = as_customer(api, world, world.customer_user).get(url(tender))
    alpine_view = as_partner(api, world).get(url(tender))
    rhein_view = api(world.other_owner, world.other_partner).get(url(tender))

    assert poster.status_code == alpine_view.status_code == rhein_view.status_code == 200
    assert poster.json()["proposals"] == [
        proposal(alpine, world.partner),
        proposal(rhein, world.other_partner),
    ]
    assert alpine_view.json()["proposals"] == [proposal(alpine, world.partner)]
    assert rhein_view.json()["proposals"] == [proposal(rhein, world.other_partner)]
    # the list reads the same
    listed = as_partner(api, world).get(TENDERS).json()["results"]
    assert listed[0]["proposals"] == [proposal(alpine, world.partner)]


@pytest.mark.parametrize("side", ["customer", "partner"])
def test_the_list_takes_the_same_number_of_queries_for_1_or_10_tenders(
    world, api, side, django_assert_max_num_queries
):
    opt_in(world.partner, world.other_partner)
    client = as_customer(api, world) if side == "customer" else as_partner(api, world)

    def add_tenders(count: int) -> None:
        for _ in range(count):
            tender = posted(world)
            for partner in (world.partner, world.other_partner):
                TenderProposal.unscoped.create(tender=tender, partner=partner, message="Hello")

    add_tenders(1)
    with CaptureQueriesContext(connection) as one:
        assert client.get(TENDERS).json()["count"] == 1
    add_tenders(9)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(TENDERS)
    results = response.json()["results"]
    assert len(results) == 10
    expected = 2 if side == "customer" else 1
    assert all(len(t["proposals"]) == expected for t in results)


# --- isolation ----------------------------------------------------------------------------

ACTIONS = [("get", ""), ("post", "cancel"), ("post", "proposals")]


@pytest.mark.parametrize(
    "actor", ["other partner, not opted in", "partner, not opted in", "other customer"]
)
@pytest.mark.parametrize(("method", "action"), ACTIONS)
def test_a_tender_out_of_reach_is_the_404_of_a_missing_id(world, api, actor, method, action):
    user, tenant = {
        "other partner, not opted in": (world.other_owner, world.other_partner),
        "partner, not opted in": (world.partner_owner, world.partner),
        "other customer": (world.other_customer_owner, world.other_customer),
    }[actor]
    tender = posted(world)
    client = api(user, tenant)
    data = {"message": "We can do it."}

    theirs = getattr(client, method)(url(tender, action), data, format="json")
    absent = getattr(client, method)(url(missing_id(), action), data, format="json")
    malformed = getattr(client, method)(url("not-an-id", action), data, format="json")

    assert theirs.status_code == absent.status_code == malformed.status_code == 404
    assert theirs.json() == absent.json() == malformed.json()
    tender.refresh_from_db()
    assert tender.status == Tender.Status.OPEN
    assert not TenderProposal.unscoped.exists()


def test_a_partner_no_longer_sees_a_cancelled_or_expired_tender(world, api, opted_in):
    cancelled = posted(world)
    tender_cancel(tender=cancelled, org=org(world.customer_owner, world.customer))
    expired = posted(world)
    Tender.unscoped.filter(pk=expired.pk).update(valid_until=TODAY - datetime.timedelta(days=1))
    client = as_partner(api, world)
    for tender in (cancelled, expired):
        response = client.get(url(tender))
        assert response.status_code == 404
        assert response.json() == client.get(url(missing_id())).json() == NO_SUCH_REQUEST


# --- cancelling ---------------------------------------------------------------------------


def test_the_poster_cancels_at_once_and_a_second_cancel_is_a_409(world, api, opted_in):
    tender = posted(world)
    client = as_customer(api, world, world.customer_admin)

    response = client.post(url(tender, "cancel"))

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert Tender.unscoped.get(pk=tender.pk).cancelled_at is not None
    # partners stop seeing it at once; the customer still reads it
    assert as_partner(api, world).get(url(tender)).status_code == 404
    assert as_partner(api, world).get(TENDERS).json()["count"] == 0
    assert client.get(url(tender)).json()["status"] == "cancelled"
    # again: the status forbids it
    again = client.post(url(tender, "cancel"))
    assert again.status_code == 409
    assert again.json() == {"detail": "This request is already cancelled."}


def test_only_the_customers_owners_and_admins_cancel(world, api, opted_in):
    tender = posted(world)
    user = as_customer(api, world, world.customer_user).post(url(tender, "cancel"))
    partner = as_partner(api, world).post(url(tender, "cancel"))  # it sees the tender
    assert user.status_code == 403
    assert (partner.status_code, partner.json()) == (404, NOT_AVAILABLE)
    assert Tender.unscoped.get(pk=tender.pk).status == Tender.Status.OPEN


# --- proposals ----------------------------------------------------------------------------


def test_a_partner_that_opted_in_proposes_once_and_the_poster_is_emailed(
    world, api, opted_in, django_capture_on_commit_callbacks
):
    tender = posted(world)
    client = as_partner(api, world, world.collaborator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(tender, "proposals"), {"message": "We can do it for CHF 90 a month."}
        )

    assert response.status_code == 201, response.json()
    proposal = TenderProposal.unscoped.get()
    assert response.json() == {
        "id": str(proposal.pk),
        "partner": {"id": str(world.partner.pk), "name": "Alpine IT"},
        "message": "We can do it for CHF 90 a month.",
        "created_at": response.json()["created_at"],
    }
    assert proposal.author == world.collaborator
    mail = OutboundEmail.objects.get(subject__contains="Alpine IT answered")
    assert mail.to == world.customer_owner.email  # the posting member, not the contact
    assert "CHF 90 a month" in mail.body_text
    # a second proposal of the same partner (another member) is refused
    again = as_partner(api, world).post(url(tender, "proposals"), {"message": "Again"})
    assert again.status_code == 400
    assert "message" in again.json()
    assert TenderProposal.unscoped.count() == 1


@pytest.mark.parametrize("message", ["", "   ", "x" * 5001])
def test_a_blank_or_long_proposal_is_a_400(world, api, opted_in, message):
    tender = posted(world)
    response = as_partner(api, world).post(url(tender, "proposals"), {"message": message})
    assert response.status_code == 400
    assert "message" in response.json()
    assert not TenderProposal.unscoped.exists()


@pytest.mark.parametrize("state", ["cancelled", "expired"])
def test_a_cancelled_or_expired_tender_cannot_be_answered(world, api, opted_in, state):
    tender = posted(world)
    if state == "cancelled":
        tender_cancel(tender=tender, org=None)
    else:
        Tender.unscoped.filter(pk=tender.pk).update(valid_until=TODAY - datetime.timedelta(days=1))
    client = as_partner(api, world)
    data = {"message": "Still interested?"}

    response = client.post(url(tender, "proposals"), data)

    assert response.status_code == 404
    assert response.json() == client.post(url(missing_id(), "proposals"), data).json()
    assert not TenderProposal.unscoped.exists()


def test_customers_do_not_propose(world, api):
    tender = posted(world)
    response = as_customer(api, world).post(url(tender, "proposals"), {"message": "Me?"})
    assert (response.status_code, response.json()) == (404, NOT_AVAILABLE)
    assert not TenderProposal.unscoped.exists()


# --- the partner programme ----------------------------------------------------------------


def test_the_programme_shows_how_far_the_partner_is(world, api):
    # given a limited grant of the hosting (managed) and a domain it does not manage
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
    invoiced(world, hosting, 24)  # the customer pays the public price: CHF 2,400.00
    invoiced(world, domain, 3, by=world.customer_owner, tenant=world.customer)

    response = as_partner(api, world, world.collaborator).get(PROGRAMME)

    assert response.status_code == 200
    assert response.json() == {
        "qualifies": True,
        "currencies": [
            {
                "currency": "CHF",
                "yearly_value": "2400.00",  # invoiced: 24 x 100.00
                "threshold": "2000.00",
                "missing": "0.00",
                "percent": 100,
                "reached": True,
            },
            {
                "currency": "EUR",
                "yearly_value": "0.00",
                "threshold": "1800.00",
                "missing": "1800.00",
                "percent": 0,
                "reached": False,
            },
        ],
    }
    other = api(world.other_owner, world.other_partner).get(PROGRAMME).json()
    assert other["qualifies"] is False
    assert [c["yearly_value"] for c in other["currencies"]] == ["0.00", "0.00"]


def test_a_price_typed_in_never_makes_the_partner_qualify(world, api):
    """Issue 20: `POST subscriptions/ {"unit_price": "999999.00"}` turned the
    programme's `qualifies` true at no cost. The price is refused (400), and even
    a subscription row written at that price outside the order path counts for
    nothing: the programme reads invoices."""
    hosting = ProductFactory(code="web-hosting", prices={"CHF": "9.92", "EUR": "5.75"})
    invited = partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
    )
    partnership_accept(org=org(world.partner_owner, world.partner), partnership=invited)
    client = as_partner(api, world, world.partner_owner)

    attack = client.post(
        "/api/v1/subscriptions/",
        {
            "customer": str(world.customer.id),
            "product": "web-hosting",
            "quantity": 1,
            "unit_price": "999999.00",
        },
    )
    subscription_build(
        customer=world.customer,
        product=hosting,
        quantity=1,
        unit_price=Decimal("999999.00"),
        starts_on=TODAY - datetime.timedelta(days=10),
    ).save()
    programme = client.get(PROGRAMME).json()

    assert attack.status_code == 400 and "unit_price" in attack.json()
    assert programme["qualifies"] is False
    assert programme["currencies"][0]["yearly_value"] == "0.00"


def test_the_programme_is_for_partners(world, api):
    assert as_customer(api, world).get(PROGRAMME).status_code == 404
    assert api(world.staff, world.provider).get(PROGRAMME).status_code == 404
    assert api().get(PROGRAMME).status_code in (401, 403)


# --- the partner's listing and opt-in (organization/), the directory ------------------------

LISTING = {
    "website": "https://alpine-it.example",
    "city": "Basel",
    "country": "CH",
    "specialities": ["email", "hosting"],
    "listed_in_directory": True,
    "receives_tenders": True,
}


def test_a_partner_reads_and_updates_its_listing_and_opt_in(world, api):
    tender = posted(world)
    client = as_partner(api, world, world.partner_admin)
    before = client.get(ORGANIZATION).json()
    assert set(LISTING) <= set(before)
    assert before["receives_tenders"] is False
    assert client.get(TENDERS).json()["count"] == 0

    response = client.patch(ORGANIZATION, LISTING, format="json")

    assert response.status_code == 200, response.json()
    assert {k: response.json()[k] for k in LISTING} == LISTING
    assert {k: client.get(ORGANIZATION).json()[k] for k in LISTING} == LISTING
    world.partner.refresh_from_db()
    assert (world.partner.city, world.partner.receives_tenders) == ("Basel", True)
    # opted in, it sees the open tender at once
    assert [t["id"] for t in client.get(TENDERS).json()["results"]] == [str(tender.pk)]


def test_a_listing_update_needs_an_owner_or_admin_and_is_for_partners(world, api):
    collaborator = as_partner(api, world, world.collaborator)
    assert (
        collaborator.patch(ORGANIZATION, {"receives_tenders": True}, format="json").status_code
        == 403
    )
    # a customer neither reads nor writes the partner listing
    customer = as_customer(api, world)
    assert not {"website", "listed_in_directory", "receives_tenders"} & set(
        customer.get(ORGANIZATION).json()
    )
    refused = customer.patch(ORGANIZATION, {"receives_tenders": True}, format="json")
    assert refused.status_code == 400
    assert "receives_tenders" in refused.json()
    world.partner.refresh_from_db()
    world.customer.refresh_from_db()
    assert world.partner.receives_tenders is False
    assert world.customer.receives_tenders is False


def test_a_bad_listing_is_a_400(world, api):
    client = as_partner(api, world)
    response = client.patch(ORGANIZATION, {"website": "not a url"}, format="json")
    assert response.status_code == 400
    assert "website" in response.json()


def test_the_directory_lists_only_partners_that_opted_in(world, api):
    client = api(world.customer_owner)  # anyone signed in; no organization needed

    def names(**params):
        response = client.get(DIRECTORY, params)
        assert response.status_code == 200
        return [p["name"] for p in response.json()["results"]]

    # Alpine IT and Rhein Cloud are listed; Lakeside (the sub-partner) is not
    assert names() == ["Alpine IT", "Rhein Cloud"]
    assert names(q="alp") == ["Alpine IT"]
    assert names(q="Lake") == []
    assert names(q=world.other_owner.email) == ["Rhein Cloud"]
    assert names(q=world.sub_partner_owner.email) == []
    # the listing shows what the partner entered
    as_partner(api, world).patch(ORGANIZATION, LISTING, format="json")
    alpine = client.get(DIRECTORY, {"q": "alp"}).json()["results"][0]
    assert alpine == {
        "id": str(world.partner.pk),
        "name": "Alpine IT",
        "website": "https://alpine-it.example",
        "city": "Basel",
        "country": "CH",
        "specialities": ["email", "hosting"],
    }
    # a partner that leaves the directory is no longer found
    as_partner(api, world).patch(ORGANIZATION, {"listed_in_directory": False}, format="json")
    assert names() == ["Rhein Cloud"]
    assert names(q="alp") == []
