"""The attempt's visibility check (`payloads.visible_to`, one query; and
`visible_among`, of several objects at once) answers exactly what the body's
build (`payloads.data_for`, the object's `GET`) answers, for every event of the
demo world and every organization: the cheap check keeps the rule "an event
reaches only who may see its object now". The fan-out's build of several
bodies at once (`data_for_many`) is `data_for` of each."""

import datetime
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partners.models import Partnership
from portal.demo import seed_demo
from resale import invoicing
from tenants.models import Tenant
from webhooks.models import WebhookEvent
from webhooks.payloads import (
    OBJECTS,
    NotVisible,
    data_for,
    data_for_many,
    object_kind,
    visible_among,
    visible_to,
)
from webhooks.services import endpoint_org

pytestmark = pytest.mark.django_db


def _builds(org, event_type, object_id) -> bool:
    try:
        data_for(org, event_type, object_id)
    except NotVisible:
        return False
    return True


def _assert_data_is_the_get(api, org, event_type, object_id) -> None:
    kind = object_kind(event_type)
    own = kind.name == "customer" and str(org.tenant.pk) == object_id
    path = "organization/" if own else kind.path.format(id=object_id)
    got = api(org.user, org.tenant).get(f"/api/v1/{path}")
    assert got.status_code == 200, (path, got.content)
    data = json.loads(json.dumps(data_for(org, event_type, object_id), cls=DjangoJSONEncoder))
    assert data == got.json(), (event_type, org.tenant.slug)


def test_the_visibility_query_agrees_with_the_get_for_every_event_and_organization(api):
    """And the body's `data` is that GET's answer, for one object of each kind."""
    seed_demo()
    # the month-end run as beat makes it (resale.tasks): the demo's partners
    # invoice the customers they bill (partner_invoice.issued)
    for partnership_id, month in invoicing.partner_invoices_due(today=timezone.localdate()):
        invoicing.partner_invoice_issue(
            partnership_id=partnership_id, month=datetime.date.fromisoformat(month)
        )
    # one event per (type, object) the demo emitted, and one per customer and
    # partnership (the demo makes those without events), ended ones included
    events = set(WebhookEvent.objects.values_list("type", "object_id"))
    events |= {("customer.updated", str(pk)) for pk in Tenant.objects.values_list("pk", flat=True)}
    events |= {
        ("partnership.changed", str(pk)) for pk in Partnership.unscoped.values_list("pk", flat=True)
    }
    orgs = [org for t in Tenant.objects.all() if (org := endpoint_org(t)) is not None]
    assert {event_type.split(".")[0] for event_type, _id in events} >= {
        "customer",
        "partnership",
        "subscription",
        "order",
        "invoice",
        "partner_invoice",
        "offer",
    }
    seen = unseen = 0
    compared: set[tuple[str, str]] = set()
    for event_type, object_id in sorted(events):
        for org in orgs:
            expected = _builds(org, event_type, object_id)
            assert visible_to(org, event_type, object_id) is expected, (
                event_type,
                object_id,
                org.tenant.slug,
            )
            seen, unseen = seen + expected, unseen + (not expected)
            kind = object_kind(event_type)
            if expected and (kind.name, org.tenant.kind) not in compared:
                compared.add((kind.name, org.tenant.kind))
                _assert_data_is_the_get(api, org, event_type, object_id)
    assert seen and unseen  # both answers were exercised
    # the demo issues no credit note; one is read as an invoice (the same selector)
    assert {name for name, _kind in compared} == set(OBJECTS) - {"credit_note"}
    # several objects at once: each as on its own
    several = 0  # customers read at once (render_many) by a partner that sees several
    by_type: dict[str, list[str]] = {}
    for event_type, object_id in events:
        by_type.setdefault(event_type, []).append(object_id)
    for event_type, object_ids in sorted(by_type.items()):
        asked = [*sorted(object_ids), "not-an-id"]
        for org in orgs:
            one_by_one = {
                object_id: data_for(org, event_type, object_id)
                for object_id in object_ids
                if _builds(org, event_type, object_id)
            }
            assert data_for_many(org, event_type, asked) == one_by_one, (event_type, org)
            assert visible_among(org, event_type, asked) == set(one_by_one)
            several += event_type == "customer.updated" and len(one_by_one) > 1
    assert several


def test_the_visibility_query_is_one_query_and_refuses_what_is_not_an_id(world):
    org = endpoint_org(world.partner)
    with CaptureQueriesContext(connection) as queries:
        assert not visible_to(org, "order.placed", "00000000-0000-4000-8000-000000000000")
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert not visible_to(org, "order.placed", "not-an-id")
    assert len(queries) == 0
    assert visible_to(endpoint_org(world.customer), "customer.updated", str(world.customer.pk))
    assert not visible_to(endpoint_org(world.customer), "customer.updated", str(world.partner.pk))


def test_a_suspended_organization_sees_nothing(world):
    world.customer.status = Tenant.Status.SUSPENDED
    world.customer.save(update_fields=["status"])
    org = endpoint_org(world.customer)
    assert not visible_to(org, "customer.updated", str(world.customer.pk))
