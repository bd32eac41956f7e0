"""The tenancy core: users, organizations (tenants) in a tree, memberships,
contacts, branding, API tokens and the audit log. This app imports no other
domain app."""

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.scoping import Scope, TenantScopedQuerySet
from tenants.vat_numbers import vat_number_clean

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

PATH_SEPARATOR = "/"
DEFAULT_DISCOUNT_RATE = Decimal("0.20")
MAX_DISCOUNT_RATE = Decimal("0.35")
DEFAULT_PAYMENT_TERMS_DAYS = 30
MAX_PAYMENT_TERMS_DAYS = 365


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login; the same person may belong to several tenants."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Platform staff: Django admin and catalog."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The language of pages and emails (docs/i18n.md); blank follows the browser.
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Tenant(models.Model):
    """An organization: the provider root, a partner or a customer.

    `path` is a materialized path of ancestor ids ("<root>/<partner>/<self>/"), so
    all descendants at any depth are one indexed prefix query (selectors.py).
    A customer's parent is its home partner; a partner's is the partner above it
    or the provider root.
    """

    class Kind(models.TextChoices):
        PROVIDER = "provider", _("Provider")
        PARTNER = "partner", _("Partner")
        CUSTOMER = "customer", _("Customer")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("organization status", "Active")
        SUSPENDED = "suspended", pgettext_lazy("organization status", "Suspended")

    class Currency(models.TextChoices):
        CHF = "CHF", "CHF"
        EUR = "EUR", "EUR"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    origin = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "The partner that created this customer; its home partner when no full access is granted."
        ),
    )
    path = models.CharField(max_length=1024, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.CHF)

    # Customer profile (SPEC §2): all optional but the name.
    rank = models.CharField(max_length=50, blank=True, help_text=_("Internal label, no effect."))
    email_domains = models.JSONField(default=list, blank=True)
    tax_id = models.CharField(_("company/tax id"), max_length=64, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code."))
    # Invoicing (SPEC §7 rev. 2 "Invoices people can use", docs/invoices.md).
    vat_number = models.CharField(
        _("VAT number"),
        max_length=32,
        blank=True,
        help_text=_(
            "Printed on invoices; an EU business with one is invoiced without VAT (reverse charge)."
        ),
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"),
        default=DEFAULT_PAYMENT_TERMS_DAYS,
        validators=[MaxValueValidator(MAX_PAYMENT_TERMS_DAYS)],
        help_text=_("An invoice to this organization is due this many days after its date."),
    )

    # Partner listing (SPEC §3) and commercial terms (SPEC §7).
    website = models.URLField(blank=True)
    specialities = models.JSONField(default=list, blank=True)
    listed_in_directory = models.BooleanField(default=False)
    receives_tenders = models.BooleanField(default=False)
    discount_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=DEFAULT_DISCOUNT_RATE,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_DISCOUNT_RATE)],
        help_text=_("Partner discount on public prices, 0.20 by default, at most 0.35."),
    )

    # Organization settings (API.md `organization/settings/`).
    subscriptions_enabled = models.BooleanField(
        default=True,
        help_text=_(
            "Off: subscription widgets, fields and smart-list filters are hidden for this "
            "organization's users; no data is deleted."
        ),
    )

    # Sign-in security (SPEC §1 rev. 2, tenants.mfa): the owner requires
    # two-factor authentication of every member. Partners and the provider
    # require it anyway while MFA_REQUIRED_FOR_PARTNERS is on.
    mfa_required = models.BooleanField(
        default=False,
        help_text=_("Every member must sign in with a second factor."),
    )

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="tenant_sync"),
            models.Index(
                fields=["path"], name="tenant_path_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["parent", "kind", "name"], name="tenant_parent_kind_name"),
            models.Index(Lower("name"), name="tenant_name_ci"),
            # The customer list's default order (name, then id) walks this index
            # and stops after one page instead of sorting every customer.
            models.Index(
                fields=["name", "id"],
                condition=models.Q(kind="customer"),
                name="tenant_customer_name",
            ),
            # The customers in id order: with partnership_partner_customers,
            # the customer list's count is a merge of two index-only scans
            # instead of a hash of every grant (bench: the API's throughput).
            models.Index(
                fields=["id"], condition=models.Q(kind="customer"), name="tenant_customer_id"
            ),
            # The few tenants that are no customers (partners.selectors.
            # customers_visible_count subtracts their grants).
            models.Index(
                fields=["id"], condition=~models.Q(kind="customer"), name="tenant_not_customer_id"
            ),
            # The dashboard's newest customers: walked backwards, it stops after
            # ten instead of sorting the book (bench: the dashboard, 12 -> 0.1 ms).
            models.Index(
                fields=["created_at"],
                condition=models.Q(kind="customer"),
                name="tenant_customer_created",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount_rate__gte=0)
                & models.Q(discount_rate__lte=MAX_DISCOUNT_RATE),
                name="tenant_discount_rate_range",
            ),
            models.CheckConstraint(
                condition=models.Q(payment_terms_days__lte=MAX_PAYMENT_TERMS_DAYS),
                name="tenant_payment_terms_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="provider") | models.Q(parent__isnull=True),
                name="tenant_provider_is_root",
            ),
            # One provider root per install (SPEC §2 "Operator set-up"):
            # `manage.py setup_platform` creates it, and a second can never be.
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(kind="provider"), name="tenant_one_provider"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_db(cls, db, field_names, values):  # type: ignore[no-untyped-def]  # Django's signature
        tenant = super().from_db(db, field_names, values)
        # The VAT number as read, with its country: `clean` checks it again
        # only once either changes (one stored before the check stays as it is).
        tenant._vat_as_read = (tenant.__dict__.get("vat_number"), tenant.__dict__.get("country"))
        return tenant

    def clean(self) -> None:
        """A new or changed VAT number (or country) is checked by the country
        and stored normalized (tenants.vat_numbers; a field error on
        `vat_number`)."""
        super().clean()
        if (self.vat_number, self.country) != getattr(self, "_vat_as_read", None):
            self.vat_number = vat_number_clean(self.vat_number, self.country)

    @property
    def is_partner(self) -> bool:
        return self.kind == self.Kind.PARTNER

    @property
    def is_customer(self) -> bool:
        return self.kind == self.Kind.CUSTOMER

    @property
    def ancestor_ids(self) -> list[uuid.UUID]:
        """Ids from the root down to the parent, read off the path (no query)."""
        return [
            uuid.UUID(part) for part in self.path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:-1]
        ]

    @staticmethod
    def build_path(parent: "Tenant | None", tenant_id: uuid.UUID) -> str:
        prefix = parent.path if parent is not None else ""
        return f"{prefix}{tenant_id.hex}{PATH_SEPARATOR}"


