"""Reads of tenders, scoped to what the organization may see (SPEC §3): a
partner that opted in to tenders sees the open ones still valid, in full; any
other partner sees none; a customer sees those it posted. Anything else is the
404 of a missing id."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Tender, TenderProposal
from tenants.models import Tenant
from tenants.selectors import OrgContext, uuid_or_404


def tenders_for(*, org: OrgContext) -> QuerySet[Tender]:
    tenant = org.tenant
    qs = Tender.objects.select_related("customer", "posted_by")
    if tenant.is_customer:
        return qs.filter(customer=tenant).prefetch_related(
            Prefetch("proposals", queryset=TenderProposal.objects.select_related("partner"))
        )
    if tenant.is_partner and tenant.receives_tenders and tenant.status == Tenant.Status.ACTIVE:
        own = TenderProposal.objects.filter(partner=tenant).select_related("author", "partner")
        return qs.filter(
            status=Tender.Status.OPEN, valid_until__gte=timezone.localdate()
        ).prefetch_related(Prefetch("proposals", queryset=own))
    return qs.none()


def tender_get(*, org: OrgContext, tender_id) -> Tender:
    pk = uuid_or_404(tender_id, _("No such request."))
    tender = tenders_for(org=org).filter(pk=pk).first()
    if tender is None:
        raise Http404(_("No such request."))
    return tender


def tender_proposals(*, tender: Tender) -> QuerySet[TenderProposal]:
    """Every proposal of a tender, for its poster."""
    return tender.proposals.select_related("partner", "author").order_by("created_at")
