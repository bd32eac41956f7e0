"""Who may act on which customer: the one permission function every app uses.

SPEC §3: a partner user may act on customer C's product P only when their
partner has an active partnership with C, the partnership is full or lists P,
and the user is owner/admin or is assigned to C. Everything else behaves as if
C did not exist (404).
"""

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Exists,
    Expression,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Product
from core.exceptions import Conflict
from partners.models import Access, CustomerAssignment, Partnership, PartnershipEvent, Side
from tenants.branch_cache import KEEP, branch_cached
from tenants.models import Membership, Role, Tenant, User
from tenants.selectors import OrgContext, uuid_or_404

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise, StrPromise

NOT_FOUND = gettext_lazy("No such customer.")


# --- "manages now": the one definition every read path uses (docs/security.md) ----------


def grants_active_now(*, today: datetime.date | None = None) -> QuerySet[Partnership]:
    """The grants that give access now: status active and an `ends_on` (the last
    day of access) that has not passed, compared in the query itself, so a grant
    past its end date gives nothing before the expiry job has marked it."""
    today = today or timezone.localdate()
    return Partnership.unscoped.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today), status=Partnership.Status.ACTIVE
    )


def grant_active_now(partnership: Partnership, *, today: datetime.date | None = None) -> bool:
    """`grants_active_now` for a row in hand (one read under a lock)."""
    today = today or timezone.localdate()
    return partnership.status == Partnership.Status.ACTIVE and (
        partnership.ends_on is None or partnership.ends_on >= today
    )


def managing_grants(
    *, partner: Tenant, subtree: bool = False, today: datetime.date | None = None
) -> QuerySet[Partnership]:
    """The grants active now of `partner`, or with `subtree` of it and of every
    partner below it (its sub-partners at any depth). Never by the customers'
    place in the tenant tree: `Tenant.parent` and `origin` give no access."""
    grants = grants_active_now(today=today)
    if subtree:
        return grants.filter(partner__path__startswith=partner.path)
    return grants.filter(partner=partner)


def manages_now(
    *,
    partner: Tenant,
    customer: Tenant | Expression | OuterRef | None = None,
    product: Product | Expression | OuterRef | None = None,
    subtree: bool = False,
    today: datetime.date | None = None,
) -> Exists:
    """A condition for `.filter()`: `partner` (with `subtree`, it or a partner
    below it) manages `customer` now, and, given `product`, that product: under
    a full grant every product, under a limited one those it lists.

    `customer` and `product` are an expression of the outer query (by default
    `OuterRef("pk")` for the customer, e.g. `OuterRef("customer")` and
    `OuterRef("product")` over subscriptions) or a value (a tenant, a product)."""
    grants = managing_grants(partner=partner, subtree=subtree, today=today).filter(
        customer=OuterRef("pk") if customer is None else customer  # type: ignore[misc]  # the stubs take no expression for a foreign key lookup
    )
    if product is not None:
        grants = grants.filter(Q(access=Access.FULL) | Q(products=product))
    return Exists(grants)


def customers_managed_now(
    *,
    partner: Tenant,
    product: Product | None = None,
    subtree: bool = False,
    today: datetime.date | None = None,
) -> QuerySet[Tenant]:
    """The customers `partner` (with `subtree`, it or its sub-partners) manages now
    (for `product`, when given), whoever the user is: the book's sub-tree, a
    sub-partner's smart list. A user's view is `customers_visible_to`."""
    managed = manages_now(partner=partner, product=product, subtree=subtree, today=today)
    return Tenant.objects.filter(managed, kind=Tenant.Kind.CUSTOMER)


def customers_managed_count(*, partner: Tenant, subtree: bool = False) -> int:
    """`customers_managed_now(partner=partner, subtree=subtree).count()`, cached
    as `customers_visible_count` is: until a partnership or tenant of the branch
    changes (subscriptions.book_cache) or the day does (a grant's `ends_on`
    passes with no write). The dashboard's tree count walks every grant of the
    sub-tree (86 ms at 100,000 customers, bench/pages.py)."""
    today = timezone.localdate()

    def count() -> int:
        return customers_managed_now(partner=partner, subtree=subtree, today=today).count()

    key = ("customers_managed_count", partner.pk, subtree, today)
    # a write to customers' subscriptions or invoices does not change it
    return branch_cached(path=partner.path, key=key, compute=count, patch=KEEP)


