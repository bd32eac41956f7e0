"""The catalog every app above names: products (one edition of a family),
their public prices per currency, degressive tiers and features."""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.models import AppendOnly

code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]*$", _("Lower-case letters, digits, '.', '_' and '-'.")
)


CENT = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    """Half-up to 0.01: the one rounding of every money step (SPEC §7)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def degressive_rate(tiers, quantity: int) -> Decimal:
    """The rate of the highest degressive tier `quantity` reaches (0 below all);
    it applies to every unit, for everyone."""
    reached = [t for t in tiers if t.min_quantity <= quantity]
    if not reached:
        return Decimal("0")
    return max(reached, key=lambda t: t.min_quantity).rate


class Feature(models.Model):
    code = models.CharField(max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Category(models.TextChoices):
        HOSTING = "hosting", pgettext_lazy("product category", "Hosting")
        EMAIL = "email", pgettext_lazy("product category", "Email")
        BACKUP = "backup", pgettext_lazy("product category", "Backup")
        DOMAIN = "domain", pgettext_lazy("product category", "Domain")
        SECURITY = "security", pgettext_lazy("product category", "Security")
        OTHER = "other", pgettext_lazy("product category", "Other")

    class BillingPeriod(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        ANNUAL = "annual", _("Annual")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=Category.choices)
    family = models.CharField(
        max_length=64, blank=True, help_text=_("Editions of one family are ranked.")
    )
    edition_rank = models.PositiveSmallIntegerField(
        default=0, help_text=_("Higher is a better edition.")
    )
    billing_period = models.CharField(max_length=16, choices=BillingPeriod.choices)
    features = models.ManyToManyField(Feature, blank=True, related_name="products")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "family", "edition_rank", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "edition_rank"],
                condition=~models.Q(family=""),
                name="product_family_edition_rank_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ProductPrice(models.Model):
    """The public price of one unit for one billing period, in one currency."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=[("CHF", "CHF"), ("EUR", "EUR")])
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "currency"], name="product_price_currency_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="product_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount}"


class PriceTier(models.Model):
    """A degressive tier: from `min_quantity` units on, `rate` off (0.25 = 25 %)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="tiers")
    min_quantity = models.PositiveIntegerField(validators=[MinValueValidator(2)])
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.9"))],
    )

    class Meta:
        ordering = ["min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "min_quantity"], name="price_tier_quantity_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lt=1), name="price_tier_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"from {self.min_quantity}: {self.rate:%} off"


# --- subscriptions (SPEC §4) --------------------------------------------------------------

MONTHS_PER_PERIOD = {"monthly": 1, "annual": 12}


# Twelve times a subscription's MRR: the database only multiplies, so sums are
# exact on every database (SQLite divides whole numbers as integers); the
# division by 12 happens once per figure, in Python (`mrr_from_twelves`).
MRR_TWELVES = (
    models.F("quantity")
    * models.F("unit_price")
    * models.Case(
        models.When(billing_period="annual", then=models.Value(1)), default=models.Value(12)
    )
)


def mrr_sum(condition: models.Q) -> models.Sum:
    """An aggregate of twelve times the MRR of the subscriptions matching `condition`."""
    return models.Sum(
        MRR_TWELVES,
        filter=condition,
        output_field=models.DecimalField(max_digits=24, decimal_places=2),
    )


def mrr_from_twelves(twelves) -> Decimal:
    """MRR from a sum of twelves, rounded half-up to 0.01 once."""
    if twelves is None:
        return Decimal("0.00")
    if not isinstance(twelves, Decimal):
        twelves = Decimal(str(twelves))
    return (twelves / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SubscriptionQuerySet(models.QuerySet):
    def active_on(self, day):
        """Live on `day`: started, not past its last day (`ends_on` is inclusive), not cancelled."""
        return self.filter(starts_on__lte=day, cancelled_at__isnull=True).filter(
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=day)
        )


class Subscription(models.Model):
    """A customer's subscription to a product. `ends_on` is the last day of
    service (None: it renews); `status` follows from the dates, except `cancelled`."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("subscription status", "Scheduled")
        ACTIVE = "active", pgettext_lazy("subscription status", "Active")
        ENDED = "ended", pgettext_lazy("subscription status", "Ended")
        CANCELLED = "cancelled", pgettext_lazy("subscription status", "Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="subscriptions"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Net price of one unit for one billing period."),
    )
    currency = models.CharField(max_length=3, choices=[("CHF", "CHF"), ("EUR", "EUR")])
    billing_period = models.CharField(max_length=16, choices=Product.BillingPeriod.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_on", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="subscription_quantity_min"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="subscription_price_min"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="subscription_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "starts_on"], name="subscription_customer_start"),
            models.Index(fields=["starts_on", "ends_on"], name="subscription_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.code} for {self.customer}"

    def status_on(self, day) -> str:
        if self.cancelled_at is not None:
            return self.Status.CANCELLED
        if self.starts_on > day:
            return self.Status.SCHEDULED
        if self.ends_on is not None and self.ends_on < day:
            return self.Status.ENDED
        return self.Status.ACTIVE

    @property
    def status(self) -> str:
        return self.status_on(timezone.localdate())

    @property
    def mrr(self) -> Decimal:
        """This subscription's MRR, rounded half-up to 0.01 once."""
        monthly = Decimal(self.quantity) * self.unit_price / MONTHS_PER_PERIOD[self.billing_period]
        return monthly.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SubscriptionChange(AppendOnly):
    """The subscription ledger (SPEC §4, rev. 2): one row per order line that
    opened, changed, renewed or ended a subscription, with the quantity and unit
    price before and after and the order behind it. Written once, in the order's
    transaction; never edited or deleted (AppendOnly, and a database trigger).
    `order` is empty only for the opening rows of subscriptions that existed
    before the ledger (migration 0004) or that the demo seeds wrote."""

    class Kind(models.TextChoices):
        NEW = "new", pgettext_lazy("subscription change", "New")
        INCREASE = "increase", pgettext_lazy("subscription change", "Increase")
        DECREASE = "decrease", pgettext_lazy("subscription change", "Decrease")
        UPGRADE = "upgrade", pgettext_lazy("subscription change", "Upgrade")
        DOWNGRADE = "downgrade", pgettext_lazy("subscription change", "Downgrade")
        CANCEL = "cancel", pgettext_lazy("subscription change", "Cancel")
        RENEWAL = "renewal", pgettext_lazy("subscription change", "Renewal")
        REACTIVATION = "reactivation", pgettext_lazy("subscription change", "Reactivation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity_before = models.PositiveIntegerField()
    quantity_after = models.PositiveIntegerField()
    unit_price_before = models.DecimalField(max_digits=12, decimal_places=2)
    unit_price_after = models.DecimalField(max_digits=12, decimal_places=2)
    effective_on = models.DateField()
    order = models.ForeignKey(
        "billing.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscription_changes",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["subscription", "effective_on", "created_at"]
        indexes = [
            models.Index(fields=["subscription", "effective_on"], name="sub_change_effective"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity_before} -> {self.quantity_after} ({self.effective_on})"


# --- smart lists (SPEC §4) ----------------------------------------------------------------


class SmartList(models.Model):
    """A partner's saved filter over its customers and the columns it shows
    (`subscriptions.smart_lists` validates both). Kept as saved whatever the
    organization's subscriptions switch says, so switching back on restores it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="smart_lists"
    )
    name = models.CharField(max_length=200)
    filters = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        "tenants.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="smart_lists_created",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="smart_list_partner_name"),
        ]

    def __str__(self) -> str:
        return self.name
