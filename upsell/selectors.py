"""Reads of upsell (SPEC §5): the customer's Services — per subscription, the
features it has and, with upsell on, the ones it lacks, each tagged with the
lowest edition that unlocks it and the action element the viewer gets — and
what the partner sees of its customers' interest.

The action element (SPEC §5's table): an owner or admin who is a buyer gets
"Buy now" to the effective Buy URL (the customer's own branding, else the
nearest ancestor's, up to the provider); everyone else — and buyers too when no
Buy URL is set anywhere above — gets "To upgrade the edition, contact your
partner", with the managing partner's support contact from its branding.

Only what was ordered unlocks (SPEC §4, §7 rev. 2; issue 20 item 7): a
subscription is a service here when an order placed or billed it (a line of
an order, a change of its ledger with an order), never a row written
otherwise. Before, "customer.owner adds 50 x Protect Advanced at CHF 0.00 in
the browser" showed every Protect Advanced feature unlocked; now the price is
refused, and a subscription no order stands behind unlocks nothing (its
features stay locked, and with upsell on the edition that has them is offered).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import OrderLine
from billing.pricing import order_terms, tier_rate, waterfall
from catalog.models import Feature, Product, ProductPrice
from partners.models import Side
from partners.selectors import ManagingGrants, customer_get_for_partner, customers_visible_to
from subscriptions.models import Subscription, SubscriptionChange
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext, branding_effective, uuid_or_404
from upsell.models import FeatureInterest, UpgradeRequest, UpsellChange, UpsellSwitch

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CONTACT_MESSAGE = _("To upgrade the edition, contact your partner")


def upsell_enabled(*, customer: Tenant) -> bool:
    return UpsellSwitch.unscoped.filter(customer=customer, enabled=True).exists()


def upsell_history(*, customer: Tenant) -> QuerySet[UpsellChange]:
    return UpsellChange.unscoped.filter(customer=customer).select_related("actor", "acting_for")


def upsell_customer_get(*, org: OrgContext, customer_id: object) -> Tenant:
    """The customer whose switch this partner user may read (anyone allowed on
    it; setting it needs owner or admin: services)."""
    if not org.tenant.is_partner:
        raise Http404(_("No such customer."))
    return customer_get_for_partner(org=org, customer_id=customer_id)


def buy_url_with_context(
    buy_url: str, *, customer: Tenant, current: Product, recommended: Product, feature: Feature
) -> str:
    """The Buy URL with what the shop needs to land on the right edition: the
    customer, its current and the recommended edition, and the feature."""
    parts = urlsplit(buy_url)
    query = [
        *parse_qsl(parts.query, keep_blank_values=True),
        ("customer", str(customer.pk)),
        ("current_edition", current.code),
        ("recommended_edition", recommended.code),
        ("feature", feature.code),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class Contact:
    partner: Tenant | None
    name: str
    support_email: str
    support_phone: str


@dataclass
class FeatureLine:
    feature: Feature
    available: bool
    unlocked_by: Product | None = None
    action: dict | None = None


@dataclass
class ServiceLine:
    """One product the customer has (API.md rev. 2: one service per product):
    `subscriptions` are its active ones, oldest first; `subscription`, the first,
    names the service in URLs and upgrade requests."""

    subscriptions: list[Subscription]
    features: list[FeatureLine] = field(default_factory=list)
    contact: Contact | None = None

    @property
    def subscription(self) -> Subscription:
        return self.subscriptions[0]

    @property
    def subscription_ids(self) -> list:
        return [s.pk for s in self.subscriptions]

    @property
    def product(self) -> Product:
        return self.subscription.product

    @property
    def quantity(self) -> int:
        return sum(s.quantity for s in self.subscriptions)


def _contact(customer: Tenant, product: Product, grants: ManagingGrants, cache: dict) -> Contact:
    partnership = grants.for_product(product)
    partner = partnership.partner if partnership else None
    key = partner.pk if partner else None
    if key not in cache:
        branding = branding_effective(tenant=partner or customer)
        cache[key] = Contact(
            partner=partner,
            name=partner.name if partner else branding["display_name"],
            support_email=branding["support_email"],
            support_phone=branding["support_phone"],
        )
    return cache[key]


def _may_buy(org: OrgContext) -> bool:
    membership = org.membership
    return bool(
        membership is not None and membership.role in (Role.OWNER, Role.ADMIN) and membership.buyer
    )


def lowest_unlocking(feature: Feature, current: Product, editions: list[Product]) -> Product | None:
    """The lowest edition of the family above `current` that includes `feature`."""
    above = [p for p in editions if p.edition_rank > current.edition_rank]
    having = [p for p in above if feature in p.features.all()]
    return min(having, key=lambda p: p.edition_rank, default=None)


def ordered(subscriptions: QuerySet[Subscription]) -> QuerySet[Subscription]:
    """The subscriptions an order stands behind: a line of an order billed it, or
    a change of its ledger names an order (an accepted offer's, a renewal's).
    A row written otherwise (no order: a direct write, a seed, a legacy row not
    yet renewed) unlocks nothing."""
    return subscriptions.filter(
        Exists(SubscriptionChange.unscoped.filter(subscription=OuterRef("pk"), order__isnull=False))
        | Exists(OrderLine.unscoped.filter(subscription=OuterRef("pk")))
    )


def services_for(*, org: OrgContext) -> list[ServiceLine]:
    """The customer's products with active subscriptions that were ordered
    (`ordered`), one line per product however many subscriptions, with their
    features; with upsell on, the missing ones of the product's family, tagged
    and with the viewer's action element. A fixed number of queries per
    distinct partner."""
    customer = org.tenant
    if not customer.is_customer:
        return []
    today = timezone.localdate()
    subscriptions = list(
        ordered(Subscription.unscoped.active_on(today).filter(customer=customer))
        .select_related("product")
        .prefetch_related(Prefetch("product__features", queryset=Feature.objects.order_by("name")))
        .order_by("product__family", "product__edition_rank", "starts_on")
    )
    upsell_on = upsell_enabled(customer=customer)
    families = {s.product.family for s in subscriptions if s.product.family}
    editions: dict[str, list[Product]] = {}
    if upsell_on and families:
        for product in Product.objects.filter(family__in=families, is_active=True).prefetch_related(
            Prefetch("features", queryset=Feature.objects.order_by("name"))
        ):
            editions.setdefault(product.family, []).append(product)
    buy_url = branding_effective(tenant=customer)["buy_url"] if upsell_on else ""
    may_buy = _may_buy(org)
    contacts: dict = {}
    grants = ManagingGrants(customer) if upsell_on else None
    by_product: dict[object, list[Subscription]] = {}
    for subscription in subscriptions:
        by_product.setdefault(subscription.product_id, []).append(subscription)
    lines = []
    for of_product in by_product.values():
        product = of_product[0].product
        own = list(product.features.all())
        line = ServiceLine(
            subscriptions=of_product,
            features=[FeatureLine(feature=f, available=True) for f in own],
        )
        if grants is not None and product.family:  # grants: with upsell on
            line.contact = _contact(customer, product, grants, contacts)
            family = editions.get(product.family, [])
            locked = {f.pk: f for p in family for f in p.features.all() if f not in own}
            for feature in sorted(locked.values(), key=lambda f: f.name):
                recommended = lowest_unlocking(feature, product, family)
                if recommended is None:
                    continue
                action: dict[str, StrOrPromise]
                if may_buy and buy_url:
                    url = buy_url_with_context(
                        buy_url,
                        customer=customer,
                        current=product,
                        recommended=recommended,
                        feature=feature,
                    )
                    action = {"kind": "buy_now", "url": url}
                else:
                    action = {"kind": "contact_partner", "message": CONTACT_MESSAGE}
                line.features.append(
                    FeatureLine(
                        feature=feature, available=False, unlocked_by=recommended, action=action
                    )
                )
        lines.append(line)
    return lines


def locked_feature_get(
    *, org: OrgContext, subscription_id: object, feature_code: str
) -> tuple[ServiceLine, FeatureLine]:
    """(service line, feature line) of one locked feature the viewer sees (upsell
    on), else 404 — for the dialog, the Buy now redirect and Ask my partner."""
    subscription_id = uuid_or_404(subscription_id, _("No such feature."))
    for line in services_for(org=org):
        if subscription_id not in {s.pk for s in line.subscriptions}:
            continue
        for feature_line in line.features:
            if not feature_line.available and feature_line.feature.code == feature_code:
                return line, feature_line
    raise Http404(_("No such feature."))


@dataclass(frozen=True)
class EditionPrice:
    """What the customer itself would pay for the unlocking edition, for the
    units it has now, per the edition's billing period (excl. VAT)."""

    currency: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    billing_period: str


