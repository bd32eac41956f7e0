"""Every write of the tenancy core. Browser views and API endpoints both call
these; each validates, checks the actor's role, runs in a transaction and
enqueues its side effects after commit."""

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from core.events import event_emit
from core.exceptions import Conflict
from core.jobs import enqueue_on_commit
from tenants.audit import audit_member_changes, audit_record, audit_record_shared
from tenants.branch_cache import branch_changed
from tenants.mfa import policy_changed, tenant_mfa_policy_locked
from tenants.models import (
    MAX_DISCOUNT_RATE,
    MAX_PAYMENT_TERMS_DAYS,
    ROLE_IN_SENTENCE,
    ROLES_BY_KIND,
    ApiToken,
    AuditEvent,
    Branding,
    Contact,
    Membership,
    Role,
    Tenant,
    User,
)
from tenants.selectors import (
    OrgContext,
    PartnerMovePlan,
    api_token_hash,
    partner_move_plan,
    provider_root,
    provider_root_or_none,
    provider_staff_of,
)
from tenants.sessions import users_sessions_end
from tenants.signals import subtree_moved
from tenants.vat_numbers import vat_number_clean

API_TOKEN_PREFIX = "pp_"

ORGANIZATION_FIELDS = (
    "name",
    "rank",
    "email_domains",
    "tax_id",
    "vat_number",
    "phone",
    "fax",
    "address",
    "city",
    "state",
    "postal_code",
    "country",
)
PARTNER_LISTING_FIELDS = ("website", "specialities", "listed_in_directory", "receives_tenders")


def require_role(org: OrgContext, minimum: str) -> None:
    if not org.has_role(minimum):
        raise PermissionDenied(
            _("This needs the %(role)s role in %(organization)s.")
            % {"role": ROLE_IN_SENTENCE.get(minimum, minimum), "organization": org.tenant.name}
        )


def require_provider_writer(actor: User, message: str) -> None:
    """Partners are created, suspended, discounted and moved by the provider's
    owners and admins and by platform staff (`tenants.selectors.provider_staff_of`);
    anyone else, the provider's collaborators included, gets 403 with `message`."""
    staff = provider_staff_of(user=actor)
    if staff is None or not staff.can_write:
        raise PermissionDenied(message)


def unique_slugs(tenants: list[Tenant]) -> None:
    """The one slug rule, for one tenant or a batch in one query: the name's slug,
    or with tenant_build's suffix (six hex digits of the id) when it is taken, or
    with the whole id when that is taken too."""
    bases = {t.pk: slugify(t.name)[:60] or "org" for t in tenants}
    candidates = set(bases.values()) | {t.slug for t in tenants}
    taken = set(Tenant.objects.filter(slug__in=candidates).values_list("slug", flat=True))
    for tenant in tenants:
        base = bases[tenant.pk]
        if base not in taken:
            tenant.slug = base
        elif tenant.slug in taken:  # tenant_build's own suffix is taken too
            tenant.slug = f"{base[:47]}-{tenant.pk.hex}"
        taken.add(tenant.slug)


def tenant_build(
    *, kind: str, name: str, parent: Tenant | None, currency: str, **fields: Any
) -> Tenant:
    """An unsaved tenant with its id, slug and path set (also for bulk_create)."""
    tenant_id = uuid.uuid4()
    slug = fields.pop("slug", None) or f"{slugify(name)[:60] or 'org'}-{tenant_id.hex[:6]}"
    return Tenant(
        id=tenant_id,
        kind=kind,
        name=name,
        slug=slug,
        parent=parent,
        path=Tenant.build_path(parent, tenant_id),
        depth=(parent.depth + 1) if parent else 0,
        currency=currency,
        **fields,
    )


def clean_email_domains(domains: Iterable[str] | None) -> list[str]:
    """Email domains as stored: trimmed, lower case, without @ (SPEC §2)."""
    domains = [d.strip().lower() for d in domains or [] if d.strip()]
    if any("@" in d for d in domains):
        raise ValidationError({"email_domains": _("Give domains without @ (example.com).")})
    return domains


