"""Every write of partnerships (SPEC §3). Each is a guarded transition: the row is
locked, its status checked, the change and its history written in one
transaction, and the emails queued to leave after commit."""

import datetime
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from core.db import CompiledQuery, bulk_write, model_columns
from core.events import event_emit, events_emit
from core.exceptions import Conflict
from partners import notifications
from partners.audit import partnership_event_audit, partnership_events_audit
from partners.book_changes import book_changed
from partners.models import Access, CustomerAssignment, Partnership, PartnershipEvent, Payment, Side
from partners.selectors import (
    NOT_FOUND,
    assigned_only,
    grants_active_now,
    partner_directory,
    partnership_check,
    status_conflict,
)
from tenants.models import Membership, Role, Tenant, User
from tenants.reauthentication import password_confirm
from tenants.selectors import OrgContext
from tenants.services import (
    ORGANIZATION_FIELDS,
    require_role,
    tenant_build,
    tenant_create,
    tenant_move,
    tenant_profile_write,
    unique_slugs,
    user_get_or_create_invited,
)

Status = Partnership.Status
Kind = PartnershipEvent.Kind


# --- grants -------------------------------------------------------------------


def grant_of(partnership: Partnership) -> dict:
    """A partnership's grant as plain data (for history, emails and comparisons)."""
    return grant_data(
        access=partnership.access,
        payment=partnership.payment,
        products=partnership.products.all(),
        ends_on=partnership.ends_on,
    )


def grant_data(
    *, access: str, payment: str, products: Iterable[Product], ends_on: datetime.date | None
) -> dict:
    """A grant as plain data (`grant_of`'s): also of one `clean_grant` returns,
    before a partnership holds it (`grant_data(**grant)`)."""
    return {
        "access": access,
        "payment": payment,
        "products": sorted(p.code for p in products),
        "ends_on": ends_on.isoformat() if ends_on else None,
    }


def clean_grant(
    *,
    access: str,
    payment: str | None,
    products: Iterable[Product] | None,
    ends_on: datetime.date | None = None,
) -> dict:
    """Validate a grant: full needs a payment mode, limited needs products."""
    errors = {}
    products = list(products or [])
    if access not in Access.values:
        errors["access"] = _("Choose limited or full access.")
    elif access == Access.FULL:
        if payment not in Payment.values:
            errors["payment"] = _("Full access needs a payment mode: customer or partner.")
        products = []
    else:
        if payment:
            errors["payment"] = _("Only full access has a payment mode.")
        if not products:
            errors["products"] = _("Limited access lists at least one product.")
    if ends_on is not None and ends_on <= timezone.localdate():
        errors["ends_on"] = _("The end date must be in the future.")
    if errors:
        raise ValidationError(errors)
    return {"access": access, "payment": payment or "", "products": products, "ends_on": ends_on}


def _merged_grant(
    partnership: Partnership,
    *,
    access: str | None,
    payment: str | None,
    products: Iterable[Product] | None,
    ends_on: datetime.date | None,
) -> dict:
    """The grant after a change: what is not given stays; switching access drops
    the old payment mode (full needs one named, limited has none)."""
    new_access = access if access is not None else partnership.access
    if payment is None and new_access == partnership.access:
        payment = partnership.payment
    return clean_grant(
        access=new_access,
        payment=payment,
        products=products if products is not None else partnership.products.all(),
        ends_on=ends_on if ends_on is not None else partnership.ends_on,
    )


def _apply_grant(partnership: Partnership, grant: dict) -> None:
    partnership.access = grant["access"]
    partnership.payment = grant["payment"]
    partnership.ends_on = grant["ends_on"]
    partnership.save(
        update_fields=[
            "access",
            "payment",
            "ends_on",
            "status",
            "activated_at",
            "invitation_nonce",
            "closed_at",
            "closed_by",
            "close_reason",
            "updated_at",
        ]
    )
    partnership.products.set(grant["products"])


