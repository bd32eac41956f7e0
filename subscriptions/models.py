"""Subscriptions (a customer's subscription to a catalog product) and the
partner's saved smart lists."""

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Self

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import Product
from core.scoping import Scope, TenantScopedQuerySet
from tenants.models import AppendOnly, AppendOnlyQuerySet, ScopedAppendOnlyQuerySet

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


def mrr_from_twelves(twelves: Decimal | int | float | None) -> Decimal:
    """MRR from a sum of twelves, rounded half-up to 0.01 once."""
    if twelves is None:
        return Decimal("0.00")
    if not isinstance(twelves, Decimal):
        twelves = Decimal(str(twelves))
    return (twelves / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SubscriptionQuerySet(models.QuerySet):
    def active_on(self, day: datetime.date) -> Self:
        """Live on `day`: started, not past its last day (`ends_on` is inclusive), not cancelled."""
        return self.filter(starts_on__lte=day, cancelled_at__isnull=True).filter(
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=day)
        )


class ScopedSubscriptionQuerySet(TenantScopedQuerySet, SubscriptionQuerySet):  # type: ignore[override]  # the stubs' plugin types as_manager() per class
    """`Subscription.objects`: `active_on` and the rest, refusing to run unscoped."""


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

    tenant_scope = Scope(owners=("customer",), customer="customer", product="product")
    unscoped = SubscriptionQuerySet.as_manager()
    objects = ScopedSubscriptionQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
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
            models.Index(fields=["updated_at", "id"], name="subscription_sync"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.code} for {self.customer}"

    def status_on(self, day: datetime.date) -> str:
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
    def billing_anchor(self) -> datetime.date:
        """The day its billing periods are counted from: its first day
        (billing.proration), never edited."""
        return self.starts_on

    @property
    def renews(self) -> bool:
        """It is billed again each period with no last day: no `ends_on` and not
        cancelled (a subscription with a last day stops there)."""
        return self.ends_on is None and self.cancelled_at is None

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
    before the ledger (migration 0005) or that the demo seeds wrote."""

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

    tenant_scope = Scope(
        owners=("subscription__customer",),
        customer="subscription__customer",
        product="subscription__product",
    )
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()  # type: ignore[assignment,misc]  # AppendOnly's, scoped

    class Meta:
        default_manager_name = "unscoped"
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
    # The customer list's sort key of a view saved from it (smart_lists.clean_ordering).
    ordering = models.CharField(max_length=40, blank=True, default="")
    created_by = models.ForeignKey(
        "tenants.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="smart_lists_created",
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
            models.UniqueConstraint(fields=["partner", "name"], name="smart_list_partner_name"),
        ]

    def __str__(self) -> str:
        return self.name


# --- the partners' books, kept as deltas (subscriptions.books, issue 27) ----------------


class Book(models.Model):
    """A partner's book: its own customers' or its sub-tree's, in one currency.
    Its figures are the sums of its `BookDayDelta` rows, its customers' shares
    (`BookShare`) what they were counted from; kept by `subscriptions.books`."""

    partner = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    subtree = models.BooleanField()
    currency = models.CharField(max_length=3)
    # The latest day a share of it was counted on (grants are judged that day).
    folded_on = models.DateField()

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "subtree", "currency"], name="book_partner_subtree_currency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {'sub-tree' if self.subtree else 'own'} {self.currency}"


class BookShare(models.Model):
    """One customer's share of a book: its MRR in cents from each day it changes
    (`days`: [[day's ordinal, cents], …], each customer rounded once a day) and
    the first day it paid anything. No foreign key to the customer: a deleted
    customer's share is still to be taken off the book."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="shares")
    customer_id = models.UUIDField()
    first_paid = models.DateField(null=True)
    days = models.JSONField(default=list)

    tenant_scope = Scope(owners=("book__partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(fields=["book", "customer_id"], name="book_share_customer"),
        ]
        indexes = [models.Index(fields=["customer_id"], name="book_share_of_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.book_id}"


class BookDayDelta(models.Model):
    """A change of a book's figures on a day, inserted, never updated (writers
    side by side add rows, none waits on another nor loses another's change);
    the figures are their sums, folded into fewer rows now and then
    (`books.books_compact`). `customers`: how many customers' MRR changes on
    the day (a day with none is no change). The kinds: the change, that day, of
    the month's movements read on it (each customer's move from the month
    before's end to the day), in cents; their sum is the change of the MRR."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the day's month (its first day)
    day = models.DateField()
    customers = models.IntegerField(default=0)
    new = models.BigIntegerField(default=0)
    expansion = models.BigIntegerField(default=0)
    contraction = models.BigIntegerField(default=0)
    churn = models.BigIntegerField(default=0)
    reactivation = models.BigIntegerField(default=0)

    tenant_scope = Scope(owners=("book__partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        indexes = [
            models.Index(fields=["book", "month"], name="book_day_delta_month"),
            models.Index(fields=["book", "day"], name="book_day_delta_day"),
        ]

    def __str__(self) -> str:
        return f"{self.book_id} {self.day}"