class Role(models.TextChoices):
    """Membership roles. Partners: owner/admin/collaborator; customers: owner/admin/user."""

    OWNER = "owner", _("Owner")
    ADMIN = "admin", pgettext_lazy("role", "Admin")
    COLLABORATOR = "collaborator", _("Collaborator")
    USER = "user", pgettext_lazy("role", "User")


# A role's name inside a sentence ("This needs the admin role"), lower case in English.
ROLE_IN_SENTENCE: "dict[str, StrPromise]" = {
    Role.OWNER: pgettext_lazy("role, inside a sentence", "owner"),
    Role.ADMIN: pgettext_lazy("role, inside a sentence", "admin"),
    Role.COLLABORATOR: pgettext_lazy("role, inside a sentence", "collaborator"),
    Role.USER: pgettext_lazy("role, inside a sentence", "user"),
}

# Roles are ordered: a permission names the lowest role it needs.
ROLE_RANK: dict[str, int] = {Role.OWNER: 30, Role.ADMIN: 20, Role.COLLABORATOR: 10, Role.USER: 10}
ROLES_BY_KIND: dict[str, tuple[Role, ...]] = {
    Tenant.Kind.PROVIDER: (Role.OWNER, Role.ADMIN, Role.COLLABORATOR),
    Tenant.Kind.PARTNER: (Role.OWNER, Role.ADMIN, Role.COLLABORATOR),
    Tenant.Kind.CUSTOMER: (Role.OWNER, Role.ADMIN, Role.USER),
}


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    buyer = models.BooleanField(default=False, help_text=_("May this person buy?"))
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["tenant__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="membership_user_tenant_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.tenant} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]