# The webhook event (core.events, API.md rev. 2) a history event is: a
# declined or cancelled invitation ends the partnership as surely as ending it.
# A resent invitation changes nothing an integrator reads.
_WEBHOOK_EVENTS: dict[str, str] = {
    Kind.OWNER_INVITED: "partnership.invited",
    Kind.ACCEPTED: "partnership.accepted",
    Kind.ACCEPTED_WITH_CHANGES: "partnership.accepted",
    Kind.DECLINED: "partnership.ended",
    Kind.CANCELLED: "partnership.ended",
    Kind.ENDED: "partnership.ended",
    Kind.CHANGED: "partnership.changed",
    Kind.PAYMENT_CHANGED: "partnership.changed",
    Kind.EXTENSION_REQUESTED: "partnership.changed",
    Kind.EXTENDED: "partnership.changed",
    Kind.EXPIRED: "partnership.expired",
}


def _webhook_event(partnership: Partnership, kind: str) -> str | None:
    if kind == Kind.CREATED:  # asked for; an unclaimed customer's is active at once
        return (
            "partnership.accepted" if partnership.status == Status.ACTIVE else "partnership.invited"
        )
    return _WEBHOOK_EVENTS.get(kind)


def _payload(partnership: Partnership, kind: str) -> dict[str, object]:
    """The payload of a partnership's event (core.events)."""
    return {
        "id": partnership.pk,
        "kind": kind,
        "customer": partnership.customer_id,
        "partner": partnership.partner_id,
    }


