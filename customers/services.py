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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import (
    CONTRACT_AMOUNT_FIELDS,
    CONTRACT_AMOUNTS,
    AlertProfile,
    Contract,
    ServiceProfile,
    SlaPolicy,
)
from customers.selectors import alert_profile_get, alert_profiles, sla_policies, sla_policy_get
from partners.models import Partnership
from partners.selectors import NOT_FOUND
from partners.services import customer_add, customer_lock, grant_holds
from tenants.models import Contact, Role, Tenant
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
        _contract_save(Contract(partner=org.tenant, customer=customer), contract)
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
    """Each contract type asks only for its own amounts (CONTRACT_AMOUNTS)."""
    errors = {}
    kind = data.get("type")
    if kind not in CONTRACT_AMOUNTS:
        # The amounts depend on the type; the dates are still checked (all at once).
        errors["type"] = _("Choose a contract type.")
    needed = CONTRACT_AMOUNTS.get(kind or "", ())
    for field in CONTRACT_AMOUNT_FIELDS if needed else ():
        value = data.get(field)
        if field in needed and (value is None or value <= Decimal("0")):
            errors[field] = _("This contract type needs an amount above zero.")
        elif field not in needed and value is not None:
            errors[field] = _("This contract type has no such amount.")
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    if isinstance(starts_on, datetime.date) and ends_on and ends_on <= starts_on:
        errors["ends_on"] = _("The end comes after the start.")
    if errors:
        raise ValidationError(errors)
    return data


def _contract_save(contract: Contract, data: dict) -> Contract:
    contract_clean(
        {
            **{
                f: getattr(contract, f)
                for f in ("type", "starts_on", "ends_on", *CONTRACT_AMOUNT_FIELDS)
            },
            **data,
        }
    )
    for field, value in data.items():
        setattr(contract, field, value)
    contract.full_clean(exclude=["partner", "customer"])
    contract.save()
    return contract


@transaction.atomic
def contract_create(*, org: OrgContext, customer: Tenant, data: dict) -> Contract:
    customer = customer_lock(org=org, customer=customer)
    return _contract_save(Contract(partner=org.tenant, customer=customer), data)


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
    contract = _contract_locked(
        org, contract, _("Only the partner that made a contract changes it.")
    )
    if "type" in data and data["type"] != contract.type:
        for field in CONTRACT_AMOUNT_FIELDS:  # a new type starts from its own amounts
            data.setdefault(field, None)
    return _contract_save(contract, data)


@transaction.atomic
def contract_delete(*, org: OrgContext, contract: Contract) -> None:
    contract = _contract_locked(
        org, contract, _("Only the partner that made a contract removes it.")
    )
    contract.delete()


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
