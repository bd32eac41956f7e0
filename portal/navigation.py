"""The organization's menu (base.html): a few links and a few groups, one row at
1280 px, one "Menu" button at phone width (issue 25).

Every page of the organization's console is one entry, shown by kind and role
exactly as before the grouping; `org_navigation` only arranges them. An entry is
current when the page's URL name is one of its `names`; a group is current when
one of its entries is.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant
from tenants.selectors import OrgContext


@dataclass
class NavLink:
    key: str
    label: str | Promise
    url: str
    names: tuple[str, ...]
    current: bool = False


@dataclass
class NavGroup:
    key: str
    label: str | Promise
    links: list[NavLink] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)

    is_group = True


BILLING_PAGES = (
    "billing",
    "billing_orders",
    "order_detail",
    "customer_order_place",
    "order_place",
    "quote",
    "invoices",
    "invoice_detail",
    "cashback",
)


def _settings_links(org: OrgContext, link) -> list[NavLink]:
    """Who works in the organization and how it connects: for every kind."""
    links = [
        link("members", _("Members"), "members"),
        link("organization", _("Organization"), "organization"),
    ]
    if org.is_admin:
        links.append(link("tokens", _("API tokens"), "tokens"))
        links.append(link("webhooks", _("Webhooks"), "webhook_endpoints", "webhook_endpoint"))
    if org.is_owner:
        links.append(link("audit_log", _("Audit log"), "audit_log"))
        links.append(link("sso", _("Single sign-on"), "sso"))
    return links


def org_navigation(
    org: OrgContext, current: str | None, *, subscriptions_on: bool = False
) -> list[NavLink | NavGroup]:
    """The menu of `org` for the page named `current` (its URL name)."""
    slug = org.tenant.slug

    def link(key: str, label, url_name: str, *also: str, url: str | None = None) -> NavLink:
        names = (url_name, *also)
        return NavLink(
            key=key,
            label=label,
            url=url or reverse(url_name, kwargs={"slug": slug}),
            names=names,
            current=current in names,
        )

    kind = org.tenant.kind
    settings = NavGroup("settings", _("Settings"))
    entries: list[NavLink | NavGroup] = []
    if kind == Tenant.Kind.PARTNER:
        entries.append(link("dashboard", _("Dashboard"), "org_dashboard"))
        entries.append(link("customers", _("Customers"), "partner_customers"))
        entries.append(link("smart_lists", _("Smart lists"), "smart_lists", "smart_list"))
        entries.append(
            link("offers", _("Offers"), "offers_sent", "offer_send", "offer_detail", "offer_batch")
        )
        sales = NavGroup("sales", _("Sales"))
        sales.links.append(
            link("offer_templates", _("Offer templates"), "offer_templates", "offer_template")
        )
        if org.is_admin:
            sales.links.append(link("upgrade_requests", _("Upgrade requests"), "upgrade_requests"))
        sales.links.append(link("tenders", _("Tenders"), "tenders", "tender_detail"))
        entries.append(sales)
        billing_url = "billing" if org.is_admin else "billing_orders"
        entries.append(
            link(
                "billing",
                _("Billing"),
                billing_url,
                *(name for name in BILLING_PAGES if name != billing_url),
            )
        )
        settings.links.append(
            link("sla_policies", _("SLA & alerts"), "sla_policies", "alert_profiles")
        )
    elif kind == Tenant.Kind.CUSTOMER:
        entries.append(link("dashboard", _("Overview"), "org_dashboard"))
        if org.is_admin:
            entries.append(link("updates", _("Updates"), "updates"))
        entries.append(link("services", _("Services"), "services", "service_feature"))
        if subscriptions_on:
            entries.append(
                link(
                    "subscriptions",
                    _("Subscriptions"),
                    "subscriptions",
                    "subscription_add",
                    "subscription_edit",
                    "subscription_cancel",
                )
            )
        billing = NavGroup("billing", _("Billing"))
        billing.links.append(
            link("orders", _("Orders"), "billing_orders", "order_detail", "order_place", "quote")
        )
        billing.links.append(link("invoices", _("Invoices"), "invoices", "invoice_detail"))
        entries.append(billing)
        entries.append(link("partners", _("Partners"), "customer_partners"))
        entries.append(
            link("tenders", _("Requests for offers"), "tenders", "tender_new", "tender_detail")
        )
    else:
        entries.append(link("dashboard", _("Dashboard"), "org_dashboard"))
    settings.links.extend(_settings_links(org, link))
    entries.append(settings)
    return entries