def edition_price(*, customer: Tenant, line: ServiceLine, edition: Product) -> EditionPrice | None:
    """The price of `edition` for the customer's units of the service (SPEC §7's
    rule, billing.pricing): the customer ordering it pays the public price of
    the degressive tier its units reach, whoever manages the product — never a
    partner's preferential price or margin. None when the edition has no price
    in the customer's currency."""
    price = ProductPrice.objects.filter(product=edition, currency=customer.currency).first()
    if price is None:
        return None
    quantity = line.quantity
    elsewhere = sum(
        s.quantity
        for s in Subscription.unscoped.active_on(timezone.localdate()).filter(
            customer=customer, product=edition
        )
    )
    priced = waterfall(
        unit_price=price.amount,
        quantity=quantity,
        tier_rate=tier_rate(edition.tiers.all(), quantity=quantity, elsewhere=elsewhere),
        discount_rate=Decimal("0"),
    )
    terms = order_terms(access=None, payment=None, ordered_by=Side.CUSTOMER)
    return EditionPrice(
        currency=customer.currency,
        quantity=quantity,
        unit_price=priced.public_unit_price,
        amount=terms.charged(priced),
        billing_period=edition.billing_period,
    )


# --- the partner's side -------------------------------------------------------------


def interest_for(*, org: OrgContext, customer: Tenant) -> list[dict]:
    """Per locked feature, how often this customer's members looked at it,
    clicked Buy now or asked, and when last (this partner's customer only)."""
    rows = (
        FeatureInterest.unscoped.filter(partner=org.tenant, customer=customer)
        .values("feature__code", "feature__name", "recommended_product__name", "kind")
        .annotate(count=Count("pk"), last=Max("at"))
        .order_by("feature__name", "kind")
    )
    merged: dict[str, dict] = {}
    for row in rows:
        entry = merged.setdefault(
            row["feature__code"],
            {
                "feature": row["feature__code"],
                "feature_name": row["feature__name"],
                "recommended": row["recommended_product__name"],
                "viewed": 0,
                "clicked": 0,
                "asked": 0,
                "last": None,
            },
        )
        entry[row["kind"]] += row["count"]
        entry["last"] = max(filter(None, [entry["last"], row["last"]]))
    return list(merged.values())


def buy_clicks_by_partner(*, partner: Tenant) -> int:
    return FeatureInterest.unscoped.filter(
        partner=partner, kind=FeatureInterest.Kind.CLICKED
    ).count()


def upgrade_requests_for(*, org: OrgContext) -> QuerySet[UpgradeRequest]:
    """The partner's requests from customers this user may see (newest first)."""
    if not org.tenant.is_partner:
        return UpgradeRequest.objects.none()
    return (
        UpgradeRequest.unscoped.filter(
            partner=org.tenant, customer__in=customers_visible_to(org=org)
        )
        .select_related(
            "customer", "requested_by", "feature", "current_product", "recommended_product", "offer"
        )
        .order_by("-created_at")
    )


def upgrade_request_get(*, org: OrgContext, request_id: object) -> UpgradeRequest:
    pk = uuid_or_404(request_id, _("No such request."))
    found = upgrade_requests_for(org=org).filter(pk=pk).first()
    if found is None:
        raise Http404(_("No such request."))
    return found
