"""The fuzzing world: the demo data (partners, customers, the catalog,
subscriptions, offers, invoices, tenders, upsell; portal.demo) and an API token
for each of the three roles that fuzz it.

The world is built once, in a transaction rolled back at the end; each
operation's test runs in a savepoint of its own (the `db` fixture), so what one
operation creates or deletes never reaches the next.
"""

import logging
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
from django.core import signals
from django.db import close_old_connections, transaction

from billing.models import Invoice, Order
from catalog.models import Feature, Product
from customers.models import AlertProfile, Contract, SlaPolicy
from imports.models import ImportJob
from offers.models import Offer, OfferBatch, OfferTemplate, TemplateItem
from partners.models import Partnership
from portal.demo import DEMO_PASSWORD, seed_demo
from subscriptions.models import SmartList, Subscription
from tenants import services as tenant_services
from tenants.models import ApiToken, Contact, Membership, Role, Tenant, User
from tenants.selectors import org_context_for
from tenders.models import Tender
from upsell.models import UpgradeRequest

# Operations whose authentication `ignored_auth` has proven, shared the way
# schemathesis' own runner shares them: one proof per operation, not two extra
# requests after every success.
AUTH_ENFORCED: set[str] = set()
# (role, operation, phase) → requests
CALLS: Counter = Counter()


@dataclass(frozen=True)
class Identity:
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """The three callers, and the real values (ids, codes) the generator cannot
    know, by the name of what they are (`customers`, `tokens`, …)."""

    identities: list[Identity]
    pools: dict[str, list[str]] = field(default_factory=dict)


def pick(pool: list[str], generated: object, *, keep: bool) -> object:
    """A real value for `generated`, chosen by its own bytes (so derandomized runs
    repeat exactly); with `keep`, one slot in len+1 keeps the generated value."""
    if not pool:
        return generated
    index = zlib.crc32(repr(generated).encode()) % (len(pool) + (1 if keep else 0))
    return pool[index] if index < len(pool) else generated


def _ids(rows: Iterable) -> list[str]:
    return sorted(str(value) for value in rows)


def _token(email: str, tenant: Tenant) -> tuple[ApiToken, str]:
    user = User.objects.get(email=email)
    return tenant_services.api_token_create(
        org=org_context_for(user=user, tenant_id=tenant.pk), name="fuzz"
    )


def _identities() -> tuple[list[Identity], list[ApiToken]]:
    """A partner owner (Alpine IT), a customer owner and a customer user
    (Bäckerei Müller). A token acts with its member's current role: the user's,
    made while an owner had made them admin, keeps working once they are a
    plain user again."""
    alpine = Tenant.objects.get(slug="alpine-it")
    mueller = Tenant.objects.get(slug="baeckerei-mueller")
    owner = org_context_for(
        user=User.objects.get(email="customer.owner@demo.test"), tenant_id=mueller.pk
    )
    user = Membership.unscoped.get(user__email="customer.user@demo.test", tenant=mueller)
    tenant_services.member_update(org=owner, membership=user, role=Role.ADMIN)
    tokens = {
        "partner_owner": _token("partner.owner@demo.test", alpine),
        "customer_owner": _token("customer.owner@demo.test", mueller),
        "customer_user": _token("customer.user@demo.test", mueller),
    }
    tenant_services.member_update(org=owner, membership=user, role=Role.USER)
    identities = [Identity(role=role, token=raw) for role, (_, raw) in tokens.items()]
    return identities, [token for token, _ in tokens.values()]


