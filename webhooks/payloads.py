"""What a delivery's `data` holds: the object as its `GET` returns it to the
receiving organization (API.md rev. 2), through the same selector and
serializer as that `GET`. The selector is also the visibility rule (SPEC §3
rev. 2): an organization that would get a 404 from the `GET` now gets no
event (`data_for` raises NotVisible), so an event reaches only who may see its
object now, a limited partner only for the products it manages.

An endpoint reads as its organization's owner (`endpoint_org`): what an owner
of that organization would see through the API.
"""

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers

from billing import selectors as billing_selectors
from billing.serializers import InvoiceSerializer, OrderSerializer
from core.events import EVENT_TYPES
from customers.selectors import live_partnerships_prefetch
from customers.serializers import CustomerSerializer
from offers import selectors as offer_selectors
from offers.serializers import OfferSerializer
from partners import selectors as partner_selectors
from partners.api import partnership_response
from partners.selectors import customer_get_for_partner
from partners.serializers import PartnershipDetailSerializer
from resale import selectors as resale_selectors
from resale.serializers import PartnerInvoiceDetailSerializer
from subscriptions import selectors as subscription_selectors
from subscriptions.serializers import SubscriptionSerializer
from tenants.models import Tenant
from tenants.selectors import OrgContext, uuid_or_none
from tenants.serializers import OrganizationSerializer

PARTNER, CUSTOMER = Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER


class NotVisible(Exception):
    """The organization may not see the event's object now (its GET is a 404)."""


# What a `GET` that may not be called, or finds nothing, raises (a 404 or a 403).
_NOT_FOUND = (
    Http404,
    ObjectDoesNotExist,
    DjangoPermissionDenied,
    exceptions.NotFound,
    exceptions.PermissionDenied,
)


def _customer(org: OrgContext, object_id: str) -> dict:
    if org.tenant.is_customer and str(org.tenant.pk) == object_id:
        # a customer hears of itself as `GET organization/` shows it
        return dict(OrganizationSerializer(org.tenant).data)
    if not org.tenant.is_partner:
        raise NotVisible
    customer = customer_get_for_partner(org=org, customer_id=object_id)
    prefetch_related_objects([customer], live_partnerships_prefetch(org=org))
    return dict(CustomerSerializer(customer).data)


def _customers(org: OrgContext, object_ids: list[str]) -> dict[str, dict]:
    """`_customer` of each (those the partner may see), in one selector query and
    one serializer pass: the list's `customers_visible_to`, narrowed to the ids,
    is the rows `customer_get_for_partner` finds one at a time."""
    if not org.tenant.is_partner:
        return _one_by_one(_customer, org, object_ids)
    pks = {pk for pk in map(uuid_or_none, object_ids) if pk is not None}
    customers = list(partner_selectors.customers_visible_to(org=org).filter(pk__in=pks))
    prefetch_related_objects(customers, live_partnerships_prefetch(org=org))
    rendered = CustomerSerializer(customers, many=True).data
    by_pk = {customer.pk: dict(data) for customer, data in zip(customers, rendered, strict=True)}
    return {
        object_id: by_pk[pk]
        for object_id in object_ids
        if (pk := uuid_or_none(object_id)) is not None and pk in by_pk
    }


def _one_by_one(
    render: Callable[[OrgContext, str], dict], org: OrgContext, object_ids: list[str]
) -> dict[str, dict]:
    found = {}
    for object_id in object_ids:
        try:
            found[object_id] = render(org, object_id)
        except (NotVisible, *_NOT_FOUND):
            continue
    return found


def _partnership(org: OrgContext, object_id: str) -> dict:
    return dict(partnership_response(org, object_id).data)


def _subscription(org: OrgContext, object_id: str) -> dict:
    if not org.tenant.subscriptions_enabled:  # the feature's 404 (SubscriptionsFeatureMixin)
        raise NotVisible
    subscription = subscription_selectors.subscription_get(org=org, subscription_id=object_id)
    return dict(SubscriptionSerializer(subscription).data)


def _order(org: OrgContext, object_id: str) -> dict:
    order = billing_selectors.order_get(org=org, order_id=object_id)
    return dict(OrderSerializer(order, context={"org": org}).data)


def _invoice(org: OrgContext, object_id: str) -> dict:
    invoice = billing_selectors.invoice_get(org=org, invoice_id=object_id)
    return dict(InvoiceSerializer(invoice).data)


def _partner_invoice(org: OrgContext, object_id: str) -> dict:
    # as `GET partner-invoices/{id}/`: cost and margin for the issuing partner only
    invoice = resale_selectors.partner_invoice_get(org=org, invoice_id=object_id)
    context = {"partner_side": org.tenant.is_partner}
    return dict(PartnerInvoiceDetailSerializer(invoice, context=context).data)


def _offer(org: OrgContext, object_id: str) -> dict:
    offer = offer_selectors.offer_get(org=org, offer_id=object_id)
    return dict(OfferSerializer(offer, context={"org": org}).data)


