"""Reads of the tenancy core, already scoped to what the actor may see.

Every tenant-owned lookup outside the caller's reach raises the same Http404 as a
missing id, so nothing reveals that another organization's object exists.
"""

import datetime
import hashlib
import uuid
from dataclasses import dataclass
from typing import cast

from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from core.db import CompiledQuery, model_columns
from core.exceptions import PlatformNotSetUp
from tenants.mfa import FACTORS as MFA_FACTORS
from tenants.models import ROLE_RANK, ApiToken, AuditEvent, Branding, Membership, Role, Tenant, User


@dataclass(frozen=True)
class OrgContext:
    """The organization a request acts in, and the actor's standing there.

    `membership` is None only for platform staff acting without one; staff rank
    above owners (SPEC §1: staff may see everything).
    """

    tenant: Tenant
    user: User
    membership: Membership | None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def is_staff(self) -> bool:
        return self.user.is_staff

    def has_role(self, minimum: str) -> bool:
        if self.membership is None:
            return self.is_staff
        return ROLE_RANK[self.membership.role] >= ROLE_RANK[minimum]

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.has_role(Role.OWNER)


def uuid_or_none(value: object) -> uuid.UUID | None:
    """An id from a URL, a body or a filter, or None when it is not one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def uuid_or_404(value: object, message: str | Promise) -> uuid.UUID:
    """An id from a URL or a request body; anything that is not one is the 404
    of a missing object, so a malformed id reveals nothing either."""
    found = uuid_or_none(value)
    if found is None:
        raise Http404(message)
    return found


def org_context_for(*, user: User, tenant_id: object = None, slug: str | None = None) -> OrgContext:
    """The organization `user` acts in, named by id (API) or slug (browser).

    A tenant the user is not a member of is a 404, exactly like a missing one;
    staff may act in any tenant.
    """
    if not user.is_authenticated:
        raise Http404(_("No such organization."))
    lookup: dict[str, object] = (
        {"slug": slug}
        if slug is not None
        else {"id": uuid_or_404(tenant_id, _("No such organization."))}
    )
    membership = (
        Membership.unscoped.select_related("tenant", "user")
        .filter(user=user, **{f"tenant__{k}": v for k, v in lookup.items()})
        .first()
    )
    if membership is not None:
        return OrgContext(tenant=membership.tenant, user=user, membership=membership)
    if user.is_staff:
        tenant = Tenant.objects.filter(**lookup).first()
        if tenant is not None:
            return OrgContext(tenant=tenant, user=user, membership=None)
    raise Http404(_("No such organization."))


def org_require_active(org: OrgContext) -> None:
    """A suspended organization's members get 403 on every request made in it
    (SPEC §2, §3); staff still act in it, to look and to reinstate it. Called by
    the request's one resolver (`tenants.web.OrgViewMixin`,
    `tenants.api_base.OrgScopedMixin`); its API tokens are refused earlier, by
    `tenants.authentication.ApiTokenAuthentication` (`tenant_suspended_message`)."""
    if org.tenant.status == Tenant.Status.SUSPENDED and not org.is_staff:
        raise PermissionDenied(tenant_suspended_message(org.tenant))


def tenant_suspended_message(tenant: Tenant) -> str:
    return _(
        "%(organization)s is suspended: its members and API tokens have no access "
        "until the platform reinstates it. Contact the platform's support."
    ) % {"organization": tenant.name}


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.unscoped.filter(user=user).select_related("tenant").order_by("tenant__name")


def tenant_descendants(*, tenant: Tenant, kind: str | None = None) -> QuerySet[Tenant]:
    """Every tenant below `tenant`, direct and indirect, in one prefix query."""
    qs = Tenant.objects.filter(path__startswith=tenant.path, depth__gt=tenant.depth)
    return qs.filter(kind=kind) if kind else qs


def tenant_ancestors(*, tenant: Tenant) -> list[Tenant]:
    """From the parent up to the root (nearest first), in one query."""
    ids = tenant.ancestor_ids
    if not ids:
        return []
    return list(Tenant.objects.filter(id__in=ids).order_by("-depth"))


def _provider_root() -> QuerySet[Tenant]:
    return (
        Tenant.objects.filter(kind=Tenant.Kind.PROVIDER, parent__isnull=True)
        .order_by("pk")
        .values_list(*model_columns(Tenant))[:1]
    )


# Every invoice's issuer: compiled once per process (core.db.CompiledQuery).
_PROVIDER_ROOT = CompiledQuery(_provider_root)


def provider_root_or_none() -> Tenant | None:
    """The install's provider organization; None before `setup_platform` ran
    (a database constraint allows one: tenant_one_provider)."""
    found = _PROVIDER_ROOT.instances(Tenant, using=Tenant.objects.db)
    return found[0] if found else None


def provider_root() -> Tenant:
    """The provider organization, or PlatformNotSetUp (409 in the API, a page
    naming the command in the browser) before `setup_platform` ran."""
    provider = provider_root_or_none()
    if provider is None:
        raise PlatformNotSetUp()
    return provider


def _owners_and_admins(*, tenant: uuid.UUID) -> QuerySet[Membership]:
    return (
        Membership.unscoped.filter(tenant_id=tenant, role__in=(Role.OWNER, Role.ADMIN))
        .order_by("user__email")
        .values_list(*(f"user__{column}" for column in model_columns(User)))
    )


# Read for every order's invoice email: compiled once per process (core.db.CompiledQuery).
_OWNERS_AND_ADMINS = CompiledQuery(_owners_and_admins, "tenant", kinds={"tenant": uuid.UUID})


def owners_and_admins(tenant: Tenant | uuid.UUID | str) -> list[User]:
    """The users an organization's notices go to: its owners and admins, by
    email. `tenant` is the organization or its id."""
    tenant_id = tenant.pk if isinstance(tenant, Tenant) else tenant
    rows = _OWNERS_AND_ADMINS.rows(using=Membership.unscoped.db, tenant=tenant_id)
    columns = model_columns(User)
    return [User.from_db(Membership.unscoped.db, columns, row) for row in rows]


def partner_get(*, partner_id: object) -> Tenant:
    """A partner by id, for staff (`PATCH partners/{id}/`); anything else is a 404."""
    partner = Tenant.objects.filter(
        pk=uuid_or_404(partner_id, _("No such partner.")), kind=Tenant.Kind.PARTNER
    ).first()
    if partner is None:
        raise Http404(_("No such partner."))
    return partner


def members_list(*, org: OrgContext) -> QuerySet[Membership]:
    """The members, each with `mfa_enabled`: whether they have a second factor
    (an authenticator app or a passkey; tenants.mfa), in the same query."""
    return (
        Membership.unscoped.filter(tenant=org.tenant)
        .select_related("user")
        .annotate(
            mfa_enabled=Exists(
                Authenticator.objects.filter(user_id=OuterRef("user_id"), type__in=MFA_FACTORS)
            )
        )
        .order_by("user__email")
    )


def member_get(*, org: OrgContext, membership_id: object) -> Membership:
    try:
        return members_list(org=org).get(id=uuid_or_404(membership_id, _("No such member.")))
    except Membership.DoesNotExist as exc:
        raise Http404(_("No such member.")) from exc


def api_tokens_list(*, org: OrgContext) -> QuerySet[ApiToken]:
    return ApiToken.unscoped.filter(tenant=org.tenant).select_related("user")


def api_token_get(*, org: OrgContext, token_id: object) -> ApiToken:
    try:
        return api_tokens_list(org=org).get(id=uuid_or_404(token_id, _("No such token.")))
    except ApiToken.DoesNotExist as exc:
        raise Http404(_("No such token.")) from exc


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# What `api_token_authenticate` reads in its one query: each model's columns,
# in the order of its fields (`Model.from_db` takes them as they come).
_TOKEN_READS = (
    ("", ApiToken),
    ("user__", User),
    ("tenant__", Tenant),
    ("user__memberships__", Membership),
)


def _token_query(*, token_hash: str) -> QuerySet:
    """The live token of `token_hash`, its user active and a member of its
    tenant: the token's, its user's, its tenant's and that membership's columns
    in one row (the membership joined on (user, tenant), which is unique)."""
    return (
        ApiToken.unscoped.filter(
            token_hash=token_hash,
            revoked_at__isnull=True,
            user__is_active=True,
            user__memberships__tenant=F("tenant"),
        )
        .order_by()
        .values_list(
            *(prefix + column for prefix, model in _TOKEN_READS for column in model_columns(model))
        )[:1]
    )


# Built and compiled once per process (core.db.CompiledQuery): the ORM's
# building and compiling of this join cost 4 times its run (docs/performance.md).
_TOKEN_QUERY = CompiledQuery(_token_query, "token_hash")


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token for `raw`, its user still an active member of its tenant.

    One query per API request (bench: the API's throughput): the token, its
    user, its tenant and that membership, joined on (user, tenant), which is
    unique. The user and tenant come back as `token.user` and `token.tenant`,
    the membership as `token.membership` (its user and tenant the token's), so
    the request's organization needs no query of its own
    (`tenants.api_base.resolve_org`)."""
    db = ApiToken.unscoped.db
    rows = _TOKEN_QUERY.rows(using=db, token_hash=api_token_hash(raw))
    if not rows:
        return None
    row, start, loaded = rows[0], 0, []
    for _prefix, model in _TOKEN_READS:
        columns = model_columns(model)
        loaded.append(model.from_db(db, columns, row[start : start + len(columns)]))
        start += len(columns)
    token, user = cast(ApiToken, loaded[0]), cast(User, loaded[1])
    tenant, membership = cast(Tenant, loaded[2]), cast(Membership, loaded[3])
    token.user, token.tenant = user, tenant
    membership.user, membership.tenant = user, tenant
    token.membership = membership
    return token