@transaction.atomic
def tenant_create(
    *, kind: str, name: str, parent: Tenant | None, currency: str = "CHF", **fields: Any
) -> Tenant:
    if kind == Tenant.Kind.PARTNER and (parent is None or parent.kind == Tenant.Kind.CUSTOMER):
        raise ValidationError(
            {"parent": _("A partner hangs under another partner or the provider.")}
        )
    if kind == Tenant.Kind.CUSTOMER and parent is not None and parent.kind != Tenant.Kind.PARTNER:
        raise ValidationError({"parent": _("A customer's parent is its home partner.")})
    if "email_domains" in fields:
        fields["email_domains"] = clean_email_domains(fields["email_domains"])
    slug = fields.pop("slug", None)
    tenant = tenant_build(kind=kind, name=name, parent=parent, currency=currency, **fields)
    if slug:
        tenant.slug = slug
    else:
        unique_slugs([tenant])
    tenant.full_clean(exclude=["path", "parent"])
    tenant.save(force_insert=True)
    return tenant


@transaction.atomic
def tenant_move(*, tenant: Tenant, new_parent: Tenant | None) -> Tenant:
    """Re-hang `tenant` (and its whole sub-tree) under `new_parent`.

    Used when a customer's home partner changes (SPEC §2). Paths of the sub-tree
    are rewritten in one UPDATE per descendant depth-free prefix swap.
    """
    if new_parent is not None and new_parent.path.startswith(tenant.path):
        raise ValidationError({"parent": _("A tenant cannot move below itself.")})
    old_path, old_depth = tenant.path, tenant.depth
    new_path = Tenant.build_path(new_parent, tenant.id)
    new_depth = (new_parent.depth + 1) if new_parent else 0
    subtree = list(Tenant.objects.select_for_update().filter(path__startswith=old_path))
    for node in subtree:
        node.path = new_path + node.path[len(old_path) :]
        node.depth = node.depth - old_depth + new_depth
        if node.pk == tenant.pk:
            node.parent = new_parent
    Tenant.objects.bulk_update(subtree, ["path", "depth", "parent"])
    branch_changed(paths=[old_path, new_path])  # a bulk update sends no signal
    subtree_moved.send(sender=Tenant, tenant=tenant, old_path=old_path, new_path=new_path)
    tenant.refresh_from_db()
    return tenant


def user_get_or_create_invited(*, email: str) -> tuple[User, bool]:
    """The account for `email`, created with an unusable password when missing
    (API.md, "Accounts made on the way"). The emailed link sets the password."""
    email = User.objects.normalize_email(email).strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": _("Enter a valid email address.")}) from exc
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(email=email, password=None)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user, True


def user_email_verified(*, user: User) -> None:
    """Mark the user's address verified: they used a link emailed to it."""
    if not EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True):
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)


@transaction.atomic
def user_set_first_password(*, user: User, password: str) -> User:
    """An account made on the way gets its first password through an emailed
    invitation link, which also proves the address. Never replaces a password."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.has_usable_password():
        raise Conflict(_("This account already has a password; sign in instead."))
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    user_email_verified(user=user)
    return user


def _check_role_fits(tenant: Tenant, role: str) -> None:
    if role not in ROLES_BY_KIND[tenant.kind]:
        allowed = ", ".join(ROLES_BY_KIND[tenant.kind])
        messages: dict[str, str] = {
            Tenant.Kind.PROVIDER: _("A provider organization has the roles %(roles)s."),
            Tenant.Kind.PARTNER: _("A partner organization has the roles %(roles)s."),
            Tenant.Kind.CUSTOMER: _("A customer organization has the roles %(roles)s."),
        }
        raise ValidationError({"role": messages[tenant.kind] % {"roles": allowed}})


def _enqueue_invitation(membership: Membership) -> None:
    enqueue_on_commit("tenants.tasks.send_membership_invitation", str(membership.id))


@transaction.atomic
def partner_create(
    *,
    actor: User,
    name: str,
    owner_email: str,
    currency: str = "CHF",
    parent: Tenant | None = None,
    discount_rate: Decimal | None = None,
) -> Tenant:
    """Provider staff (owners, admins, platform staff) create a partner and its
    owner's account and membership (SPEC §1)."""
    require_provider_writer(actor, _("Only the provider's owners and admins create partners."))
    if parent is not None and parent.kind != Tenant.Kind.PARTNER:
        raise ValidationError({"parent": _("The parent must be a partner.")})
    if discount_rate is not None and not (Decimal("0") <= discount_rate <= MAX_DISCOUNT_RATE):
        raise ValidationError(
            {"discount_rate": _("Between 0 and %(maximum)s.") % {"maximum": MAX_DISCOUNT_RATE}}
        )
    extra = {"discount_rate": discount_rate} if discount_rate is not None else {}
    partner = tenant_create(
        kind=Tenant.Kind.PARTNER,
        name=name,
        parent=parent or provider_root(),
        currency=currency,
        **extra,
    )
    owner, _created = user_get_or_create_invited(email=owner_email)
    membership = Membership.unscoped.create(
        user=owner, tenant=partner, role=Role.OWNER, buyer=True, invited_by=actor
    )
    _enqueue_invitation(membership)
    return partner


