"""What accepting an offer settles is what its preview showed, through the
same money rules as a change made by hand (issue 20, items 4 and 5):

- an offer that raises a subscription charges the added units to the last day
  they serve, min(the period's end, the subscription's last day once
  accepted), by the one raise rule of `amendments.services`;
- an offer that replaces an edition credits the replaced one's unused paid days
  at commit, and its preview (`dry_run`, the 409's figures) shows that credit.
"""

import datetime
from decimal import Decimal

import pytest

from billing.models import Order
from billing.proration import span_value
from billing.services.orders import LineRequest, order_place_for
from catalog.tests.factories import ProductFactory
from offers import services
from offers.models import Offer
from offers.tests.conftest import grant, org
from subscriptions.models import Subscription
from tests.clock import on

pytestmark = pytest.mark.django_db

D = Decimal
OFFERS = "/api/v1/offers/"


def partner_org(world):
    return org(world.partner_owner, world.partner)


def ordered(world, product, quantity) -> Subscription:
    order = order_place_for(
        org=partner_org(world), customer=world.customer, lines=[LineRequest(product, quantity)]
    )
    return order.lines.get().subscription


def proposed(world, *items) -> Offer:
    offer = services.offer_propose(
        org=partner_org(world),
        customer_id=world.customer.pk,
        name="Proposal",
        items=[services.ItemSpec(*item) for item in items],
    )
    assert services.offer_deliver(offer_id=offer.pk)
    return Offer.unscoped.get(pk=offer.pk)


def booked(offer: Offer, since: datetime.datetime) -> Decimal:
    """What the accept wrote: charged minus credited over its orders."""
    orders = Order.unscoped.filter(customer=offer.customer, placed_at__gte=since)
    return sum((o.charged_amount - o.credited_amount for o in orders), D("0.00"))


@pytest.fixture
def backup(db):
    """An annual product, CHF 120.00 a year, no tier."""
    return ProductFactory(
        code="backup", name="Backup", billing_period="annual", prices={"CHF": "120.00"}
    )


def test_an_increase_charges_to_the_last_day_the_term_leaves_not_the_period_end(
    world, api, backup, time_machine
):
    """5 backups from 1 January 2026 (annual: the period ends on 31 December);
    on 16 April an offer adds 1 for a term of 2 months: the subscription's last
    day becomes 15 June, and the added unit is charged 16 April-15 June only,
    as raising it by hand up to that last day would charge."""
    time_machine.move_to(on(2026, 1, 1, 9))
    grant(world, access="full", payment="customer")
    subscription = ordered(world, backup, 5)
    time_machine.move_to(on(2026, 4, 16, 9))
    offer = proposed(world, (backup, 1, "relative", 2))
    customer = api(world.customer_owner, world.customer)

    preview = customer.post(f"{OFFERS}{offer.pk}/accept/", {"dry_run": True}, format="json")

    assert preview.status_code == 200, preview.json()
    period = (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    last_day = datetime.date(2026, 6, 15)

    def worth(amount: str) -> Decimal:
        return span_value(
            amount_per_period=D(amount),
            period=period,
            on=datetime.date(2026, 4, 16),
            until=last_day,
        )

    expected = worth("720.00") - worth("600.00")  # 6 units, then 5, for 61 of 365 days
    assert expected == D("20.05")  # not 85.48, the rest of the year
    assert preview.json()["total"] == str(expected)
    since = datetime.datetime.now(tz=datetime.UTC)

    accepted = customer.post(
        f"{OFFERS}{offer.pk}/accept/", {"expected_total": str(expected)}, format="json"
    )

    assert accepted.status_code == 200, accepted.json()
    subscription.refresh_from_db()
    assert (subscription.quantity, subscription.ends_on) == (6, last_day)
    order = Order.unscoped.get(pk=accepted.json()["order"])
    line = order.lines.get()
    assert (order.charged_amount, line.period_ends_on) == (expected, last_day)
    assert booked(offer, since) == expected


@pytest.fixture
def editions(db):
    """Backup Standard (rank 1) and Backup Protect (rank 2), monthly, no tier."""
    standard = ProductFactory(
        code="backup-standard",
        name="Backup Standard",
        family="backup",
        edition_rank=1,
        prices={"CHF": "10.00"},
    )
    protect = ProductFactory(
        code="backup-protect",
        name="Backup Protect",
        family="backup",
        edition_rank=2,
        prices={"CHF": "16.00"},
    )
    return standard, protect


def test_an_edition_change_previews_the_credit_of_the_replaced_edition(
    world, api, editions, time_machine
):
    """10 x Backup Standard from 1 April (paid to 30 April); on 16 April an
    offer replaces it with 10 x Backup Protect: the preview shows the charge of
    the new edition and the credit of the old one's unused paid days, and its
    total is what the accept books."""
    standard, protect = editions
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    replaced = ordered(world, standard, 10)
    time_machine.move_to(on(2026, 4, 16, 9))
    offer = proposed(world, (protect, 10, "absolute", 12, standard))
    customer = api(world.customer_owner, world.customer)

    preview = customer.post(f"{OFFERS}{offer.pk}/accept/", {"dry_run": True}, format="json")

    assert preview.status_code == 200, preview.json()
    figures = preview.json()
    # Standard no longer serves from 16 April: 15 of its 30 paid days come back
    assert figures["credit"] == "50.00"  # 100.00 x 15/30
    assert figures["amount_now"] == "160.00"  # Protect, a first whole period
    assert figures["total"] == "110.00"
    assert figures["reduces"] is False
    (line,) = figures["lines"]
    assert (line["product"], line["change"], line["credit"]) == ("backup-protect", "new", "50.00")
    assert line["amount_now"] == "110.00"
    assert line["text"] == "Backup Protect: 0 → 10 licences, replacing Backup Standard"
    # the margin is the partner's to read: 32.00 on Protect (160.00 - 128.00
    # preferential, Alpine's 20 %), less 10.00 taken back with Standard's credit
    assert line["cashback"] is None
    by_partner = api(world.partner_owner, world.partner).get(f"{OFFERS}{offer.pk}/").json()
    (partner_line,) = by_partner["effect"]
    # each side reads its own figures: Müller pays and is credited, not Alpine
    assert (partner_line["amount_now"], partner_line["cashback"]) == ("0.00", "22.00")
    since = datetime.datetime.now(tz=datetime.UTC)

    # an amount that is not the preview's is a 409 with these figures
    stale = customer.post(
        f"{OFFERS}{offer.pk}/accept/", {"expected_total": "160.00"}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["preview"]["total"] == "110.00"

    accepted = customer.post(
        f"{OFFERS}{offer.pk}/accept/", {"expected_total": figures["total"]}, format="json"
    )

    assert accepted.status_code == 200, accepted.json()
    assert booked(offer, since) == D("110.00")
    credit = Order.unscoped.get(kind="credit", lines__subscription=replaced)
    assert credit.credited_amount == D("50.00")
    charged = Order.unscoped.get(pk=accepted.json()["order"])
    assert charged.cashback_amount - credit.clawback_amount == D("22.00")