def branding_effective(*, tenant: Tenant) -> dict[str, str]:
    """Each branding field: the tenant's own value, else the nearest ancestor's.

    One query whatever the depth: the ancestors are read off the path.
    """
    chain = [tenant.id, *reversed(tenant.ancestor_ids)]  # nearest first
    rows = {b.tenant_id: b for b in Branding.unscoped.filter(tenant_id__in=chain).defer("logo")}
    effective = {}
    for field in Branding.INHERITED_FIELDS:
        effective[field] = next(
            (
                getattr(rows[tid], field)
                for tid in chain
                if tid in rows and getattr(rows[tid], field)
            ),
            "",
        )
    if not effective["display_name"]:
        effective["display_name"] = tenant.name
    with_logo = next((rows[tid] for tid in chain if tid in rows and rows[tid].logo_type), None)
    effective["logo_url"] = (
        reverse("branding_logo", kwargs={"tenant_id": with_logo.tenant_id})
        + f"?v={int(with_logo.updated_at.timestamp())}"
        if with_logo
        else ""
    )
    return effective


def branding_logo(*, tenant_id: object) -> Branding:
    """A tenant's own logo, for the public logo URL (a missing one is a 404)."""
    tenant_id = uuid_or_404(tenant_id, _("No such logo."))
    branding = Branding.unscoped.filter(tenant_id=tenant_id).exclude(logo_type="").first()
    if branding is None:
        raise Http404(_("No such logo."))
    return branding


