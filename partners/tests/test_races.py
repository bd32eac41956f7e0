"""Races (pass figure: 20 threads, exactly one transition): many people answering the same invitation at the same moment get one
transition, one history entry and one set of emails (PostgreSQL row locks; on
SQLite the losers meet the database lock instead)."""

import threading

import pytest
from django.core import mail
from django.db import OperationalError

from partners import services
from partners.models import Partnership
from tenants.exceptions import Conflict
from tenants.models import Membership, OutboundEmail
from tenants.selectors import org_context_for
from tests.concurrency import race


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_of_one_invitation_make_one_partnership_and_one_email(world):
    partnership = services.customer_add(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id),
        name="Race AG",
        owner_email="race@owner.test",
        access="full",
        payment="customer",
    )
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    mail.outbox.clear()

    def accept():
        return services.partnership_accept(
            org=org_context_for(user=owner, tenant_id=partnership.customer_id),
            partnership=partnership,
        )

    outcomes = race(accept)

    winners = [o for o in outcomes if isinstance(o, Partnership)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, (Conflict, OperationalError)) for o in outcomes if o not in winners)
    partnership.refresh_from_db()
    assert partnership.status == Partnership.Status.ACTIVE
    assert list(partnership.events.values_list("kind", flat=True)) == ["created", "accepted"]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        {world.partner_owner.email, world.partner_admin.email}
    )


@pytest.mark.django_db(transaction=True)
def test_accept_racing_decline_and_cancel_ends_in_exactly_one_of_them(world):
    partnership = services.customer_add(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id),
        name="Race Two AG",
        owner_email="race2@owner.test",
        access="full",
        payment="partner",
    )
    owner = Membership.unscoped.get(tenant=partnership.customer).user
    customer_ctx = org_context_for(user=owner, tenant_id=partnership.customer_id)
    partner_ctx = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    answers = [
        lambda: services.partnership_accept(org=customer_ctx, partnership=partnership),
        lambda: services.partnership_decline(org=customer_ctx, partnership=partnership),
        lambda: services.partnership_cancel(org=partner_ctx, partnership=partnership),
    ]
    actions = [answers[n % 3] for n in range(20)]  # 20 threads, each answer ~7 times
    index = iter(range(len(actions)))
    lock = threading.Lock()

    def next_action():
        with lock:
            action = actions[next(index)]
        return action()

    outcomes = race(next_action, count=len(actions))

    assert len([o for o in outcomes if isinstance(o, Partnership)]) == 1, outcomes
    partnership.refresh_from_db()
    assert partnership.status in ("active", "declined", "cancelled")
    assert partnership.events.count() == 2
    # notifications of exactly one transition (the answer's, if it sends any), each person once
    answer = partnership.events.exclude(kind="created").get()
    created = partnership.events.get(kind="created")
    keys = list(
        OutboundEmail.objects.filter(key__startswith="partnership-event:").values_list(
            "key", flat=True
        )
    )
    assert len(keys) == len(set(keys))
    assert {k.split(":")[1] for k in keys} <= {str(answer.pk), str(created.pk)}
