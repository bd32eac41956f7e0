"""Demo data: a small, realistic world (and, on request, thousands of customers).

Idempotent: every object is found by a natural key (slug, email, code) before
it is created, so running the seed twice changes nothing.
"""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.apps import apps
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from billing.models import Order
from billing.services.orders import LineRequest, order_place
from billing.services.renewals import current_period_start, subscription_renew
from catalog.models import Feature, PriceTier, Product, ProductPrice
from core.db import analyze, bulk_insert
from customers.models import AlertProfile, Contract, ContractTerms, ServiceProfile, SlaPolicy
from offers import services as offer_services
from offers.models import OfferTemplate
from partners.book_changes import book_changed, shares_pending
from partners.models import CustomerAssignment, Partnership, PartnershipEvent
from subscriptions.models import Subscription
from subscriptions.services import (
    NewSubscription,
    subscription_build,
    subscriptions_load,
    subscriptions_open,
)
from tenants.branch_cache import branch_changed
from tenants.models import Branding, Contact, Membership, Role, Tenant, User
from tenants.selectors import org_context_for, provider_root_or_none
from tenants.services import tenant_build
from tenders.models import Tender
from tenders.services import tender_post
from upsell.models import UpsellSwitch
from upsell.services import upsell_set

DEMO_PASSWORD = "demo-pass-2026"
SCALE_SLUG_PREFIX = "scale-customer-"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    organization: str
    role: str


def _user(email: str, *, staff: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, is_staff=staff, is_superuser=staff
        )
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": True, "verified": True}
    )
    return user


def _tenant(
    slug: str, *, kind: str, name: str, parent: Tenant | None, currency: str, **fields
) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if kind == Tenant.Kind.CUSTOMER:
        fields.setdefault("origin", parent)
    if tenant is None:
        tenant = tenant_build(
            kind=kind, name=name, parent=parent, currency=currency, slug=slug, **fields
        )
        tenant.save(force_insert=True)
    return tenant


def _member(tenant: Tenant, email: str, role: str, *, buyer: bool = False) -> DemoLogin:
    Membership.unscoped.get_or_create(
        user=_user(email), tenant=tenant, defaults={"role": role, "buyer": buyer}
    )
    return DemoLogin(
        email=email, organization=tenant.name, role=f"{role}{' (buyer)' if buyer else ''}"
    )


def _contact(customer: Tenant, first: str, last: str, email: str, *, primary: bool = False) -> None:
    Contact.unscoped.get_or_create(
        customer=customer,
        email=email,
        defaults={"first_name": first, "last_name": last, "is_primary": primary},
    )


def _product(
    code: str,
    *,
    name: str,
    category: str,
    billing_period: str,
    chf: str,
    eur: str,
    family: str = "",
    edition_rank: int = 0,
    tiers=(),
    features=(),
) -> Product:
    product, _ = Product.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "category": category,
            "billing_period": billing_period,
            "family": family,
            "edition_rank": edition_rank,
        },
    )
    for currency, amount in (("CHF", chf), ("EUR", eur)):
        ProductPrice.objects.get_or_create(
            product=product, currency=currency, defaults={"amount": Decimal(amount)}
        )
    for min_quantity, rate in tiers:
        PriceTier.objects.get_or_create(
            product=product, min_quantity=min_quantity, defaults={"rate": Decimal(rate)}
        )
    if features:
        product.features.add(*features)
    return product