def products_managed_now(
    *, partner: Tenant, subtree: bool = False, today: datetime.date | None = None
) -> QuerySet[Product]:
    """The active products `partner` (with `subtree`, it or a partner below it)
    manages for some customer now: every one while a full grant is among its
    grants, else those its limited grants list (a smart list's product choices)."""
    grants = managing_grants(partner=partner, subtree=subtree, today=today)
    return Product.objects.filter(is_active=True).filter(
        Exists(grants.filter(access=Access.FULL)) | Exists(grants.filter(products=OuterRef("pk")))
    )


_Rows = TypeVar("_Rows", bound=QuerySet)


def assigned_only(org: OrgContext, qs: _Rows, customer_field: str) -> _Rows:
    """The one visibility rule of a partner's members: owners and admins see all
    of the partner's customers; a collaborator only the customers assigned to
    them. `customer_field` names the customer in `qs` ("pk" for customers)."""
    if org.has_role(Role.ADMIN):
        return qs
    assigned = CustomerAssignment.unscoped.filter(
        partner=org.tenant, user=org.user, customer=OuterRef(customer_field)
    )
    return qs.filter(Exists(assigned))


def customers_visible_to(
    *, org: OrgContext, product: Product | None = None, today: datetime.date | None = None
) -> QuerySet[Tenant]:
    """The customers this partner user may see and act on (for `product`, when
    given): managed now by its partner, and assigned to a collaborator."""
    if not org.tenant.is_partner:
        return Tenant.objects.none()
    customers = customers_managed_now(partner=org.tenant, product=product, today=today)
    return assigned_only(org, customers, "pk")


def customers_visible_count(*, org: OrgContext) -> int:
    """`customers_visible_to(org=org).count()`, exactly, in less work.

    An owner or admin sees every customer tenant the partner has a grant active
    now for, and a partner has at most one live partnership per customer (the
    unique index partnership_one_live_per_pair): so the count is the grants
    active now less those whose customer is no customer tenant. Both come off
    indexes (partnership_partner_customers, tenant_not_customer_id) in one
    query, plus each grant's `ends_on` (not in the index: read from the row),
    where counting the tenants walks every customer and every grant (bench: the
    customer list API), and cached until a partnership or tenant of the branch
    changes (subscriptions.book_cache) or the day does (a grant's `ends_on`
    passes with no write). Anyone else: the plain count."""
    if not org.tenant.is_partner or not org.has_role(Role.ADMIN):
        return customers_visible_to(org=org).count()
    today = timezone.localdate()

    def count() -> int:
        grants = managing_grants(partner=org.tenant, today=today).order_by().values("customer")
        others = grants.exclude(customer__kind=Tenant.Kind.CUSTOMER)
        grants_n, others_n = (
            Tenant.objects.filter(pk=org.tenant.pk)
            .annotate(grants_n=_SubqueryCount(grants), others_n=_SubqueryCount(others))
            .values_list("grants_n", "others_n")
            .get()
        )
        return grants_n - others_n

    key = ("customers_visible_count", org.tenant.pk, today)
    # a write to customers' subscriptions or invoices does not change it
    return branch_cached(path=org.tenant.path, key=key, compute=count, patch=KEEP)


