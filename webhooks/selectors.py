"""Webhooks' reads, through the scoping entry (`for_org`): another organization's
endpoint or delivery is the 404 of a missing one."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from tenants.selectors import OrgContext, uuid_or_404
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoints_for(*, org: OrgContext) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_org(org).filter(tenant=org.tenant)


def endpoint_get(*, org: OrgContext, endpoint_id: object) -> WebhookEndpoint:
    pk = uuid_or_404(endpoint_id, _("No such webhook endpoint."))
    endpoint = endpoints_for(org=org).filter(pk=pk).first()
    if endpoint is None:
        raise Http404(_("No such webhook endpoint."))
    return endpoint


def deliveries_for(*, org: OrgContext, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    return (
        WebhookDelivery.objects.for_org(org)
        .filter(endpoint=endpoint)
        .select_related("event")
        .order_by("-created_at", "-pk")
    )


def delivery_get(
    *, org: OrgContext, endpoint: WebhookEndpoint, delivery_id: object
) -> WebhookDelivery:
    pk = uuid_or_404(delivery_id, _("No such delivery."))
    delivery = deliveries_for(org=org, endpoint=endpoint).filter(pk=pk).first()
    if delivery is None:
        raise Http404(_("No such delivery."))
    return delivery
