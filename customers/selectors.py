"""Reads of the customers a partner manages: the list (search, filters, sort)
with its grant and primary contact in a fixed number of queries, and the
records kept about one customer."""

import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from django.db.models import (
    CharField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Cast
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.contract_billing import block_replay
from customers.models import (
    AlertProfile,
    Contract,
    ContractTerms,
    ContractTopUp,
    ServiceProfile,
    SlaPolicy,
    TimeEntry,
)
from partners.models import Partnership
from partners.selectors import customer_get_for_partner, customers_visible_to, grants_active_now
from tenants.models import Contact, Tenant, User
from tenants.selectors import OrgContext, uuid_or_404

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def customer_list(*, org: OrgContext) -> QuerySet[Tenant]:
    """The customers the user may act on, each annotated with this partner's live
    grant (`grant_access`, `grant_payment`, `grant_id`) and the primary contact."""
    grant = grants_active_now().filter(partner=org.tenant, customer=OuterRef("pk"))
    primary = Contact.unscoped.filter(customer=OuterRef("pk"), is_primary=True)
    return customers_visible_to(org=org).annotate(
        grant_id=Subquery(grant.values("pk")[:1]),
        grant_access=Subquery(grant.values("access")[:1]),
        grant_payment=Subquery(grant.values("payment")[:1]),
        primary_contact_name=Subquery(primary.values("first_name")[:1]),
        primary_contact_last_name=Subquery(primary.values("last_name")[:1]),
        primary_contact_email=Subquery(primary.values("email")[:1]),
    )


# What a row of the customer list API shows (partners.serializers.CustomerRowSerializer).
CUSTOMER_ROW_FIELDS = (
    "id",
    "name",
    "slug",
    "currency",
    "status",
    "rank",
    "city",
    "country",
    "grant_id",
    "grant_access",
    "grant_payment",
    "primary_contact_name",
    "primary_contact_last_name",
    "primary_contact_email",
    "updated_at",
)


def customer_rows(queryset: QuerySet[Tenant]) -> QuerySet:
    """`customer_list` (searched, filtered, ordered) as the API's rows: only the
    columns a row shows, as dicts, no model instances. Its count is the
    queryset's own (the annotations are left out of a COUNT)."""
    return queryset.values(*CUSTOMER_ROW_FIELDS)


def customer_search(queryset: QuerySet[Tenant], query: str) -> QuerySet[Tenant]:
    """Name, email domain, contact email or company/tax id."""
    query = (query or "").strip()[:200]
    if not query:
        return queryset
    contact_match = Contact.unscoped.filter(customer=OuterRef("pk"), email__icontains=query)
    return queryset.annotate(domains_text=Cast("email_domains", CharField())).filter(
        Q(name__icontains=query)
        | Q(tax_id__icontains=query)
        | Q(domains_text__icontains=query)
        | Exists(contact_match)
    )


class CustomerRecords(TypedDict):
    """What `customer_detail` sets on the customer: this partner's records, not columns."""

    partnership: Partnership | None
    contact_list: list[Contact]
    contract_list: list[Contract]
    service_profile: ServiceProfile | None


def customer_detail(
    *, org: OrgContext, customer: Tenant
) -> "WithAnnotations[Tenant, CustomerRecords]":
    """What this partner records about `customer` (loaded by the caller through
    the permission function), for its page: set on the customer itself."""
    records = cast("WithAnnotations[Tenant, CustomerRecords]", customer)
    records.partnership = (
        grants_active_now()
        .filter(partner=org.tenant, customer=customer)
        .prefetch_related("products")
        .first()
    )
    records.contact_list = list(customer.contacts.all())
    records.contract_list = list(contracts_with_figures(contracts_list(org=org, customer=customer)))
    records.service_profile = service_profile_of(org=org, customer=customer)
    return records


def service_profile_of(*, org: OrgContext, customer: Tenant) -> ServiceProfile | None:
    """This partner's SLA policy and alert profile for `customer` (None: none chosen)."""
    return (
        ServiceProfile.unscoped.filter(partner=org.tenant, customer=customer)
        .select_related("sla", "alert_profile")
        .first()
    )


def contracts_list(*, org: OrgContext, customer: Tenant) -> QuerySet[Contract]:
    return Contract.objects.for_org(org).filter(partner=org.tenant, customer=customer)


def contracts_with_figures(contracts: QuerySet[Contract]) -> QuerySet[Contract]:
    """`contracts` with what their billing figures read (terms, time entries,
    top-ups: a block's balance), in three more queries however many rows."""
    return contracts.prefetch_related("terms", "time_entries", "top_ups")


NO_CONTRACT = gettext_lazy("No such contract.")


def contract_get_for_partner(*, org: OrgContext, contract_id: object) -> Contract:
    """One of this partner's contracts, by id alone (`contracts/{id}/…`), if the
    caller may act on its customer now; anything else: the 404 of a missing id."""
    contract = (
        Contract.objects.for_org(org)
        .filter(partner=org.tenant, pk=uuid_or_404(contract_id, str(NO_CONTRACT)))
        .first()
    )
    if contract is None:
        raise Http404(str(NO_CONTRACT))
    try:
        contract.customer = customer_get_for_partner(org=org, customer_id=contract.customer_id)
    except Http404:
        raise Http404(str(NO_CONTRACT)) from None
    return contract


def time_entries_of(*, contract: Contract) -> QuerySet[TimeEntry]:
    """A contract (loaded through `contract_get_for_partner`) its time entries,
    the latest first."""
    return contract.time_entries.select_related("technician").order_by(
        "-date", "-created_at", "-pk"
    )


def time_entry_get(*, contract: Contract, entry_id: object) -> TimeEntry:
    missing = _("No such time entry.")
    entry = time_entries_of(contract=contract).filter(pk=uuid_or_404(entry_id, missing)).first()
    if entry is None:
        raise Http404(missing)
    entry.contract = contract
    return entry


def contract_figures(*, contract: Contract) -> dict:
    """What the contract's page shows besides its terms as set: the terms'
    versions, its time entries (with their technicians), a block's top-ups and
    balance; three queries."""
    prefetch_related_objects(
        [contract],
        Prefetch("terms", queryset=ContractTerms.unscoped.order_by("effective_from")),
        Prefetch(
            "time_entries",
            queryset=TimeEntry.unscoped.select_related("technician").order_by(
                "-date", "-created_at", "-pk"
            ),
        ),
        Prefetch("top_ups", queryset=ContractTopUp.unscoped.order_by("-date", "-created_at")),
    )
    return {
        "terms": list(contract.terms.all()),
        "time_entries": list(contract.time_entries.all()),
        "top_ups": list(contract.top_ups.all()),
        "balance": block_replay(contract, datetime.date.max).balance if contract.is_block else None,
    }


def top_ups_of(*, contract: Contract) -> QuerySet[ContractTopUp]:
    return contract.top_ups.order_by("-date", "-created_at", "-pk")


def technicians(*, org: OrgContext) -> QuerySet[User]:
    """Who may be named as a time entry's technician: the organization's members."""
    return User.objects.filter(memberships__tenant=org.tenant).distinct()


def contract_get(*, org: OrgContext, customer: Tenant, contract_id: object) -> Contract:
    contract = (
        contracts_list(org=org, customer=customer)
        .filter(pk=uuid_or_404(contract_id, _("No such contract.")))
        .first()
    )
    if contract is None:
        raise Http404(_("No such contract."))
    contract.customer = customer
    return contract


def contact_get(*, org: OrgContext, customer: Tenant, contact_id: object) -> Contact:
    contact = customer.contacts.filter(pk=uuid_or_404(contact_id, _("No such contact."))).first()
    if contact is None:
        raise Http404(_("No such contact."))
    return contact


def sla_policies(*, org: OrgContext) -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.for_org(org)


def alert_profiles(*, org: OrgContext) -> QuerySet[AlertProfile]:
    return AlertProfile.objects.for_org(org)


def sla_policy_get(*, org: OrgContext, policy_id: object) -> SlaPolicy:
    policy = (
        sla_policies(org=org).filter(pk=uuid_or_404(policy_id, _("No such SLA policy."))).first()
    )
    if policy is None:
        raise Http404(_("No such SLA policy."))
    return policy


def alert_profile_get(*, org: OrgContext, profile_id: object) -> AlertProfile:
    profile = (
        alert_profiles(org=org)
        .filter(pk=uuid_or_404(profile_id, _("No such alert profile.")))
        .first()
    )
    if profile is None:
        raise Http404(_("No such alert profile."))
    return profile


def live_partnerships_prefetch(*, org: OrgContext) -> Prefetch:
    """The caller's live (pending or active) partnerships with each customer, as
    `live_partnerships` (the API's `partnership` field reads them)."""
    return Prefetch(
        "partnerships_as_customer",
        queryset=Partnership.unscoped.filter(
            partner=org.tenant, status__in=Partnership.LIVE_STATUSES
        ),
        to_attr="live_partnerships",
    )