class Contact(models.Model):
    """A person at a customer; need not be a user. Exactly one primary per customer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("customer",), customer="customer")
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-is_primary", "last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_primary=True),
                name="contact_one_primary_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #rrggbb."))


def validate_https(value: str) -> None:
    if value and not value.lower().startswith("https://"):
        raise ValidationError(gettext("The Buy URL must start with https://."))


class Branding(models.Model):
    """A tenant's own branding. Empty fields inherit from the nearest ancestor
    (selectors.branding_effective)."""

    INHERITED_FIELDS = ("display_name", "support_email", "support_phone", "accent_color", "buy_url")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="branding")
    display_name = models.CharField(max_length=200, blank=True)
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    accent_color = models.CharField(max_length=7, blank=True, validators=[hex_colour])
    buy_url = models.URLField(blank=True, max_length=500, validators=[validate_https])
    # The logo lives in the database (a few hundred KB at most), so every
    # deployment serves it the same way, without a media store.
    logo = models.BinaryField(blank=True, default=b"")
    logo_type = models.CharField(max_length=32, blank=True, help_text=_("Its content type."))
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        verbose_name_plural = _("branding")

    def __str__(self) -> str:
        return gettext("Branding of %(organization)s") % {"organization": self.tenant}


class ApiToken(models.Model):
    """A bearer token acting as its user inside one tenant. Only a SHA-256 of the
    token is stored; the token itself is shown once, at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text=_("The first characters, to recognise it."))
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Not a column: the membership `tenants.selectors.api_token_authenticate` reads along.
    membership: Membership

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class OutboundEmail(models.Model):
    """The outbox: one row per email the portal means to send.

    `key` names the event ("membership-invitation:<id>"), so queueing the same
    event twice is a no-op; the delivery task sends a row only while it is
    `pending`, so a redelivered task sends nothing twice; a beat job re-enqueues
    rows left pending (a broker outage loses nothing).

    A row queued with a `renderer` (an order's invoice email) is written with
    what rendering needs, not the text: the renderer's name, its `params` (ids)
    and the recipient's `language`. The delivery renders it, under the row's
    lock, and keeps the text on the row (tenants.emails, `email_deliver`), so
    the order's transaction does not pay for templates.
    """

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("email status", "Pending")
        SENT = "sent", pgettext_lazy("email status", "Sent")
        FAILED = "failed", pgettext_lazy("email status", "Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # Rendered at delivery when `renderer` is set (empty texts until then).
    renderer = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbound_email_pending")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to} ({self.status})"


class BranchGeneration(models.Model):
    """A branch's generation in the database (`tenants.branch_cache`): every
    cached figure's key names it with the one in Redis. It is moved on only when
    retiring a branch's figures could not reach Redis, so that a figure stored
    before the outage is never read after it; a branch that never met one has
    no row."""

    branch = models.CharField(max_length=200, primary_key=True)
    token = models.UUIDField(default=uuid.uuid4)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.branch}: {self.token}"


class AppendOnlyQuerySet(models.QuerySet):
    """No bulk path around AppendOnly either: `.update()` and `.delete()` raise.
    (Deleting a user still empties `actor`: Django's collector goes through the
    base manager, not this one.)"""

    def update(self, **kwargs):
        raise ValueError(f"{self.model.append_only_rows()} cannot be edited.")

    def delete(self):
        raise ValueError(f"{self.model.append_only_rows()} cannot be deleted.")


class ScopedAppendOnlyQuerySet(TenantScopedQuerySet, AppendOnlyQuerySet):
    """The `objects` of a tenant-owned AppendOnly model: refuses to run unscoped
    (core.scoping), and scoped or not, refuses bulk update and delete."""


class AppendOnly(models.Model):
    """Rows written once: saving an existing row or deleting one raises, one by
    one or in bulk through the default manager. The one copy: the audit log, the
    grant history, invoices, the cashback ledger and the upsell switch's history
    all inherit it."""

    # How the errors name the rows (default: "<Model> rows").
    append_only_name: str = ""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{self.append_only_rows()} cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{self.append_only_rows()} cannot be deleted.")

    @classmethod
    def append_only_rows(cls) -> str:
        return cls.append_only_name or f"{cls.__name__} rows"