def branding_own(*, tenant: Tenant) -> Branding:
    """The tenant's own branding row (unsaved and empty when it has none)."""
    return Branding.unscoped.filter(tenant=tenant).first() or Branding(tenant=tenant)


def audit_events_list(*, org: OrgContext, action: str | None = None) -> QuerySet[AuditEvent]:
    """The organization's audit log, newest first: its owners' (and staff's) to
    read; no organization ever sees another's events."""
    if not org.is_owner:
        raise PermissionDenied(_("The audit log is for the organization's owners."))
    events = AuditEvent.unscoped.filter(tenant=org.tenant).select_related("actor_tenant")
    if action:
        events = events.filter(action=action)
    return events.order_by("-at", "-id")


def audit_event_get(*, org: OrgContext, event_id: object) -> AuditEvent:
    try:
        return audit_events_list(org=org).get(id=uuid_or_404(event_id, _("No such event.")))
    except AuditEvent.DoesNotExist as exc:
        raise Http404(_("No such event.")) from exc


def audit_events_platform(
    *,
    organization: str = "",
    actor: str = "",
    action: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """Every organization's audit log, for platform staff (the provider console;
    callers check `provider_console_user`), newest first: `organization` in the
    log's organization's name or its slug, `actor` in the actor's email, one
    `action`, and the days `since` to `until` (both included, in the project's
    time zone, as the log shows them)."""
    events = AuditEvent.unscoped.select_related("tenant", "actor_tenant")
    organization, actor = (organization or "").strip(), (actor or "").strip()
    if organization:
        events = events.filter(
            Q(tenant__name__icontains=organization) | Q(tenant__slug=organization.lower())
        )
    if actor:
        events = events.filter(actor_email__icontains=actor)
    if action:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(at__date__gte=since)
    if until is not None:
        events = events.filter(at__date__lte=until)
    return events.order_by("-at", "-id")


def tenant_fresh(*, tenant: Tenant) -> Tenant:
    """The organization read again (a form edits a copy, not the request's)."""
    return Tenant.objects.get(pk=tenant.pk)


# Who runs the provider console (SPEC §2, docs/operations.md "The provider
# console"): platform staff, and the provider organization's members in these
# roles; owners and admins (and staff) change things, collaborators read.
PROVIDER_CONSOLE_ROLES = (Role.OWNER, Role.ADMIN, Role.COLLABORATOR)
PROVIDER_CONSOLE_WRITERS = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class ProviderStaff:
    """A person of the provider's staff: their role in the provider organization
    (None for platform staff without a membership there) and whether they are
    platform staff (`is_staff`), who rank above its owners."""

    provider: Tenant
    user: User
    role: str | None

    @property
    def is_platform_staff(self) -> bool:
        return self.user.is_staff

    @property
    def can_write(self) -> bool:
        """Owners, admins and platform staff change partners; collaborators read."""
        return self.is_platform_staff or self.role in PROVIDER_CONSOLE_WRITERS


def provider_staff_of(*, user: User) -> ProviderStaff | None:
    """`user` as provider staff, or None: an active account that is platform
    staff or an owner, admin or collaborator of the provider organization. The
    one rule of the console's pages (`provider_console_access`) and of the
    services it calls (`tenants.services.require_provider_writer`). Before
    `setup_platform`, platform staff get PlatformNotSetUp. A member of a
    suspended provider is no staff (as everywhere: `org_require_active`)."""
    if not (user.is_authenticated and user.is_active):
        return None
    membership = (
        Membership.unscoped.select_related("tenant")
        .filter(
            user=user,
            tenant__kind=Tenant.Kind.PROVIDER,
            tenant__parent__isnull=True,
            tenant__status=Tenant.Status.ACTIVE,
            role__in=PROVIDER_CONSOLE_ROLES,
        )
        .first()
    )
    if membership is not None:
        return ProviderStaff(provider=membership.tenant, user=user, role=membership.role)
    if user.is_staff:
        return ProviderStaff(provider=provider_root(), user=user, role=None)
    return None


def provider_console_access(*, user: User) -> ProviderStaff:
    """The console's door (`/provider/`): provider staff (`provider_staff_of`);
    anyone else, partners' and customers' members included, gets the 404 of a
    page that does not exist."""
    staff = provider_staff_of(user=user)
    if staff is None:
        raise Http404(_("Not found."))
    return staff


def provider_console_user(*, user: User) -> Tenant:
    """The provider organization, for its console: `provider_console_access`."""
    return provider_console_access(user=user).provider


def org_as_first_owner(*, tenant: Tenant) -> OrgContext | None:
    """The organization as its earliest owner sees it (a webhook endpoint's
    view, the operators' MRR check): None without an owner. One query (the
    tenant given is the one the context holds)."""
    membership = (
        Membership.unscoped.filter(tenant=tenant, role=Role.OWNER)
        .select_related("user")
        .order_by("created_at", "pk")
        .first()
    )
    if membership is None:
        return None
    membership.tenant = tenant
    return OrgContext(tenant=tenant, user=membership.user, membership=membership)


def partner_seen_by_owners(*, partner: Tenant, user: User) -> OrgContext:
    """The partner as its owners see it, for provider staff reading its figures
    (book, programme, sub-tree): an owner's standing that exists only in memory
    (nothing is written), whoever of the provider's staff reads. Never for a
    write: services take the actor's own standing."""
    standing = Membership(tenant=partner, user=user, role=Role.OWNER)
    return OrgContext(tenant=partner, user=user, membership=standing)


def partners_list(*, q: str = "", status: str = "") -> QuerySet[Tenant]:
    """Every partner, for the provider console: by name, `q` in the name or
    slug, `status` active or suspended (anything else: all)."""
    partners = Tenant.objects.filter(kind=Tenant.Kind.PARTNER).select_related("parent")
    q = (q or "").strip()
    if q:
        partners = partners.filter(Q(name__icontains=q) | Q(slug__icontains=q))
    if status in Tenant.Status.values:
        partners = partners.filter(status=status)
    return partners.order_by("name", "id")


@dataclass(frozen=True)
class PartnerMovePlan:
    """What moving `partner` (and its whole branch) under `new_parent` changes in
    the tree: the parent, the sub-partners and customers that move with it, and
    the partners above it that stop and start counting its branch in their
    sub-tree figures. `digest` names the branch as it was read: a move commits
    only the branch its preview showed (`tenants.services.partner_move`)."""

    partner: Tenant
    old_parent: Tenant
    new_parent: Tenant
    sub_partners: int
    customers_below: int
    leaving: list[Tenant]
    joining: list[Tenant]
    digest: str


def partner_move_check(*, partner: Tenant, new_parent: Tenant) -> None:
    """Why `partner` may not hang under `new_parent`, as the form's error on
    `parent`: a customer, itself or one of its own sub-partners (a cycle), a
    suspended partner, or the parent it has."""
    if partner.kind != Tenant.Kind.PARTNER:
        raise ValidationError({"parent": _("Only a partner moves in the tree here.")})
    if new_parent.kind not in (Tenant.Kind.PARTNER, Tenant.Kind.PROVIDER):
        raise ValidationError(
            {"parent": _("A partner hangs under another partner or the provider.")}
        )
    if new_parent.path.startswith(partner.path):
        raise ValidationError(
            {
                "parent": _("%(partner)s cannot move under itself or one of its own sub-partners.")
                % {"partner": partner.name}
            }
        )
    if new_parent.status == Tenant.Status.SUSPENDED:
        raise ValidationError(
            {
                "parent": _(
                    "%(partner)s is suspended: reactivate it before moving partners under it."
                )
                % {"partner": new_parent.name}
            }
        )
    if new_parent.pk == partner.parent_id:
        raise ValidationError({"parent": _("The partner is there already.")})


def partner_move_plan(*, partner: Tenant, new_parent: Tenant) -> PartnerMovePlan:
    """The tree side of a move's preview (the figures are
    `subscriptions.branch_move.partner_move_preview`): refused as
    `partner_move_check` says, else what moves and who sees it differently."""
    partner_move_check(partner=partner, new_parent=new_parent)
    assert partner.parent_id is not None  # a partner always hangs somewhere (tenant_create)
    branch = list(
        tenant_descendants(tenant=partner).order_by("pk").values_list("pk", "kind", "parent_id")
    )
    above_now = [t for t in tenant_ancestors(tenant=partner) if t.is_partner]
    above_after = [t for t in [new_parent, *tenant_ancestors(tenant=new_parent)] if t.is_partner]
    now_ids = {t.pk for t in above_now}
    after_ids = {t.pk for t in above_after}
    digest = hashlib.sha256(
        repr((partner.pk, partner.parent_id, new_parent.pk, new_parent.path, branch)).encode()
    ).hexdigest()
    return PartnerMovePlan(
        partner=partner,
        old_parent=Tenant.objects.get(pk=partner.parent_id),
        new_parent=new_parent,
        sub_partners=sum(1 for _pk, kind, _parent in branch if kind == Tenant.Kind.PARTNER),
        customers_below=sum(1 for _pk, kind, _parent in branch if kind == Tenant.Kind.CUSTOMER),
        leaving=[t for t in above_now if t.pk not in after_ids],
        joining=[t for t in above_after if t.pk not in now_ids],
        digest=digest,
    )