def seed_catalog() -> None:
    feature = {
        code: Feature.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in [
            ("file-backup", "File and image backup"),
            ("cloud-storage", "Cloud storage"),
            ("vulnerability-assessment", "Vulnerability assessment"),
            ("patch-management", "Patch management"),
            ("remote-desktop", "Remote desktop"),
            ("auto-discovery", "Auto-discovery"),
            # Issue 25: every demo product lists its features (Services showed
            # "No features are listed" for most cards).
            ("ssl-certificate", "SSL certificate"),
            ("daily-site-backup", "Daily site backup"),
            ("dns-management", "DNS management"),
            ("auto-renewal", "Automatic renewal"),
            ("spam-filter", "Spam and virus filter"),
            ("shared-calendars", "Shared calendars"),
        ]
    }
    _product(
        "web-hosting",
        name="Web Hosting",
        category="hosting",
        billing_period="monthly",
        chf="9.92",
        eur="5.75",
        tiers=[(35, "0.25")],
        features=[feature["ssl-certificate"], feature["daily-site-backup"]],
    )
    _product(
        "domain-ch",
        name=".ch Domain",
        category="domain",
        billing_period="annual",
        chf="13.00",
        eur="11.50",
        features=[feature["dns-management"], feature["auto-renewal"]],
    )
    _product(
        "mail-pro",
        name="Mail Pro mailbox",
        category="email",
        billing_period="monthly",
        chf="4.50",
        eur="3.90",
        tiers=[(50, "0.10"), (200, "0.20")],
        features=[feature["spam-filter"], feature["shared-calendars"]],
    )
    basic = [feature["file-backup"], feature["cloud-storage"]]
    standard = [*basic, feature["vulnerability-assessment"], feature["remote-desktop"]]
    advanced = [*standard, feature["patch-management"], feature["auto-discovery"]]
    _product(
        "backup-standard",
        name="Backup Standard",
        category="backup",
        billing_period="monthly",
        chf="5.50",
        eur="5.00",
        family="backup",
        edition_rank=1,
        features=basic,
    )
    _product(
        "protect-standard",
        name="Protect Standard",
        category="backup",
        billing_period="monthly",
        chf="7.90",
        eur="7.20",
        family="backup",
        edition_rank=2,
        features=standard,
    )
    _product(
        "protect-advanced",
        name="Protect Advanced",
        category="backup",
        billing_period="monthly",
        chf="11.90",
        eur="10.90",
        family="backup",
        edition_rank=3,
        features=advanced,
    )


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    """The demo world; returns the logins to print."""
    _user("staff@demo.test", staff=True)
    logins = [DemoLogin("staff@demo.test", "Django admin (/admin/)", "platform staff")]
    # The install's provider when `setup_platform` made one (the database allows one).
    provider = provider_root_or_none() or _tenant(
        "provider",
        kind=Tenant.Kind.PROVIDER,
        name="Cloud Provider",
        parent=None,
        currency="CHF",
        # the issuer on every invoice (docs/invoices.md): Swiss VAT for Swiss payers
        address="Bahnhofstrasse 1",
        postal_code="8001",
        city="Zürich",
        country="CH",
        vat_number="CHE-123.456.788 MWST",
    )
    Branding.unscoped.get_or_create(
        tenant=provider,
        defaults={
            "display_name": "Cloud Provider",
            "support_email": "support@provider.demo.test",
            "accent_color": "#1f6feb",
            "buy_url": "https://shop.provider.demo.test/buy",
        },
    )
    alpine = _tenant(
        "alpine-it",
        kind=Tenant.Kind.PARTNER,
        name="Alpine IT Partners",
        parent=provider,
        currency="CHF",
        city="Bern",
        country="CH",
        website="https://alpine-it.demo.test",
        listed_in_directory=True,
        receives_tenders=True,
        specialities=["backup", "hosting"],
    )
    Branding.unscoped.get_or_create(
        tenant=alpine,
        defaults={
            "display_name": "Alpine IT",
            "support_email": "help@alpine-it.demo.test",
            "support_phone": "+41 31 555 01 00",
            "accent_color": "#0b7a53",
        },
    )
    lakeside = _tenant(
        "lakeside-resellers",
        kind=Tenant.Kind.PARTNER,
        name="Lakeside Resellers",
        parent=alpine,
        currency="CHF",
        city="Lugano",
        country="CH",
    )
    rhein = _tenant(
        "rhein-cloud",
        kind=Tenant.Kind.PARTNER,
        name="Rhein Cloud GmbH",
        parent=provider,
        currency="EUR",
        city="Köln",
        country="DE",
        discount_rate=Decimal("0.25"),
        listed_in_directory=True,
    )
    logins += [
        _member(alpine, "partner.owner@demo.test", Role.OWNER, buyer=True),
        _member(alpine, "partner.admin@demo.test", Role.ADMIN, buyer=True),
        _member(alpine, "partner.collaborator@demo.test", Role.COLLABORATOR),
        _member(lakeside, "subpartner.owner@demo.test", Role.OWNER, buyer=True),
        _member(rhein, "other.owner@demo.test", Role.OWNER, buyer=True),
    ]
    mueller = _tenant(
        "baeckerei-mueller",
        kind=Tenant.Kind.CUSTOMER,
        name="Bäckerei Müller AG",
        parent=alpine,
        currency="CHF",
        rank="A",
        email_domains=["mueller-baeckerei.ch"],
        tax_id="CHE-123.456.789",
        phone="+41 31 555 22 33",
        address="Marktgasse 5",
        city="Bern",
        postal_code="3011",
        country="CH",
    )
    rossi = _tenant(
        "studio-rossi",
        kind=Tenant.Kind.CUSTOMER,
        name="Studio Rossi",
        parent=alpine,
        currency="EUR",
        city="Milano",
        country="IT",
        email_domains=["studiorossi.it"],
    )
    seeblick = _tenant(
        "hotel-seeblick",
        kind=Tenant.Kind.CUSTOMER,
        name="Hotel Seeblick",
        parent=lakeside,
        currency="CHF",
        city="Lugano",
        country="CH",
    )
    bergmann = _tenant(
        "bergmann-consulting",
        kind=Tenant.Kind.CUSTOMER,
        name="Bergmann Consulting",
        parent=rhein,
        currency="EUR",
        city="Düsseldorf",
        country="DE",
    )
    logins += [
        _member(mueller, "customer.owner@demo.test", Role.OWNER, buyer=True),
        _member(mueller, "customer.admin@demo.test", Role.ADMIN, buyer=True),
        _member(mueller, "customer.user@demo.test", Role.USER),
        _member(rossi, "rossi.owner@demo.test", Role.OWNER, buyer=True),
        _member(seeblick, "seeblick.owner@demo.test", Role.OWNER),
        _member(bergmann, "bergmann.owner@demo.test", Role.OWNER, buyer=True),
    ]
    _contact(mueller, "Anna", "Müller", "anna@mueller-baeckerei.ch", primary=True)
    _contact(mueller, "Peter", "Keller", "peter@mueller-baeckerei.ch")
    _contact(rossi, "Giulia", "Rossi", "giulia@studiorossi.it", primary=True)
    _contact(seeblick, "Marco", "Bernasconi", "marco@seeblick.ch", primary=True)
    _contact(bergmann, "Jonas", "Bergmann", "jonas@bergmann.de", primary=True)
    seed_catalog()
    _partnership(alpine, mueller, access="full", payment="customer")
    _partnership(alpine, rossi, access="limited", products=["web-hosting", "domain-ch"])
    _partnership(lakeside, seeblick, access="full", payment="partner")
    _partnership(rhein, bergmann, access="full", payment="customer")
    CustomerAssignment.unscoped.get_or_create(
        partner=alpine,
        customer=mueller,
        user=User.objects.get(email="partner.collaborator@demo.test"),
    )
    _service_records(alpine, mueller)
    _small_customers(alpine)
    seed_subscription_history(mueller=mueller, rossi=rossi)
    seed_billing(mueller=mueller, rossi=rossi, seeblick=seeblick)
    seed_offers(alpine=alpine, mueller=mueller)
    seed_upsell(alpine=alpine, mueller=mueller)
    seed_tenders(rossi=rossi)
    return logins


