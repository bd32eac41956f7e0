"""The browser pages of offers (SPEC §6, §9): templates with items added and
removed in place (htmx), sending to one or many customers, the sent list and a
send's progress, the offer page as each side may read it, the customer's Updates
with its badge and one-click answers, roles, and isolation between organizations."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import offers.urls
from billing.models import Order
from catalog.tests.factories import ProductFactory
from offers import services
from offers.models import Offer, OfferBatch, OfferTemplate, TemplateItem
from offers.tests.conftest import grant, org
from partners.models import Partnership
from subscriptions.models import Subscription
from tenants.tests.factories import CustomerFactory, MembershipFactory
from tests.isolation import assert_all_404, missing_id, org_page_urls

pytestmark = pytest.mark.django_db

Status = Offer.Status
HTMX = {"HTTP_HX_REQUEST": "true"}
TIMES = "\N{MULTIPLICATION SIGN}"


def text(response) -> str:
    return response.content.decode()


def url(name: str, slug: str, **kwargs) -> str:
    return reverse(name, kwargs={"slug": slug, **kwargs})


def partner(world):
    return org(world.partner_owner, world.partner)


def send(world, template, customers=None, message="Hello from Alpine IT") -> list[Offer]:
    batch = services.offer_send(
        org=partner(world),
        template=template,
        customer_ids=[c.pk for c in (customers or [world.customer])],
        message=message,
    )
    return list(batch.offers.order_by("created_at"))


def delivered(world, template, **kwargs) -> Offer:
    (offer,) = send(world, template, **kwargs)
    services.offer_deliver(offer_id=offer.pk)
    offer.refresh_from_db()
    return offer


def more_customers(world, count: int) -> list:
    """Customers of Alpine IT with a full grant, each with an owner."""
    customers = []
    for n in range(count):
        customer = CustomerFactory(name=f"Kunde {n:02}", parent=world.partner)
        MembershipFactory(tenant=customer, role="owner")
        Partnership.unscoped.create(
            partner=world.partner,
            customer=customer,
            access="full",
            payment="customer",
            status="active",
            initiated_by="partner",
            activated_at=timezone.now(),
        )
        customers.append(customer)
    return customers


def item_data(product, quantity=3, mode="relative", term=6) -> dict:
    return {
        "product": str(product.pk) if product else "",
        "quantity": str(quantity),
        "license_mode": mode,
        "term_months": str(term),
    }


# --- templates ----------------------------------------------------------------------------


def test_a_partner_creates_a_template_and_lands_on_its_page(world, browser):
    client = browser(world.collaborator)

    response = client.post(url("offer_templates", "alpine"), {"name": "  Office pack "})

    template = OfferTemplate.unscoped.get(partner=world.partner)
    assert template.name == "Office pack"
    assert response.status_code == 302
    assert response["Location"] == url("offer_template", "alpine", template_id=template.pk)
    page = text(client.get(response["Location"]))
    assert "No items yet: add the first product below." in page
    assert 'id="item-add"' in page
    listing = text(client.get(url("offer_templates", "alpine")))
    assert "Office pack" in listing


def test_a_template_name_is_checked_inline(world, browser, template):
    client = browser(world.partner_admin)

    taken = client.post(url("offer_templates", "alpine"), {"name": "Starter pack"})
    empty = client.post(url("offer_templates", "alpine"), {"name": "  "})

    assert taken.status_code == empty.status_code == 400
    assert "You already have a template with this name." in text(taken)
    assert "Give the template a name." in text(empty)
    assert OfferTemplate.unscoped.count() == 1


def test_a_template_is_renamed_and_deleted(world, browser, template):
    client = browser(world.partner_owner)
    page = url("offer_template", "alpine", template_id=template.pk)

    renamed = client.post(page, {"action": "rename", "name": "Bakery pack"})
    refused = client.post(page, {"action": "rename", "name": ""})
    assert renamed.status_code == 302
    assert refused.status_code == 400 and "Give the template a name." in text(refused)
    template.refresh_from_db()
    assert template.name == "Bakery pack"
    # the delete asks first (a confirmation inside its disclosure)
    assert 'data-confirm="Delete the template “Bakery pack”?' in text(client.get(page))

    deleted = client.post(page, {"action": "delete"}, follow=True)

    assert not OfferTemplate.unscoped.exists()
    assert "“Bakery pack” was deleted." in text(deleted)
    assert client.get(page).status_code == 404


def test_an_item_is_added_in_place_with_htmx(world, browser, template, hosting, mailbox):
    from catalog.tests.factories import ProductFactory

    backup = ProductFactory(code="backup", name="Cloud backup", prices={"CHF": "12.00"})
    client = browser(world.partner_owner)

    response = client.post(
        url("offer_template_items", "alpine", template_id=template.pk),
        item_data(backup, quantity=3, mode="relative", term=6),
        **HTMX,
    )

    assert response.status_code == 200
    item = TemplateItem.unscoped.get(template=template, product=backup)
    assert (item.quantity, item.license_mode, item.term_months) == (3, "relative", 6)
    fragment = text(response)
    # the new row, a fresh add form and the hidden empty note: no page around them
    assert f'<tr id="item-{item.pk}">' in fragment
    assert "Relative: add 3" in fragment and "6 months" in fragment
    assert 'id="item-add"' in fragment and 'hx-swap-oob="true"' in fragment
    assert "<html" not in fragment
    assert template.items.count() == 3


def test_a_refused_item_shows_its_errors_in_the_add_row(world, browser, template, hosting):
    client = browser(world.partner_owner)
    add = url("offer_template_items", "alpine", template_id=template.pk)

    invalid = client.post(add, item_data(None, quantity=0, mode="", term=200), **HTMX)
    twice = client.post(add, item_data(hosting), **HTMX)

    assert invalid.status_code == 200
    assert invalid["HX-Retarget"] == "#item-add" and invalid["HX-Reswap"] == "outerHTML"
    errors = text(invalid)
    for message in (
        "Choose a product from the catalog.",
        "Give a quantity from 1 to",
        "Choose absolute or relative.",
        "Give a term from 1 to 120 months.",
    ):
        assert message in errors
    assert "Web hosting is already in this template." in text(twice)
    assert template.items.count() == 2


def test_an_item_is_removed_in_place_with_htmx(world, browser, template):
    client = browser(world.partner_owner)
    first, second = template.items.order_by("created_at")

    page = text(client.get(url("offer_template", "alpine", template_id=template.pk)))
    assert 'hx-confirm="Remove Web hosting from “Starter pack”?"' in page

    response = client.post(
        url("offer_template_item", "alpine", template_id=template.pk, item_id=first.pk), **HTMX
    )
    assert response.status_code == 200
    assert "items-empty" not in text(response)  # one item is left
    assert list(template.items.all()) == [second]

    last = client.post(
        url("offer_template_item", "alpine", template_id=template.pk, item_id=second.pk), **HTMX
    )
    assert 'id="items-empty"' in text(last) and "hidden" not in text(last)
    assert not template.items.exists()


def test_items_are_added_and_removed_without_javascript(world, browser, template):
    from catalog.tests.factories import ProductFactory

    backup = ProductFactory(code="backup", name="Cloud backup", prices={"CHF": "12.00"})
    client = browser(world.partner_owner)
    page = url("offer_template", "alpine", template_id=template.pk)

    added = client.post(
        url("offer_template_items", "alpine", template_id=template.pk), item_data(backup)
    )
    assert added.status_code == 302 and added["Location"] == f"{page}#items"
    item = template.items.get(product=backup)
    refused = client.post(
        url("offer_template_items", "alpine", template_id=template.pk), item_data(backup)
    )
    assert refused.status_code == 400
    assert "<html" in text(refused) and "Cloud backup is already in this template." in text(refused)

    removed = client.post(
        url("offer_template_item", "alpine", template_id=template.pk, item_id=item.pk), follow=True
    )
    assert "Cloud backup was removed from “Starter pack”." in text(removed)
    assert not template.items.filter(product=backup).exists()


# --- sending --------------------------------------------------------------------------------


def test_sending_to_one_customer_opens_the_offer_which_polls_until_delivered(
    world, browser, template, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    client = browser(world.partner_owner)

    response = client.post(
        url("offer_send", "alpine"),
        {
            "template": str(template.pk),
            "customers": [str(world.customer.pk)],
            "message": "Your new bakery pack",
            "action": "send",
        },
    )

    offer = Offer.unscoped.get()
    assert response.status_code == 302
    assert response["Location"] == url("offer_detail", "alpine", offer_id=offer.pk)
    assert (offer.status, offer.message, offer.customer) == (
        Status.WAITING,
        "Your new bakery pack",
        world.customer,
    )
    page = text(client.get(response["Location"]))
    assert "was sent to Bäckerei Müller" in page
    status_url = url("offer_status", "alpine", offer_id=offer.pk)
    assert f'hx-get="{status_url}" hx-trigger="every 2s"' in page

    # delivered in the background: the status part stops polling
    services.offer_deliver(offer_id=offer.pk)
    fragment = text(client.get(status_url, **HTMX))
    assert "Waiting for confirmation" in fragment
    assert "every 2s" not in fragment


def test_sending_to_all_customers_shows_the_progress_of_the_send(
    world, browser, template, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    more_customers(world, 2)
    client = browser(world.partner_owner)
    form = client.get(url("offer_send", "alpine"))
    assert "All customers I manage (3)" in text(form)

    response = client.post(
        url("offer_send", "alpine"),
        {"template": str(template.pk), "all_customers": "on", "action": "send"},
    )

    batch = OfferBatch.unscoped.get()
    assert response.status_code == 302
    assert response["Location"] == url("offer_batch", "alpine", batch_id=batch.pk)
    assert batch.offers.count() == 3
    page = text(client.get(response["Location"]))
    assert 'data-count="waiting">' in page
    assert re.search(r'data-count="waiting"><a [^>]*>3</a>', page)
    assert 'hx-trigger="every 2s"' in page

    # one is delivered meanwhile: the progress part (htmx) counts it
    services.offer_deliver(offer_id=batch.offers.order_by("created_at").first().pk)
    fragment = text(client.get(response["Location"], **HTMX))
    assert "<html" not in fragment
    assert re.search(r'data-count="awaiting_confirmation"><a [^>]*>1</a>', fragment)
    assert re.search(r'data-count="waiting"><a [^>]*>2</a>', fragment)
    assert "1 of 3 offers processed" in fragment
    listed = text(client.get(url("offers_sent", "alpine"), {"batch": str(batch.pk)}))
    assert "Offers of the send of “Starter pack”" in listed
    assert listed.count('class="offer-status"') == 3


def test_a_refused_send_names_each_customer_and_sends_nothing(world, browser, template, mailbox):
    grant(world, access="limited", products=[mailbox])
    client = browser(world.partner_owner)

    response = client.post(
        url("offer_send", "alpine"),
        {
            "template": str(template.pk),
            "customers": [str(world.customer.pk), str(world.other_customer.pk)],
            "message": "Hello",
            "action": "send",
        },
    )

    page = text(response)
    assert response.status_code == 400
    assert "Nothing was sent:" in page
    assert "<li>Bäckerei Müller: Your limited access does not include Web hosting.</li>" in page
    assert f"<li>{world.other_customer.pk}: You do not manage this customer.</li>" in page
    assert not Offer.unscoped.exists() and not OfferBatch.unscoped.exists()
    # what was typed stays
    assert "Hello</textarea>" in page


def test_sending_needs_a_template_with_items_and_a_customer(world, browser):
    grant(world, access="full", payment="customer")
    empty = services.template_create(org=partner(world), name="Empty")
    client = browser(world.partner_owner)

    no_customer = client.post(url("offer_send", "alpine"), {"template": str(empty.pk)})
    no_items = client.post(
        url("offer_send", "alpine"),
        {"template": str(empty.pk), "customers": [str(world.customer.pk)]},
    )
    no_template = client.post(url("offer_send", "alpine"), {"customers": [str(world.customer.pk)]})

    assert "This template has no items yet" in text(no_items)
    assert "Choose a template." in text(no_template)
    assert no_customer.status_code == 400
    assert not Offer.unscoped.exists()


def test_the_customer_filter_keeps_the_customers_already_chosen(world, browser, template):
    grant(world, access="full", payment="customer")
    others = more_customers(world, 3)
    client = browser(world.partner_owner)

    response = client.post(
        url("offer_send", "alpine"),
        {
            "action": "filter",
            "q": "Kunde 01",
            "template": str(template.pk),
            "customers": [str(world.customer.pk)],
        },
        **HTMX,
    )

    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<fieldset id="customer-choices"')
    assert f'value="{others[1].pk}"' in fragment and "Kunde 01" in fragment
    assert "Kunde 00" not in fragment and ">Bäckerei Müller" not in fragment
    assert f'<input type="hidden" name="customers" value="{world.customer.pk}">' in fragment
    assert not Offer.unscoped.exists()


def test_the_customer_page_links_to_a_send_for_that_customer(world, browser, template):
    grant(world, access="full", payment="customer")
    send(world, template)
    client = browser(world.partner_owner)
    customer_id = world.customer.pk

    customer_page = text(client.get(url("customer_detail", "alpine", customer_id=customer_id)))
    send_link = f"{url('offer_send', 'alpine')}?customer={customer_id}"
    assert f'href="{send_link}"' in customer_page
    assert (
        f"{url('offers_sent', 'alpine')}?customer={customer_id}&amp;view=compact" in customer_page
    )

    form = text(client.get(send_link))
    assert re.search(rf'value="{customer_id}" checked', form)
    latest = text(client.get(f"{url('offers_sent', 'alpine')}?customer={customer_id}&view=compact"))
    assert "Starter pack" in latest and "Waiting" in latest and "<html" not in latest


# --- the sent offers -------------------------------------------------------------------------


def test_the_sent_list_polls_waiting_offers_and_filters(world, browser, template):
    grant(world, access="full", payment="customer")
    waiting = send(world, template)[0]
    answered = delivered(world, template)
    client = browser(world.partner_admin)

    page = text(client.get(url("offers_sent", "alpine")))

    assert page.count('hx-trigger="every 2s"') == 1
    assert f'hx-get="{url("offer_status", "alpine", offer_id=waiting.pk)}"' in page
    assert page.count('data-status="awaiting_confirmation"') == 1
    filtered = text(client.get(url("offers_sent", "alpine"), {"status": "awaiting_confirmation"}))
    assert url("offer_detail", "alpine", offer_id=answered.pk) in filtered
    assert url("offer_detail", "alpine", offer_id=waiting.pk) not in filtered


def test_a_partner_cancels_from_the_list_in_place(world, browser, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.partner_owner)
    page = text(client.get(url("offers_sent", "alpine")))
    assert 'hx-confirm="Cancel the offer “Starter pack” to Bäckerei Müller?' in page

    response = client.post(
        url("offer_detail", "alpine", offer_id=offer.pk),
        {"action": "cancel", "fragment": "status", "next": url("offers_sent", "alpine")},
        **HTMX,
    )

    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div class="offer-status"')
    assert "Cancelled" in fragment and "Bäckerei Müller was told by email" in fragment
    assert 'value="cancel"' not in fragment
    offer.refresh_from_db()
    assert offer.status == Status.CANCELLED
    # a second cancel (another tab) is the service's 409, shown in place
    again = text(
        client.post(
            url("offer_detail", "alpine", offer_id=offer.pk),
            {"action": "cancel", "fragment": "status"},
            **HTMX,
        )
    )
    assert "This offer is cancelled: it can no longer be cancelled." in again


def test_a_failed_offer_shows_its_reason_and_is_retried(
    world, browser, template, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    Offer.unscoped.filter(pk=offer.pk).update(
        status=Status.FAILED, failure_reason="Delivery failed: mail relay unreachable"
    )
    client = browser(world.partner_owner)
    page = text(client.get(url("offers_sent", "alpine")))
    assert "Delivery failed: mail relay unreachable" in page
    assert 'value="retry"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("offer_detail", "alpine", offer_id=offer.pk),
            {"action": "retry", "next": url("offers_sent", "alpine")},
        )

    assert response.status_code == 302 and response["Location"] == url("offers_sent", "alpine")
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION


def test_the_sent_list_takes_the_same_queries_for_1_or_20_offers(
    world, browser, template, django_assert_max_num_queries
):
    grant(world, access="full", payment="customer")
    others = more_customers(world, 19)
    send(world, template)
    client = browser(world.partner_owner)
    client.get(url("offers_sent", "alpine"))
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("offers_sent", "alpine")).status_code == 200

    send(world, template, customers=others)
    Offer.unscoped.filter(customer=others[0]).update(status=Status.FAILED, failure_reason="x")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = text(client.get(url("offers_sent", "alpine")))

    assert page.count(f"35 {TIMES} Web hosting") == 20


# --- the offer page ----------------------------------------------------------------------


def test_the_partner_sees_every_step_and_the_customer_never_the_margin(world, browser, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)

    partner_page = text(
        browser(world.partner_owner).get(url("offer_detail", "alpine", offer_id=offer.pk))
    )
    customer_page = text(
        browser(world.customer_owner).get(url("offer_detail", "mueller", offer_id=offer.pk))
    )

    for amount in ("347.20", "277.76", "208.32", "260.40", "52.08"):
        assert f"CHF {amount}" in partner_page
    assert "Absolute: set to 35" in partner_page and "Relative: add 5" in partner_page
    assert "12 months" in partner_page and "Hello from Alpine IT" in partner_page
    assert "Delivered" in partner_page
    assert "CHF 347.20" in customer_page and "CHF 260.40" in customer_page
    assert 'data-figure="charged">CHF 280.40' in customer_page
    for secret in ("277.76", "208.32", "52.08", "Preferential", "Cashback", "After your discount"):
        assert secret not in customer_page
    assert "Hello from Alpine IT" in customer_page and "Awaiting your answer" in customer_page


def test_the_customer_sees_paid_by_the_partner_without_an_amount(world, browser, template):
    grant(world, access="full", payment="partner")
    offer = delivered(world, template)

    page = text(
        browser(world.customer_admin).get(url("offer_detail", "mueller", offer_id=offer.pk))
    )
    updates = text(browser(world.customer_admin).get(url("updates", "mueller")))

    assert "Paid by Alpine IT" in page and "Paid by Alpine IT" in updates
    assert "CHF 224.32" not in page and "208.32" not in page  # what the partner pays
    assert 'data-figure="charged"' not in page and 'data-figure="charged"' not in updates
    assert "CHF 260.40" in page  # public


def test_a_customer_user_sees_the_offer_but_may_not_answer(world, browser, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.customer_user)

    page = text(client.get(url("offer_detail", "mueller", offer_id=offer.pk)))
    accept = client.post(url("offer_detail", "mueller", offer_id=offer.pk), {"action": "accept"})

    assert 'value="accept"' not in page
    assert "The owners and admins of Bäckerei Müller accept or decline offers." in page
    assert accept.status_code == 403
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION


# --- the customer's Updates ------------------------------------------------------------------


def test_the_customer_sees_the_badge_and_accepts_from_updates(world, browser, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.customer_owner)
    updates_url = url("updates", "mueller")

    overview = text(client.get(url("org_dashboard", "mueller")))
    assert '<span class="badge" aria-hidden="true">1</span>' in overview
    assert '<span class="visually-hidden">, 1 awaiting your answer</span>' in overview
    page = text(client.get(updates_url))
    assert "Starter pack" in page and "from Alpine IT" in page
    assert "Hello from Alpine IT" in page
    assert f"35 {TIMES} Web hosting" in page and 'data-figure="charged">CHF 280.40' in page

    response = client.post(
        url("offer_detail", "mueller", offer_id=offer.pk),
        {"action": "accept", "next": updates_url},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == updates_url
    after = text(response)
    assert "You accepted “Starter pack” of Alpine IT" in after
    assert "Nothing is waiting for your answer." in after
    assert 'class="badge"' not in after
    offer.refresh_from_db()
    assert offer.status == Status.ACCEPTED
    subscriptions = {
        s.product.code: s.quantity for s in Subscription.unscoped.filter(customer=world.customer)
    }
    assert subscriptions == {"web-hosting": 35, "mailbox": 5}


def test_the_customer_declines_with_a_reason(world, browser, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.customer_admin)
    too_long = client.post(
        url("offer_detail", "mueller", offer_id=offer.pk),
        {"action": "decline", "reason": "x" * 2001},
        follow=True,
    )
    assert "at most 2000 characters" in text(too_long)
    offer.refresh_from_db()
    assert offer.status == Status.AWAITING_CONFIRMATION

    response = client.post(
        url("offer_detail", "mueller", offer_id=offer.pk),
        {"action": "decline", "reason": "Too expensive", "next": url("updates", "mueller")},
        follow=True,
    )

    offer.refresh_from_db()
    assert (offer.status, offer.decline_reason) == (Status.DECLINED, "Too expensive")
    assert "You declined “Starter pack”. Alpine IT was told by email." in text(response)
    assert not Subscription.unscoped.exists()
    page = text(browser(world.partner_owner).get(url("offer_detail", "alpine", offer_id=offer.pk)))
    assert "“Too expensive”" in page


def test_accepting_a_cancelled_offer_shows_the_conflict_and_changes_nothing(
    world, browser, template
):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.customer_owner)
    assert 'value="accept"' in text(client.get(url("updates", "mueller")))
    services.offer_cancel(org=partner(world), offer=offer)  # meanwhile, in another tab

    response = client.post(
        url("offer_detail", "mueller", offer_id=offer.pk),
        {"action": "accept", "next": url("updates", "mueller")},
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain == [(url("updates", "mueller"), 302)]
    assert "This offer is cancelled: it cannot be accepted." in text(response)
    offer.refresh_from_db()
    assert offer.status == Status.CANCELLED
    assert not Subscription.unscoped.exists() and not Order.unscoped.exists()


def test_updates_lists_partner_invitations_and_says_when_nothing_waits(world, browser):
    client = browser(world.customer_owner)
    assert "Nothing is waiting for your answer." in text(client.get(url("updates", "mueller")))

    invitation = Partnership.unscoped.create(
        partner=world.other_partner,
        customer=world.customer,
        access="full",
        payment="customer",
        status="pending",
        initiated_by="partner",
        invitation_expires_at=timezone.now() + datetime.timedelta(days=14),
    )

    page = text(client.get(url("updates", "mueller")))
    assert url("partnership_detail", "mueller", partnership_id=invitation.pk) in page
    assert "Rhein Cloud" in page and "asks to manage Bäckerei Müller" in page
    assert '<span class="badge" aria-hidden="true">1</span>' in page


# --- roles, kinds and isolation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "slug", "name"),
    [
        ("partner_owner", "alpine", "offer_templates"),
        ("collaborator", "alpine", "offer_templates"),
        ("partner_admin", "alpine", "offer_send"),
        ("collaborator", "alpine", "offer_send"),
        ("collaborator", "alpine", "offers_sent"),
        ("customer_owner", "mueller", "updates"),
        ("customer_admin", "mueller", "updates"),
    ],
)
def test_each_page_opens_for_its_roles(world, browser, user, slug, name):
    assert browser(getattr(world, user)).get(url(name, slug)).status_code == 200


def test_a_customer_user_may_not_open_updates_nor_see_its_link(world, browser):
    client = browser(world.customer_user)

    assert client.get(url("updates", "mueller")).status_code == 403
    assert url("updates", "mueller") not in text(client.get(url("org_dashboard", "mueller")))


@pytest.mark.parametrize("name", ["offer_templates", "offer_send", "offers_sent"])
def test_a_customer_has_no_partner_offer_pages(world, browser, name):
    assert browser(world.customer_owner).get(url(name, "mueller")).status_code == 404


def test_a_partner_has_no_updates_page_and_sees_the_offer_links(world, browser):
    client = browser(world.partner_owner)

    assert client.get(url("updates", "alpine")).status_code == 404
    nav = text(client.get(url("org_dashboard", "alpine")))
    assert re.search(
        rf'<a href="{url("offers_sent", "alpine")}" data-nav="[a-z_]+">Offers</a>', nav
    )
    assert re.search(
        rf'<a href="{url("offer_templates", "alpine")}" data-nav="[a-z_]+">Offer templates</a>', nav
    )


def test_a_collaborator_sees_only_offers_to_assigned_customers(world, browser, template):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.collaborator)

    assert client.get(url("offer_detail", "alpine", offer_id=offer.pk)).status_code == 404
    assert url("offer_detail", "alpine", offer_id=offer.pk) not in text(
        client.get(url("offers_sent", "alpine"))
    )


@pytest.fixture
def foreign(world, hosting):
    """Rhein Cloud's own template, item, send and offer, delivered to Bergmann."""
    from partners import services as partner_services

    invited = partner_services.partnership_invite_partner(
        org=org(world.other_customer_owner, world.other_customer),
        partner=world.other_partner,
        access="full",
        payment="customer",
    )
    partner_services.partnership_accept(
        org=org(world.other_owner, world.other_partner), partnership=invited
    )
    rhein = org(world.other_owner, world.other_partner)
    template = services.template_create(org=rhein, name="Rhein pack")
    item = services.template_item_add(
        org=rhein,
        template=template,
        product=hosting,
        quantity=2,
        license_mode="absolute",
        term_months=12,
    )
    batch = services.offer_send(
        org=rhein, template=template, customer_ids=[world.other_customer.pk]
    )
    offer = batch.offers.get()
    services.offer_deliver(offer_id=offer.pk)
    return {
        "template_id": template.pk,
        "item_id": item.pk,
        "batch_id": batch.pk,
        "offer_id": offer.pk,
    }