def _record(
    partnership: Partnership,
    kind: str,
    actor: User | None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> PartnershipEvent:
    event = PartnershipEvent.unscoped.create(
        partnership=partnership,
        kind=kind,
        actor=actor,
        before=before or {},
        after=after or {},
        note=note,
    )
    partnership_event_audit(partnership=partnership, event=event)
    name = _webhook_event(partnership, kind)
    if name is not None:
        event_emit(name, _payload(partnership, kind))
    return event


def _lock(partnership: Partnership) -> Partnership:
    return (
        Partnership.unscoped.select_for_update()
        .select_related("partner", "customer")
        .get(pk=partnership.pk)
    )


def _require_side(
    org: OrgContext, partnership: Partnership, side: str, minimum: str = Role.OWNER
) -> None:
    if partnership.side_of(org.tenant) != side:
        if side == Side.PARTNER:
            raise PermissionDenied(_("Only the partner side may do this."))
        raise PermissionDenied(_("Only the customer side may do this."))
    require_role(org, minimum)


def _require_status(partnership: Partnership, *statuses: str) -> None:
    if partnership.status not in statuses:
        raise Conflict(status_conflict(partnership))


def _check_one_full(partnership: Partnership) -> None:
    _expire_due(Q(customer=partnership.customer, access=Access.FULL))
    clash = (
        Partnership.unscoped.filter(
            customer=partnership.customer, access=Access.FULL, status=Status.ACTIVE
        )
        .exclude(pk=partnership.pk)
        .select_related("partner")
        .first()
    )
    if clash is not None:
        raise Conflict(
            _("%(customer)s already gives full access to %(partner)s.")
            % {"customer": partnership.customer.name, "partner": clash.partner.name}
        )


def _save_active(partnership: Partnership, grant: dict) -> None:
    """Write an active grant; the database refuses a second full partnership."""
    if grant["access"] == Access.FULL:
        _check_one_full(partnership)
    try:
        with transaction.atomic():
            _apply_grant(partnership, grant)
    except IntegrityError as exc:
        raise Conflict(_("The customer already gives full access to another partner.")) from exc


def home_partner_sync(*, customer: Tenant) -> Tenant:
    """SPEC §2: a customer hangs under the partner holding its active full
    partnership, else under the partner that created it (or nobody)."""
    full = Partnership.unscoped.filter(
        customer=customer, access=Access.FULL, status=Status.ACTIVE
    ).first()
    home_id = full.partner_id if full else customer.origin_id
    if customer.parent_id != home_id:
        home = Tenant.objects.get(pk=home_id) if home_id else None
        customer = tenant_move(tenant=customer, new_parent=home)
    return customer


def _new_invitation(partnership: Partnership) -> datetime.datetime:
    """Start the invitation's clock again (returns the new expiry). A partner's
    invitation to a customer also gets a new link (nonce); partner owners answer a
    customer's in their console."""
    if partnership.initiated_by == Side.PARTNER:
        partnership.invitation_nonce = secrets.token_hex(16)
    expires_at = timezone.now() + datetime.timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    partnership.invitation_expires_at = expires_at
    return expires_at


def _create(partnership: Partnership, grant: dict, actor: User) -> PartnershipEvent:
    """Insert a new partnership with its grant; the request is kept as asked."""
    _expire_due(Q(partner=partnership.partner, customer=partnership.customer))
    try:
        with transaction.atomic():
            partnership.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError(
            {"partner": _("These two already have a pending or active partnership.")}
        ) from exc
    partnership.products.set(grant["products"])
    partnership.requested = grant_of(partnership)
    partnership.save(update_fields=["requested"])
    return _record(partnership, Kind.CREATED, actor, after=partnership.requested)


# --- creating ---------------------------------------------------------------


@transaction.atomic
def customer_add(
    *,
    org: OrgContext,
    name: str,
    currency: str | None = None,
    owner_email: str | None = None,
    access: str | None = None,
    payment: str | None = None,
    products: Iterable[Product] | None = None,
    ends_on: datetime.date | None = None,
    message: str = "",
    **profile: Any,
) -> Partnership:
    """A partner adds a customer in management (SPEC §3).

    With `owner_email`: the customer, its owner's account and membership, a
    pending partnership asking for the given access, and an invitation email.
    Without: an unclaimed customer, managed at once with full access and
    partner payment, until the partner invites an owner.
    """
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Only partners add customers."))
    # Owners and admins create customers (SPEC §2); asking a customer's owner for
    # access is for the partner's legal managers, its owners (SPEC §3).
    require_role(org, Role.OWNER if owner_email else Role.ADMIN)
    if owner_email:
        grant = clean_grant(
            access=access or "", payment=payment, products=products, ends_on=ends_on
        )
    else:
        if access not in (None, "", Access.FULL) or payment not in (None, "", Payment.PARTNER):
            raise ValidationError(
                {
                    "owner_email": _(
                        "A customer without an owner is managed with full access, paid by the "
                        "partner; give the owner's email to ask for other access."
                    )
                }
            )
        grant = clean_grant(
            access=Access.FULL, payment=Payment.PARTNER, products=None, ends_on=ends_on
        )
    customer = tenant_create(
        kind=Tenant.Kind.CUSTOMER,
        name=name,
        parent=org.tenant,
        origin=org.tenant,
        currency=currency or org.tenant.currency,
        **profile,
    )
    partnership = _partnership_asked(org, customer, grant, message=message)
    if owner_email:
        owner, _created = user_get_or_create_invited(email=owner_email)
        Membership.unscoped.create(
            user=owner, tenant=customer, role=Role.OWNER, buyer=True, invited_by=org.user
        )
        partnership.invitation_email = owner.email
        _new_invitation(partnership)
    else:
        _as_unclaimed(partnership, timezone.now())
    event_emit("customer.created", {"id": customer.pk, "partner": org.tenant.pk})
    event = _create(partnership, grant, org.user)
    if owner_email:
        notifications.invitation_to_customer(partnership=partnership, event=event)
    return partnership


def _partnership_asked(
    org: OrgContext, customer: Tenant, grant: dict, message: str = ""
) -> Partnership:
    """The partnership a partner asks for when it adds a customer (unsaved)."""
    return Partnership(
        partner=org.tenant,
        customer=customer,
        access=grant["access"],
        payment=grant["payment"],
        ends_on=grant["ends_on"],
        initiated_by=Side.PARTNER,
        invited_by=org.user,
        message=message,
    )


def _as_unclaimed(partnership: Partnership, now: datetime.datetime) -> None:
    """A customer without an owner is managed at once (SPEC §3)."""
    partnership.status = Status.ACTIVE
    partnership.activated_at = now


@transaction.atomic
def customers_add_unclaimed(*, org: OrgContext, customers: list[dict]) -> list[Partnership]:
    """Many unclaimed customers at once (the import), each exactly as customer_add
    makes one without an owner email: the tenant under the partner, which is also
    its origin, with the one slug rule (unique_slugs); an active full partnership
    paid by the partner, requested as granted; its "created" event, in both
    organizations' audit logs. `customers` are dicts of name, currency and the
    profile fields. A few queries per batch instead of ~8 per customer."""
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Only partners add customers."))
    require_role(org, Role.ADMIN)
    grant = clean_grant(access=Access.FULL, payment=Payment.PARTNER, products=None)
    tenants = []
    for data in customers:
        profile = {k: v for k, v in data.items() if k not in ("name", "currency")}
        tenants.append(
            tenant_build(
                kind=Tenant.Kind.CUSTOMER,
                name=data["name"],
                parent=org.tenant,
                origin=org.tenant,
                currency=data.get("currency") or org.tenant.currency,
                **profile,
            )
        )
    unique_slugs(tenants)
    for tenant in tenants:
        tenant.clean_fields(exclude=["parent", "origin", "path"])
        tenant.clean()  # a VAT number checked by the country (tenants.vat_numbers)
    bulk_write(tenants)
    now = timezone.now()
    requested = grant_data(**grant)  # the same for all: full, the partner pays
    partnerships = [_partnership_asked(org, tenant, grant) for tenant in tenants]
    for partnership in partnerships:
        _as_unclaimed(partnership, now)
        partnership.requested = requested
    bulk_write(partnerships)
    if partnerships:
        events = [
            PartnershipEvent(
                partnership=partnership, kind=Kind.CREATED, actor=org.user, after=requested
            )
            for partnership in partnerships
        ]
        bulk_write(events)
        partnership_events_audit(zip(partnerships, events, strict=True))
        events_emit("customer.created", [{"id": t.pk, "partner": org.tenant.pk} for t in tenants])
        events_emit("partnership.accepted", [_payload(p, Kind.CREATED) for p in partnerships])
    book_changed(tenant_ids=[org.tenant.pk])  # bulk inserts send no signal
    return partnerships


@transaction.atomic
def partnership_invite_partner(
    *,
    org: OrgContext,
    partner: Tenant,
    access: str,
    payment: str | None = None,
    products: Iterable[Product] | None = None,
    ends_on: datetime.date | None = None,
    message: str = "",
) -> Partnership:
    """A customer owner invites a partner from the directory (SPEC §3)."""
    if not org.tenant.is_customer:
        raise PermissionDenied(_("Only customers invite partners."))
    require_role(org, Role.OWNER)
    if not partner_directory().filter(pk=partner.pk).exists():
        raise ValidationError({"partner": _("Choose a partner from the directory.")})
    grant = clean_grant(access=access, payment=payment, products=products, ends_on=ends_on)
    _expire_due(Q(partner=partner, customer=org.tenant))
    if Partnership.unscoped.filter(
        partner=partner, customer=org.tenant, status__in=Partnership.LIVE_STATUSES
    ).exists():
        raise ValidationError(
            {
                "partner": _("%(partner)s already has a pending or active partnership with you.")
                % {"partner": partner.name}
            }
        )
    partnership = Partnership(
        partner=partner,
        customer=org.tenant,
        access=grant["access"],
        payment=grant["payment"],
        ends_on=grant["ends_on"],
        initiated_by=Side.CUSTOMER,
        invited_by=org.user,
        message=message,
    )
    _new_invitation(partnership)
    event = _create(partnership, grant, org.user)
    notifications.invitation_to_partner(partnership=partnership, event=event)
    return partnership


@transaction.atomic
def customer_owner_invite(*, org: OrgContext, customer: Tenant, owner_email: str) -> Partnership:
    """The partner invites an owner for a customer it created unclaimed. The new
    owner reviews the grant as an invitation: keeps it, changes it or declines.
    `customer` is the caller's, loaded through the permission function; the
    grant is read again under its lock (gone meanwhile: 404)."""
    grant = Partnership.unscoped.filter(partner=org.tenant, customer=customer, status=Status.ACTIVE)
    partnership = (
        assigned_only(org, grant, "customer")
        .select_for_update()
        .select_related("partner", "customer")
        .first()
    )
    if partnership is None:
        raise Http404(str(NOT_FOUND))
    customer = partnership.customer
    partnership_check(org=org, partnership=partnership, action="invite_owner")
    owner, _created = user_get_or_create_invited(email=owner_email)
    Membership.unscoped.get_or_create(
        user=owner,
        tenant=customer,
        defaults={"role": Role.OWNER, "buyer": True, "invited_by": org.user},
    )
    partnership.invitation_email = owner.email
    _new_invitation(partnership)
    partnership.requested = grant_of(partnership)
    partnership.save(
        update_fields=[
            "invitation_email",
            "invitation_nonce",
            "invitation_expires_at",
            "requested",
            "updated_at",
        ]
    )
    event = _record(partnership, Kind.OWNER_INVITED, org.user, after={"email": owner.email})
    notifications.invitation_to_customer(partnership=partnership, event=event)
    return partnership


# --- answering ----------------------------------------------------------------


@transaction.atomic
def partnership_accept(
    *,
    org: OrgContext,
    partnership: Partnership,
    access: str | None = None,
    payment: str | None = None,
    products: Iterable[Product] | None = None,
    ends_on: datetime.date | None = None,
) -> Partnership:
    """The invited side's owner accepts. A customer may grant other access than
    asked (other products, limited instead of full, the other payment mode)."""
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="accept")
    asked = grant_of(partnership)
    changes = (
        access is not None or payment is not None or products is not None or ends_on is not None
    )
    if changes and partnership.invited_side != Side.CUSTOMER:
        raise ValidationError(_("A partner accepts the access the customer offers, as it is."))
    grant = _merged_grant(
        partnership, access=access, payment=payment, products=products, ends_on=ends_on
    )
    partnership.status = Status.ACTIVE
    partnership.activated_at = partnership.activated_at or timezone.now()
    partnership.invitation_nonce = ""
    _save_active(partnership, grant)
    granted = grant_of(partnership)
    kind = Kind.ACCEPTED if granted == asked else Kind.ACCEPTED_WITH_CHANGES
    event = _record(partnership, kind, org.user, before=asked, after=granted)
    home_partner_sync(customer=partnership.customer)
    notifications.answered(partnership=partnership, event=event)
    return partnership