def seed_tenders(*, rossi: Tenant) -> None:
    """An open request for offers from Studio Rossi, which partners that receive
    tenders (Alpine IT) see in their console (once)."""
    if Tender.unscoped.filter(customer=rossi).exists():
        return
    owner = User.objects.get(email="rossi.owner@demo.test")
    tender_post(
        org=org_context_for(user=owner, tenant_id=rossi.pk),
        title="Backup for 12 workstations and a NAS",
        description="Our studio needs daily backups of 12 Windows workstations and a 4 TB NAS, "
        "with restores tested every quarter. Offers with a monthly price, please.",
        category="backup",
        contact_name="Giulia Rossi",
        contact_email="giulia@studiorossi.it",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )


def seed_upsell(*, alpine: Tenant, mueller: Tenant) -> None:
    """Upsell on for Bäckerei Müller (its Protect Standard lacks two features of
    Protect Advanced); the provider's branding carries the Buy URL (once)."""
    if UpsellSwitch.unscoped.filter(customer=mueller).exists():
        return
    # Services lists only what an order stands behind (upsell.selectors.ordered):
    # the history's Protect Standard, seeded without one, is renewed for its
    # current period, as the renewal job would.
    today = timezone.localdate()
    for subscription in Subscription.unscoped.filter(
        customer=mueller, product__code="protect-standard", cancelled_at__isnull=True
    ).active_on(today):
        period = current_period_start(subscription, today)
        if period is not None:
            subscription_renew(subscription_id=subscription.pk, period_starts_on=period)
    org = org_context_for(
        user=User.objects.get(email="partner.owner@demo.test"), tenant_id=alpine.pk
    )
    upsell_set(org=org, customer_id=mueller.pk, enabled=True)


