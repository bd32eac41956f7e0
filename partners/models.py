"""Partnerships: who may manage what, agreed by both sides (SPEC §3)."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from tenants.models import AppendOnly, Tenant, User


class Access(models.TextChoices):
    LIMITED = "limited", _("Limited (listed products)")
    FULL = "full", _("Full (the whole organization)")


class Payment(models.TextChoices):
    CUSTOMER = "customer", _("The customer pays")
    PARTNER = "partner", _("The partner pays")


class Side(models.TextChoices):
    PARTNER = "partner", _("Partner")
    CUSTOMER = "customer", _("Customer")


class Partnership(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACTIVE = "active", _("Active")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        ENDED = "ended", _("Ended")

    LIVE_STATUSES = (Status.PENDING, Status.ACTIVE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="partnerships_as_partner"
    )
    customer = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="partnerships_as_customer"
    )
    access = models.CharField(max_length=16, choices=Access.choices)
    payment = models.CharField(max_length=16, choices=Payment.choices, blank=True)
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    initiated_by = models.CharField(max_length=16, choices=Side.choices)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("What the inviting side asked for: access, payment, products."),
    )
    message = models.TextField(blank=True, max_length=2000)

    # The invitation link (partner → customer) is signed over (id, nonce): a resend
    # draws a new nonce, so the old link stops working; answering clears it.
    invitation_email = models.EmailField(blank=True)
    invitation_nonce = models.CharField(max_length=32, blank=True)
    invitation_expires_at = models.DateTimeField(null=True, blank=True)

    activated_at = models.DateTimeField(null=True, blank=True)
    ends_on = models.DateField(
        null=True, blank=True, help_text=_("Access stops by itself after this day.")
    )
    extension_requested_until = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.TextField(blank=True, max_length=2000)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(access="full", status="active"),
                name="partnership_one_full_per_customer",
            ),
            models.UniqueConstraint(
                fields=["partner", "customer"],
                condition=models.Q(status__in=["pending", "active"]),
                name="partnership_one_live_per_pair",
            ),
            models.CheckConstraint(
                condition=(models.Q(access="full") & ~models.Q(payment=""))
                | (models.Q(access="limited") & models.Q(payment="")),
                name="partnership_payment_iff_full",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "status"], name="partnership_partner_status"),
            # A partner's active customers in id order, from the index alone (the
            # customer list's count, with tenant_customer_id).
            models.Index(
                fields=["partner", "status", "customer"],
                name="partnership_partner_customers",
            ),
            models.Index(fields=["customer", "status"], name="partnership_customer_status"),
            models.Index(fields=["status", "ends_on"], name="partnership_status_ends_on"),
            # The few invitations awaiting an answer (partnerships_awaiting_answer),
            # found without reading a partner's every grant.
            models.Index(
                fields=["partner"],
                condition=models.Q(status="pending")
                | (models.Q(status="active") & ~models.Q(invitation_nonce="")),
                name="partnership_awaiting_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} ↔ {self.customer} ({self.access}, {self.status})"

    @property
    def is_full(self) -> bool:
        return self.access == Access.FULL

    @property
    def awaits_answer(self) -> bool:
        """Pending, or active but sent to a newly invited owner to review."""
        return self.status == self.Status.PENDING or (
            self.status == self.Status.ACTIVE and bool(self.invitation_nonce)
        )

    @property
    def invited_side(self) -> str:
        return Side.CUSTOMER if self.initiated_by == Side.PARTNER else Side.PARTNER

    def side_of(self, tenant: Tenant) -> str | None:
        if tenant.pk == self.partner_id:
            return Side.PARTNER
        if tenant.pk == self.customer_id:
            return Side.CUSTOMER
        return None


class PartnershipEvent(AppendOnly):
    """The history of a grant: who changed what, when, before and after.
    Append-only: rows are never updated or deleted by the portal."""

    append_only_name = "Partnership history"

    class Kind(models.TextChoices):
        CREATED = "created", _("Requested")
        OWNER_INVITED = "owner_invited", _("Owner invited to review")
        ACCEPTED = "accepted", _("Accepted")
        ACCEPTED_WITH_CHANGES = "accepted_with_changes", _("Accepted with changes")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")
        RESENT = "resent", _("Invitation resent")
        CHANGED = "changed", _("Access changed")
        PAYMENT_CHANGED = "payment_changed", _("Payment mode changed")
        EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
        EXTENDED = "extended", _("Extended")
        EXPIRED = "expired", _("Expired")
        ENDED = "ended", _("Ended")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partnership = models.ForeignKey(Partnership, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["partnership", "at"], name="partnership_event_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class CustomerAssignment(models.Model):
    """A partner collaborator assigned to a customer: they see and manage only these."""

    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="collaborator_assignments"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="customer_assignments")
    assigned_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "customer", "user"], name="assignment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.customer}"


# --- what a partner records about the customers it manages (SPEC §2, Atera) ---------


class Contract(models.Model):
    """A partner's contract with a customer; each type asks for its own amounts
    (CONTRACT_AMOUNTS), in the customer's currency."""

    class Type(models.TextChoices):
        RETAINER = "retainer", _("Retainer / flat fee")
        HOURLY = "hourly", _("Hourly")
        BLOCK_OF_HOURS = "block_of_hours", _("Block of hours")
        BLOCK_OF_MONEY = "block_of_money", _("Block of money")
        REMOTE_MONITORING = "remote_monitoring", _("Remote monitoring")
        ONLINE_BACKUP = "online_backup", _("Online backup")
        PROJECT_ONE_TIME = "project_one_time", _("Project, one-time cost")
        PROJECT_HOURLY = "project_hourly", _("Project, hourly rate")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contracts")
    type = models.CharField(max_length=32, choices=Type.choices)
    name = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    fee = models.DecimalField(
        _("monthly fee"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    hourly_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    hours = models.DecimalField(
        _("hours in the block"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gt=models.F("starts_on")),
                name="contract_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["partner", "customer"], name="contract_partner_customer")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_type_display()})"


# Which amounts each contract type asks for; the others stay empty.
CONTRACT_AMOUNTS: dict[str, tuple[str, ...]] = {
    Contract.Type.RETAINER: ("fee",),
    Contract.Type.HOURLY: ("hourly_rate",),
    Contract.Type.BLOCK_OF_HOURS: ("hours", "amount"),
    Contract.Type.BLOCK_OF_MONEY: ("amount",),
    Contract.Type.REMOTE_MONITORING: ("fee",),
    Contract.Type.ONLINE_BACKUP: ("fee",),
    Contract.Type.PROJECT_ONE_TIME: ("amount",),
    Contract.Type.PROJECT_HOURLY: ("hourly_rate",),
}
CONTRACT_AMOUNT_FIELDS = ("fee", "hourly_rate", "hours", "amount")


class SlaPolicy(models.Model):
    """A partner's service-level agreement: first response and resolution targets."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(max_length=100)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="sla_policy_name_unique"),
            models.CheckConstraint(
                condition=models.Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="sla_resolution_after_response",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertProfile(models.Model):
    """A partner's alert-threshold profile: when a customer's machines raise alerts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_profiles")
    name = models.CharField(max_length=100)
    cpu_percent = models.PositiveSmallIntegerField(default=90)
    memory_percent = models.PositiveSmallIntegerField(default=90)
    disk_percent = models.PositiveSmallIntegerField(default=90)
    offline_minutes = models.PositiveIntegerField(default=15)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="alert_profile_name_unique"),
            models.CheckConstraint(
                condition=models.Q(
                    cpu_percent__lte=100, memory_percent__lte=100, disk_percent__lte=100
                ),
                name="alert_profile_percentages",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceProfile(models.Model):
    """How a partner serves one customer: its SLA and alert thresholds."""

    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="service_profiles")
    sla = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alert_profile = models.ForeignKey(
        AlertProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "customer"], name="service_profile_unique"),
        ]

    def __str__(self) -> str:
        return f"Service profile of {self.customer} by {self.partner}"


# --- bulk import of customers and contacts (SPEC §2) -----------------------------------


class ImportJob(models.Model):
    """A large import written by a Celery task (partners.imports). The file is
    validated before the job is saved; the task writes it in one transaction and
    reports `processed` as it goes. The content is dropped once the job ends."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONTACTS = "contacts", _("Contacts")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    content = models.TextField(blank=True, help_text=_("The CSV as uploaded, decoded."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text=_("Data rows in the file."))
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    errors = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The report [{row, column, message}] of a failed run."),
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["partner", "created_at"], name="import_job_partner_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import of {self.partner} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return min(100, self.processed * 100 // self.total) if self.total else 0
