"""Each side reads only its own figures of an offer's effect and of its accept's
preview (issue 20, the session's open points): the customer what it is charged
and credited, the partner what it is (and its cashback), never the other's. A
customer must not learn its partner's preferential price from what a reduction
credits the partner for days the partner paid. Its `expected_total` confirms
its own total, on the page as in the API. Also: accepting an offer that makes
several credit notes tells the partner of its clawback once, and the send's
snapshot is priced at the tier of the customer's total quantity.

Web hosting at CHF 9.92 a month, 10 % off from 10 units and 25 % from 30;
Alpine IT has 20 % off. Müller's 35 hostings from 1 April 2026 and 3 more from
10 April are paid by different sides (the payment mode changed on 10 April);
on 16 April Alpine's "Office starter" (absolute 1) takes 37 seats back."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Invoice, Order
from offers.models import Offer
from offers.tests.conftest import grant, org
from offers.tests.test_effect import (  # noqa: F401 (fixtures)
    delivered,
    office_starter,
    order_hostings,
    template_of,
    two_subscriptions,
    written,
)
from partners import services as partner_services
from partners.models import Partnership
from tenants import emails as emails_module
from tenants.models import OutboundEmail
from tests.clock import on

pytestmark = pytest.mark.django_db

D = Decimal
OFFERS = "/api/v1/offers/"


def payment_set(world, payment: str) -> None:
    """Müller's owner changes who pays under the grant (from now on)."""
    partnership = Partnership.unscoped.get(partner=world.partner, customer=world.customer)
    partner_services.partnership_change(
        org=org(world.customer_owner, world.customer), partnership=partnership, payment=payment
    )