@transaction.atomic
def partnership_decline(
    *, org: OrgContext, partnership: Partnership, reason: str = ""
) -> Partnership:
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="decline")
    _close(partnership, Status.DECLINED, org.user, reason)
    event = _record(
        partnership, Kind.DECLINED, org.user, before=grant_of(partnership), note=reason[:2000]
    )
    home_partner_sync(customer=partnership.customer)
    notifications.answered(partnership=partnership, event=event)
    return partnership


def _close(partnership: Partnership, status: str, actor: User | None, reason: str = "") -> None:
    partnership.status = status
    partnership.invitation_nonce = ""
    partnership.closed_at = timezone.now()
    partnership.closed_by = actor
    partnership.close_reason = reason[:2000]
    partnership.extension_requested_until = None
    partnership.save(
        update_fields=[
            "status",
            "invitation_nonce",
            "closed_at",
            "closed_by",
            "close_reason",
            "extension_requested_until",
            "updated_at",
        ]
    )


@transaction.atomic
def partnership_cancel(*, org: OrgContext, partnership: Partnership) -> Partnership:
    """The inviting side withdraws a pending invitation; its link stops working."""
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="cancel")
    _close(partnership, Status.CANCELLED, org.user)
    _record(partnership, Kind.CANCELLED, org.user, before=grant_of(partnership))
    return partnership


