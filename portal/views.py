"""Pages that gather several apps: the landing after sign-in and each
organization's dashboard (the partner console's and the customer portal's)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.views import View

from billing.selectors import billing_summary, cashback_balance
from offers.selectors import updates_for
from partners.models import Partnership, Side
from partners.selectors import (
    customers_managed_count,
    customers_visible_count,
    customers_visible_to,
    partnerships_awaiting_answer,
    partnerships_for,
)
from portal.setup_required import setup_required_page
from resale.selectors import margin_by_month
from subscriptions.mrr import book_mrr
from tenants.models import Tenant
from tenants.selectors import (
    members_list,
    provider_root_or_none,
    tenant_descendants,
    user_memberships,
)
from tenants.web import OrgViewMixin
from tenders.selectors import programme_progress


def programme_thresholds(programme: dict) -> str:
    """The programme's thresholds as a sentence shows them: "CHF 10,000 or EUR 10,000"."""
    amounts = [
        f"{c['currency']} {floatformat(c['threshold'], '0g')}" for c in programme["currencies"]
    ]
    return get_text_list(amounts, _("or"))


@login_required
def home(request):
    """After sign-in: straight into the only organization, else a chooser."""
    memberships = list(user_memberships(user=request.user))
    if not memberships and request.user.is_staff and provider_root_or_none() is None:
        return setup_required_page(request)
    if len(memberships) == 1:
        return redirect("org_dashboard", slug=memberships[0].tenant.slug)
    return render(request, "home.html", {"memberships": memberships})


def _tree_customer_count(tenant: Tenant) -> int:
    """A partner's tree: the customers it or a sub-partner manages now (never
    those the tree puts below it, SPEC §3); the provider's: every customer."""
    if tenant.is_partner:
        return customers_managed_count(partner=tenant, subtree=True)
    return tenant_descendants(tenant=tenant, kind=Tenant.Kind.CUSTOMER).count()


class DashboardView(OrgViewMixin, View):
    def get(self, request, slug):
        tenant = self.org.tenant
        partnerships = partnerships_for(org=self.org)
        context = {"member_count": members_list(org=self.org).count()}
        if tenant.kind == Tenant.Kind.CUSTOMER:
            # What waits for the customer's answer: the Updates page's selector and
            # count (the badge's), then its own invitations waiting for a partner.
            context.update(
                updates=updates_for(org=self.org),
                sent_invitations=partnerships_awaiting_answer(org=self.org).filter(
                    initiated_by=Side.CUSTOMER, status=Partnership.Status.PENDING
                )[:20],
                partnerships=partnerships.filter(status=Partnership.Status.ACTIVE),
                contacts=tenant.contacts.all()[:10],
                billing=billing_summary(org=self.org),
            )
            return render(request, "portal/dashboard_customer.html", context)
        managed = customers_visible_to(org=self.org)
        context.update(
            awaiting=partnerships_awaiting_answer(org=self.org)[:20],
            managed_count=customers_visible_count(org=self.org),
            tree_customer_count=_tree_customer_count(tenant),
            sub_partner_count=tenant_descendants(tenant=tenant, kind=Tenant.Kind.PARTNER).count(),
            recent_customers=managed.order_by("-created_at")[:10],
        )
        if tenant.is_partner and self.org.is_admin:
            # The balance alone: the month's figures are one click away, on the
            # billing page, and this page keeps its fixed query budget.
            context["cashback_balance"] = cashback_balance(partner=tenant)
            # The latest months' margin on its invoices to customers (one query).
            context["margin_months"] = margin_by_month(org=self.org, months=3)
        if tenant.is_partner:
            context["programme"] = programme_progress(partner=tenant)
            context["programme_thresholds"] = programme_thresholds(context["programme"])
        if tenant.is_partner and tenant.subscriptions_enabled:
            context["book"] = book_mrr(org=self.org)
        return render(request, "portal/dashboard_partner.html", context)
