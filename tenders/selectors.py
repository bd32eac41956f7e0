"""Reads of tenders, scoped to what the organization may see (SPEC §3): a
partner that opted in to tenders sees the open ones still valid, in full; any
other partner sees none; a customer sees those it posted. Anything else is the
404 of a missing id.

The partner programme: a partner qualifies when the yearly value of
the products it manages reaches CHF 2,000 (EUR 1,800). Amounts are never
converted: each currency is measured against its own threshold, and reaching
either qualifies."""

from decimal import Decimal

from django.db.models import OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.selectors import manages_now
from subscriptions.models import Subscription, mrr_sum
from tenants.branch_cache import branch_cached
from tenants.models import Tenant
from tenants.selectors import OrgContext, uuid_or_404
from tenders.models import Tender, TenderProposal


def tenders_for(*, org: OrgContext) -> QuerySet[Tender]:
    tenant = org.tenant
    qs = Tender.unscoped.select_related("customer", "posted_by")
    if tenant.is_customer:
        return qs.filter(customer=tenant).prefetch_related(
            Prefetch("proposals", queryset=TenderProposal.unscoped.select_related("partner"))
        )
    if tenant.is_partner and tenant.receives_tenders and tenant.status == Tenant.Status.ACTIVE:
        own = TenderProposal.unscoped.filter(partner=tenant).select_related("author", "partner")
        return qs.filter(
            status=Tender.Status.OPEN, valid_until__gte=timezone.localdate()
        ).prefetch_related(Prefetch("proposals", queryset=own))
    return qs.none()


def tender_get(*, org: OrgContext, tender_id: object) -> Tender:
    pk = uuid_or_404(tender_id, _("No such request."))
    tender = tenders_for(org=org).filter(pk=pk).first()
    if tender is None:
        raise Http404(_("No such request."))
    return tender


def tender_proposals(*, tender: Tender) -> QuerySet[TenderProposal]:
    """Every proposal of a tender, for its poster."""
    return tender.proposals.select_related("partner", "author").order_by("created_at")


# --- the partner programme ---------------------------------------------------------------

PROGRAMME_THRESHOLDS = {"CHF": Decimal("2000.00"), "EUR": Decimal("1800.00")}


def programme_progress(*, partner: Tenant) -> dict:
    """{qualifies, currencies: [{currency, yearly_value, threshold, missing,
    percent, reached}]}: the value per year of the subscriptions active today on
    products this partner manages (a full grant: all of the customer's; a limited
    one: the products it lists). Twelve times a monthly price, once an annual
    one; one aggregate query, exact on every database, cached until the book
    changes (subscriptions.book_cache)."""
    today = timezone.localdate()

    def yearly_values() -> dict[str, Decimal]:
        managed = manages_now(
            partner=partner, customer=OuterRef("customer"), product=OuterRef("product"), today=today
        )
        rows = (
            Subscription.unscoped.active_on(today)
            .filter(managed)
            .order_by()
            .values("currency")
            .annotate(yearly=mrr_sum(Q()))
        )
        return {row["currency"]: (row["yearly"] or Decimal("0")) for row in rows}

    key = ("programme", partner.pk, today)
    found = branch_cached(path=partner.path, key=key, compute=yearly_values)
    currencies = []
    for currency, threshold in PROGRAMME_THRESHOLDS.items():
        value = Decimal(found.get(currency, 0)).quantize(Decimal("0.01"))
        currencies.append(
            {
                "currency": currency,
                "yearly_value": value,
                "threshold": threshold,
                "missing": max(threshold - value, Decimal("0.00")),
                "percent": min(100, int(value * 100 / threshold)),
                "reached": value >= threshold,
            }
        )
    return {"qualifies": any(c["reached"] for c in currencies), "currencies": currencies}