@transaction.atomic
def partnership_resend(*, org: OrgContext, partnership: Partnership) -> Partnership:
    """A new link (the old one stops working) and a new expiry."""
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="resend")
    expires_at = _new_invitation(partnership)
    partnership.save(update_fields=["invitation_nonce", "invitation_expires_at", "updated_at"])
    event = _record(
        partnership,
        Kind.RESENT,
        org.user,
        after={"expires_at": expires_at.isoformat()},
    )
    if partnership.initiated_by == Side.PARTNER:
        notifications.invitation_to_customer(partnership=partnership, event=event)
    else:
        notifications.invitation_to_partner(partnership=partnership, event=event)
    return partnership


# --- changing and ending -------------------------------------------------------


@transaction.atomic
def partnership_change(
    *,
    org: OrgContext,
    partnership: Partnership,
    access: str | None = None,
    payment: str | None = None,
    products: Iterable[Product] | None = None,
    ends_on: datetime.date | None = None,
) -> Partnership:
    """The customer owner changes access or the payment mode of an active grant.
    Applied at once; orders placed before keep what they were placed under."""
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="change")
    before = grant_of(partnership)
    grant = _merged_grant(
        partnership, access=access, payment=payment, products=products, ends_on=ends_on
    )
    _save_active(partnership, grant)
    after = grant_of(partnership)
    if after == before:
        return partnership
    only_payment = {k for k in after if after[k] != before[k]} == {"payment"}
    event = _record(
        partnership, Kind.PAYMENT_CHANGED if only_payment else Kind.CHANGED, org.user, before, after
    )
    home_partner_sync(customer=partnership.customer)
    notifications.changed(partnership=partnership, event=event)
    return partnership