@transaction.atomic
def tenant_status_set(*, actor: User, tenant: Tenant, status: str) -> Tenant:
    """Staff suspend an organization or reinstate it (SPEC §2). Suspended, its
    members and API tokens get 403 on every request at once
    (`tenants.selectors.org_require_active`); its customers keep their own
    access. Recorded in the organization's log and the provider's; setting the
    status it has records nothing."""
    require_provider_writer(
        actor, _("Only the provider's owners and admins suspend or reinstate organizations.")
    )
    if status not in Tenant.Status.values:
        raise ValidationError({"status": _("Choose active or suspended.")})
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant.status
    if before == status:
        return tenant
    tenant.status = status
    tenant.save(update_fields=["status", "updated_at"])
    sessions_ended = 0
    if status == Tenant.Status.SUSPENDED:
        # its members are signed out everywhere (docs/security.md, "Sessions");
        # staff keep theirs (they still act in it), and so does the actor
        members = Membership.unscoped.filter(tenant=tenant, user__is_staff=False).exclude(
            user=actor
        )
        sessions_ended = users_sessions_end(user_ids=members.values_list("user_id", flat=True))
    branch_changed(paths=[tenant.path])  # no cached figure outlives the change
    audit_record_shared(
        parties=_provider_and(tenant),
        action=(
            AuditEvent.Action.TENANT_SUSPENDED
            if status == Tenant.Status.SUSPENDED
            else AuditEvent.Action.TENANT_REINSTATED
        ),
        actor=actor,
        details={
            "tenant": str(tenant.pk),
            "before": {"status": before},
            "after": {"status": status},
            **({"sessions_ended": sessions_ended} if sessions_ended else {}),
        },
    )
    return tenant


def _provider_and(tenant: Tenant) -> list[tuple[Tenant, str]]:
    """The parties of an event about `tenant` recorded by the provider's staff:
    the tenant's log and the provider's."""
    parties = [(tenant, tenant.name)]
    provider = provider_root_or_none()
    if provider is not None and provider.pk != tenant.pk:
        parties.append((provider, tenant.name))
    return parties


@transaction.atomic
def partner_update(
    *,
    actor: User,
    partner: Tenant,
    status: str | None = None,
    discount_rate: Decimal | None = None,
) -> Tenant:
    """Provider staff change a partner's status (`tenant_status_set`) or discount
    rate (API.md `PATCH partners/{id}/`, the console's partner page). A new
    discount is recorded in the partner's log and the provider's, before and
    after; setting the rate it has records nothing."""
    require_provider_writer(actor, _("Only the provider's owners and admins change partners."))
    if discount_rate is not None:
        if not (Decimal("0") <= discount_rate <= MAX_DISCOUNT_RATE):
            raise ValidationError(
                {"discount_rate": _("Between 0 and %(maximum)s.") % {"maximum": MAX_DISCOUNT_RATE}}
            )
        locked = Tenant.objects.select_for_update().get(pk=partner.pk)
        before = locked.discount_rate
        if before != discount_rate:
            Tenant.objects.filter(pk=partner.pk).update(
                discount_rate=discount_rate, updated_at=timezone.now()
            )
            branch_changed(paths=[locked.path])  # an update() sends no signal
            audit_record_shared(
                parties=_provider_and(locked),
                action=AuditEvent.Action.PARTNER_DISCOUNT_CHANGED,
                actor=actor,
                details={
                    "tenant": str(locked.pk),
                    "before": {"discount_rate": before},
                    "after": {"discount_rate": discount_rate},
                },
            )
    if status is not None:
        tenant_status_set(actor=actor, tenant=partner, status=status)
    partner.refresh_from_db()
    return partner


