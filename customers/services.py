"""Writes of what a partner records about the customers it manages (SPEC §2):
onboarding in one transaction, contacts, contracts, SLA policies, alert
profiles and service profiles. The caller loads the customer (or its contact,
its contract) once through the permission function and hands it over; each
write locks its row by pk and checks again only what may have changed since
(partners.services.customer_lock: docs/architecture.md, "One load per request")."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.contract_billing import block_replay
from customers.models import (
    CONTRACT_AMOUNTS,
    CONTRACT_OPTIONAL,
    CONTRACT_TERM_FIELDS,
    VERSIONED_TERMS,
    AlertProfile,
    Contract,
    ContractTerms,
    ContractTopUp,
    ServiceProfile,
    SlaPolicy,
    TimeEntry,
)
from customers.notifications import block_low_notify
from customers.selectors import alert_profile_get, alert_profiles, sla_policies, sla_policy_get
from partners.models import Partnership
from partners.selectors import NOT_FOUND
from partners.services import customer_add, customer_lock, grant_holds
from tenants.audit import audit_record
from tenants.models import AuditEvent, Contact, Membership, Role, Tenant, User
from tenants.selectors import OrgContext
from tenants.services import contact_create, contact_insert, contact_primary_switch, require_role

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _require_partner_admin(org: OrgContext) -> None:
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Only partners keep these records."))
    require_role(org, Role.ADMIN)


# --- onboarding --------------------------------------------------------------------


@transaction.atomic
def customer_onboard(
    *,
    org: OrgContext,
    name: str,
    grant: dict | None = None,
    contract: dict | None = None,
    service_profile: dict | None = None,
    primary_contact: dict | None = None,
    **profile: Any,
) -> Partnership:
    """The wizard's end (and `POST customers/` with the nested parts): the customer,
    its partnership request (issue 3), an optional contract, a service profile and
    the primary contact, all or nothing."""
    partnership = customer_add(org=org, name=name, **(grant or {}), **profile)
    customer = partnership.customer
    if contract:
        _contract_save(org, Contract(partner=org.tenant, customer=customer), contract)
    if service_profile:
        _service_profile_save(org, customer, **service_profile)
    if primary_contact:
        contact_create(customer=customer, is_primary=True, **primary_contact)
    return partnership


# --- contacts ------------------------------------------------------------------------


def _contact_locked(org: OrgContext, contact: Contact) -> Contact:
    """The contact read again under its customer's row lock (contact writes of a
    customer take turns on it): it may have become the primary, or gone."""
    customer = customer_lock(org=org, customer=contact.customer)
    locked = Contact.unscoped.select_for_update().filter(pk=contact.pk, customer=customer).first()
    if locked is None:
        raise Http404(_("No such contact."))
    locked.customer = customer
    return locked


@transaction.atomic
def contact_add(*, org: OrgContext, customer: Tenant, **fields: Any) -> Contact:
    return contact_insert(customer=customer_lock(org=org, customer=customer), **fields)


@transaction.atomic
def contact_update(*, org: OrgContext, contact: Contact, data: dict) -> Contact:
    contact = _contact_locked(org, contact)
    make_primary = data.pop("is_primary", None)
    for field, value in data.items():
        setattr(contact, field, value)
    contact.full_clean(exclude=["customer", "is_primary"])
    contact.save(update_fields=[*data.keys()] or None)
    if make_primary:
        contact = contact_primary_switch(contact=contact)
    elif make_primary is False and contact.is_primary:
        raise ValidationError({"is_primary": _("Make another contact primary instead.")})
    return contact


@transaction.atomic
def contact_set_primary(*, org: OrgContext, contact: Contact) -> Contact:
    return contact_primary_switch(contact=_contact_locked(org, contact))


@transaction.atomic
def contact_remove(*, org: OrgContext, contact: Contact) -> None:
    """Remove a contact; the primary goes only after another one is made primary."""
    contact = _contact_locked(org, contact)
    if contact.is_primary:
        raise ValidationError(_("Make another contact primary before removing this one."))
    contact.delete()


# --- contracts -------------------------------------------------------------------------


def contract_clean(data: dict) -> dict:
    """Each contract type asks only for its own terms (CONTRACT_AMOUNTS, above
    zero) and may have a few more (CONTRACT_OPTIONAL); every error at once."""
    errors = {}
    kind = data.get("type")
    if kind not in CONTRACT_AMOUNTS:
        raise ValidationError({"type": _("Choose a contract type.")})
    needed, optional = CONTRACT_AMOUNTS[kind], CONTRACT_OPTIONAL.get(kind, ())
    for field in CONTRACT_TERM_FIELDS:
        value = data.get(field)
        positive = field in needed or (field in optional and field == "hourly_rate")
        if (field in needed and value is None) or (positive and value is not None and value <= 0):
            errors[field] = _("This contract type needs an amount above zero.")
        elif field in optional and field == "warning_threshold" and value is not None and value < 0:
            errors[field] = _("The threshold cannot be below zero.")
        elif field not in needed and field not in optional and value is not None:
            errors[field] = _("This contract type has no such amount.")
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    if isinstance(starts_on, datetime.date) and ends_on and ends_on <= starts_on:
        errors["ends_on"] = _("The end comes after the start.")
    bills_on = data.get("bills_on")
    if (
        bills_on
        and isinstance(starts_on, datetime.date)
        and (bills_on < starts_on or (ends_on and bills_on > ends_on))
    ):
        errors["bills_on"] = _("The billing date falls within the contract's dates.")
    if errors:
        raise ValidationError(errors)
    return data


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _next_month_start(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _closed_period_errors(contract: Contract, data: dict, today: datetime.date) -> dict:
    """A contract that has started keeps what past periods billed on: its type,
    start and first block; its end and billing date stay out of closed months
    (before the current one)."""
    errors: dict[str, str] = {}
    if contract.starts_on > today:
        return errors
    fixed = ["type", "starts_on"] + (["hours", "amount"] if contract.is_block else [])
    for field in fixed:
        if field in data and data[field] != getattr(contract, field):
            errors[field] = _(
                "The contract has started: this stays as it is (end the contract and make "
                "a new one, or top up a block)."
            )
    open_from = _month_start(today)
    ends_on = data.get("ends_on", contract.ends_on)
    if ends_on != contract.ends_on and ends_on is not None and ends_on < open_from:
        errors["ends_on"] = _("Months already billed are closed: end it this month or later.")
    if "bills_on" in data and data["bills_on"] != contract.bills_on:
        billed_on = contract.bills_on or contract.starts_on
        if billed_on < open_from or (data["bills_on"] or contract.starts_on) < open_from:
            errors["bills_on"] = _("A billing date in a month already billed stays as it is.")
    return errors


def _terms_write(
    org: OrgContext,
    contract: Contract,
    before: dict,
    starts_before: datetime.date | None,
    today: datetime.date,
) -> None:
    """Record the billing terms as a version: a contract that has not started
    has one, from its start (rewritten); one that has gets the change from the
    first of next month (two changes in a month: the last one wins)."""
    is_new = starts_before is None
    values = {name: getattr(contract, name) for name in VERSIONED_TERMS}
    if not is_new and values == before and contract.starts_on == starts_before:
        return
    if is_new or contract.starts_on > today:
        if not is_new:
            ContractTerms.unscoped.filter(contract=contract).delete()
        ContractTerms.unscoped.create(
            contract=contract, effective_from=contract.starts_on, **values
        )
        return
    effective_from = _next_month_start(today)
    ContractTerms.unscoped.update_or_create(
        contract=contract, effective_from=effective_from, defaults=values
    )
    audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.CONTRACT_TERMS_CHANGED,
        actor=org.user,
        actor_tenant=org.tenant,
        target=f"{contract.customer.name}: {contract.name}",
        details={
            "contract": str(contract.pk),
            "effective_from": effective_from.isoformat(),
            "before": {k: None if v is None else str(v) for k, v in before.items()},
            "after": {k: None if v is None else str(v) for k, v in values.items()},
        },
    )


def _contract_save(org: OrgContext, contract: Contract, data: dict) -> Contract:
    today = timezone.localdate()
    is_new = contract._state.adding
    if not is_new:
        errors = _closed_period_errors(contract, data, today)
        if errors:
            raise ValidationError(errors)
    before = {name: getattr(contract, name) for name in VERSIONED_TERMS}
    starts_before = contract.starts_on
    contract_clean(
        {
            **{
                f: getattr(contract, f)
                for f in ("type", "starts_on", "ends_on", *CONTRACT_TERM_FIELDS)
            },
            **data,
        }
    )
    for field, value in data.items():
        setattr(contract, field, value)
    if contract.type == Contract.Type.PROJECT_ONE_TIME and contract.bills_on is None:
        contract.bills_on = contract.starts_on
    contract.full_clean(exclude=["partner", "customer"])
    contract.save()
    _terms_write(org, contract, before, starts_before, today)
    if contract.is_block:
        _block_threshold_check(org, contract)
    return contract


@transaction.atomic
def contract_create(*, org: OrgContext, customer: Tenant, data: dict) -> Contract:
    customer = customer_lock(org=org, customer=customer)
    return _contract_save(org, Contract(partner=org.tenant, customer=customer), data)


def _contract_locked(org: OrgContext, contract: Contract, refused: str) -> Contract:
    """The contract read again under its row lock, if the grant on its customer
    still holds (else 404) and this partner made it (else 403, `refused`)."""
    locked = Contract.unscoped.select_for_update().filter(pk=contract.pk).first()
    if locked is None:
        raise Http404(_("No such contract."))
    customer = contract.customer
    if not grant_holds(org=org, customer=customer):
        raise Http404(str(NOT_FOUND))
    if locked.partner_id != org.tenant.pk:
        raise PermissionDenied(refused)
    locked.customer = customer
    return locked


@transaction.atomic
def contract_update(*, org: OrgContext, contract: Contract, data: dict) -> Contract:
    """Change a contract. Billing terms apply from the next period once it has
    started; before its start everything may change (a new `type` starts from
    its own amounts)."""
    contract = _contract_locked(
        org, contract, _("Only the partner that made a contract changes it.")
    )
    if "type" in data and data["type"] != contract.type:
        for field in CONTRACT_TERM_FIELDS:  # a new type starts from its own amounts
            data.setdefault(field, None)
    return _contract_save(org, contract, data)


@transaction.atomic
def contract_delete(*, org: OrgContext, contract: Contract) -> None:
    contract = _contract_locked(
        org, contract, _("Only the partner that made a contract removes it.")
    )
    contract.delete()


# --- time entries and prepaid blocks ----------------------------------------------------


def _block_threshold_check(org: OrgContext, contract: Contract) -> None:
    """Warn the partner's owners and admins (email and audit event) when a
    block's balance falls below its threshold, once per crossing: the warning
    is armed again when the balance is back at or above it (a top-up)."""
    if not contract.is_block:
        return
    balance = block_replay(contract, datetime.date.max).balance
    below = contract.warning_threshold is not None and balance < contract.warning_threshold
    if below == contract.below_threshold:
        return
    flipped = Contract.unscoped.filter(pk=contract.pk, below_threshold=not below).update(
        below_threshold=below
    )
    contract.below_threshold = below
    if not (flipped and below):
        return
    event = audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.CONTRACT_BLOCK_LOW,
        actor=org.user,
        actor_tenant=org.tenant,
        target=f"{contract.customer.name}: {contract.name}",
        details={
            "contract": str(contract.pk),
            "balance": str(balance),
            "threshold": str(contract.warning_threshold),
        },
    )
    block_low_notify(partner=org.tenant, contract=contract, balance=balance, key=str(event.pk))


def time_entry_errors(
    contract: Contract, date: datetime.date | None, hours: Decimal | None
) -> dict[str, str]:
    """What is wrong with time on `contract` (the parts given): the contract's
    type, the day within its dates, the hours in a day. Forms ask it too, so a
    page shows every error at once."""
    errors: dict[str, str] = {}
    if not contract.bills_time:
        errors["contract"] = _("Only hourly, project hourly and block contracts record time.")
    elif contract.type == Contract.Type.BLOCK_OF_MONEY and contract.hourly_rate is None:
        errors["contract"] = _("Give the contract an hourly rate first: time is drawn at it.")
    if date is not None and (
        date < contract.starts_on or (contract.ends_on is not None and date > contract.ends_on)
    ):
        errors["date"] = _("The day falls outside the contract's dates.")
    if hours is not None and not Decimal("0") < hours <= Decimal("24"):
        errors["hours"] = _("Between 0.01 and 24 hours.")
    return errors


@transaction.atomic
def time_entry_add(
    *,
    org: OrgContext,
    contract: Contract,
    date: datetime.date,
    hours: Decimal,
    description: str = "",
    technician: User | None = None,
) -> TimeEntry:
    """Record time on a contract that bills it. On a block it draws from the
    balance; what the balance lacks is overage, billed at the hourly rate
    (customers/contract_billing.py), never a negative balance."""
    contract = _contract_locked(
        org, contract, _("Only the partner that made a contract records time on it.")
    )
    errors = time_entry_errors(contract, date, hours)
    if (
        technician is not None
        and not Membership.unscoped.filter(tenant=org.tenant, user=technician).exists()
    ):
        errors["technician"] = _("Choose a member of your organization.")
    if errors:
        raise ValidationError(errors)
    entry = TimeEntry.unscoped.create(
        contract=contract,
        date=date,
        hours=hours,
        description=description,
        technician=technician,
        created_by=org.user,
    )
    _block_threshold_check(org, contract)
    return entry


@transaction.atomic
def time_entry_delete(*, org: OrgContext, entry: TimeEntry) -> None:
    """Remove a time entry (a block gets its time back). An entry of a month
    already billed stays: its invoice shows it."""
    contract = _contract_locked(
        org, entry.contract, _("Only the partner that made a contract removes its time.")
    )
    if entry.date < _month_start(timezone.localdate()):
        raise ValidationError(_("Time of a month already billed stays as it is."))
    TimeEntry.unscoped.filter(pk=entry.pk, contract=contract).delete()
    _block_threshold_check(org, contract)


@transaction.atomic
def contract_top_up(
    *,
    org: OrgContext,
    contract: Contract,
    date: datetime.date,
    amount: Decimal,
    hours: Decimal | None = None,
) -> ContractTopUp:
    """Add prepaid time (block of hours: `hours` for `amount`) or money (block of
    money: `amount`) to a block; billed in the period of `date`."""
    contract = _contract_locked(
        org, contract, _("Only the partner that made a contract tops it up.")
    )
    errors: dict[str, str] = {}
    if not contract.is_block:
        errors["contract"] = _("Only a block of hours or of money is topped up.")
    if amount is None or amount <= 0:
        errors["amount"] = _("This contract type needs an amount above zero.")
    if contract.type == Contract.Type.BLOCK_OF_HOURS and (hours is None or hours <= 0):
        errors["hours"] = _("Give the hours this top-up adds.")
    elif contract.type == Contract.Type.BLOCK_OF_MONEY and hours is not None:
        errors["hours"] = _("A block of money is topped up with an amount only.")
    if date < max(contract.starts_on, _month_start(timezone.localdate())) or (
        contract.ends_on and date > contract.ends_on
    ):
        errors["date"] = _("Top up within the contract's dates, this month or later.")
    if errors:
        raise ValidationError(errors)
    top_up = ContractTopUp.unscoped.create(
        contract=contract, date=date, hours=hours, amount=amount, created_by=org.user
    )
    audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.CONTRACT_TOPPED_UP,
        actor=org.user,
        actor_tenant=org.tenant,
        target=f"{contract.customer.name}: {contract.name}",
        details={
            "contract": str(contract.pk),
            "date": date.isoformat(),
            "amount": str(amount),
            "hours": None if hours is None else str(hours),
        },
    )
    _block_threshold_check(org, contract)
    return top_up


# --- the partner's lists: SLA policies and alert profiles -----------------------------


# The messages of `_named_save`, by the label of the list.
NAMED_SAVE_MESSAGES = {
    "SLA policy": (
        gettext_lazy("You already have a SLA policy with this name."),
        gettext_lazy("Check the values of this SLA policy."),
    ),
    "alert profile": (
        gettext_lazy("You already have a alert profile with this name."),
        gettext_lazy("Check the values of this alert profile."),
    ),
}


_Named = TypeVar("_Named", SlaPolicy, AlertProfile)


def _named_save(instance: _Named, data: dict, label: str) -> _Named:
    for field, value in data.items():
        setattr(instance, field, value)
    instance.full_clean(exclude=["partner"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        taken, invalid = NAMED_SAVE_MESSAGES[label]
        if "name" in str(exc).lower() or "unique" in str(exc).lower():
            raise ValidationError({"name": str(taken)}) from exc
        raise ValidationError(str(invalid)) from exc
    return instance


def sla_policy_save(*, org: OrgContext, data: dict, policy: SlaPolicy | None = None) -> SlaPolicy:
    _require_partner_admin(org)
    policy = policy or SlaPolicy(partner=org.tenant)
    if policy.partner_id != org.tenant.pk:
        raise PermissionDenied(_("Not your SLA policy."))
    response = data.get("first_response_minutes", policy.first_response_minutes)
    resolution = data.get("resolution_minutes", policy.resolution_minutes)
    if response is not None and resolution is not None and resolution < response:
        raise ValidationError(
            {"resolution_minutes": _("Resolution cannot come before the first response.")}
        )
    return _named_save(policy, data, "SLA policy")


def alert_profile_save(
    *, org: OrgContext, data: dict, profile: AlertProfile | None = None
) -> AlertProfile:
    _require_partner_admin(org)
    profile = profile or AlertProfile(partner=org.tenant)
    if profile.partner_id != org.tenant.pk:
        raise PermissionDenied(_("Not your alert profile."))
    for field in ("cpu_percent", "memory_percent", "disk_percent"):
        if field in data and not 1 <= data[field] <= 100:
            raise ValidationError({field: _("Between 1 and 100.")})
    return _named_save(profile, data, "alert profile")


def partner_list_entry_delete(*, org: OrgContext, entry: SlaPolicy | AlertProfile) -> None:
    """Remove an SLA policy or alert profile; service profiles using it keep none."""
    _require_partner_admin(org)
    if entry.partner_id != org.tenant.pk:
        raise PermissionDenied(_("Not yours."))
    entry.delete()


# --- service profiles ------------------------------------------------------------------


def _service_profile_save(
    org: OrgContext,
    customer: Tenant,
    *,
    sla: SlaPolicy | None = None,
    alert_profile: AlertProfile | None = None,
) -> ServiceProfile:
    errors = {}
    if sla is not None and sla.partner_id != org.tenant.pk:
        errors["sla"] = _("Choose one of your SLA policies.")
    if alert_profile is not None and alert_profile.partner_id != org.tenant.pk:
        errors["alert_profile"] = _("Choose one of your alert profiles.")
    if errors:
        raise ValidationError(errors)
    profile, _created = ServiceProfile.unscoped.update_or_create(
        partner=org.tenant, customer=customer, defaults={"sla": sla, "alert_profile": alert_profile}
    )
    return profile


@transaction.atomic
def service_profile_set(
    *,
    org: OrgContext,
    customer: Tenant,
    sla: SlaPolicy | None = None,
    alert_profile: AlertProfile | None = None,
) -> ServiceProfile:
    customer = customer_lock(org=org, customer=customer)
    return _service_profile_save(org, customer, sla=sla, alert_profile=alert_profile)


@dataclass(frozen=True)
class PartnerList:
    """A list a partner keeps for itself, read and written the same way by the
    pages and the API: its entries, one entry (404 if not the partner's), save."""

    label: "StrOrPromise"
    entries: Callable[..., QuerySet]
    entry: Callable[..., SlaPolicy | AlertProfile]
    save: Callable[..., SlaPolicy | AlertProfile]


SLA_POLICIES = PartnerList(
    label=gettext_lazy("SLA policy"),
    entries=sla_policies,
    entry=lambda *, org, entry_id: sla_policy_get(org=org, policy_id=entry_id),
    save=lambda *, org, data, entry=None: sla_policy_save(org=org, data=data, policy=entry),
)
ALERT_PROFILES = PartnerList(
    label=gettext_lazy("alert profile"),
    entries=alert_profiles,
    entry=lambda *, org, entry_id: alert_profile_get(org=org, profile_id=entry_id),
    save=lambda *, org, data, entry=None: alert_profile_save(org=org, data=data, profile=entry),
)