def partnership_end(*, org: OrgContext, partnership: Partnership, password: str) -> Partnership:
    """Either side's owner ends the partnership, confirming with their password
    (tenants.reauthentication, before the transaction so that a wrong one stays
    counted and audited; too many lock it). Access stops at once; the history
    stays readable to both sides."""
    current = Partnership.unscoped.select_related("partner", "customer").get(pk=partnership.pk)
    partnership_check(org=org, partnership=current, action="end")  # 403, 409 before the password
    password_confirm(user=org.user, password=password, acting_in=org.tenant)
    return partnership_end_confirmed(org=org, partnership=partnership)


@transaction.atomic
def partnership_end_confirmed(*, org: OrgContext, partnership: Partnership) -> Partnership:
    """End it, the actor having just confirmed who they are: their password
    (`partnership_end`, the API) or, on the page, allauth's re-authentication
    (password or second factor, tenants.web.require_recent_reauthentication)."""
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="end")
    side = partnership.side_of(org.tenant)
    assert side is not None  # partnership_check: `org` is one of the two sides
    before = grant_of(partnership)
    _close(partnership, Status.ENDED, org.user)
    event = _record(partnership, Kind.ENDED, org.user, before=before, note=f"ended by the {side}")
    home_partner_sync(customer=partnership.customer)
    notifications.ended(partnership=partnership, event=event, by_side=side)
    return partnership


@transaction.atomic
def partnership_request_extension(
    *, org: OrgContext, partnership: Partnership, until: datetime.date
) -> Partnership:
    """The partner asks the customer to move the end date to `until`."""
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="request_extension")
    ends_on = partnership.ends_on
    assert ends_on is not None  # partnership_check: only a grant with an end date
    if until <= ends_on:
        raise ValidationError({"until": _("Ask for a day after the current end date.")})
    partnership.extension_requested_until = until
    partnership.save(update_fields=["extension_requested_until", "updated_at"])
    event = _record(
        partnership,
        Kind.EXTENSION_REQUESTED,
        org.user,
        before={"ends_on": ends_on.isoformat()},
        after={"ends_on": until.isoformat()},
    )
    notifications.extension_requested(partnership=partnership, event=event)
    return partnership