class _SubqueryCount(Subquery):
    """COUNT(*) of a subquery's rows (no GROUP BY: an index-only count)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()


def partner_may_act_on(
    *, org: OrgContext, customer: Tenant, product: Product | None = None
) -> bool:
    return customers_visible_to(org=org, product=product).filter(pk=customer.pk).exists()


def customer_get_for_partner(
    *, org: OrgContext, customer_id: object, product: Product | None = None
) -> Tenant:
    """The customer, if this partner user may act on it (and on `product`); else 404."""
    customer_id = uuid_or_404(customer_id, str(NOT_FOUND))
    customer = customers_visible_to(org=org, product=product).filter(pk=customer_id).first()
    if customer is None:
        raise Http404(str(NOT_FOUND))
    return customer


def managing_partnership(
    *, customer: Tenant, product: Product, partner: Tenant | None = None, lock: bool = False
) -> Partnership | None:
    """The partnership that manages `product` for `customer` now (of `partner`,
    when given): the full one, else the oldest limited one that lists the product.
    `lock` holds the row, so a payment change waits for the order that reads it."""
    today = timezone.localdate()
    grants = (
        grants_active_now(today=today)
        .filter(customer=customer)
        .filter(Q(access=Access.FULL) | Q(products=product))
    )
    if partner is not None:
        grants = grants.filter(partner=partner)
    # "full" sorts before "limited"; among limited grants, the oldest wins.
    chosen = (
        grants.order_by("access", "activated_at", "created_at").values_list("pk", flat=True).first()
    )
    if chosen is None:
        return None
    rows = Partnership.unscoped.select_related("partner")
    if lock:
        rows = rows.select_for_update(of=("self",))
    partnership = rows.get(pk=chosen)  # read again once locked: it may have ended meanwhile
    return partnership if grant_active_now(partnership, today=today) else None


class ManagingGrants:
    """A customer's grants active now read once (two queries), answering
    `managing_partnership` for any number of its products without more: the
    full grant, else the oldest limited one that lists the product."""

    def __init__(self, customer: Tenant):
        self.grants = list(
            grants_active_now()
            .filter(customer=customer)
            .select_related("partner")
            .prefetch_related("products")
            .order_by("access", "activated_at", "created_at")
        )

    def for_product(self, product: Product) -> Partnership | None:
        for grant in self.grants:
            if grant.access == Access.FULL or product in grant.products.all():
                return grant
        return None


def partnerships_for(*, org: OrgContext) -> QuerySet[Partnership]:
    """Every partnership the organization is a side of (history included).

    Partner collaborators see only those of customers assigned to them.
    """
    tenant = org.tenant
    qs = Partnership.unscoped.select_related("partner", "customer", "invited_by").prefetch_related(
        Prefetch("products", queryset=Product.objects.order_by("code"))
    )
    if tenant.is_customer:
        return qs.filter(customer=tenant)
    if not tenant.is_partner:
        return qs.none()
    return assigned_only(org, qs.filter(partner=tenant), "customer")


def partnership_get(*, org: OrgContext, partnership_id: object) -> Partnership:
    partnership_id = uuid_or_404(partnership_id, _("No such partnership."))
    partnership = partnerships_for(org=org).filter(pk=partnership_id).first()
    if partnership is None:
        raise Http404(_("No such partnership."))
    return partnership


def partnership_history(*, partnership: Partnership) -> QuerySet[PartnershipEvent]:
    return partnership.events.select_related("actor").order_by("at")


INVITATION_SALT = "partners.invitation"


def invitation_token(partnership: Partnership) -> str:
    """The signed token of the partnership's current invitation link."""
    return signing.dumps(
        {"p": str(partnership.pk), "n": partnership.invitation_nonce}, salt=INVITATION_SALT
    )


def partnership_for_invitation(*, token: str, email: str | None) -> Partnership | None:
    """The partnership behind a live invitation link for `email`, else None: a
    pending one, or an unclaimed customer's active one sent to its new owner.

    Tampered, expired, superseded (resent), answered, cancelled and wrong-account
    links all give None, so the caller answers them all alike.
    """
    if not token or len(token) > 500:
        return None
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=settings.INVITATION_MAX_AGE_DAYS * 86400
        )
        partnership_id, nonce = uuid.UUID(payload["p"]), payload["n"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    partnership = (
        Partnership.unscoped.select_related("partner", "customer")
        .filter(pk=partnership_id, status__in=Partnership.LIVE_STATUSES)
        .exclude(invitation_nonce="")
        .first()
    )
    if partnership is None or not constant_time_compare(partnership.invitation_nonce, nonce):
        return None
    if (
        partnership.invitation_expires_at is None
        or partnership.invitation_expires_at <= timezone.now()
    ):
        return None
    if email is not None and partnership.invitation_email.lower() != email.lower():
        return None
    return partnership


def partner_directory(*, query: str = "") -> QuerySet[Tenant]:
    """Partners listed in the directory, searchable by name and owner email."""
    qs = Tenant.objects.filter(
        kind=Tenant.Kind.PARTNER, listed_in_directory=True, status=Tenant.Status.ACTIVE
    )
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(name__icontains=query)
            | Q(memberships__role=Role.OWNER, memberships__user__email__iexact=query)
            | Q(branding__support_email__iexact=query)
        ).distinct()
    return qs.order_by("name")