# --- which of these objects may `org` see now: the `GET`'s selector narrowed to the
# ids, one query (the attempt's check: the body was built at the fan-out and is
# sent as it is; only whether the organization may still see the object is asked
# again)

Pks = set[uuid.UUID]


def _ids(qs: QuerySet, pks: Pks) -> Pks:
    return set(qs.filter(pk__in=pks).order_by().values_list("pk", flat=True))


def _customer_visible(org: OrgContext, pks: Pks) -> Pks:
    if org.tenant.is_customer:
        return pks & {org.tenant.pk}
    return _ids(partner_selectors.customers_visible_to(org=org), pks)


def _partnership_visible(org: OrgContext, pks: Pks) -> Pks:
    return _ids(partner_selectors.partnerships_for(org=org), pks)


def _subscription_visible(org: OrgContext, pks: Pks) -> Pks:
    if not org.tenant.subscriptions_enabled:
        return set()
    return _ids(subscription_selectors.subscriptions_for(org=org), pks)


def _order_visible(org: OrgContext, pks: Pks) -> Pks:
    return _ids(billing_selectors.orders_for(org=org), pks)


def _invoice_visible(org: OrgContext, pks: Pks) -> Pks:
    return _ids(billing_selectors.invoices_for(org=org), pks)


def _partner_invoice_visible(org: OrgContext, pks: Pks) -> Pks:
    return _ids(resale_selectors.partner_invoices_for(org=org), pks)


def _offer_visible(org: OrgContext, pks: Pks) -> Pks:
    return _ids(offer_selectors.offers_for(org=org), pks)


@dataclass(frozen=True)
class ObjectKind:
    """An event's object: the `GET` that shows it, who may call that `GET`, how
    it is read (`render`: the selector, then the serializer), whether it may be
    read now (`visible`: which of some ids the same selector's rows hold, one
    query, no serializer) and the serializer the example payload is drawn from."""

    name: str
    path: str
    kinds: tuple[str, ...]
    render: Callable[[OrgContext, str], dict]
    visible: Callable[[OrgContext, Pks], Pks]
    serializer: type[serializers.Serializer]
    # `render` of several objects at once (one query for them all), where it pays
    render_many: Callable[[OrgContext, list[str]], dict[str, dict]] | None = None


OBJECTS = {
    "customer": ObjectKind(
        "customer",
        "customers/{id}/",
        (PARTNER, CUSTOMER),
        _customer,
        _customer_visible,
        CustomerSerializer,
        _customers,
    ),
    "partnership": ObjectKind(
        "partnership",
        "partnerships/{id}/",
        (PARTNER, CUSTOMER),
        _partnership,
        _partnership_visible,
        PartnershipDetailSerializer,
    ),
    "subscription": ObjectKind(
        "subscription",
        "subscriptions/{id}/",
        (PARTNER, CUSTOMER),
        _subscription,
        _subscription_visible,
        SubscriptionSerializer,
    ),
    "order": ObjectKind(
        "order", "orders/{id}/", (PARTNER, CUSTOMER), _order, _order_visible, OrderSerializer
    ),
    "invoice": ObjectKind(
        "invoice",
        "invoices/{id}/",
        (PARTNER, CUSTOMER),
        _invoice,
        _invoice_visible,
        InvoiceSerializer,
    ),
    "credit_note": ObjectKind(
        "credit_note",
        "invoices/{id}/",
        (PARTNER, CUSTOMER),
        _invoice,
        _invoice_visible,
        InvoiceSerializer,
    ),
    "partner_invoice": ObjectKind(
        "partner_invoice",
        "partner-invoices/{id}/",
        (PARTNER, CUSTOMER),
        _partner_invoice,
        _partner_invoice_visible,
        PartnerInvoiceDetailSerializer,
    ),
    "offer": ObjectKind(
        "offer", "offers/{id}/", (PARTNER, CUSTOMER), _offer, _offer_visible, OfferSerializer
    ),
}

DESCRIPTIONS = {
    "customer.created": _("A partner added a customer."),
    "customer.updated": _("A customer's profile changed."),
    "partnership.invited": _("A partnership was asked for (by either side)."),
    "partnership.accepted": _("A partnership became active."),
    "partnership.changed": _("A partnership's access, payment mode or end date changed."),
    "partnership.ended": _("A partnership ended, or its invitation was declined or cancelled."),
    "partnership.expired": _("A partnership or its invitation expired."),
    "subscription.changed": _("A subscription changed (the ledger has a new change)."),
    "order.placed": _("An order was placed."),
    "invoice.issued": _("An invoice was issued."),
    "credit_note.issued": _("A credit note was issued."),
    "partner_invoice.issued": _("A partner invoiced one of its customers."),
    "offer.delivered": _("An offer reached the customer."),
    "offer.accepted": _("The customer accepted an offer."),
    "offer.declined": _("The customer declined an offer."),
    "offer.cancelled": _("The partner withdrew an offer."),
    "offer.expired": _("An offer expired unanswered."),
    "offer.failed": _("An offer could not be delivered."),
}
assert set(DESCRIPTIONS) == EVENT_TYPES, "every event type is described"


