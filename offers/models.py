"""Offers (SPEC §6, Supratix's module reseller): a partner's templates, and the
offers sent from them, each with a snapshot of its items and their prices."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models import Payer, money_field
from catalog.models import Product
from tenants.models import Tenant, User
from tenants.scoping import Scope, TenantScopedQuerySet

MAX_TERM_MONTHS = 120


class LicenseMode(models.TextChoices):
    ABSOLUTE = "absolute", _("Absolute (set the quantity to N)")
    RELATIVE = "relative", _("Relative (add N)")


class OfferTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="offer_templates")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="offer_template_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TemplateItem(models.Model):
    """A line of a template; saved as it is added (SPEC §6)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template = models.ForeignKey(OfferTemplate, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    license_mode = models.CharField(max_length=16, choices=LicenseMode.choices)
    term_months = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TERM_MONTHS)],
        help_text=_("The subscription ends this many months after the offer is accepted."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("template__partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "product"], name="template_item_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="template_item_qty"),
            models.CheckConstraint(
                condition=models.Q(term_months__gte=1, term_months__lte=MAX_TERM_MONTHS),
                name="template_item_term",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.code} ({self.license_mode})"


class OfferBatch(models.Model):
    """One send of a template to many customers: one offer each, delivered in the
    background; the batch lets the sender follow the fan-out."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    template_name = models.CharField(max_length=200)
    sent_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"

    def __str__(self) -> str:
        return f"{self.template_name} ({self.created_at:%Y-%m-%d %H:%M})"


class Offer(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", pgettext_lazy("offer status", "Waiting")
        AWAITING_CONFIRMATION = (
            "awaiting_confirmation",
            pgettext_lazy("offer status", "Waiting for confirmation"),
        )
        ACCEPTED = "accepted", pgettext_lazy("offer status", "Accepted")
        DECLINED = "declined", pgettext_lazy("offer status", "Declined")
        CANCELLED = "cancelled", pgettext_lazy("offer status", "Cancelled")
        FAILED = "failed", pgettext_lazy("offer status", "Failed")
        EXPIRED = "expired", pgettext_lazy("offer status", "Expired")

    OPEN = (Status.WAITING, Status.AWAITING_CONFIRMATION)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="offers_sent")
    customer = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="offers_received")
    batch = models.ForeignKey(
        OfferBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="offers"
    )
    template = models.ForeignKey(
        OfferTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="offers"
    )
    template_name = models.CharField(max_length=200)
    message = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.WAITING)
    currency = models.CharField(max_length=3, choices=Tenant.Currency.choices)
    payer = models.CharField(
        max_length=16, choices=Payer.choices, help_text=_("Who would pay, as quoted when sent.")
    )
    charged_amount = money_field(help_text=_("What the payer would pay, as quoted when sent."))
    public_amount = money_field()
    sent_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it was accepted, declined, cancelled or expired.")
    )
    closed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decline_reason = models.TextField(blank=True, max_length=2000)
    order = models.OneToOneField(
        "billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="offer"
    )
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("partner", "customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["partner", "-created_at"], name="offer_partner_created"),
            models.Index(fields=["customer", "status"], name="offer_customer_status"),
            models.Index(fields=["status", "created_at"], name="offer_status_created"),
            models.Index(fields=["batch", "status"], name="offer_batch_status"),
        ]

    def __str__(self) -> str:
        return f"{self.template_name} for {self.customer} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class OfferItem(models.Model):
    """A snapshot of a template line when the offer was sent, with its price
    waterfall as quoted then (SPEC §7: the partner sees every step)."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    license_mode = models.CharField(max_length=16, choices=LicenseMode.choices)
    term_months = models.PositiveSmallIntegerField()
    replaces = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The edition this item upgrades: its subscription ends when the offer is accepted."
        ),
    )
    list_amount = money_field()
    after_partner_discount = money_field()
    preferential_amount = money_field()
    public_amount = money_field()
    charged_amount = money_field()
    cashback_amount = money_field()

    tenant_scope = Scope(owners=("offer__partner", "offer__customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["offer", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.code} ({self.license_mode})"