def test_every_offers_page_of_another_organization_is_a_404(world, browser, template, foreign):
    # Given Alpine's own template, item, send and delivered offer
    grant(world, access="full", payment="customer")
    (offer,) = send(world, template)
    services.offer_deliver(offer_id=offer.pk)
    alpine_ids = {
        "template_id": template.pk,
        "item_id": template.items.first().pk,
        "batch_id": offer.batch_id,
        "offer_id": offer.pk,
    }

    # Then Rhein's owner reaches none of Alpine's pages, whatever the method
    assert_all_404(
        browser(world.other_owner), org_page_urls(offers.urls, slug="alpine", **alpine_ids)
    )
    # And Bergmann's owner none of Müller's
    assert_all_404(
        browser(world.other_customer_owner),
        org_page_urls(offers.urls, slug="mueller", **alpine_ids),
    )
    # And Rhein's ids under Alpine's own slug are the 404 of a missing id
    client = browser(world.partner_owner)
    for ids in (foreign, {key: missing_id() for key in foreign}):
        with_ids = [
            page
            for page in org_page_urls(offers.urls, slug="alpine", **ids)
            if any(str(value) in page for value in ids.values())
        ]
        assert len(with_ids) == 6
        assert_all_404(client, with_ids)
    # And Bergmann's offer under Müller's slug too
    customer_pages = [
        page
        for page in org_page_urls(offers.urls, slug="mueller", **foreign)
        if str(foreign["offer_id"]) in page
    ]
    assert len(customer_pages) == 2
    assert_all_404(browser(world.customer_owner), customer_pages)
    # And nothing changed anywhere
    assert Offer.unscoped.filter(status=Status.AWAITING_CONFIRMATION).count() == 2
    assert TemplateItem.unscoped.count() == 3


