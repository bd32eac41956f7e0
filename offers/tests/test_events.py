"""The offers' domain events (tenants.events): an answer, a withdrawal and an
expiry each emit one event after the commit, with the offer's ids."""

import pytest

from offers import services
from offers.models import Offer
from offers.tests.conftest import grant, org
from offers.tests.test_services import delivered
from tenants.events import event_subscribe


@pytest.fixture
def heard():
    got: list = []
    names = ["offer.accepted", "offer.declined", "offer.cancelled", "offer.expired"]
    unsubscribe = event_subscribe(
        lambda name, payloads: got.extend((name, p) for p in payloads), names=names
    )
    yield got
    unsubscribe()


def test_accepting_emits_offer_accepted_with_its_order(
    world, template, heard, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    offer = delivered(world, template)

    with django_capture_on_commit_callbacks(execute=True):
        services.offer_accept(org=org(world.customer_owner, world.customer), offer=offer)

    offer.refresh_from_db()
    assert heard == [
        (
            "offer.accepted",
            {
                "id": str(offer.pk),
                "kind": "accepted",
                "customer": str(world.customer.pk),
                "partner": str(world.partner.pk),
                "order": str(offer.order_id),
            },
        )
    ]


def test_declining_and_cancelling_emit_their_events(
    world, template, heard, django_capture_on_commit_callbacks
):
    grant(world, access="full", payment="customer")
    declined, cancelled = delivered(world, template), delivered(world, template)

    with django_capture_on_commit_callbacks(execute=True):
        services.offer_decline(org=org(world.customer_owner, world.customer), offer=declined)
        services.offer_cancel(org=org(world.partner_owner, world.partner), offer=cancelled)

    assert [(name, p["id"], p["kind"]) for name, p in heard] == [
        ("offer.declined", str(declined.pk), Offer.Status.DECLINED),
        ("offer.cancelled", str(cancelled.pk), Offer.Status.CANCELLED),
    ]