@transaction.atomic
def partnership_approve_extension(*, org: OrgContext, partnership: Partnership) -> Partnership:
    partnership = _lock(partnership)
    partnership_check(org=org, partnership=partnership, action="approve_extension")
    until = partnership.extension_requested_until
    assert until is not None  # partnership_check: only when an extension was asked for
    before = {"ends_on": partnership.ends_on.isoformat() if partnership.ends_on else None}
    partnership.ends_on = until
    partnership.extension_requested_until = None
    partnership.save(update_fields=["ends_on", "extension_requested_until", "updated_at"])
    event = _record(partnership, Kind.EXTENDED, org.user, before, {"ends_on": until.isoformat()})
    notifications.extended(partnership=partnership, event=event)
    return partnership


# --- time -----------------------------------------------------------------------


def partnership_expire(*, partnership_id: uuid.UUID | str) -> bool:
    """Expire one partnership whose end date or invitation has passed. Idempotent:
    only a row still active-and-due or pending-and-due changes."""
    with transaction.atomic():
        partnership = (
            Partnership.unscoped.select_for_update()
            .select_related("partner", "customer")
            .filter(pk=partnership_id)
            .first()
        )
        return partnership is not None and _expire_locked(partnership)


def _expire_locked(partnership: Partnership) -> bool:
    """Expire a locked partnership if it is due (`status_now`): the one expiry."""
    if partnership.status_now != Status.EXPIRED or partnership.status == Status.EXPIRED:
        return False
    due_active = partnership.status == Status.ACTIVE
    before = grant_of(partnership)
    _close(partnership, Status.EXPIRED, None)
    event = _record(
        partnership,
        Kind.EXPIRED,
        None,
        before=before,
        note="end date passed" if due_active else "invitation not answered in time",
    )
    if due_active:
        home_partner_sync(customer=partnership.customer)
        notifications.expired(partnership=partnership, event=event)
    return True


def _expire_due(rows: Q) -> None:
    """Before a new or newly active grant: expire, under their locks, the rows of
    `rows` that are past due but not yet swept by the beat job, so they neither
    block the new one (one live partnership per pair, one full grant per
    customer) nor outlive it."""
    now = timezone.now()
    due = Q(status=Status.ACTIVE, ends_on__lt=timezone.localdate()) | Q(
        status=Status.PENDING, invitation_expires_at__lte=now
    )
    for partnership in (
        Partnership.unscoped.select_for_update()
        .select_related("partner", "customer")
        .filter(rows & due)
        .order_by("pk")
    ):
        _expire_locked(partnership)


REMINDER_DAYS = (30, 7, 1)


def partnership_remind(*, partnership_id: uuid.UUID | str, days: int) -> bool:
    """Remind both sides that access stops in `days` days (one email per side, ever)."""
    partnership = (
        Partnership.unscoped.select_related("partner", "customer")
        .filter(pk=partnership_id, status=Status.ACTIVE)
        .first()
    )
    if partnership is None or partnership.ends_on is None:
        return False
    if (partnership.ends_on - timezone.localdate()).days != days:
        return False
    with transaction.atomic():
        notifications.reminder(partnership=partnership, days=days)
    return True


# --- one load per request (docs/architecture.md) ------------------------------------


def _grant_of(org: OrgContext, customer: Tenant) -> QuerySet[Partnership]:
    """The partner's grant on `customer` that holds now ("manages now": active and
    not past its end date), for a collaborator only while assigned."""
    grants = grants_active_now().filter(partner=org.tenant, customer=customer)
    return assigned_only(org, grants, "customer")


def grant_holds(*, org: OrgContext, customer: Tenant, product: Product | None = None) -> bool:
    """Does what let `org` act on `customer` still hold: the partner's grant is
    active (and covers `product`, when given), and a collaborator is still
    assigned? Not the permission function again (no kind, role or id check, no
    walk over the customers): the part of its answer that changes with time, for
    a service to ask under its row lock about a customer its caller loaded."""
    grants = _grant_of(org, customer)
    if product is not None:
        grants = grants.filter(Q(access=Access.FULL) | Q(products=product))
    return grants.exists()


def _locked_grant(*, partner: uuid.UUID, customer: uuid.UUID, today: datetime.date) -> QuerySet:
    return (
        grants_active_now(today=today)
        .filter(partner_id=partner, customer_id=customer)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list(*model_columns(Partnership))[:1]
    )