def mixed(world, hosting, time_machine, *, first: str, then: str) -> Offer:
    """35 seats on 1 April paid by `first`, 3 on 10 April by `then`; on 16
    April "Office starter" is delivered."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment=first)
    order_hostings(world, hosting, 35)
    time_machine.move_to(on(2026, 4, 10, 9))
    payment_set(world, then)
    order_hostings(world, hosting, 3)
    time_machine.move_to(on(2026, 4, 16, 9))
    return delivered(world, template_of(world, "Office starter", (hosting, 1, "absolute")))


def credited_to(tenant) -> Decimal:
    return sum(
        (o.credited_amount for o in Order.unscoped.filter(kind="credit", payer_tenant=tenant)),
        D("0.00"),
    )


def test_the_customer_never_reads_what_a_reduction_credits_its_partner(
    world, api, hosting, time_machine, browser
):
    # the partner paid the 35 of 1 April; Müller pays the 3 of 10 April
    offer = mixed(world, hosting, time_machine, first="partner", then="customer")
    customer = api(world.customer_owner, world.customer)
    partner = api(world.partner_owner, world.partner)
    url = f"{OFFERS}{offer.pk}/"

    preview = customer.post(f"{url}accept/", {"dry_run": True}, format="json").json()
    by_partner = partner.get(url).json()["effect"][0]

    # Müller's own: the 3 it paid, 24 of their 30 days: round(22.32 x 24/30)
    assert (preview["credit"], preview["amount_now"], preview["total"]) == (
        "17.86",
        "0.00",
        "-17.86",
    )
    assert preview["lines"][0]["credit"] == "17.86"
    assert preview["lines"][0]["cashback"] is None
    # Alpine's own: the 34 of 35 it paid at its preferential price, half of April
    # (preferential 35 at 25 % after 20 %: 208.32 a month; 1 unit: 5.95)
    partner_credit = by_partner["credit"]
    assert D(partner_credit) == D("104.16") - D("2.98")
    assert partner_credit not in str(preview)
    assert "17.86" not in str(by_partner)

    # the page shows and confirms Müller's own total, and nothing of Alpine's
    page = (
        browser(world.customer_owner)
        .get(reverse("offer_detail", kwargs={"slug": world.customer.slug, "offer_id": offer.pk}))
        .content.decode()
    )
    assert re.search(r'name="expected_total" value="-17.86"', page)
    assert partner_credit not in page and "-118.04" not in page

    before = written()
    accepted = customer.post(
        f"{url}accept/",
        {"confirm_reduction": True, "expected_total": preview["total"]},
        format="json",
    )

    assert accepted.status_code == 200, accepted.json()
    assert written() != before
    assert credited_to(world.customer) == D("17.86")
    assert credited_to(world.partner) == D(partner_credit)
    # the partner's credit note is the partner's: the customer does not list it
    notes = customer.get("/api/v1/invoices/?kind=credit_note").json()["results"]
    assert [n["total"] for n in notes] == ["-17.86"]


def test_the_customer_reads_its_own_credit_when_its_partner_pays_now(
    world, api, hosting, time_machine
):
    # Müller paid the 35 of 1 April; Alpine pays from 10 April (and the offer)
    offer = mixed(world, hosting, time_machine, first="customer", then="partner")
    customer = api(world.customer_owner, world.customer)
    partner = api(world.partner_owner, world.partner)

    preview = customer.post(f"{OFFERS}{offer.pk}/accept/", {"dry_run": True}, format="json")
    by_partner = partner.get(f"{OFFERS}{offer.pk}/").json()["effect"][0]

    body = preview.json()
    assert body["payer"] == "partner"
    # 34 of Müller's 35 for 15 of 30 days: round(260.40 / 2) - round(7.44 / 2)
    assert (body["credit"], body["total"]) == ("126.48", "-126.48")
    # what Alpine pays per period after is not Müller's: 0.00, never its price
    assert (body["amount_now"], body["renewal_amount"]) == ("0.00", "0.00")
    # Alpine reads its own credit (its 3 seats at its price) and the renewal it pays
    assert by_partner["credit"] != "126.48" and D(by_partner["credit"]) > 0
    assert by_partner["renewal_amount"] == "7.94"  # 1 x 9.92 less 20 % (no tier)

    stale = customer.post(
        f"{OFFERS}{offer.pk}/accept/",
        {"confirm_reduction": True, "expected_total": "-126.00"},
        format="json",
    )
    assert stale.status_code == 409
    assert "CHF -126.48 now" in stale.json()["detail"]
    assert stale.json()["preview"]["credit"] == "126.48"

    accepted = customer.post(
        f"{OFFERS}{offer.pk}/accept/",
        {"confirm_reduction": True, "expected_total": "-126.48"},
        format="json",
    )
    assert accepted.status_code == 200, accepted.json()
    assert credited_to(world.customer) == D("126.48")
    assert credited_to(world.partner) == D(by_partner["credit"])


def test_the_customer_card_shows_only_its_own_figures(world, browser, hosting, time_machine):
    offer = mixed(world, hosting, time_machine, first="partner", then="customer")
    page = (
        browser(world.customer_owner)
        .get(reverse("updates", kwargs={"slug": world.customer.slug}))
        .content.decode()
    )

    assert 'data-figure="credit">17.86<' in page
    assert 'name="expected_total" value="-17.86"' in page
    assert "101.18" not in page  # Alpine's credit
    assert "organization&#x27;s own" in page or "organization's own" in page
    assert Offer.unscoped.get(pk=offer.pk).status == "awaiting_confirmation"


def test_one_clawback_email_per_partner_member_for_an_accepted_offer(
    world,
    api,
    office_starter,  # noqa: F811
):
    accepted = api(world.customer_owner, world.customer).post(
        f"{OFFERS}{office_starter.pk}/accept/", {"confirm_reduction": True}, format="json"
    )

    assert accepted.status_code == 200, accepted.json()
    credits = list(Order.unscoped.filter(kind="credit"))
    assert len(credits) == 2 and all(c.clawback_amount > 0 for c in credits)
    emails = list(OutboundEmail.objects.filter(key__startswith="order-clawback:"))
    # one to each of Alpine's owners and admins, for both credit notes together
    assert sorted(e.to for e in emails) == sorted(
        [world.partner_owner.email, world.partner_admin.email]
    )
    taken = sum(c.clawback_amount for c in credits)
    numbers = sorted(Invoice.unscoped.filter(kind="credit_note").values_list("number", flat=True))
    for email in emails:
        assert emails_module.email_deliver(email_id=str(email.pk)) is True
        email.refresh_from_db()
        assert email.subject.endswith(f"Cashback taken back for Bäckerei Müller: CHF {taken}")
        for number in numbers:
            assert f"credit note {number}" in email.body_text
        assert f"Taken back from your prepaid account: CHF {taken}." in email.body_text
    # delivering again sends nothing more
    assert OutboundEmail.objects.filter(key__startswith="order-clawback:").count() == 2


def test_the_sent_offer_is_priced_at_the_tier_of_the_customers_total(
    world,
    api,
    hosting,
    two_subscriptions,  # noqa: F811
):
    # Müller has 38 hostings: one more (relative) reaches the 25 % tier with them
    one_more = delivered(world, template_of(world, "One more", (hosting, 1, "relative")))
    # an absolute 5 is the whole quantity: the tier of 5 (none)
    five = delivered(world, template_of(world, "Five", (hosting, 5, "absolute")))

    (item,) = one_more.items.all()
    assert (item.public_amount, item.charged_amount) == (D("7.44"), D("7.44"))
    assert one_more.charged_amount == D("7.44")
    (item,) = five.items.all()
    assert item.public_amount == D("49.60")  # 5 x 9.92
    seen = api(world.partner_owner, world.partner).get(f"{OFFERS}{one_more.pk}/").json()
    assert seen["items"][0]["public_amount"] == "7.44"