def directory_partner_get(*, partner_id: object) -> Tenant:
    partner_id = uuid_or_404(partner_id, _("No such partner."))
    partner = partner_directory().filter(pk=partner_id).first()
    if partner is None:
        raise Http404(_("No such partner."))
    return partner


def assigned_collaborators(*, org: OrgContext, customer: Tenant) -> QuerySet[CustomerAssignment]:
    return CustomerAssignment.unscoped.filter(partner=org.tenant, customer=customer).select_related(
        "user"
    )


def partnerships_due_to_expire(*, today: datetime.date) -> QuerySet[Partnership]:
    return Partnership.unscoped.filter(status=Partnership.Status.ACTIVE, ends_on__lt=today)


def invitations_past_expiry(*, now: datetime.datetime) -> QuerySet[Partnership]:
    return Partnership.unscoped.filter(
        status=Partnership.Status.PENDING, invitation_expires_at__lte=now
    )


def partnerships_ending_on(*, day: datetime.date) -> list[uuid.UUID]:
    return list(
        Partnership.unscoped.filter(status=Partnership.Status.ACTIVE, ends_on=day).values_list(
            "pk", flat=True
        )
    )


# --- who may take which action on a partnership ------------------------------------


@dataclass(frozen=True)
class ActionRule:
    side: str  # "invited", "inviting", "partner", "customer" or "either"
    role: str
    statuses: tuple[str, ...]
    when: Callable[[Partnership], bool] | None = None
    refused: "StrOrPromise" = ""  # why not, when `when` says no (translated: gettext_lazy)


PARTNERSHIP_ACTIONS = {
    # An unclaimed customer's grant is active before its owner has reviewed it:
    # the owner answers it like an invitation (SPEC §3).
    "accept": ActionRule(
        "invited",
        Role.OWNER,
        (Partnership.Status.PENDING, Partnership.Status.ACTIVE),
        when=lambda p: p.awaits_answer,
        refused=gettext_lazy("There is nothing to answer."),
    ),
    "decline": ActionRule(
        "invited",
        Role.OWNER,
        (Partnership.Status.PENDING, Partnership.Status.ACTIVE),
        when=lambda p: p.awaits_answer,
        refused=gettext_lazy("There is nothing to answer."),
    ),
    "resend": ActionRule(
        "inviting",
        Role.OWNER,
        (Partnership.Status.PENDING, Partnership.Status.ACTIVE),
        when=lambda p: p.awaits_answer,
        refused=gettext_lazy("There is no invitation to send again."),
    ),
    "cancel": ActionRule("inviting", Role.OWNER, (Partnership.Status.PENDING,)),
    "change": ActionRule("customer", Role.OWNER, (Partnership.Status.ACTIVE,)),
    "invite_owner": ActionRule(
        "partner",
        Role.OWNER,
        (Partnership.Status.ACTIVE,),
        when=lambda p: not p.awaits_answer and not _has_owner(p.customer_id),
        refused=gettext_lazy("This customer already has an owner, or one is invited."),
    ),
    "end": ActionRule("either", Role.OWNER, (Partnership.Status.ACTIVE,)),
    "request_extension": ActionRule(
        "partner",
        Role.ADMIN,
        (Partnership.Status.ACTIVE,),
        when=lambda p: p.ends_on is not None,
        refused=gettext_lazy("This partnership has no end date to extend."),
    ),
    "approve_extension": ActionRule(
        "customer",
        Role.OWNER,
        (Partnership.Status.ACTIVE,),
        when=lambda p: p.extension_requested_until is not None,
        refused=gettext_lazy("No extension was asked for."),
    ),
}