@transaction.atomic
def payment_terms_set(*, actor: User, tenant: Tenant, days: int) -> Tenant:
    """Provider staff set how many days after its date an invoice to `tenant`
    is due (docs/invoices.md "Due dates"; 30 by default). Invoices already
    issued keep their due date. Recorded in the organization's log and the
    provider's, before and after; the same value records nothing."""
    require_provider_writer(actor, _("Only the provider's owners and admins change payment terms."))
    if not 0 <= days <= MAX_PAYMENT_TERMS_DAYS:
        raise ValidationError(
            {
                "payment_terms_days": _("Between 0 and %(maximum)s days.")
                % {"maximum": MAX_PAYMENT_TERMS_DAYS}
            }
        )
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = locked.payment_terms_days
    if before != days:
        Tenant.objects.filter(pk=locked.pk).update(
            payment_terms_days=days, updated_at=timezone.now()
        )
        audit_record_shared(
            parties=_provider_and(locked),
            action=AuditEvent.Action.PAYMENT_TERMS_CHANGED,
            actor=actor,
            details={
                "tenant": str(locked.pk),
                "before": {"payment_terms_days": before},
                "after": {"payment_terms_days": days},
            },
        )
    tenant.refresh_from_db()
    return tenant


PROVIDER_INVOICING_FIELDS = ("address", "postal_code", "city", "country", "vat_number")


@transaction.atomic
def provider_invoicing_update(*, actor: User, **fields: str) -> Tenant:
    """The provider's address, country and VAT number as its invoices print
    them (the issuer; `setup_platform` sets the first ones). Its name is the
    legal name, set once by `setup_platform`. The country decides the VAT
    (billing.vat): without one, invoices carry none. Invoices already issued
    keep the issuer they were issued with. Audited in the provider's log."""
    require_provider_writer(
        actor, _("Only the provider's owners and admins change its invoicing details.")
    )
    unknown = set(fields) - set(PROVIDER_INVOICING_FIELDS)
    if unknown:
        raise ValueError(f"Not invoicing fields: {sorted(unknown)}")
    provider = Tenant.objects.select_for_update().get(pk=provider_root().pk)
    cleaned = {name: (value or "").strip() for name, value in fields.items()}
    if "country" in cleaned:
        cleaned["country"] = cleaned["country"].upper()
        if cleaned["country"] and not (
            len(cleaned["country"]) == 2
            and cleaned["country"].isascii()
            and cleaned["country"].isalpha()
        ):
            raise ValidationError({"country": _("An ISO 3166-1 alpha-2 code, e.g. CH.")})
    if "vat_number" in cleaned or "country" in cleaned:
        number = cleaned.get("vat_number", provider.vat_number)
        country = cleaned.get("country", provider.country)
        if (number, country) != (provider.vat_number, provider.country):
            # checked by the country and normalized (tenants.vat_numbers)
            cleaned["vat_number"] = vat_number_clean(number, country)
    before = {name: getattr(provider, name) for name in cleaned}
    changed = {name: value for name, value in cleaned.items() if before[name] != value}
    if changed:
        for name, value in changed.items():
            setattr(provider, name, value)
        provider.full_clean(exclude=["path", "parent"])
        provider.save(update_fields=[*changed, "updated_at"])
        audit_record(
            tenant=provider,
            action=AuditEvent.Action.INVOICING_CHANGED,
            actor=actor,
            target=provider.name,
            details={
                "before": {name: before[name] for name in changed},
                "after": changed,
            },
        )
    return provider


@transaction.atomic
def partner_move(
    *, actor: User, partner: Tenant, new_parent: Tenant, expected: str
) -> PartnerMovePlan:
    """Provider staff move a partner, and its whole branch (its sub-partners and
    the customers hanging below them), under another partner or directly under
    the provider (the provider console; API.md has no move). `expected` is the
    digest of the plan the preview showed (`partner_move_plan`): the two rows are
    locked, read again, checked again (no cycle, no suspended target) and the
    plan made afresh; a branch that changed since the preview (a sub-partner
    added, either moved) is a Conflict and nothing moves. Partnerships are
    untouched: each stays between its partner and its customer; the partners
    above see the branch in their sub-tree figures by the new path
    (`partners.selectors.managing_grants`), and the cached figures of the old
    and new branches are retired (`tenant_move`). Recorded in the partner's
    log and the provider's, with where it was and where it went."""
    require_provider_writer(
        actor, _("Only the provider's owners and admins move partners in the tree.")
    )
    locked = {
        t.pk: t
        for t in Tenant.objects.select_for_update()
        .filter(pk__in=[partner.pk, new_parent.pk])
        .order_by("pk")  # one order for every mover: two crossed moves wait, never deadlock
    }
    partner, new_parent = locked[partner.pk], locked[new_parent.pk]
    plan = partner_move_plan(partner=partner, new_parent=new_parent)
    if plan.digest != expected:
        raise Conflict(
            _("The branch changed since the preview; look at the new preview and confirm again.")
        )
    old_parent = plan.old_parent
    tenant_move(tenant=partner, new_parent=new_parent)
    audit_record_shared(
        parties=_provider_and(partner),
        action=AuditEvent.Action.PARTNER_MOVED,
        actor=actor,
        details={
            "tenant": str(partner.pk),
            "before": {"parent": str(old_parent.pk), "parent_name": old_parent.name},
            "after": {"parent": str(new_parent.pk), "parent_name": new_parent.name},
            "sub_partners": plan.sub_partners,
            "customers_below": plan.customers_below,
        },
    )
    return plan


