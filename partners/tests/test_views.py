"""The browser side of partnerships: the partner's customers, the customer's
partners, the shared partnership page and the public invitation landing."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import customers.urls
import partners.urls
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from partners import selectors, services
from partners.models import CustomerAssignment, Partnership, PartnershipEvent
from tenants.models import Membership, Tenant, User
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD, UserFactory
from tests.isolation import assert_all_404, missing_id, org_page_urls

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https://portal\.example\.test(/invitations/[^/\s]+/)")


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def in_a_month():
    return timezone.localdate() + datetime.timedelta(days=30)


@pytest.fixture
def catalog(db):
    category = Product.Category
    return {
        "web": ProductFactory(code="web-hosting", name="Web Hosting", category=category.HOSTING),
        "mail": ProductFactory(code="mail-pro", name="Mail Pro", category=category.EMAIL),
        "backup": ProductFactory(
            code="backup-std", name="Backup Standard", category=category.BACKUP
        ),
    }


def add_unclaimed(world, name="Unclaimed AG") -> Partnership:
    """A customer the partner manages at once (full access, partner pays)."""
    return services.customer_add(org=ctx(world.partner_owner, world.partner), name=name)


def add_invited(world, *, email="owner@newco.test", name="NewCo", **grant) -> Partnership:
    grant = grant or {"access": "full", "payment": "customer"}
    return services.customer_add(
        org=ctx(world.partner_owner, world.partner), name=name, owner_email=email, **grant
    )


def mueller_gives_alpine(world, **grant) -> Partnership:
    """Müller (owner, admin, user) invites Alpine, whose owner accepts."""
    grant = grant or {"access": "full", "payment": "customer"}
    partnership = services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer), partner=world.partner, **grant
    )
    return services.partnership_accept(
        org=ctx(world.partner_owner, world.partner), partnership=partnership
    )


def page_url(partnership, tenant):
    return reverse(
        "partnership_detail", kwargs={"slug": tenant.slug, "partnership_id": partnership.pk}
    )


# --- who reaches which page ------------------------------------------------------------


def test_each_page_serves_the_roles_it_is_for_and_refuses_the_others(world, client):
    partnership = mueller_gives_alpine(world)
    customer_id = world.customer.id
    expectations = [
        # (user, url, status)
        (world.partner_owner, "/t/alpine/customers/", 200),
        (world.partner_admin, "/t/alpine/customers/", 200),
        (world.collaborator, "/t/alpine/customers/", 200),
        (world.partner_owner, "/t/alpine/customers/add/", 200),
        (world.partner_admin, "/t/alpine/customers/add/", 200),
        (world.collaborator, "/t/alpine/customers/add/", 403),
        (world.partner_owner, f"/t/alpine/customers/{customer_id}/collaborators/", 200),
        (world.partner_admin, f"/t/alpine/customers/{customer_id}/collaborators/", 200),
        (world.collaborator, f"/t/alpine/customers/{customer_id}/collaborators/", 403),
        (world.partner_owner, page_url(partnership, world.partner), 200),
        (world.partner_admin, page_url(partnership, world.partner), 200),
        (world.collaborator, page_url(partnership, world.partner), 404),  # not assigned
        (world.customer_owner, page_url(partnership, world.customer), 200),
        (world.customer_admin, page_url(partnership, world.customer), 200),
        (world.customer_user, page_url(partnership, world.customer), 200),
        (world.customer_owner, "/t/mueller/partners/", 200),
        (world.customer_admin, "/t/mueller/partners/", 200),
        (world.customer_user, "/t/mueller/partners/", 200),
        (world.customer_owner, "/t/mueller/partners/invite/", 200),
        (world.customer_admin, "/t/mueller/partners/invite/", 403),
        (world.customer_user, "/t/mueller/partners/invite/", 403),
        # A partner page in a customer organization and the other way round.
        (world.customer_owner, "/t/mueller/customers/", 404),
        (world.partner_owner, "/t/alpine/partners/", 404),
    ]
    failures = []
    for user, url, status in expectations:
        client.force_login(user)
        got = client.get(url).status_code
        if got != status:
            failures.append(f"{user.email} GET {url} → {got}, expected {status}")
    assert not failures, "\n".join(failures)


def test_the_sub_navigation_names_the_partnership_pages(world, browser):
    assert b'href="/t/alpine/customers/"' in browser(world.partner_admin).get("/t/alpine/").content
    page = browser(world.customer_user).get("/t/mueller/").content
    assert b'href="/t/mueller/partners/"' in page and b"/customers/" not in page


def test_anonymous_visitors_are_sent_to_sign_in(world, client):
    ids = dict.fromkeys(
        (
            "customer_id",
            "partnership_id",
            "contact_id",
            "contract_id",
            "policy_id",
            "profile_id",
            "job_id",
        )
    )
    for url in org_page_urls(
        customers.urls, partners.urls, slug="alpine", **{k: missing_id() for k in ids}
    ):
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_every_page_of_another_organization_is_a_404(world, browser):
    foreign = services.customer_add(
        org=ctx(world.other_owner, world.other_partner), name="Rhine AG"
    )
    ours = mueller_gives_alpine(world)
    client = browser(world.partner_owner)
    ids = {
        "customer_id": foreign.customer_id,
        "partnership_id": foreign.pk,
        **{
            key: missing_id()
            for key in ("contact_id", "contract_id", "policy_id", "profile_id", "job_id")
        },
    }
    for slug in ("rhein", "bergmann", "no-such-org"):
        assert_all_404(client, org_page_urls(customers.urls, partners.urls, slug=slug, **ids))
    # Another organization's ids under one's own slug are 404s too, on both sides.
    with_ids = [
        url
        for url in org_page_urls(customers.urls, partners.urls, slug="alpine", **ids)
        if str(foreign.pk) in url or str(foreign.customer_id) in url
    ]
    assert (
        len(with_ids) == 5
    )  # the customer page, its contacts, contracts, collaborators; the partnership
    assert_all_404(client, with_ids)
    assert_all_404(browser(world.customer_owner), [page_url(foreign, world.customer)])
    # And the outsider does not reach ours.
    assert_all_404(browser(world.other_owner), [page_url(ours, world.other_partner)])


def test_too_low_a_role_gets_403_on_actions(world, browser):
    partnership = mueller_gives_alpine(world)
    customer_admin = browser(world.customer_admin)
    assert (
        customer_admin.post(
            page_url(partnership, world.customer),
            {"action": "change", "access": "full", "payment": "partner"},
        ).status_code
        == 403
    )
    assert (
        customer_admin.post(
            page_url(partnership, world.customer), {"action": "end", "password": PASSWORD}
        ).status_code
        == 403
    )
    partnership.refresh_from_db()
    assert partnership.status == "active" and partnership.payment == "customer"


# --- the partner console -------------------------------------------------------------------


def test_the_customer_list_takes_a_constant_number_of_queries(
    world, browser, catalog, django_assert_max_num_queries
):
    client = browser(world.partner_owner)
    add_unclaimed(world, "Aare AG")
    invited = add_invited(
        world, email="o1@test.test", name="Brienz GmbH", access="limited", products=[catalog["web"]]
    )
    services.partnership_accept(
        org=ctx(User.objects.get(email="o1@test.test"), invited.customer), partnership=invited
    )
    add_invited(world, email="o2@test.test", name="Chur SA")  # pending
    with CaptureQueriesContext(connection) as few:
        assert client.get("/t/alpine/customers/").status_code == 200

    for n in range(12):
        add_unclaimed(world, f"Davos {n:02}")
    for n in range(4):
        p = add_invited(
            world,
            email=f"l{n}@test.test",
            name=f"Emmen {n}",
            access="limited",
            products=[catalog["web"], catalog["mail"]],
        )
        services.partnership_accept(
            org=ctx(User.objects.get(email=f"l{n}@test.test"), p.customer), partnership=p
        )
        add_invited(world, email=f"p{n}@test.test", name=f"Flims {n}")
    with django_assert_max_num_queries(len(few)):
        page = client.get("/t/alpine/customers/")
    content = page.content.decode()
    assert "Davos 11" in content and '<td class="wb-col-access">Limited</td>' in content
    assert "The partner pays" in content and "Flims 3" in content  # pending, in its section
    assert "Chur SA" not in content.split("Pending invitations")[0]


def test_searching_and_paginating_customers(world, browser):
    for n in range(55):
        add_unclaimed(world, f"Customer {n:02}")
    client = browser(world.partner_admin)
    first = client.get("/t/alpine/customers/").content.decode()
    assert "Page 1 of 2" in first and "Customer 00" in first and "Customer 54" not in first
    found = client.get("/t/alpine/customers/", {"q": "tomer 54"}).content.decode()
    assert "Customer 54" in found and "Customer 00" not in found
    none = client.get("/t/alpine/customers/", {"q": "zzz"}).content.decode()
    assert "No customer matches" in none


def test_empty_states_say_what_to_do_next(world, browser):
    owner_page = browser(world.partner_owner).get("/t/alpine/customers/").content.decode()
    assert "No customers yet." in owner_page and "Add a customer" in owner_page
    collaborator_page = browser(world.collaborator).get("/t/alpine/customers/").content.decode()
    assert "No customers are assigned to you yet" in collaborator_page
    assert "Add a customer" not in collaborator_page


def test_assigning_collaborators_to_a_customer(world, browser):
    partnership = add_unclaimed(world, "Zug AG")
    url = f"/t/alpine/customers/{partnership.customer_id}/collaborators/"
    assert b"Zug AG" not in browser(world.collaborator).get("/t/alpine/customers/").content

    admin = browser(world.partner_admin)
    page = admin.get(url)
    assert world.collaborator.email.encode() in page.content
    assert world.partner_owner.email.encode() not in page.content  # only collaborators
    response = admin.post(url, {"users": [str(world.collaborator.pk)]}, follow=True)
    assert f"Zug AG is now managed by {world.collaborator.email}".encode() in response.content
    assert CustomerAssignment.unscoped.filter(
        user=world.collaborator, customer=partnership.customer
    ).exists()

    collaborator = browser(world.collaborator)
    assert b"Zug AG" in collaborator.get("/t/alpine/customers/").content
    assert collaborator.get(page_url(partnership, world.partner)).status_code == 200

    admin = browser(world.partner_admin)
    bad = admin.post(url, {"users": [str(world.partner_owner.pk)]})
    assert bad.status_code == 400 and b"Select a valid choice" in bad.content


def test_resending_and_cancelling_from_the_customer_list(
    world, browser, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        partnership = add_invited(world)
    old_link = LINK.search(mail.outbox[-1].body).group(1)
    owner = browser(world.partner_owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            page_url(partnership, world.partner),
            {"action": "resend", "return_to": "list"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == "/t/alpine/customers/"
    assert b"sent again to owner@newco.test" in response.content
    new_link = LINK.search(mail.outbox[-1].body).group(1)
    assert new_link != old_link
    client.logout()
    assert client.get(old_link).status_code == 404
    assert client.get(new_link).status_code == 200

    owner = browser(world.partner_owner)
    response = owner.post(
        page_url(partnership, world.partner), {"action": "cancel", "return_to": "list"}, follow=True
    )
    assert b"The invitation was cancelled" in response.content
    partnership.refresh_from_db()
    assert partnership.status == "cancelled"
    again = owner.post(page_url(partnership, world.partner), {"action": "cancel"}, follow=True)
    assert b"This partnership is cancelled" in again.content  # a Conflict, as a message


def test_the_cancel_and_end_buttons_ask_first(world, browser):
    pending = add_invited(world)
    page = browser(world.partner_owner).get("/t/alpine/customers/").content.decode()
    assert 'data-confirm="Cancel the invitation to NewCo?' in page
    active = mueller_gives_alpine(world)
    detail = browser(world.customer_owner).get(page_url(active, world.customer)).content.decode()
    assert 'data-confirm="End the partnership between Alpine IT and Bäckerei Müller?' in detail
    # no password field of its own: it asks on allauth's re-authentication page (issue 24)
    assert 'name="password"' not in detail
    assert "You confirm with your password or a second factor first." in detail
    invitee_view = browser(User.objects.get(email="owner@newco.test")).get(
        page_url(pending, pending.customer)
    )
    assert b'data-confirm="Decline the invitation of Alpine IT?' in invitee_view.content


# --- the partnership page ---------------------------------------------------------------------


def test_the_page_shows_the_grant_asked_and_granted_and_the_history(world, browser, catalog):
    partnership = add_invited(world, access="full", payment="customer", ends_on=in_a_month())
    owner = User.objects.get(email="owner@newco.test")
    services.partnership_accept(
        org=ctx(owner, partnership.customer),
        partnership=partnership,
        access="limited",
        products=[catalog["backup"]],
    )
    content = (
        browser(world.partner_admin).get(page_url(partnership, world.partner)).content.decode()
    )
    assert "Limited to Backup Standard" in content
    assert "Asked by Alpine IT" in content and "Granted" in content
    assert "<mark" in content  # the differences stand out
    assert "Accepted with changes" in content and "owner@newco.test" in content
    assert "Full (the whole organization)" in content  # what was asked
    assert "invited NewCo (owner@newco.test)" in content


def test_the_partner_accepts_a_customers_invitation_as_offered(
    world, browser, django_capture_on_commit_callbacks
):
    partnership = services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="partner",
    )
    admin_page = browser(world.partner_admin).get(page_url(partnership, world.partner)).content
    assert b"Accept as offered" not in admin_page  # owners answer
    owner = browser(world.partner_owner)
    page = owner.get(page_url(partnership, world.partner)).content
    assert b"Accept as offered" in page and b"Accept with changes" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            page_url(partnership, world.partner), {"action": "accept"}, follow=True
        )
    assert b"You now manage B\xc3\xa4ckerei M\xc3\xbcller" in response.content
    partnership.refresh_from_db()
    assert partnership.status == "active"
    assert world.customer_owner.email in {m.to[0] for m in mail.outbox}


def test_a_second_full_partnership_is_refused_with_a_message(world, browser):
    mueller_gives_alpine(world)
    world.other_partner.listed_in_directory = True
    world.other_partner.save()
    second = services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.other_partner,
        access="full",
        payment="customer",
    )
    response = browser(world.other_owner).post(
        page_url(second, world.other_partner), {"action": "accept"}, follow=True
    )
    assert "already gives full access to Alpine IT" in response.content.decode()
    second.refresh_from_db()
    assert second.status == "pending"


def test_the_customer_owner_changes_access_and_the_partner_is_told(
    world, browser, catalog, django_capture_on_commit_callbacks
):
    partnership = mueller_gives_alpine(world)
    owner = browser(world.customer_owner)
    url = page_url(partnership, world.customer)
    page = owner.get(url).content.decode()
    assert 'value="full"' in page and "Change access or payment" in page

    bad = owner.post(url, {"action": "change", "access": "limited"})
    assert bad.status_code == 400 and b"Limited access lists at least one product." in bad.content

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            url,
            {
                "action": "change",
                "access": "limited",
                "payment": "customer",  # left over from full: ignored
                "products": [str(catalog["mail"].pk)],
            },
            follow=True,
        )
    assert b"Access changed: Limited to Mail Pro" in response.content
    partnership.refresh_from_db()
    assert partnership.access == "limited" and partnership.payment == ""
    assert [p.code for p in partnership.products.all()] == ["mail-pro"]
    assert partnership.events.filter(kind=PartnershipEvent.Kind.CHANGED).exists()
    told = [m for m in mail.outbox if m.to == [world.partner_owner.email]]
    assert told and "changed your access" in told[-1].subject


def test_ending_asks_for_reauthentication_first_and_changes_nothing_until_then(
    world, browser, django_capture_on_commit_callbacks
):
    partnership = mueller_gives_alpine(world)
    owner = browser(world.customer_owner)
    url = page_url(partnership, world.customer)
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        asked = owner.post(url, {"action": "end"})
    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("account_reauthenticate") + "?next=")
    with django_capture_on_commit_callbacks(execute=True):
        wrong = owner.post(asked["Location"], {"password": "not-my-password"})
    assert wrong.status_code == 200
    partnership.refresh_from_db()
    assert partnership.status == "active" and len(mail.outbox) == sent
    assert not partnership.events.filter(kind="ended").exists()

    # the right password replays the kept POST: the partnership ends
    with django_capture_on_commit_callbacks(execute=True):
        ended = owner.post(asked["Location"], {"password": PASSWORD}, follow=True)
    assert b"access stopped at once" in ended.content
    partnership.refresh_from_db()
    assert partnership.status == "ended"
    assert world.partner_owner.email in {m.to[0] for m in mail.outbox[sent:]}
    # Access stops at once: the customer leaves the partner's list; the history stays.
    partner = browser(world.partner_owner)
    assert b"B\xc3\xa4ckerei M\xc3\xbcller" not in partner.get("/t/alpine/customers/").content
    assert partner.get(f"/t/alpine/customers/{world.customer.id}/collaborators/").status_code == 404
    history = partner.get(page_url(partnership, world.partner)).content
    assert b"Ended" in history and b"ended by the customer" in history


def test_an_extension_is_asked_by_the_partner_and_approved_in_one_click(
    world, browser, django_capture_on_commit_callbacks
):
    partnership = mueller_gives_alpine(
        world, access="full", payment="customer", ends_on=in_a_month()
    )
    later = in_a_month() + datetime.timedelta(days=90)
    admin = browser(world.partner_admin)
    too_early = admin.post(
        page_url(partnership, world.partner),
        {"action": "request_extension", "until": in_a_month().isoformat()},
    )
    assert (
        too_early.status_code == 400
        and b"Ask for a day after the current end date." in too_early.content
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            page_url(partnership, world.partner),
            {"action": "request_extension", "until": later.isoformat()},
        )
    owner = browser(world.customer_owner)
    page = owner.get(page_url(partnership, world.customer)).content.decode()
    assert "asks to keep access until" in page and "Extend access until" in page
    response = owner.post(
        page_url(partnership, world.customer), {"action": "approve_extension"}, follow=True
    )
    assert b"keeps access until" in response.content
    partnership.refresh_from_db()
    assert partnership.ends_on == later and partnership.extension_requested_until is None


# --- the customer portal ------------------------------------------------------------------------


def test_the_customer_lists_its_partnerships_active_pending_then_history(world, browser):
    ended = mueller_gives_alpine(world, access="full", payment="partner")
    services.partnership_end(
        org=ctx(world.partner_owner, world.partner), partnership=ended, password=PASSWORD
    )
    mueller_gives_alpine(world, access="full", payment="customer")
    services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.other_partner,
        access="full",
        payment="customer",
    )
    content = browser(world.customer_user).get("/t/mueller/partners/").content.decode()
    active, rest = content.split("<h2>Pending</h2>")
    pending, history = rest.split("<h2>History</h2>")
    assert "Alpine IT" in active and "Full access, the customer pays" in active
    assert "Rhein Cloud" in pending and "You invited them" in pending
    assert "Ended" in history
    assert "Invite a partner" not in content  # owners invite


def test_the_customer_invites_a_partner_through_the_directory(
    world, browser, catalog, django_capture_on_commit_callbacks
):
    world.other_partner.city = "Basel"
    world.other_partner.save()
    Tenant.objects.filter(pk=world.partner.pk).update(listed_in_directory=False)
    owner = browser(world.customer_owner)
    page = owner.get("/t/mueller/partners/invite/").content.decode()
    assert 'hx-trigger="input changed delay:300ms"' in page and "Rhein Cloud" in page
    assert "Alpine IT" not in page  # not listed

    partial = owner.get("/t/mueller/partners/invite/", {"q": "rhein"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b"Rhein Cloud" in partial.content
    assert "HX-Request" in partial["Vary"]
    nothing = owner.get("/t/mueller/partners/invite/", {"q": "nobody"}, HTTP_HX_REQUEST="true")
    assert b"No listed partner matches" in nothing.content

    unlisted = owner.post(
        "/t/mueller/partners/invite/",
        {"partner": str(world.partner.pk), "access": "full", "payment": "customer"},
    )
    assert unlisted.status_code == 400 and b"Pick a partner from the directory." in unlisted.content

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            "/t/mueller/partners/invite/",
            {
                "partner": str(world.other_partner.pk),
                "access": "limited",
                "products": [str(catalog["backup"].pk)],
                "message": "Please look after our backups.",
            },
            follow=True,
        )
    partnership = Partnership.unscoped.get(partner=world.other_partner, customer=world.customer)
    assert response.redirect_chain[-1][0] == page_url(partnership, world.customer)
    assert b"Rhein Cloud was invited" in response.content
    assert partnership.status == "pending" and partnership.initiated_by == "customer"
    assert [p.code for p in partnership.products.all()] == ["backup-std"]
    assert mail.outbox[-1].to == [world.other_owner.email]
    assert "/t/rhein/partnerships/" in mail.outbox[-1].body

    again = owner.post(
        "/t/mueller/partners/invite/",
        {"partner": str(world.other_partner.pk), "access": "full", "payment": "customer"},
    )
    assert (
        again.status_code == 400 and b"already has a pending or active partnership" in again.content
    )

    partner_owner = browser(world.other_owner)
    partner_owner.post(page_url(partnership, world.other_partner), {"action": "accept"})
    partnership.refresh_from_db()
    assert partnership.status == "active"


# --- the invitation landing --------------------------------------------------------------------------


def test_opening_the_invitation_link_changes_nothing(
    world, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        partnership = add_invited(world)
    link = LINK.search(mail.outbox[-1].body).group(1)
    sent, events = len(mail.outbox), PartnershipEvent.unscoped.count()
    invitee = User.objects.get(email="owner@newco.test")

    with django_capture_on_commit_callbacks(execute=True):
        anonymous = client.get(link)
        client.force_login(invitee)
        signed_in = client.get(link)
    assert anonymous.status_code == 200 and b"Choose a password" in anonymous.content
    assert signed_in.status_code == 200 and b"What you grant" in signed_in.content
    partnership.refresh_from_db()
    invitee.refresh_from_db()
    assert partnership.status == "pending" and partnership.invitation_nonce
    assert len(mail.outbox) == sent and PartnershipEvent.unscoped.count() == events
    assert not invitee.has_usable_password()
    assert not EmailAddress.objects.get(email="owner@newco.test").verified


def test_every_unusable_link_gets_the_same_page(world, client, browser):
    def link_of(partnership):
        return reverse("invitation", kwargs={"token": selectors.invitation_token(partnership)})

    valid = add_invited(world, email="a@x.test", name="A")
    tampered = link_of(valid).replace("/invitations/", "/invitations/x")

    expired = add_invited(world, email="b@x.test", name="B")
    Partnership.unscoped.filter(pk=expired.pk).update(
        invitation_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    reused = add_invited(world, email="c@x.test", name="C")
    reused_link = link_of(reused)
    services.partnership_decline(
        org=ctx(User.objects.get(email="c@x.test"), reused.customer), partnership=reused
    )

    cancelled = add_invited(world, email="d@x.test", name="D")
    cancelled_link = link_of(cancelled)
    services.partnership_cancel(org=ctx(world.partner_owner, world.partner), partnership=cancelled)

    superseded = add_invited(world, email="e@x.test", name="E")
    superseded_link = link_of(superseded)
    services.partnership_resend(org=ctx(world.partner_owner, world.partner), partnership=superseded)

    responses = [
        client.get(tampered),
        client.get(link_of(expired)),
        browser(User.objects.get(email="c@x.test")).get(reused_link),
        browser(world.customer_owner).get(cancelled_link),
        browser(world.customer_owner).get(link_of(valid)),  # the wrong account
        browser(User.objects.get(email="e@x.test")).get(superseded_link),
    ]
    client.logout()
    responses.append(client.post(tampered, {"action": "accept"}))
    assert {r.status_code for r in responses} == {404}
    assert len({r.content for r in responses}) == 1
    assert b"This invitation link does not work" in responses[0].content
    valid.refresh_from_db()
    assert valid.status == "pending"


def test_a_new_owner_sets_a_password_and_grants_other_access_than_asked(
    world, client, catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        partnership = add_invited(
            world, email="new@owner.test", name="Seeblick", access="full", payment="customer"
        )
    link = LINK.search(mail.outbox[-1].body).group(1)

    page = client.get(link)
    assert b"Choose a password" in page.content and b"new_password1" in page.content
    mismatch = client.post(
        link, {"new_password1": "a-Long-new-pass-42", "new_password2": "other-pass-42"}
    )
    assert mismatch.status_code == 400 and b"didn" in mismatch.content
    response = client.post(
        link, {"new_password1": "a-Long-new-pass-42", "new_password2": "a-Long-new-pass-42"}
    )
    assert response.status_code == 302 and response["Location"] == link
    invitee = User.objects.get(email="new@owner.test")
    assert invitee.check_password("a-Long-new-pass-42")
    assert EmailAddress.objects.get(email="new@owner.test").verified

    answer = client.get(link)
    content = answer.content.decode()
    assert "What Alpine IT asks for" in content and "The customer pays" in content
    assert re.search(r'value="full"[^>]* checked', content)  # pre-filled with what was asked
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            link,
            {"action": "accept", "access": "limited", "products": [str(catalog["web"].pk)]},
            follow=True,
        )
    assert done.redirect_chain[-1][0] == page_url(partnership, partnership.customer)
    assert b"other access than asked" in done.content
    partnership.refresh_from_db()
    assert partnership.status == "active" and partnership.access == "limited"
    assert [p.code for p in partnership.products.all()] == ["web-hosting"]
    assert partnership.events.filter(kind=PartnershipEvent.Kind.ACCEPTED_WITH_CHANGES).exists()
    to_partner = [m for m in mail.outbox if m.to == [world.partner_owner.email]]
    assert to_partner, "the partner is told"
    body = to_partner[-1].body
    assert "They granted other access than you asked for" in body
    assert "Access: asked Full (the whole organization), granted Limited (listed products)" in body
    # The link worked once.
    assert client.get(link).status_code == 404


def test_an_existing_account_is_asked_to_sign_in_first(world, client):
    existing = UserFactory(email="known@owner.test")
    partnership = add_invited(world, email="known@owner.test", name="Known AG")
    link = reverse("invitation", kwargs={"token": selectors.invitation_token(partnership)})
    page = client.get(link)
    assert b"Sign in to answer" in page.content
    assert f"{reverse('account_login')}?next=".encode() in page.content
    client.post(link, {"new_password1": "hijack-Pass-42", "new_password2": "hijack-Pass-42"})
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD)  # the link does not reset a password


def test_the_invitee_declines_with_a_reason(world, client, django_capture_on_commit_callbacks):
    partnership = add_invited(world, email="no@thanks.test", name="Nope AG")
    link = reverse("invitation", kwargs={"token": selectors.invitation_token(partnership)})
    client.force_login(User.objects.get(email="no@thanks.test"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            link, {"action": "decline", "reason": "We do it ourselves."}, follow=True
        )
    assert b"You declined" in response.content
    partnership.refresh_from_db()
    assert partnership.status == "declined" and partnership.close_reason == "We do it ourselves."
    told = [m for m in mail.outbox if m.to == [world.partner_owner.email]]
    assert "We do it ourselves." in told[-1].body
    assert Membership.unscoped.filter(
        user__email="no@thanks.test", tenant=partnership.customer
    ).exists()


def test_the_partner_invites_the_owner_of_an_unclaimed_customer_who_keeps_the_grant(
    world, client, django_capture_on_commit_callbacks
):
    partnership = add_unclaimed(world)
    partner = client
    partner.force_login(world.partner_owner)
    url = page_url(partnership, world.partner)
    assert b"Invite the customer's owner" in partner.get(url).content

    bad = partner.post(url, {"action": "invite_owner", "email": "not-an-email"})
    assert bad.status_code == 400 and b"Enter a valid email address." in bad.content
    with django_capture_on_commit_callbacks(execute=True):
        done = partner.post(
            url, {"action": "invite_owner", "email": "chef@unclaimed.test"}, follow=True
        )
    assert b"was invited as the owner" in done.content
    assert b"reviews the access you hold now" in done.content
    link = LINK.search(mail.outbox[-1].body).group(1)

    partner.logout()
    landing = client.get(link)
    assert b"Choose a password" in landing.content or b"password" in landing.content
    client.post(
        link, {"new_password1": "a-Long-new-pass-42", "new_password2": "a-Long-new-pass-42"}
    )
    review = client.get(link)
    assert b"manages Unclaimed AG" in review.content and b"holds now" in review.content
    with django_capture_on_commit_callbacks(execute=True):
        kept = client.post(
            link, {"action": "accept", "access": "full", "payment": "partner"}, follow=True
        )
    assert kept.status_code == 200
    partnership.refresh_from_db()
    assert partnership.status == "active" and not partnership.awaits_answer
    assert partnership.events.last().kind == "accepted"
    assert client.get(link).status_code == 404  # the link worked once