def _has_owner(customer_id: uuid.UUID) -> bool:
    return Membership.unscoped.filter(tenant_id=customer_id, role=Role.OWNER).exists()


def _side_matches(rule: ActionRule, partnership: Partnership, side: str | None) -> bool:
    wanted = {
        "invited": partnership.invited_side,
        "inviting": partnership.initiated_by,
        "partner": Side.PARTNER,
        "customer": Side.CUSTOMER,
    }.get(rule.side)
    return side is not None and (rule.side == "either" or side == wanted)


def partnership_check(*, org: OrgContext, partnership: Partnership, action: str) -> None:
    """Raise why `org` may not take `action` now: PermissionDenied for the wrong
    side or role (403), Conflict for the partnership's state (409)."""
    rule = PARTNERSHIP_ACTIONS[action]
    if not _side_matches(rule, partnership, partnership.side_of(org.tenant)):
        raise PermissionDenied(_("The other side of this partnership does that."))
    if not org.has_role(rule.role):
        raise PermissionDenied(str(ROLE_NEEDED[rule.role]))
    if partnership.status_now not in rule.statuses:
        raise Conflict(status_conflict(partnership))
    if rule.when is not None and not rule.when(partnership):
        raise Conflict(str(rule.refused))


ROLE_NEEDED: "dict[str, StrPromise]" = {
    Role.OWNER: gettext_lazy("This needs the owner role."),
    Role.ADMIN: gettext_lazy("This needs the admin role."),
    Role.COLLABORATOR: gettext_lazy("This needs the collaborator role."),
    Role.USER: gettext_lazy("This needs the user role."),
}

STATUS_CONFLICTS: "dict[str, StrPromise]" = {
    Partnership.Status.PENDING: gettext_lazy(
        "This partnership is pending; that is not possible now."
    ),
    Partnership.Status.ACTIVE: gettext_lazy(
        "This partnership is active; that is not possible now."
    ),
    Partnership.Status.DECLINED: gettext_lazy(
        "This partnership is declined; that is not possible now."
    ),
    Partnership.Status.CANCELLED: gettext_lazy(
        "This partnership is cancelled; that is not possible now."
    ),
    Partnership.Status.EXPIRED: gettext_lazy(
        "This partnership is expired; that is not possible now."
    ),
    Partnership.Status.ENDED: gettext_lazy("This partnership is ended; that is not possible now."),
}


def status_conflict(partnership: Partnership) -> str:
    """Why a partnership's status, judged now, forbids an action (the 409's message)."""
    status = partnership.status_now
    if status == Partnership.Status.EXPIRED and partnership.status == Partnership.Status.PENDING:
        return str(INVITATION_EXPIRED)
    return str(STATUS_CONFLICTS[status])


INVITATION_EXPIRED = gettext_lazy("This invitation has expired.")


def partnership_actions(*, org: OrgContext, partnership: Partnership) -> list[str]:
    """The actions `org` may take on the partnership now (for pages and the API)."""
    allowed = []
    for action in PARTNERSHIP_ACTIONS:
        try:
            partnership_check(org=org, partnership=partnership, action=action)
        except (PermissionDenied, Conflict):
            continue
        allowed.append(action)
    return allowed


def partnerships_awaiting_answer(*, org: OrgContext) -> QuerySet[Partnership]:
    """Invitations not answered yet, sent or received: pending ones, and active
    grants that a newly invited owner is to review."""
    return partnerships_for(org=org).filter(
        Q(status=Partnership.Status.PENDING)
        | (Q(status=Partnership.Status.ACTIVE) & ~Q(invitation_nonce=""))
    )


def partner_collaborators(partner: Tenant) -> QuerySet[User]:
    """The partner's collaborators, whom owners and admins assign to customers."""
    return User.objects.filter(
        memberships__tenant=partner, memberships__role=Role.COLLABORATOR
    ).order_by("email")


def invitation_invitee(partnership: Partnership) -> User | None:
    """The account an invitation was sent to (None: no such account)."""
    return User.objects.filter(email__iexact=partnership.invitation_email).first()
