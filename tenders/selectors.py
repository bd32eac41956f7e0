"""Reads of tenders, scoped to what the organization may see (SPEC §3): a
partner that opted in to tenders sees the open ones still valid, in full; any
other partner sees none; a customer sees those it posted. Anything else is the
404 of a missing id.

The partner programme: a partner qualifies when what was invoiced for the
products it manages over the last 12 months reaches CHF 2,000 (EUR 1,800)
(SPEC §3, §7 rev. 2: "never prices typed in"). Amounts are never converted:
each currency is measured against its own threshold, and reaching either
qualifies."""

import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Invoice, OrderLine
from partners.selectors import manages_now
from tenants.branch_cache import Change, branch_cached
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


def tenders_for_moderation(*, status: str = "", q: str = "") -> QuerySet[Tender]:
    """Every request of the platform, for staff moderating them (the provider
    console; callers check `provider_console_user`), newest first, with their
    number of proposals: `status` one of Tender.Status (anything else: all), `q`
    in the title, the contact's email or the posting customer's name."""
    tenders = Tender.unscoped.select_related("customer").annotate(proposal_count=Count("proposals"))
    if status in Tender.Status.values:
        tenders = tenders.filter(status=status)
    q = (q or "").strip()
    if q:
        tenders = tenders.filter(
            Q(title__icontains=q) | Q(contact_email__icontains=q) | Q(customer__name__icontains=q)
        )
    return tenders.order_by("-created_at", "-id")


def tender_for_moderation(*, tender_id: object) -> Tender:
    pk = uuid_or_404(tender_id, _("No such request."))
    tender = Tender.unscoped.filter(pk=pk).first()
    if tender is None:
        raise Http404(_("No such request."))
    return tender


# --- the partner programme ---------------------------------------------------------------

PROGRAMME_THRESHOLDS = {"CHF": Decimal("2000.00"), "EUR": Decimal("1800.00")}


def programme_window(today: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The last 12 months up to today, as instants: from the start of the day
    after today's date a year ago (the 28 February for a 29th) to the end of
    today, in the project's time zone."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)

    def midnight(day: datetime.date) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    return midnight(year_ago + datetime.timedelta(days=1)), midnight(today + datetime.timedelta(1))


def programme_invoiced(*, partner: Tenant, today: datetime.date) -> dict[str, Decimal]:
    """Per currency: what was invoiced, net of credit notes, over the last 12
    months (`programme_window`) on the order lines of products `partner` sold
    and manages now. A line counts when its order was settled under this
    partner's grant (`Order.partner`: it managed the product then) and the
    partner manages that customer and product today (SPEC §3, judged now); its
    amount is what the payer SPEC §7's table names was charged (the public
    price when the customer pays, the preferential one when the partner does),
    plus on the order's invoice, minus on its credit note. The sum of an
    order's lines is its invoice's `total`. One aggregate query."""
    first, end = programme_window(today)

    def issued(kind: str) -> Exists:
        return Exists(
            Invoice.unscoped.filter(
                order=OuterRef("order"), kind=kind, issued_at__gte=first, issued_at__lt=end
            )
        )

    def signed(kind: str) -> Case:
        return Case(When(issued(kind), then=F("charged_amount")), default=Value(Decimal("0")))

    managed = manages_now(
        partner=partner,
        customer=OuterRef("order__customer"),
        product=OuterRef("product"),
        today=today,
    )
    rows = (
        OrderLine.unscoped.filter(order__partner=partner)
        .filter(managed)
        .filter(issued(Invoice.Kind.INVOICE) | issued(Invoice.Kind.CREDIT_NOTE))
        .order_by()
        .values("order__currency")
        .annotate(
            invoiced=Sum(
                signed(Invoice.Kind.INVOICE) - signed(Invoice.Kind.CREDIT_NOTE),
                output_field=DecimalField(max_digits=24, decimal_places=2),
            )
        )
    )
    return {row["order__currency"]: (row["invoiced"] or Decimal("0")) for row in rows}


def programme_progress(*, partner: Tenant) -> dict:
    """{qualifies, currencies: [{currency, yearly_value, threshold, missing,
    percent, reached}]}: `yearly_value` is what was invoiced over the last 12
    months for the products this partner sold and manages now
    (`programme_invoiced`), never a price on a subscription. Cached until the
    book changes (subscriptions.book_cache) or the invoices do
    (`programme_retire`)."""
    today = timezone.localdate()

    def yearly_values() -> dict[str, Decimal]:
        return programme_invoiced(partner=partner, today=today)

    def unless_invoiced(found: dict[str, Decimal], change: Change) -> dict[str, Decimal]:
        # a write to subscriptions alone invoices nothing
        return yearly_values() if change.invoices else found

    key = ("programme-invoiced", partner.pk, today)
    found = branch_cached(path=partner.path, key=key, compute=yearly_values, patch=unless_invoiced)
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
