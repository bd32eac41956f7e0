"""A partner's branch as the provider console shows it: its sub-partners and
customers on the partner's page, and what moving it in the tree moves (SPEC §2
"Provider console"). The tree side of a move (refusals, the sub-partners and
customers hanging below it, the partners above it before and after) is
`tenants.selectors.partner_move_plan`; the move itself `tenants.services.
partner_move`. Here are the figures that travel with the branch, read as
every figure is (SPEC §3 "Judged at request time"): the grants active now of
the partner and of every partner below it, the customers they cover, the live
subscriptions of the products they manage, and the MRR of that sub-tree book
today, per currency (a book never converts)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone

from partners.selectors import customers_managed_now, manages_now, managing_grants
from subscriptions.models import Subscription
from subscriptions.mrr import book_mrr
from tenants.models import Tenant, User
from tenants.selectors import (
    PartnerMovePlan,
    partner_move_plan,
    partner_seen_by_owners,
    tenant_descendants,
)


@dataclass(frozen=True)
class BranchFigures:
    """A partner's branch now: the grants, customers and live subscriptions of it
    and every partner below it, and the sub-tree book's MRR per currency."""

    grants: int
    customers: int
    subscriptions: int
    mrr: dict[str, Decimal]


@dataclass(frozen=True)
class PartnerMovePreview:
    plan: PartnerMovePlan
    figures: BranchFigures
    # The customers the branch manages whose home partner is outside it: they
    # stay where they hang in the tree, their grants and figures go with the branch.
    customers_managed_elsewhere: int


def branch_subscriptions(*, partner: Tenant) -> QuerySet[Subscription]:
    """The live subscriptions (active or scheduled: not cancelled, not past their
    last day) of the products the partner or a partner below it manages now for
    their customers."""
    today = timezone.localdate()
    managed = manages_now(
        partner=partner,
        customer=OuterRef("customer"),
        product=OuterRef("product"),
        subtree=True,
        today=today,
    )
    return Subscription.unscoped.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today), managed, cancelled_at__isnull=True
    )


def branch_figures(*, partner: Tenant, user: User) -> BranchFigures:
    customers = customers_managed_now(partner=partner, subtree=True)
    currencies = sorted(set(customers.values_list("currency", flat=True))) or [partner.currency]
    org = partner_seen_by_owners(partner=partner, user=user)
    return BranchFigures(
        grants=managing_grants(partner=partner, subtree=True).count(),
        customers=customers.count(),
        subscriptions=branch_subscriptions(partner=partner).count(),
        mrr={
            currency: book_mrr(org=org, currency=currency, months=1, subtree=True)["current_mrr"]
            for currency in currencies
        },
    )


def partner_move_preview(*, partner: Tenant, new_parent: Tenant, user: User) -> PartnerMovePreview:
    """What moving `partner` under `new_parent` moves, for the preview before the
    confirm; refused (ValidationError on `parent`) as `partner_move_plan` says."""
    plan = partner_move_plan(partner=partner, new_parent=new_parent)
    below = tenant_descendants(tenant=partner, kind=Tenant.Kind.CUSTOMER)
    elsewhere = customers_managed_now(partner=partner, subtree=True).exclude(
        pk__in=below.values("pk")
    )
    return PartnerMovePreview(
        plan=plan,
        figures=branch_figures(partner=partner, user=user),
        customers_managed_elsewhere=elsewhere.count(),
    )
