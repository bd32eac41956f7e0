"""Upsell (SPEC §5, Acronis' management portal): the per-customer switch and its
history, what customers looked at and clicked, and their requests to their
partner ("Ask my partner")."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import Feature, Product
from subscriptions.models import Subscription
from tenants.models import AppendOnly, AppendOnlyQuerySet, ScopedAppendOnlyQuerySet, Tenant, User
from tenants.scoping import Scope, TenantScopedQuerySet


class UpsellSwitch(models.Model):
    """Upsell for one customer: off by default (no row = off)."""

    customer = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="upsell")
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    tenant_scope = Scope(owners=("customer",), customer="customer")
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        verbose_name_plural = "upsell switches"  # not Django's "switchs"

    def __str__(self) -> str:
        return f"Upsell {'on' if self.enabled else 'off'} for {self.customer}"


class UpsellChange(AppendOnly):
    """Who switched upsell on or off for a customer, and when (never edited)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="upsell_changes")
    enabled = models.BooleanField()
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acting_for = models.ForeignKey(
        Tenant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The organization the actor acted in (the partner), or empty for staff."),
    )
    at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("customer",), customer="customer")
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-at"]
        indexes = [models.Index(fields=["customer", "-at"], name="upsell_change_customer_at")]

    def __str__(self) -> str:
        return f"{'on' if self.enabled else 'off'} at {self.at:%Y-%m-%d %H:%M}"


class FeatureInterest(models.Model):
    """A customer member looked at a locked feature, clicked Buy now, or asked
    the partner: what the partner sees per customer, and the clicks it counts."""

    class Kind(models.TextChoices):
        VIEWED = "viewed", _("Looked at")
        CLICKED = "clicked", _("Clicked Buy now")
        ASKED = "asked", _("Asked the partner")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(
        Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    current_product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    recommended_product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("customer", "partner"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["partner", "customer", "-at"], name="interest_partner_customer"),
            models.Index(fields=["partner", "kind", "-at"], name="interest_partner_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.feature} ({self.customer})"


class UpgradeRequest(models.Model):
    """ "Ask my partner": a customer member who may not buy asks the managing
    partner for the edition that unlocks a feature; the partner turns it into an
    offer in one click, or dismisses it."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("upgrade request status", "Open")
        OFFERED = "offered", pgettext_lazy("upgrade request status", "Turned into an offer")
        DISMISSED = "dismissed", pgettext_lazy("upgrade request status", "Dismissed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="upgrade_requests")
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    current_product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    recommended_product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    offer = models.OneToOneField(
        "offers.Offer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    tenant_scope = Scope(owners=("customer", "partner"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "recommended_product", "feature"],
                condition=models.Q(status="open"),
                name="upgrade_request_one_open",
            ),
        ]
        indexes = [models.Index(fields=["partner", "status"], name="upgrade_request_partner")]

    def __str__(self) -> str:
        return f"{self.customer} asks for {self.recommended_product} ({self.feature})"