def test_a_send_shows_every_error_at_once(world, browser):
    """Issue 25: no template, no customer and a message too long, in one answer."""
    grant(world, access="full", payment="customer")
    sent = browser(world.partner_owner).post(url("offer_send", "alpine"), {"message": "x" * 2001})

    assert sent.status_code == 400
    assert "Choose a template." in text(sent)
    assert "Choose at least one customer." in text(sent)
    assert "Ensure this value has at most 2000 characters" in text(sent)
    assert not Offer.unscoped.exists()


def test_the_send_service_names_a_long_message_and_no_customer_at_once(world, template):
    with pytest.raises(ValidationError) as refused:
        services.offer_send_eligible(
            org=partner(world),
            template=template,
            customer_ids=[],
            message="x" * 2001,
            all_or_nothing=False,
        )
    assert set(refused.value.message_dict) == {"message", "customers"}


def test_the_badge_the_overview_and_updates_count_the_same_things(world, browser, template):
    """Issue 25: the overview said "Nothing is waiting for an answer" while the badge
    showed 2. All three read offers.selectors.updates_for / updates_count."""
    grant(world, access="full", payment="customer")
    delivered(world, template)
    delivered(world, template)
    # A partner asks to manage the customer (its owner answers) ...
    Partnership.unscoped.create(
        partner=world.other_partner,
        customer=world.customer,
        access="limited",
        status="pending",
        initiated_by="partner",
        invitation_email=world.customer_owner.email,
        invitation_expires_at=timezone.now() + datetime.timedelta(days=14),
    )
    # ... and the customer's own invitation waits for a partner: not its answer.
    Partnership.unscoped.create(
        partner=world.sub_partner,
        customer=world.customer,
        access="limited",
        status="pending",
        initiated_by="customer",
        invitation_expires_at=timezone.now() + datetime.timedelta(days=14),
    )
    client = browser(world.customer_owner)

    overview = client.get(url("org_dashboard", "mueller"))
    updates = client.get(url("updates", "mueller"))

    assert overview.context["updates_count"]() == 3
    assert '<span class="badge" aria-hidden="true">3</span>' in text(overview)
    assert 'data-waiting-count="3"' in text(overview)
    assert "3 things are waiting for your answer." in text(overview)
    assert "Nothing is waiting" not in text(overview)
    assert updates.context["updates"]["count"] == 3
    assert "3 things are waiting for your answer." in text(updates)
    assert '<span class="badge" aria-hidden="true">3</span>' in text(updates)
    # The customer's own invitation shows apart, outside the count.
    assert "Your invitations, waiting for the partner" in text(overview)
    assert world.sub_partner.name in text(overview)


