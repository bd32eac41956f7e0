"""The catalog every app above names: products (one edition of a family),
their public prices per currency, degressive tiers and features.

The tables keep the names they had in `subscriptions` (`db_table`), where they
were born: moving them here changed no row."""

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
        db_table = "subscriptions_feature"
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
    description = models.TextField(
        blank=True, max_length=2000, help_text=_("What the product is, for staff and buyers.")
    )
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
        db_table = "subscriptions_product"
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
        db_table = "subscriptions_productprice"
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
        db_table = "subscriptions_pricetier"
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