class AuditEvent(AppendOnly):
    """One security-relevant action in the log of the organization it belongs to
    (tenants/audit.py writes it; docs/security.md says what is logged). An action
    that concerns two organizations has a row in each one's log. Read by the
    organization's owners; never edited or deleted by the portal."""

    class Action(models.TextChoices):
        GRANT_REQUESTED = "grant.requested", _("Access requested")
        GRANT_OWNER_INVITED = "grant.owner_invited", _("Owner invited to review the access")
        GRANT_ACCEPTED = "grant.accepted", _("Access accepted")
        GRANT_ACCEPTED_WITH_CHANGES = (
            "grant.accepted_with_changes",
            _("Access accepted with changes"),
        )
        GRANT_DECLINED = "grant.declined", _("Access declined")
        GRANT_CANCELLED = "grant.cancelled", _("Access request cancelled")
        GRANT_RESENT = "grant.resent", _("Invitation resent")
        GRANT_CHANGED = "grant.changed", _("Access changed")
        GRANT_PAYMENT_CHANGED = "grant.payment_changed", _("Payment mode changed")
        GRANT_EXTENSION_REQUESTED = "grant.extension_requested", _("Extension requested")
        GRANT_EXTENDED = "grant.extended", _("Access extended")
        GRANT_ENDED = "grant.ended", _("Partnership ended")
        GRANT_EXPIRED = "grant.expired", _("Partnership expired")
        MEMBER_INVITED = "member.invited", _("Member invited")
        MEMBER_ROLE_CHANGED = "member.role_changed", _("Member's role changed")
        MEMBER_BUYER_CHANGED = "member.buyer_changed", _("Member's buyer flag changed")
        MEMBER_REMOVED = "member.removed", _("Member removed")
        TOKEN_CREATED = "token.created", _("API token created")
        TOKEN_REVOKED = "token.revoked", _("API token revoked")
        UPSELL_SWITCHED = "upsell.switched", _("Upsell switched")
        EXPORT_BILLING = "export.billing", _("Billing data exported")
        EXPORT_SMART_LIST = "export.smart_list", _("Smart list exported")
        TENANT_SUSPENDED = "tenant.suspended", _("Organization suspended")
        TENANT_REINSTATED = "tenant.reinstated", _("Organization reinstated")
        PARTNER_DISCOUNT_CHANGED = "partner.discount_changed", _("Partner discount changed")
        PAYMENT_TERMS_CHANGED = "tenant.payment_terms", _("Payment terms changed")
        INVOICING_CHANGED = "provider.invoicing", _("The provider's invoicing details changed")
        PARTNER_MOVED = "partner.moved", _("Partner moved in the tree")
        REAUTH_FAILED = "reauth.failed", _("Wrong password when confirming a sensitive action")
        ORDER_SPECIAL_PRICE = "order.special_price", _("Special price set by staff")
        PRODUCT_CREATED = "product.created", _("Product created")
        PRODUCT_CHANGED = "product.changed", _("Product changed")
        PRODUCT_DEACTIVATED = "product.deactivated", _("Product no longer sold")
        PRODUCT_REACTIVATED = "product.reactivated", _("Product sold again")
        TENDER_WITHDRAWN = "tender.withdrawn", _("Request for offers withdrawn by the platform")
        EXPORT_AUDIT = "export.audit", _("Audit log exported")
        MFA_POLICY_CHANGED = "tenant.mfa_policy", _("Two-factor requirement changed")
        MFA_RESET = "mfa.reset", _("Two-factor authentication reset by staff")
        SSO_CHANGED = "tenant.sso", _("Single sign-on changed")
        RESALE_PRICES_CHANGED = "resale.prices_changed", _("Resale prices changed")
        EXPORT_PARTNER_INVOICES = "export.partner_invoices", _("Partner invoices exported")
        CONTRACT_TERMS_CHANGED = "contract.terms_changed", _("Contract's billing terms changed")
        CONTRACT_TOPPED_UP = "contract.topped_up", _("Prepaid block topped up")
        CONTRACT_BLOCK_LOW = "contract.block_low", _("Prepaid block below its warning threshold")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.PROTECT,
        related_name="audit_events",
        help_text=_("The organization whose log this is."),
    )
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.EmailField(
        blank=True,
        help_text=_("The actor's email then: the log stays readable without the account."),
    )
    actor_tenant = models.ForeignKey(
        Tenant,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The organization the actor acted in; empty for the portal's own jobs."),
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=255, blank=True, help_text=_("What the action concerns."))
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-at"]
        indexes = [models.Index(fields=["tenant", "-at"], name="audit_event_tenant_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.target} ({self.at:%Y-%m-%d %H:%M})"


class SsoConnection(models.Model):
    """An organization's own OpenID Connect provider (issue 24, single sign-on).

    The client (issuer, client id, secret) lives in allauth's SocialApp row
    `app` (provider "openid_connect", its own provider_id), so allauth's
    openid_connect provider runs the flow; the email domains it answers for
    are SsoDomain rows (docs/security.md, "Single sign-on")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="sso")
    app = models.OneToOneField(
        "socialaccount.SocialApp", on_delete=models.PROTECT, related_name="sso_connection"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"

    def __str__(self) -> str:
        return f"SSO of {self.tenant}"


class SsoDomain(models.Model):
    """An email domain whose people sign in through one organization's provider:
    one organization per domain (unique)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sso_domains")
    domain = models.CharField(max_length=253, unique=True)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