def _profile_fields_check(data: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("This field cannot be changed here.")))


@transaction.atomic
def tenant_profile_update(*, tenant: Tenant, data: dict, allowed: tuple[str, ...]) -> Tenant:
    """Write profile fields of `tenant` (the caller has checked who may)."""
    _profile_fields_check(data, allowed)
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    return tenant_profile_write(tenant=locked, data=data, allowed=allowed)


def tenant_profile_write(*, tenant: Tenant, data: dict, allowed: tuple[str, ...]) -> Tenant:
    """`tenant_profile_update` of a row the caller has read again under its lock
    (select_for_update, in the caller's transaction) and checked who may."""
    _profile_fields_check(data, allowed)
    for field, value in data.items():
        setattr(tenant, field, value)
    tenant.email_domains = clean_email_domains(tenant.email_domains)
    tenant.full_clean(exclude=["path", "parent", "slug", "origin"])
    # a new country normalizes the VAT number again (Tenant.clean)
    extra = ["vat_number"] if "country" in data else []
    fields = dict.fromkeys([*data.keys(), *extra, "email_domains", "updated_at"])
    tenant.save(update_fields=list(fields))
    return tenant


@transaction.atomic
def organization_update(*, org: OrgContext, data: dict) -> Tenant:
    """Owners and admins edit their organization's profile (and a partner its listing)."""
    require_role(org, Role.ADMIN)
    allowed = ORGANIZATION_FIELDS + (PARTNER_LISTING_FIELDS if org.tenant.is_partner else ())
    tenant = tenant_profile_update(tenant=org.tenant, data=data, allowed=allowed)
    if tenant.is_customer:  # a customer edits its own profile (core.events)
        event_emit("customer.updated", {"id": tenant.pk})
    return tenant


@transaction.atomic
def organization_settings_update(*, org: OrgContext, subscriptions_enabled: bool) -> Tenant:
    """The owner switches the organization's features (API.md `organization/settings/`).

    Switching subscriptions off hides them from the organization's users and
    deletes nothing, so switching on again brings everything back (SPEC §4)."""
    require_role(org, Role.OWNER)
    tenant = Tenant.objects.select_for_update().get(pk=org.tenant.pk)
    tenant.subscriptions_enabled = subscriptions_enabled
    tenant.save(update_fields=["subscriptions_enabled", "updated_at"])
    return tenant


@transaction.atomic
def organization_mfa_policy_set(*, org: OrgContext, required: bool) -> Tenant:
    """The owner requires two-factor authentication of every member, or no
    longer (SPEC §1 rev. 2; the page asks for re-authentication first). A
    partner or the provider cannot relax it while MFA_REQUIRED_FOR_PARTNERS is
    on. Recorded in the log; members without a factor are sent to set one up
    on their next request (tenants.mfa)."""
    require_role(org, Role.OWNER)
    tenant = Tenant.objects.select_for_update().get(pk=org.tenant.pk)
    if not required and tenant_mfa_policy_locked(tenant):
        raise ValidationError(
            {
                "mfa_required": _(
                    "Partner organizations and the provider always require "
                    "two-factor authentication."
                )
            }
        )
    if tenant.mfa_required == required:
        return tenant
    tenant.mfa_required = required
    tenant.save(update_fields=["mfa_required", "updated_at"])
    audit_record(
        tenant=tenant,
        action=AuditEvent.Action.MFA_POLICY_CHANGED,
        actor=org.user,
        actor_tenant=tenant,
        target=tenant.name,
        details={"before": {"mfa_required": not required}, "after": {"mfa_required": required}},
    )
    transaction.on_commit(policy_changed)
    return tenant


