"""The catalog every app above names: products (one edition of a family),
their public prices per currency, degressive tiers and features."""

import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]*$", "Lower-case letters, digits, '.', '_' and '-'."
)


class Feature(models.Model):
    code = models.CharField(max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Category(models.TextChoices):
        HOSTING = "hosting", "Hosting"
        EMAIL = "email", "Email"
        BACKUP = "backup", "Backup"
        DOMAIN = "domain", "Domain"
        SECURITY = "security", "Security"
        OTHER = "other", "Other"

    class BillingPeriod(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        ANNUAL = "annual", "Annual"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=Category.choices)
    family = models.CharField(
        max_length=64, blank=True, help_text="Editions of one family are ranked."
    )
    edition_rank = models.PositiveSmallIntegerField(
        default=0, help_text="Higher is a better edition."
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