def object_kind(event_type: str) -> ObjectKind:
    return OBJECTS[event_type.split(".", 1)[0]]


def _may_ask(org: OrgContext, kind: ObjectKind) -> bool:
    return org.tenant.kind in kind.kinds and org.tenant.status != Tenant.Status.SUSPENDED


def visible_to(org: OrgContext, event_type: str, object_id: str) -> bool:
    """Whether `org` may see the event's object now: what `data_for` decides,
    without building the object's body (the `GET`'s selector narrowed to the id,
    one query). The attempt's check before each POST."""
    return object_id in visible_among(org, event_type, [object_id])


def visible_among(org: OrgContext, event_type: str, object_ids: Iterable[str]) -> set[str]:
    """Those of `object_ids` (objects of `event_type`'s kind) that `org` may see
    now, each as `visible_to` decides, in one query for all of them."""
    kind = object_kind(event_type)
    wanted = {str(object_id): uuid_or_none(str(object_id)) for object_id in object_ids}
    pks = {pk for pk in wanted.values() if pk is not None}
    if not pks or not _may_ask(org, kind):
        return set()
    seen = kind.visible(org, pks)
    return {object_id for object_id, pk in wanted.items() if pk in seen}


def data_for(org: OrgContext, event_type: str, object_id: str) -> dict:
    """The event's object as `org` would `GET` it now; NotVisible when that `GET`
    would be a 404 (or a 403)."""
    kind = object_kind(event_type)
    if not _may_ask(org, kind):
        raise NotVisible
    try:
        return kind.render(org, object_id)
    except _NOT_FOUND:
        raise NotVisible from None


def data_for_many(org: OrgContext, event_type: str, object_ids: Iterable[str]) -> dict[str, dict]:
    """`data_for` of each of `object_ids`, for those `org` may see (one missing
    from the answer: NotVisible); in one query for them all where the kind has
    a `render_many` (customers), else one `data_for` each."""
    kind = object_kind(event_type)
    wanted = list(dict.fromkeys(str(object_id) for object_id in object_ids))
    if not wanted or not _may_ask(org, kind):
        return {}
    if kind.render_many is None:
        return _one_by_one(kind.render, org, wanted)
    try:
        return kind.render_many(org, wanted)
    except _NOT_FOUND:
        return {}


# --- example payloads (GET webhook-event-types/), drawn from the serializers ----------

EXAMPLE_ID = uuid.UUID("00000000-0000-4000-8000-000000000000")
EXAMPLE_TIME = datetime.datetime(2026, 1, 31, 9, 30, tzinfo=datetime.UTC)


def _example_value(field: Any, depth: int = 0) -> Any:
    if depth > 3 or field is None:
        return None
    if isinstance(field, serializers.ListSerializer):
        return [_example_value(field.child, depth + 1)]
    if isinstance(field, serializers.Serializer):
        return {
            name: _example_value(child, depth + 1)
            for name, child in field.fields.items()
            if not child.write_only
        }
    if isinstance(field, serializers.ListField):
        return [_example_value(field.child, depth + 1)] if field.child else []
    if isinstance(field, serializers.ManyRelatedField):
        return [str(EXAMPLE_ID)]
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices), "")
    if isinstance(field, serializers.BooleanField):
        return False
    if isinstance(field, serializers.IntegerField):
        return 0
    if isinstance(field, serializers.DecimalField):
        return str(decimal.Decimal("0.00"))
    if isinstance(field, serializers.DateTimeField):
        return EXAMPLE_TIME.isoformat().replace("+00:00", "Z")
    if isinstance(field, serializers.DateField):
        return EXAMPLE_TIME.date().isoformat()
    if isinstance(field, serializers.UUIDField | serializers.RelatedField):
        return str(EXAMPLE_ID)
    if isinstance(field, serializers.DictField | serializers.JSONField):
        return {}
    if isinstance(field, serializers.SerializerMethodField):
        return None
    return "string"


def example_body(event_type: str) -> dict:
    """An example of the body delivered for `event_type`: every field of its
    object's `GET`, with a placeholder value of the field's type."""
    data = _example_value(object_kind(event_type).serializer())
    return {"type": event_type, "timestamp": EXAMPLE_TIME.isoformat(), "data": data}


def event_types() -> list[dict]:
    """`GET webhook-event-types/`: each type, what it means, its object's `GET`
    and an example body."""
    return [
        {
            "type": name,
            "description": str(DESCRIPTIONS[name]),
            "object": object_kind(name).name,
            "object_path": object_kind(name).path,
            "example": example_body(name),
        }
        for name in sorted(EVENT_TYPES)
    ]