@transaction.atomic
def user_mfa_reset(*, actor: User, user: User, reason: str) -> int:
    """Staff remove every factor of a person who lost them (docs/security.md,
    "Recovering an account"), after checking who they are out of band; the
    person signs in with their password and sets up a factor again. Recorded,
    with the reason, in the log of each organization the person belongs to.
    Returns how many factors were removed."""
    from allauth.mfa.models import Authenticator

    if not actor.is_staff:
        raise PermissionDenied(_("Only platform staff reset two-factor authentication."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why, and how the person was identified.")})
    factors = Authenticator.objects.filter(user=user)
    kinds = sorted(set(factors.values_list("type", flat=True)))
    removed, _by_model = factors.delete()
    tenants = [m.tenant for m in Membership.unscoped.filter(user=user).select_related("tenant")]
    audit_record_shared(
        parties=[(tenant, user.email) for tenant in tenants],
        action=AuditEvent.Action.MFA_RESET,
        actor=actor,
        details={"user": str(user.pk), "removed": kinds, "reason": reason},
    )
    transaction.on_commit(policy_changed)  # the person's sessions look again
    return removed


@transaction.atomic
def branding_update(*, org: OrgContext, data: dict) -> Branding:
    require_role(org, Role.ADMIN)
    branding, _created = Branding.unscoped.select_for_update().get_or_create(tenant=org.tenant)
    for field in Branding.INHERITED_FIELDS:
        if field in data:
            setattr(branding, field, data[field] or "")
    branding.full_clean()
    branding.save()
    return branding


LOGO_MAX_BYTES = 256 * 1024
LOGO_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


def _logo_type(content: bytes) -> str | None:
    for signature, content_type in LOGO_SIGNATURES.items():
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@transaction.atomic
def branding_logo_set(*, org: OrgContext, content: bytes | None) -> Branding:
    """Set (or, with None, remove) the organization's logo: PNG, JPEG or WebP
    by their first bytes (the file name and the browser's word do not count),
    at most 256 KB. No SVG: a script inside it would run on the portal's origin."""
    require_role(org, Role.ADMIN)
    branding, _created = Branding.unscoped.select_for_update().get_or_create(tenant=org.tenant)
    if content is None:
        branding.logo, branding.logo_type = b"", ""
    else:
        if len(content) > LOGO_MAX_BYTES:
            raise ValidationError({"logo": _("The logo may be 256 KB at most.")})
        content_type = _logo_type(content)
        if content_type is None:
            raise ValidationError({"logo": _("Give a PNG, JPEG or WebP image.")})
        branding.logo, branding.logo_type = content, content_type
    branding.save(update_fields=["logo", "logo_type", "updated_at"])
    return branding


@transaction.atomic
def member_invite(*, org: OrgContext, email: str, role: str, buyer: bool = False) -> Membership:
    """Add a person to the organization; a new account gets a set-password email."""
    require_role(org, Role.ADMIN)
    _check_role_fits(org.tenant, role)
    if role == Role.OWNER:
        require_role(org, Role.OWNER)
    user, _created = user_get_or_create_invited(email=email)
    if Membership.unscoped.filter(user=user, tenant=org.tenant).exists():
        raise ValidationError({"email": _("This person is already a member.")})
    try:
        with transaction.atomic():
            membership = Membership.unscoped.create(
                user=user, tenant=org.tenant, role=role, buyer=buyer, invited_by=org.user
            )
    except IntegrityError as exc:  # a concurrent invite of the same person
        raise ValidationError({"email": _("This person is already a member.")}) from exc
    _enqueue_invitation(membership)
    audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.MEMBER_INVITED,
        actor=org.user,
        actor_tenant=org.tenant,
        target=user.email,
        details={"after": {"role": role, "buyer": buyer}},
    )
    return membership


def _lock_owners(tenant: Tenant) -> list[Membership]:
    return list(Membership.unscoped.select_for_update().filter(tenant=tenant, role=Role.OWNER))


@transaction.atomic
def member_update(
    *, org: OrgContext, membership: Membership, role: str | None = None, buyer: bool | None = None
) -> Membership:
    require_role(org, Role.ADMIN)
    owners = _lock_owners(org.tenant)
    membership = Membership.unscoped.select_for_update().get(pk=membership.pk, tenant=org.tenant)
    before = {"role": membership.role, "buyer": membership.buyer}
    if role is not None and role != membership.role:
        member_role_check(org=org, membership=membership, role=role)
        if membership.role == Role.OWNER and len(owners) == 1:
            raise Conflict(_("The organization needs at least one owner."))
        membership.role = role
    if buyer is not None:
        if membership.role == Role.OWNER and membership.user_id != org.user.pk:
            require_role(org, Role.OWNER)
        membership.buyer = buyer
    membership.save(update_fields=["role", "buyer"])
    audit_member_changes(org=org, membership=membership, before=before)
    return membership


def member_role_check(*, org: OrgContext, membership: Membership, role: str) -> None:
    """Why `org` may not give `membership` this role: not one of the
    organization's kind (400), or an owner's role touched by a non-owner (403).
    Also read before a page or the API asks for the password (SPEC §1)."""
    require_role(org, Role.ADMIN)
    _check_role_fits(org.tenant, role)
    if membership.role == Role.OWNER or role == Role.OWNER:
        require_role(org, Role.OWNER)


@transaction.atomic
def member_remove(*, org: OrgContext, membership: Membership) -> None:
    require_role(org, Role.ADMIN)
    owners = _lock_owners(org.tenant)
    membership = Membership.unscoped.select_for_update().get(pk=membership.pk, tenant=org.tenant)
    if membership.role == Role.OWNER:
        require_role(org, Role.OWNER)
        if len(owners) == 1:
            raise Conflict(_("The organization needs at least one owner."))
    tokens_revoked = ApiToken.unscoped.filter(
        user=membership.user, tenant=org.tenant, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    membership.delete()
    # the person is signed out everywhere (docs/security.md, "Sessions"), unless
    # they removed themselves: the request that asked goes on
    sessions_ended = (
        0
        if membership.user_id == org.user.pk
        else users_sessions_end(user_ids=[membership.user_id])
    )
    audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.MEMBER_REMOVED,
        actor=org.user,
        actor_tenant=org.tenant,
        target=membership.user.email,
        details={
            "before": {"role": membership.role, "buyer": membership.buyer},
            "tokens_revoked": tokens_revoked,
            **({"sessions_ended": sessions_ended} if sessions_ended else {}),
        },
    )


@transaction.atomic
def api_token_create(*, org: OrgContext, name: str) -> tuple[ApiToken, str]:
    """A new token for the actor in this organization; the raw token is returned
    once and never stored."""
    require_role(org, Role.ADMIN)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    if org.membership is None:
        raise PermissionDenied(_("Tokens act as a member; staff need a membership here."))
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.unscoped.create(
        tenant=org.tenant,
        user=org.user,
        name=name[:100],
        prefix=raw[:10],
        token_hash=api_token_hash(raw),
    )
    audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.TOKEN_CREATED,
        actor=org.user,
        actor_tenant=org.tenant,
        target=str(token),
        details={"token": str(token.id), "name": token.name, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, org: OrgContext, token: ApiToken) -> ApiToken:
    require_role(org, Role.ADMIN)
    if ApiToken.unscoped.filter(pk=token.pk, tenant=org.tenant, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        audit_record(
            tenant=org.tenant,
            action=AuditEvent.Action.TOKEN_REVOKED,
            actor=org.user,
            actor_tenant=org.tenant,
            target=str(token),
            details={"token": str(token.id), "made_by": token.user.email},
        )
    token.refresh_from_db()
    return token


def api_token_touch(*, token: ApiToken, precision_seconds: int) -> None:
    """Record the token's last use, at most one write per `precision_seconds`."""
    now = timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < precision_seconds:
        return
    ApiToken.unscoped.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


@transaction.atomic
def contact_create(
    *,
    customer: Tenant,
    first_name: str,
    last_name: str,
    email: str = "",
    phone: str = "",
    is_primary: bool = False,
) -> Contact:
    """A customer's contact; the first one, or one marked primary, becomes the primary."""
    Tenant.objects.select_for_update().filter(pk=customer.pk).first()
    return contact_insert(
        customer=customer,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        is_primary=is_primary,
    )


def contact_insert(
    *,
    customer: Tenant,
    first_name: str,
    last_name: str,
    email: str = "",
    phone: str = "",
    is_primary: bool = False,
) -> Contact:
    """`contact_create` for a customer whose row the caller holds locked
    (select_for_update, in the caller's transaction)."""
    if customer.kind != Tenant.Kind.CUSTOMER:
        raise ValidationError(_("Contacts belong to customers."))
    has_primary = Contact.unscoped.filter(customer=customer, is_primary=True).exists()
    contact = Contact(
        customer=customer, first_name=first_name, last_name=last_name, email=email, phone=phone
    )
    contact.full_clean(exclude=["is_primary"])
    if is_primary or not has_primary:
        Contact.unscoped.filter(customer=customer, is_primary=True).update(is_primary=False)
        contact.is_primary = True
    contact.save(force_insert=True)
    return contact


@transaction.atomic
def contact_make_primary(*, contact: Contact) -> Contact:
    """Switch the primary contact atomically: exactly one stays primary."""
    Tenant.objects.select_for_update().filter(pk=contact.customer_id).first()
    return contact_primary_switch(contact=contact)


def contact_primary_switch(*, contact: Contact) -> Contact:
    """`contact_make_primary` for a contact whose customer's row the caller holds
    locked (select_for_update, in the caller's transaction)."""
    Contact.unscoped.filter(customer_id=contact.customer_id, is_primary=True).exclude(
        pk=contact.pk
    ).update(is_primary=False)
    Contact.unscoped.filter(pk=contact.pk).update(is_primary=True)
    contact.is_primary = True
    return contact


def user_profile_update(*, user: User, full_name: str, language: str) -> User:
    """A person's own profile: their name and the language of their pages and
    emails (blank: the browser's). The forms and the API validate the choices."""
    user.full_name = full_name.strip()
    user.language = language
    user.full_clean(validate_unique=False, exclude=["password"])
    user.save(update_fields=["full_name", "language"])
    return user


@dataclass(frozen=True)
class PlatformSetup:
    provider: Tenant
    admin: User
    created: bool


def platform_setup(
    *,
    name: str,
    currency: str,
    admin_email: str,
    legal_address: str = "",
    vat_number: str = "",
    country: str = "",
) -> PlatformSetup:
    """The install's provider organization and its first staff member, once
    (SPEC §2 "Operator set-up", `manage.py setup_platform`). The first admin is
    platform staff and the provider's owner, with an unusable password: the
    invitation emailed after commit carries a link to choose one. Run again with
    the same name and admin it changes nothing (`created` is False); with
    another name, currency or admin it refuses. The database allows one
    provider (tenant_one_provider), so two runs at once make one."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the provider's name.")})
    if currency not in Tenant.Currency.values:
        raise ValidationError({"currency": _("Choose CHF or EUR.")})
    country = (country or "").strip().upper()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise ValidationError({"country": _("An ISO 3166-1 alpha-2 code, e.g. CH.")})
    vat_number = vat_number_clean(vat_number, country)  # by the country, normalized
    try:
        with transaction.atomic():
            return _platform_setup(
                name=name,
                currency=currency,
                admin_email=admin_email,
                legal_address=legal_address,
                vat_number=vat_number,
                country=country,
            )
    except IntegrityError:  # another run created the provider meanwhile: compare with it
        with transaction.atomic():
            return _platform_setup(
                name=name,
                currency=currency,
                admin_email=admin_email,
                legal_address=legal_address,
                vat_number=vat_number,
                country=country,
            )


def _platform_setup(
    *,
    name: str,
    currency: str,
    admin_email: str,
    legal_address: str,
    vat_number: str,
    country: str,
) -> PlatformSetup:
    email = User.objects.normalize_email(admin_email or "").strip().lower()
    provider = provider_root_or_none()
    if provider is not None:
        if provider.name != name:
            raise ValidationError(
                {
                    "name": _("The platform is set up already, as “%(name)s”. Nothing was changed.")
                    % {"name": provider.name}
                }
            )
        if provider.currency != currency:
            raise ValidationError(
                {
                    "currency": _(
                        "The platform is set up already, in %(currency)s. Nothing was changed."
                    )
                    % {"currency": provider.currency}
                }
            )
        membership = (
            Membership.unscoped.select_related("user")
            .filter(tenant=provider, user__email__iexact=email)
            .first()
        )
        if membership is None or not membership.user.is_staff:
            raise ValidationError(
                {
                    "admin_email": _(
                        "The platform is set up already, with another first admin. "
                        "Nothing was changed; invite more staff from the provider organization."
                    )
                }
            )
        return PlatformSetup(provider=provider, admin=membership.user, created=False)
    provider = tenant_create(
        kind=Tenant.Kind.PROVIDER,
        name=name,
        parent=None,
        currency=currency,
        address=(legal_address or "").strip(),
        vat_number=(vat_number or "").strip(),
        country=country,
    )
    admin, _created = user_get_or_create_invited(email=email)
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    membership = Membership.unscoped.create(
        user=admin, tenant=provider, role=Role.OWNER, buyer=False
    )
    _enqueue_invitation(membership)
    return PlatformSetup(provider=provider, admin=admin, created=True)