def seed_offers(*, alpine: Tenant, mueller: Tenant) -> None:
    """Alpine IT's templates and an offer waiting for Bäckerei Müller's answer,
    so the customer's badge shows (once)."""
    if OfferTemplate.unscoped.filter(partner=alpine).exists():
        return
    org = org_context_for(
        user=User.objects.get(email="partner.owner@demo.test"), tenant_id=alpine.pk
    )
    templates = {
        "Office starter (12 months)": [
            ("web-hosting", 1, "absolute"),
            ("mail-pro", 10, "relative"),
            ("domain-ch", 1, "absolute"),
        ],
        "Backup upgrade": [("protect-advanced", 5, "absolute")],
    }
    for name, items in templates.items():
        template = offer_services.template_create(org=org, name=name)
        for code, quantity, mode in items:
            offer_services.template_item_add(
                org=org,
                template=template,
                product=Product.objects.get(code=code),
                quantity=quantity,
                license_mode=mode,
                term_months=12,
            )
    batch = offer_services.offer_send(
        org=org,
        template=OfferTemplate.unscoped.get(partner=alpine, name="Backup upgrade"),
        customer_ids=[mueller.pk],
        message="Protect Advanced adds patch management and auto-discovery to your backups.",
    )
    offer_services.offers_deliver(offer_ids=list(batch.offers.values_list("pk", flat=True)))


def seed_billing(*, mueller: Tenant, rossi: Tenant, seeblick: Tenant) -> None:
    """Orders through the billing services, one per kind of settlement, so the
    demo has invoices on both sides and a cashback balance (once)."""
    if Order.unscoped.filter(customer__in=[mueller, rossi, seeblick]).exists():
        return

    def as_member(email: str, tenant: Tenant):
        return org_context_for(user=User.objects.get(email=email), tenant_id=tenant.pk)

    def product(code: str) -> Product:
        return Product.objects.get(code=code)

    orders = [
        # full, customer pays: the customer orders; Alpine IT earns cashback
        ("customer.owner@demo.test", mueller, mueller, "web-hosting", 35),
        # full, customer pays: the partner orders for the customer; cashback again
        ("partner.owner@demo.test", Tenant.objects.get(slug="alpine-it"), mueller, "mail-pro", 60),
        # limited, product managed: the customer orders; cashback
        ("rossi.owner@demo.test", rossi, rossi, "domain-ch", 2),
        # full, partner pays: Lakeside orders and pays the preferential price
        (
            "subpartner.owner@demo.test",
            Tenant.objects.get(slug="lakeside-resellers"),
            seeblick,
            "web-hosting",
            40,
        ),
    ]
    for email, tenant, customer, code, quantity in orders:
        order_place(
            org=as_member(email, tenant),
            customer_id=customer.pk,
            lines=[LineRequest(product(code), quantity)],
        )
    today = timezone.localdate()
    for subscription in Subscription.unscoped.filter(
        customer=mueller, ends_on__isnull=True, cancelled_at__isnull=True, starts_on__lt=today
    )[:2]:
        period = current_period_start(subscription, today)
        if period is not None:
            subscription_renew(subscription_id=subscription.pk, period_starts_on=period)