# An order's first read, compiled once per process (core.db.CompiledQuery): the
# ORM's building and compiling of it cost ten times its run (docs/performance.md).
_LOCKED_GRANT = CompiledQuery(
    _locked_grant,
    "partner",
    "customer",
    "today",
    kinds={"partner": uuid.UUID, "customer": uuid.UUID, "today": datetime.date},
)


def partner_grant(*, org: OrgContext, customer: Tenant, lock: bool = False) -> Partnership | None:
    """`grant_holds` as the grant itself, with its partner (`org.tenant`; None:
    it no longer holds); `lock` holds its row, as every change of a grant does,
    so an order and a change of the grant take turns. A partner has one live
    grant per customer (partnership_one_live_per_pair)."""
    if lock and org.has_role(Role.ADMIN):  # assigned_only asks nothing more of them
        found = _LOCKED_GRANT.instances(
            Partnership,
            using=Partnership.unscoped.db,
            partner=org.tenant.pk,
            customer=customer.pk,
            today=timezone.localdate(),
        )
        grant = found[0] if found else None
    else:
        grants = _grant_of(org, customer)
        if lock:
            grants = grants.select_for_update(of=("self",))
        grant = grants.first()
    if grant is not None:
        grant.partner = org.tenant
    return grant


def customer_lock(*, org: OrgContext, customer: Tenant) -> Tenant:
    """`customer`'s row locked (select_for_update by pk, in the caller's
    transaction) and read again, for a write about a customer the caller loaded
    once through the permission function: what may have changed since is
    checked under the lock (`grant_holds`); else the 404 of a missing customer."""
    locked = (
        Tenant.objects.select_for_update().filter(pk=customer.pk, kind=Tenant.Kind.CUSTOMER).first()
    )
    if locked is None or not grant_holds(org=org, customer=locked):
        raise Http404(str(NOT_FOUND))
    return locked


# --- collaborators ----------------------------------------------------------------


@transaction.atomic
def collaborators_set(
    *, org: OrgContext, customer: Tenant, user_ids: Iterable
) -> list[CustomerAssignment]:
    """Partner owners/admins choose which collaborators manage `customer`."""
    require_role(org, Role.ADMIN)
    customer = customer_lock(org=org, customer=customer)
    user_ids = {str(u) for u in user_ids}
    members = Membership.unscoped.filter(
        tenant=org.tenant, role=Role.COLLABORATOR, user_id__in=user_ids
    )
    found = {str(m.user_id) for m in members}
    if found != user_ids:
        raise ValidationError({"users": _("Choose collaborators of your organization.")})
    CustomerAssignment.unscoped.filter(partner=org.tenant, customer=customer).exclude(
        user_id__in=found
    ).delete()
    existing = set(
        CustomerAssignment.unscoped.filter(partner=org.tenant, customer=customer).values_list(
            "user_id", flat=True
        )
    )
    CustomerAssignment.unscoped.bulk_create(
        [
            CustomerAssignment(
                partner=org.tenant, customer=customer, user=m.user, assigned_by=org.user
            )
            for m in members
            if m.user_id not in existing
        ]
    )
    book_changed(tenant_ids=[org.tenant.pk])  # a bulk insert sends no signal
    return list(
        CustomerAssignment.unscoped.filter(partner=org.tenant, customer=customer).select_related(
            "user"
        )
    )


@transaction.atomic
def customer_profile_update(*, org: OrgContext, customer: Tenant, data: dict) -> Tenant:
    """A partner user allowed on `customer` (the caller loaded it through the
    permission function) edits its profile (SPEC §2 fields): the row locked, the
    grant checked again, the fields written. Returns the row as saved."""
    customer = customer_lock(org=org, customer=customer)
    saved = tenant_profile_write(tenant=customer, data=data, allowed=ORGANIZATION_FIELDS)
    event_emit("customer.updated", {"id": saved.pk, "partner": org.tenant.pk})
    return saved
