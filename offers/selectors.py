"""Reads of offers, scoped to what the organization may see (SPEC §6).

The partner sees the offers it sent (a collaborator: those of its assigned
customers) and its templates; the customer sees the offers delivered to it —
never one still waiting or that failed before reaching it. Anything else is the
404 of a missing id.
"""

import datetime
import uuid
from collections.abc import Iterable, Sequence

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from offers.models import Offer, OfferBatch, OfferItem, OfferTemplate, TemplateItem
from partners.models import Side
from partners.selectors import assigned_only, partnerships_awaiting_answer
from subscriptions.models import Subscription
from tenants.models import Membership, Role, Tenant, User
from tenants.selectors import OrgContext, uuid_or_404


def templates_for(*, org: OrgContext) -> QuerySet[OfferTemplate]:
    if not org.tenant.is_partner:
        return OfferTemplate.objects.none()
    return OfferTemplate.objects.for_org(org).prefetch_related(
        Prefetch("items", queryset=TemplateItem.unscoped.select_related("product"))
    )


def template_get(*, org: OrgContext, template_id: object) -> OfferTemplate:
    pk = uuid_or_404(template_id, _("No such template."))
    template = templates_for(org=org).filter(pk=pk).first()
    if template is None:
        raise Http404(_("No such template."))
    return template


def template_has_items(*, template: OfferTemplate) -> bool:
    """Read again, not from a prefetched cache that may still hold a removed item."""
    return TemplateItem.unscoped.filter(template=template).exists()


def template_item_get(*, template: OfferTemplate, item_id: object) -> TemplateItem:
    pk = uuid_or_404(item_id, _("No such item."))
    item = template.items.filter(pk=pk).first()
    if item is None:
        raise Http404(_("No such item."))
    return item


def offers_for(*, org: OrgContext) -> QuerySet[Offer]:
    tenant = org.tenant
    qs = (
        Offer.objects.for_org(tenant)
        .select_related("partner", "customer", "sent_by")
        .prefetch_related(Prefetch("items", queryset=OfferItem.unscoped.select_related("product")))
    )
    if tenant.is_customer:
        return qs.filter(customer=tenant, delivered_at__isnull=False)
    if not tenant.is_partner:
        return qs.none()
    return assigned_only(org, qs.filter(partner=tenant), "customer")


def offered_customers(*, org: OrgContext, customers: QuerySet) -> QuerySet:
    """Of `customers`, those this partner has sent an offer to: the sent list's
    customer filter, which stays the size of the offers, not of the whole book."""
    return customers.filter(
        Exists(Offer.unscoped.filter(partner=org.tenant, customer=OuterRef("pk")))
    )


def offer_get(*, org: OrgContext, offer_id: object) -> Offer:
    pk = uuid_or_404(offer_id, _("No such offer."))
    offer = offers_for(org=org).filter(pk=pk).first()
    if offer is None:
        raise Http404(_("No such offer."))
    return offer


def batch_get(*, org: OrgContext, batch_id: object) -> OfferBatch:
    """A bulk send of this partner: owners and admins see every one, a
    collaborator the sends it made itself."""
    pk = uuid_or_404(batch_id, _("No such send."))
    batches = OfferBatch.unscoped.filter(pk=pk, partner=org.tenant)
    if not org.has_role(Role.ADMIN):
        batches = batches.filter(sent_by=org.user)
    batch = batches.first() if org.tenant.is_partner else None
    if batch is None:
        raise Http404(_("No such send."))
    return batch


def batch_progress(*, org: OrgContext, batch: OfferBatch) -> dict[str, int]:
    """How many offers of a bulk send, of those this user may see, are in each
    status (one query)."""
    rows = (
        offers_for(org=org).filter(batch=batch).order_by().values("status").annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(Offer.Status.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    counts["total"] = sum(counts[s] for s in Offer.Status.values)
    return counts


def offers_awaiting_answer(*, org: OrgContext) -> QuerySet[Offer]:
    """Offers waiting for this customer's owners' and admins' answer."""
    if not (org.tenant.is_customer and org.has_role(Role.ADMIN)):
        return Offer.objects.none()
    # one past its expiry is not waiting any more, even before beat marks it expired
    return offers_for(org=org).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        status=Offer.Status.AWAITING_CONFIRMATION,
    )


def invitations_awaiting_answer(*, org: OrgContext) -> QuerySet:
    """Partners' invitations this customer is to answer — its owners answer them."""
    if not (org.tenant.is_customer and org.has_role(Role.OWNER)):
        return partnerships_awaiting_answer(org=org).none()
    return partnerships_awaiting_answer(org=org).filter(initiated_by=Side.PARTNER)


def updates_for(*, org: OrgContext) -> dict:
    """The customer's Updates: offers (owners and admins answer them) and
    partners' invitations (owners answer them) awaiting an answer, and their
    count — the badge."""
    offers = list(offers_awaiting_answer(org=org).order_by("-delivered_at"))
    invitations = list(invitations_awaiting_answer(org=org))
    return {"count": len(offers) + len(invitations), "offers": offers, "invitations": invitations}


def updates_count(*, org: OrgContext) -> int:
    """The badge alone, in at most two COUNT queries."""
    if not (org.tenant.is_customer and org.has_role(Role.ADMIN)):
        return 0
    return offers_awaiting_answer(org=org).count() + invitations_awaiting_answer(org=org).count()


def offer_recipients_of(customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[User]]:
    """Who answers offers at each customer: its owners and admins (one query)."""
    found: dict[uuid.UUID, list[User]] = {}
    for membership in Membership.unscoped.filter(
        tenant_id__in=list(customer_ids), role__in=(Role.OWNER, Role.ADMIN)
    ).select_related("user"):
        found.setdefault(membership.tenant_id, []).append(membership.user)
    return found


def offer_recipients(customer: Tenant) -> list[User]:
    return offer_recipients_of([customer.pk]).get(customer.pk, [])


def live_subscriptions(
    customer_ids: Sequence[uuid.UUID], product_ids: Sequence[uuid.UUID], today: datetime.date
) -> QuerySet[Subscription]:
    """The live subscriptions of these customers and products, newest first:
    started, not cancelled, not past their last day (what an offer's effect
    counts as the customer's quantity, offers.effects)."""
    return (
        Subscription.unscoped.filter(
            customer_id__in=list(customer_ids),
            product_id__in=list(product_ids),
            cancelled_at=None,
            starts_on__lte=today,
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("customer", "product")
        .order_by("-starts_on", "-created_at", "-pk")
    )