def _pools(fuzzing_tokens: list[ApiToken]) -> dict[str, list[str]]:
    customers = Tenant.objects.filter(kind=Tenant.Kind.CUSTOMER)
    partners = Tenant.objects.filter(kind=Tenant.Kind.PARTNER)
    alpine = partners.get(slug="alpine-it")
    fuzzing = [token.pk for token in fuzzing_tokens]
    fuzzing_members = Membership.unscoped.filter(
        user__in=[token.user_id for token in fuzzing_tokens]
    )
    return {
        "alert-profiles": _ids(AlertProfile.unscoped.values_list("pk", flat=True)),
        "customers": _ids(customers.values_list("pk", flat=True)),
        "contacts": _ids(Contact.unscoped.values_list("pk", flat=True)),
        "contracts": _ids(Contract.unscoped.values_list("pk", flat=True)),
        "jobs": _ids(ImportJob.unscoped.values_list("pk", flat=True)),
        "invoices": _ids(Invoice.unscoped.values_list("pk", flat=True)),
        # never a fuzzing member or token: removing it would end that caller's run
        "members": _ids(
            Membership.unscoped.exclude(pk__in=fuzzing_members).values_list("pk", flat=True)
        ),
        "tokens": _ids(ApiToken.unscoped.exclude(pk__in=fuzzing).values_list("pk", flat=True)),
        "offer-templates": _ids(OfferTemplate.unscoped.values_list("pk", flat=True)),
        "items": _ids(TemplateItem.unscoped.values_list("pk", flat=True)),
        "offers": _ids(Offer.unscoped.values_list("pk", flat=True)),
        "batches": _ids(OfferBatch.unscoped.values_list("pk", flat=True)),
        "orders": _ids(Order.unscoped.values_list("pk", flat=True)),
        "partnerships": _ids(Partnership.unscoped.values_list("pk", flat=True)),
        "products": _ids(Product.objects.values_list("code", flat=True)),
        "features": _ids(Feature.objects.values_list("code", flat=True)),
        "sla-policies": _ids(SlaPolicy.unscoped.values_list("pk", flat=True)),
        "smart-lists": _ids(SmartList.unscoped.values_list("pk", flat=True)),
        "subscriptions": _ids(Subscription.unscoped.values_list("pk", flat=True)),
        "tenders": _ids(Tender.unscoped.values_list("pk", flat=True)),
        "requests": _ids(UpgradeRequest.unscoped.values_list("pk", flat=True)),
        "partners": _ids(partners.values_list("pk", flat=True)),
        "directory": _ids(partners.filter(listed_in_directory=True).values_list("pk", flat=True)),
        "sub-partners": _ids(partners.filter(parent=alpine).values_list("pk", flat=True)),
        # Alpine IT's collaborators (a customer's assignments name them)
        "collaborators": _ids(
            Membership.unscoped.filter(tenant=alpine, role=Role.COLLABORATOR).values_list(
                "user_id", flat=True
            )
        ),
        "password": [DEMO_PASSWORD],
    }


@pytest.fixture(scope="session", autouse=True)
def _in_process():
    """Requests go through Django's own WSGI handler, in process. Django's test
    client unhooks `close_old_connections` for the reason it is unhooked here:
    closing the connection after a request would end the test's transaction.
    The 4xx answers, tens of thousands, are not logged; a 500's traceback is."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    requests_log = logging.getLogger("django.request")
    level = requests_log.level
    requests_log.setLevel(logging.ERROR)
    yield
    requests_log.setLevel(level)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker) -> World:
    with django_db_blocker.unblock(), transaction.atomic():
        seed_demo()
        identities, tokens = _identities()
        yield World(identities=identities, pools=_pools(tokens))
        transaction.set_rollback(True)


def pytest_terminal_summary(terminalreporter):
    """The pass figure: operations x roles x generated examples, and failures."""
    if not CALLS:
        return
    operations = {operation for _, operation, _ in CALLS}
    roles = {role for role, _, _ in CALLS}
    generated = Counter()
    for (role, operation, phase), count in CALLS.items():
        if phase == "fuzzing":
            generated[role, operation] += count
    fewest = min((generated[role, op] for role in roles for op in operations), default=0)
    failed = len(terminalreporter.stats.get("failed", []))
    terminalreporter.write_line(
        f"fuzz: {len(operations)} operations x {len(roles)} roles x >={fewest} generated "
        f"examples = {sum(generated.values())} requests, {sum(CALLS.values())} with the "
        f"examples and coverage phases; {failed} failed"
    )