# The demo partner's small customers (Alpine IT manages them, unclaimed): slug,
# name, currency, city. Their subscription stories are in `_HISTORIES`.
SMALL_CUSTOMERS = [
    ("praxis-weber", "Zahnarztpraxis Weber", "CHF", "Thun"),
    ("garage-huber", "Garage Huber", "CHF", "Burgdorf"),
    ("schreinerei-brunner", "Schreinerei Brunner", "CHF", "Biel/Bienne"),
    ("architekturbuero-frei", "Architekturbüro Frei", "CHF", "Solothurn"),
    ("cafe-central-bern", "Café Central", "CHF", "Bern"),
    ("ferienwohnungen-alpenblick", "Ferienwohnungen Alpenblick", "CHF", "Grindelwald"),
]


def _small_customers(partner: Tenant) -> None:
    for slug, name, currency, city in SMALL_CUSTOMERS:
        customer = _tenant(
            slug,
            kind=Tenant.Kind.CUSTOMER,
            name=name,
            parent=partner,
            currency=currency,
            city=city,
            country="CH",
        )
        _partnership(partner, customer, access="full", payment="partner")


def _on(today: datetime.date, months_back: int, day: int = 1) -> datetime.date:
    """Day `day` (at most 28) of the month `months_back` before today's; months_back
    0 with a day after today gives today (demo data never starts in the future by accident)."""
    index = today.year * 12 + today.month - 1 - months_back
    date = datetime.date(index // 12, index % 12 + 1, min(day, 28))
    return min(date, today) if months_back == 0 else date


# Per customer slug: (product code, quantity, starts (months back, day), ends
# (months back, day) or None, or a number of days from today for the future).
# Months count back from today's month; a subscription ending mid-month drops
# out that month. Over the last 12 months the book shows every movement.
_HISTORIES = {
    "baeckerei-mueller": [
        ("web-hosting", 3, (24, 3), None),
        ("domain-ch", 2, (24, 3), None),
        ("mail-pro", 12, (23, 10), None),
        ("mail-pro", 6, (8, 5), None),  # expansion
        ("backup-standard", 5, (20, 1), (6, 14)),  # upgraded to Protect: expansion
        ("protect-standard", 5, (6, 15), None),
        ("protect-advanced", 2, "in", 12),  # upcoming upgrade
    ],
    "studio-rossi": [
        ("web-hosting", 2, (18, 1), None),
        ("domain-ch", 1, (18, 1), None),
        ("web-hosting", 3, (5, 20), None),  # expansion (EUR book)
    ],
    "praxis-weber": [  # new three months ago
        ("web-hosting", 1, (3, 7), None),
        ("mail-pro", 5, (3, 7), "in", 20),  # fewer mailboxes soon
        ("mail-pro", 3, "in", 21),
        ("domain-ch", 1, (3, 7), None),
    ],
    "garage-huber": [  # a long-time customer that churned nine months ago
        ("web-hosting", 1, (22, 1), (9, 10)),
        ("mail-pro", 3, (22, 1), (9, 10)),
        ("domain-ch", 1, (22, 1), (9, 10)),
    ],
    "schreinerei-brunner": [  # left 14 months ago, came back four months ago
        ("web-hosting", 1, (20, 1), (14, 12)),
        ("web-hosting", 1, (4, 2), None),  # reactivation
        ("backup-standard", 3, (4, 2), None),
    ],
    "architekturbuero-frei": [  # fewer seats, then a cheaper backup edition
        ("mail-pro", 20, (16, 1), (7, 14)),
        ("mail-pro", 12, (7, 15), None),  # contraction
        ("protect-advanced", 10, (16, 1), (2, 9)),
        ("protect-standard", 10, (2, 10), None),  # contraction
        ("domain-ch", 3, (16, 1), None),
    ],
    "cafe-central-bern": [  # new ten months ago, grows, more to come
        ("web-hosting", 1, (10, 18), None),
        ("domain-ch", 1, (10, 18), None),
        ("mail-pro", 4, (1, 3), None),  # expansion last month
        ("protect-standard", 2, "in", 10),
    ],
    "ferienwohnungen-alpenblick": [  # churned last month
        ("web-hosting", 2, (12, 1), (1, 15)),
        ("mail-pro", 2, (12, 1), (1, 15)),
    ],
}


def _history_dates(spec: tuple, today: datetime.date):
    """(starts_on, ends_on) from a `_HISTORIES` row's date part."""
    rest = list(spec)
    if rest[0] == "in":
        starts_on = today + datetime.timedelta(days=rest[1])
        rest = rest[2:]
    else:
        starts_on = _on(today, *rest[0])
        rest = rest[1:]
    if not rest or rest[0] is None:
        return starts_on, None
    if rest[0] == "in":
        return starts_on, today + datetime.timedelta(days=rest[1])
    return starts_on, _on(today, *rest[0])


def seed_subscription_history(*, mueller: Tenant, rossi: Tenant) -> int:
    """24 months of subscriptions for the demo partner's customers, dated from
    today so that the book tells a story on the first run. A customer that has
    any subscription is left alone (idempotent). Returns how many were created."""
    today = timezone.localdate()
    customers = {mueller.slug: mueller, rossi.slug: rossi}
    customers.update(
        (t.slug, t) for t in Tenant.objects.filter(slug__in=[c[0] for c in SMALL_CUSTOMERS])
    )
    prices = _catalog_prices()
    seeded = set(
        Subscription.unscoped.filter(customer__in=customers.values()).values_list(
            "customer__slug", flat=True
        )
    )
    rows = []
    for slug, history in _HISTORIES.items():
        customer = customers[slug]
        if slug in seeded:
            continue
        for code, quantity, *dates in history:
            starts_on, ends_on = _history_dates(tuple(dates), today)
            product, unit_price = prices[code, customer.currency]
            rows.append(
                subscription_build(
                    customer=customer,
                    product=product,
                    quantity=quantity,
                    unit_price=unit_price,
                    starts_on=starts_on,
                    ends_on=ends_on,
                )
            )
    subscriptions_open(rows)  # with their opening changes in the ledger
    book_changed(customer_ids=[c.pk for c in customers.values()])  # bulk: no signal
    return len(rows)


def _catalog_prices() -> dict[tuple[str, str], tuple[Product, Decimal]]:
    """(code, currency) → (product, public price): the demo's subscriptions are sold at list price."""
    return {
        (price.product.code, price.currency): (price.product, price.amount)
        for price in ProductPrice.objects.select_related("product")
    }


def _service_records(partner: Tenant, customer: Tenant) -> None:
    """The partner's SLA and alert lists, and one customer's contract and service profile."""
    premium, _ = SlaPolicy.unscoped.get_or_create(
        partner=partner,
        name="Premium",
        defaults={"first_response_minutes": 15, "resolution_minutes": 240},
    )
    SlaPolicy.unscoped.get_or_create(
        partner=partner,
        name="Standard",
        defaults={"first_response_minutes": 60, "resolution_minutes": 960},
    )
    servers, _ = AlertProfile.unscoped.get_or_create(
        partner=partner,
        name="Servers",
        defaults={
            "cpu_percent": 85,
            "memory_percent": 85,
            "disk_percent": 90,
            "offline_minutes": 5,
        },
    )
    AlertProfile.unscoped.get_or_create(partner=partner, name="Workstations")
    care, _created = Contract.unscoped.get_or_create(
        partner=partner,
        customer=customer,
        name="Managed IT care",
        defaults={
            "type": Contract.Type.RETAINER,
            "starts_on": datetime.date(2026, 1, 1),
            "fee": Decimal("450.00"),
        },
    )
    # its billing terms, from its start (customers/contract_billing.py reads them)
    ContractTerms.unscoped.get_or_create(
        contract=care, effective_from=care.starts_on, defaults={"fee": care.fee}
    )
    ServiceProfile.unscoped.get_or_create(
        partner=partner, customer=customer, defaults={"sla": premium, "alert_profile": servers}
    )


def _partnership(
    partner: Tenant, customer: Tenant, *, access: str, payment: str = "", products=()
) -> None:
    """An active grant agreed in the past (demo data: no invitation round-trip)."""
    if Partnership.unscoped.filter(partner=partner, customer=customer).exists():
        return
    partnership = Partnership.unscoped.create(
        partner=partner,
        customer=customer,
        access=access,
        payment=payment,
        status=Partnership.Status.ACTIVE,
        initiated_by="partner",
        activated_at=timezone.now(),
        requested={
            "access": access,
            "payment": payment,
            "products": sorted(products),
            "ends_on": None,
        },
    )
    partnership.products.set(Product.objects.filter(code__in=products))
    owners = {
        m.tenant_id: m.user
        for m in Membership.unscoped.filter(
            tenant__in=[partner, customer], role=Role.OWNER
        ).select_related("user")
    }
    PartnershipEvent.unscoped.create(
        partnership=partnership,
        kind="created",
        actor=owners.get(partner.pk),
        after=partnership.requested,
    )
    PartnershipEvent.unscoped.create(
        partnership=partnership,
        kind="accepted",
        actor=owners.get(customer.pk),
        before=partnership.requested,
        after=partnership.requested,
    )


def seed_scale_customers(
    *, count: int, partner_slug: str = "alpine-it", batch_size: int = 10_000
) -> int:
    """Top up the partner's book to `count` scale customers, each unclaimed (an
    active full grant, partner pays) with a primary contact: `batch_size` per
    transaction, each table written at once (`core.db.bulk_insert`: COPY on
    PostgreSQL). Returns how many were created."""
    partner = Tenant.objects.get(slug=partner_slug)
    existing = Tenant.objects.filter(slug__startswith=SCALE_SLUG_PREFIX).count()
    for start in range(existing, count, batch_size):
        with transaction.atomic():
            _scale_customers_load(partner, range(start + 1, min(start + batch_size, count) + 1))
    branch_changed(paths=[partner.path])  # bulk inserts send no signal
    return max(count - existing, 0)


_SCALE_CITIES = ["Zürich", "Genève", "Basel", "Lausanne", "Bern", "Luzern", "Lugano", "St. Gallen"]


def _scale_customers_load(partner: Tenant, numbers: range) -> None:
    """Scale customers `numbers` under `partner`, their grants and primary
    contacts: what `tenant_build` and the models' defaults give each row (the
    templates), with its own id, slug and tree path."""
    now = timezone.now()
    ids = [(n, uuid.uuid4()) for n in numbers]
    template = tenant_build(
        kind=Tenant.Kind.CUSTOMER,
        name="",
        parent=partner,
        currency="CHF",
        country="CH",
        created_at=now,
    )
    bulk_insert(
        Tenant,
        ("id", "name", "slug", "path", "currency", "city", "rank"),
        (
            (
                pk,
                f"Scale Customer {n:05d}",
                f"{SCALE_SLUG_PREFIX}{n:05d}",
                Tenant.build_path(partner, pk),
                "CHF" if n % 3 else "EUR",
                _SCALE_CITIES[n % len(_SCALE_CITIES)],
                "ABC"[n % 3],
            )
            for n, pk in ids
        ),
        template=template,
    )
    grant = Partnership(
        partner=partner,
        access="full",
        payment="partner",
        initiated_by="partner",
        status=Partnership.Status.ACTIVE,
        activated_at=now,
        requested={"access": "full", "payment": "partner", "products": [], "ends_on": None},
        created_at=now,
    )
    bulk_insert(
        Partnership,
        ("id", "customer_id"),
        ((uuid.uuid4(), pk) for _, pk in ids),
        template=grant,
    )
    contact = Contact(first_name="Contact", is_primary=True, created_at=now)
    tails = (f"{n:05d}"[-5:] for n, _ in ids)  # the slug's last five digits
    bulk_insert(
        Contact,
        ("id", "customer_id", "last_name", "email"),
        (
            (uuid.uuid4(), pk, tail, f"contact{tail}@scale.demo.test")
            for (_, pk), tail in zip(ids, tails, strict=True)
        ),
        template=contact,
    )


SCALE_SUBSCRIPTIONS_PER_CUSTOMER = 10
_SCALE_PRODUCTS = [
    "web-hosting",
    "domain-ch",
    "mail-pro",
    "backup-standard",
    "protect-standard",
    "protect-advanced",
]


def _scale_subscriptions(
    customer_id: uuid.UUID, currency: str, n: int, today: datetime.date, prices
) -> list[NewSubscription]:
    """Ten subscriptions over the last 24 months, varied by the customer's number
    `n`: most renew, some ended (churn, contraction), some start later (expansion)."""
    rows = []
    for i in range(SCALE_SUBSCRIPTIONS_PER_CUSTOMER):
        product, unit_price = prices[_SCALE_PRODUCTS[(n + i) % 6], currency]
        start_back = (n * 7 + i * 5) % 24
        starts_on = _on(today, start_back, 1 + (n * 11 + i) % 28)
        ends_on = None
        if (n + i) % 4 == 0:
            end_back = (n + i * 3) % (start_back + 1)
            ends_on = max(_on(today, end_back, 1 + (n + i) % 28), starts_on)
        rows.append(
            NewSubscription(
                customer_id=customer_id,
                currency=currency,
                product_id=product.pk,
                billing_period=product.billing_period,
                quantity=1 + (n * 3 + i * 7) % 25,
                unit_price=unit_price,
                starts_on=starts_on,
                ends_on=ends_on,
            )
        )
    return rows


def seed_scale_subscriptions(*, batch_size: int = 2000) -> int:
    """Subscriptions for every scale customer that has none yet, with their
    ledgers (`--customers 10000` gives 100,000): `batch_size` customers per
    transaction, written by `subscriptions_load` (COPY on PostgreSQL). Returns
    how many were created."""
    today = timezone.localdate()
    prices = _catalog_prices()
    scale = Tenant.objects.filter(slug__startswith=SCALE_SLUG_PREFIX)
    pending = list(
        scale.filter(~Exists(Subscription.unscoped.filter(customer=OuterRef("pk"))))
        .order_by("slug")
        .values_list("pk", "slug", "currency", "path")
    )
    # What `book_changed(customer_ids=…)` retires (bulk writes send no signal):
    # the customers' branches and those of the partners they granted, here
    # without its query per batch (a scan of every tenant at 100,000).
    partners = set(
        Partnership.unscoped.filter(customer__in=scale)
        .values_list("partner__path", flat=True)
        .distinct()
    )
    created = 0
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        with transaction.atomic():
            created += subscriptions_load(
                row
                for pk, slug, currency, _ in batch
                for row in _scale_subscriptions(
                    pk, currency, int(slug.removeprefix(SCALE_SLUG_PREFIX)), today, prices
                )
            )
            branch_changed(paths=[*partners, *(path for *_, path in batch)])
            shares_pending(pk for pk, *_ in batch)  # counted by the fold (fold_books)
    return created


# The apps whose tables the demo writes: the portal's own, and allauth's email
# addresses.
SEEDED_APPS = {
    "tenants",
    "catalog",
    "partners",
    "customers",
    "subscriptions",
    "billing",
    "tenders",
    "offers",
    "upsell",
    "portal",
    "account",
}


def seed_statistics() -> list[str]:
    """ANALYZE the tables the demo writes, on PostgreSQL (nothing on SQLite):
    its bulk inserts leave the planner with the old row counts until
    autovacuum's next pass (issue 28: the customer list ran at half speed after
    `--customers 2000`). Returns the tables analyzed."""
    return analyze(model for model in apps.get_models() if model._meta.app_label in SEEDED_APPS)
