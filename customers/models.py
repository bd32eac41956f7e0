"""What a partner records about the customers it manages (SPEC §2, Atera):
contracts, SLA policies, alert profiles and the service profile per customer
(the bulk import's jobs live in `imports`). Moved from `partners` (issue 19): the
tables keep their names (`db_table`), rows and all."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.scoping import Scope, TenantScopedQuerySet
from tenants.models import Tenant


class Contract(models.Model):
    """A partner's contract with a customer (Atera: "a contract defines how, when
    and how much the customer is invoiced"); each type asks for its own terms
    (CONTRACT_AMOUNTS, optional ones CONTRACT_OPTIONAL), in the customer's
    currency. The columns hold the terms as last set; `ContractTerms` keeps every
    version with the day it takes effect, and billing reads those
    (customers/contract_billing.py, docs/partner-billing.md)."""

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
    unit_price = models.DecimalField(
        _("price per unit and month"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    quantity = models.DecimalField(
        _("units counted (devices or GB)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    bills_on = models.DateField(
        _("billing date"),
        null=True,
        blank=True,
        help_text=_("A one-time project is billed in the month of this day (its start if empty)."),
    )
    warning_threshold = models.DecimalField(
        _("warn when the balance falls below"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    below_threshold = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("The block's balance is below its warning threshold and the warning went out."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("partner", "customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_contract"
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

    @property
    def is_block(self) -> bool:
        return self.type in BLOCK_TYPES

    @property
    def bills_time(self) -> bool:
        return self.type in TIME_TYPES


# Which terms each contract type asks for (required, above zero); the others stay empty.
CONTRACT_AMOUNTS: dict[str, tuple[str, ...]] = {
    Contract.Type.RETAINER: ("fee",),
    Contract.Type.HOURLY: ("hourly_rate",),
    Contract.Type.BLOCK_OF_HOURS: ("hours", "amount"),
    Contract.Type.BLOCK_OF_MONEY: ("amount", "hourly_rate"),
    Contract.Type.REMOTE_MONITORING: ("unit_price", "quantity"),
    Contract.Type.ONLINE_BACKUP: ("unit_price", "quantity"),
    Contract.Type.PROJECT_ONE_TIME: ("amount",),
    Contract.Type.PROJECT_HOURLY: ("hourly_rate",),
}
# The terms a type may have but need not: a block's overage rate (block of hours:
# its own price per hour when empty) and warning threshold; a project's billing date.
CONTRACT_OPTIONAL: dict[str, tuple[str, ...]] = {
    Contract.Type.BLOCK_OF_HOURS: ("hourly_rate", "warning_threshold"),
    Contract.Type.BLOCK_OF_MONEY: ("warning_threshold",),
    Contract.Type.PROJECT_ONE_TIME: ("bills_on",),
}
CONTRACT_AMOUNT_FIELDS = (
    "fee",
    "hourly_rate",
    "hours",
    "amount",
    "unit_price",
    "quantity",
    "warning_threshold",
)
CONTRACT_TERM_FIELDS = (*CONTRACT_AMOUNT_FIELDS, "bills_on")
# The terms that bill per period: a change applies from the next period (ContractTerms).
VERSIONED_TERMS = ("fee", "hourly_rate", "unit_price", "quantity", "amount")
BLOCK_TYPES = frozenset({Contract.Type.BLOCK_OF_HOURS, Contract.Type.BLOCK_OF_MONEY})
TIME_TYPES = frozenset(
    {
        Contract.Type.HOURLY,
        Contract.Type.PROJECT_HOURLY,
        Contract.Type.BLOCK_OF_HOURS,
        Contract.Type.BLOCK_OF_MONEY,
    }
)


class ContractTerms(models.Model):
    """One version of a contract's billing terms, in effect from `effective_from`
    until the next version's. A change made during a month takes effect on the
    first of the next month (a contract that has not started yet: at its start),
    so a past period always bills at the terms it had; two changes in one month
    leave one pending version (the last)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="terms")
    effective_from = models.DateField()
    fee = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    hourly_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("contract__partner", "contract__customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["contract", "effective_from"]
        verbose_name_plural = _("contract terms")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "effective_from"], name="contract_terms_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"Terms of {self.contract_id} from {self.effective_from}"


class TimeEntry(models.Model):
    """Time worked under an hourly, project-hourly or prepaid-block contract."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="time_entries")
    date = models.DateField()
    hours = models.DecimalField(max_digits=4, decimal_places=2)
    description = models.CharField(max_length=500, blank=True)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("contract__partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-date", "-created_at"]
        verbose_name_plural = _("time entries")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0, hours__lte=24), name="time_entry_hours_in_a_day"
            ),
        ]
        indexes = [models.Index(fields=["contract", "date"], name="time_entry_contract_date")]

    def __str__(self) -> str:
        return f"{self.hours} h on {self.date}"


class ContractTopUp(models.Model):
    """Prepaid time or money added to a block (the first block is the contract's
    own `hours`/`amount`); billed in the period of its date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="top_ups")
    date = models.DateField()
    hours = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("contract__partner", "contract__customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-date", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0)
                & (models.Q(hours__isnull=True) | models.Q(hours__gt=0)),
                name="contract_top_up_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Top-up of {self.contract_id} on {self.date}"


class SlaPolicy(models.Model):
    """A partner's service-level agreement: first response and resolution targets."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(max_length=100)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_slapolicy"
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

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_alertprofile"
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

    tenant_scope = Scope(owners=("partner", "customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_serviceprofile"
        constraints = [
            models.UniqueConstraint(fields=["partner", "customer"], name="service_profile_unique"),
        ]

    def __str__(self) -> str:
        return f"Service profile of {self.customer} by {self.partner}"
