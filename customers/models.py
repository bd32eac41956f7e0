"""What a partner records about the customers it manages (SPEC §2, Atera):
contracts, SLA policies, alert profiles and the service profile per customer
(the bulk import's jobs live in `imports`). Moved from `partners` (issue 19): the
tables keep their names (`db_table`), rows and all."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant
from tenants.scoping import Scope, TenantScopedQuerySet


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