def test_an_admin_sees_the_offers_it_answers_and_the_same_count_everywhere(
    world, browser, template
):
    grant(world, access="full", payment="customer")
    delivered(world, template)
    Partnership.unscoped.create(
        partner=world.other_partner,
        customer=world.customer,
        access="limited",
        status="pending",
        initiated_by="partner",
        invitation_expires_at=timezone.now() + datetime.timedelta(days=14),
    )
    client = browser(world.customer_admin)  # invitations are for owners

    overview = client.get(url("org_dashboard", "mueller"))
    updates = client.get(url("updates", "mueller"))

    assert overview.context["updates_count"]() == 1 == updates.context["updates"]["count"]
    assert 'data-waiting-count="1"' in text(overview)


def test_monthly_and_annual_items_are_shown_per_period_never_summed(world, browser, template):
    """Issue 25: "CHF 67.92 per billing period" added an annual domain to monthly
    items. Each period has its own total."""
    domain = ProductFactory(
        code="domain-ch", name=".ch Domain", billing_period="annual", prices={"CHF": "13.00"}
    )
    services.template_item_add(
        org=partner(world),
        template=template,
        product=domain,
        quantity=2,
        license_mode="relative",
        term_months=12,
    )
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)
    client = browser(world.customer_owner)

    page = text(client.get(url("offer_detail", "mueller", offer_id=offer.pk)))
    updates = text(client.get(url("updates", "mueller")))

    # 35 hostings + 5 mailboxes a month; 2 domains a year
    monthly = "CHF 280.40 per month"
    yearly = "CHF 26.00 per year"
    assert f'data-figure="charged">{monthly} · {yearly}</strong>' in page
    assert f"{monthly} · {yearly}" in updates
    assert "excl. VAT, per billing period" not in page + updates
    # never the sum as a price per period (what accepting settles today is a sum of money)
    assert "306.40 per" not in page + updates
    assert 'data-figure="charged">CHF 306.40' not in page + updates
    assert '<tr data-period="monthly">' in page and '<tr data-period="annual">' in page
    assert "Total per month" in page and "Total per year" in page
