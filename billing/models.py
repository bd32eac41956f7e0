"""Orders, invoices and the partner's prepaid account (SPEC §7).

Money is `Decimal` with two places everywhere; every amount here was rounded
once per step by `billing.pricing`. Orders, invoices and ledger entries are
records of what happened: the portal never edits or deletes them (a refund is a
credit note and a counter-entry, not a change).
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The VAT table lives with its rules (billing.vat); imported here so that the
# app registry and migrations find it.
from billing.vat import Treatment, VatRate, VatTreatment, treatment_of
from catalog.models import Product
from core.scoping import Scope, TenantScopedQuerySet
from partners.models import Access, Partnership, Payment, Side
from subscriptions.models import Subscription
from tenants.models import AppendOnly, AppendOnlyQuerySet, ScopedAppendOnlyQuerySet, Tenant, User

CURRENCIES = Tenant.Currency.choices


def money_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class Payer(models.TextChoices):
    CUSTOMER = "customer", _("The customer")
    PARTNER = "partner", _("The partner")


class PriceBasis(models.TextChoices):
    PUBLIC = "public", _("Public price")
    PREFERENTIAL = "preferential", _("Preferential price")


class Earning(models.TextChoices):
    CASHBACK = "cashback", _("Cashback")
    DISCOUNT = "discount", _("The discount")
    NOTHING = "nothing", _("Nothing")


class Order(models.Model):
    """An order or a renewal for one customer, settled once by SPEC §7's table
    from the partnership as it was at that moment (`access`, `payment`,
    `discount_rate` are that snapshot). One order has one payer and one earning
    partner (or none); its totals are the sums of its lines."""

    class Kind(models.TextChoices):
        ORDER = "order", pgettext_lazy("order kind", "Order")
        RENEWAL = "renewal", pgettext_lazy("order kind", "Renewal")
        # A lowering, an early end or a replaced edition mid-period: the unused
        # paid days credited to whoever paid them (its document is a credit note).
        CREDIT = "credit", pgettext_lazy("order kind", "Credit")

    class Status(models.TextChoices):
        PLACED = "placed", pgettext_lazy("order status", "Placed")
        REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ORDER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED)
    customer = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="orders")
    partner = models.ForeignKey(
        Tenant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_orders",
        help_text=_("The partner managing these products at the moment of the order, if any."),
    )
    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    access = models.CharField(max_length=16, choices=Access.choices, blank=True)
    payment = models.CharField(max_length=16, choices=Payment.choices, blank=True)
    discount_rate = models.DecimalField(max_digits=5, decimal_places=4)
    ordered_by = models.CharField(max_length=16, choices=Side.choices)
    placed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payer = models.CharField(max_length=16, choices=Payer.choices)
    payer_tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    price_basis = models.CharField(max_length=16, choices=PriceBasis.choices)
    earning = models.CharField(max_length=16, choices=Earning.choices)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    list_amount = money_field()
    public_amount = money_field()
    preferential_amount = money_field()
    charged_amount = money_field()
    cashback_amount = money_field(help_text=_("Credited to the partner's prepaid account."))
    discount_amount = money_field(help_text=_("Kept by a partner who pays the preferential price."))
    credited_amount = money_field(
        default=0, help_text=_("Credited to the payer (a credit order's credit note).")
    )
    clawback_amount = money_field(
        default=0, help_text=_("Cashback taken back from the partner's prepaid account.")
    )
    placed_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(
        auto_now=True, help_text=_("Last change (placed, refunded): whole-book syncs walk by it.")
    )
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    refund_reason = models.TextField(blank=True, max_length=2000)

    tenant_scope = Scope(owners=("customer", "partner", "payer_tenant"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(charged_amount__gte=0)
                & models.Q(cashback_amount__gte=0)
                & models.Q(discount_amount__gte=0)
                & models.Q(credited_amount__gte=0)
                & models.Q(clawback_amount__gte=0),
                name="order_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(partner__isnull=True, earning="nothing")
                | models.Q(partner__isnull=False),
                name="order_earning_needs_partner",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="order_customer_placed"),
            models.Index(fields=["partner", "-placed_at"], name="order_partner_placed"),
            models.Index(fields=["payer_tenant", "-placed_at"], name="order_payer_placed"),
            models.Index(fields=["updated_at", "id"], name="order_sync"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} for {self.customer} ({self.currency} {self.charged_amount})"
        )


class OrderLine(models.Model):
    """One product of an order with every step of its price waterfall."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField()
    unit_price = money_field(help_text=_("The public price of one unit for one period."))
    tier_rate = models.DecimalField(max_digits=5, decimal_places=4)
    list_amount = money_field()
    after_partner_discount = money_field()
    preferential_amount = money_field()
    public_amount = money_field()
    charged_amount = money_field()
    cashback_amount = money_field()
    discount_amount = money_field()
    credited_amount = money_field(default=0)
    clawback_amount = money_field(default=0)
    period_starts_on = models.DateField()
    period_ends_on = models.DateField()
    price_reason = models.CharField(
        max_length=500,
        blank=True,
        help_text=_(
            "Set when platform staff gave this line a special unit price: why (audited). "
            "Empty: the price came from the pricing rules."
        ),
    )

    tenant_scope = Scope(owners=("order__customer", "order__partner", "order__payer_tenant"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.code}"

    @property
    def special_price(self) -> bool:
        """Priced by staff, not by the rules (`price_reason` says why)."""
        return bool(self.price_reason)


class Renewal(models.Model):
    """The mark that one period of a subscription was renewed: the unique
    constraint bills a period once, however often the job runs or races."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="+")
    period_starts_on = models.DateField()
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="renewal")

    tenant_scope = Scope(owners=("order__customer", "order__partner", "order__payer_tenant"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_starts_on"], name="renewal_once_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} from {self.period_starts_on}"


class InvoiceSequence(models.Model):
    """One gap-free numbering (e.g. invoices of 2026): the row is locked while a
    number is drawn, in the transaction that writes the invoice, so a rolled-back
    order gives its number back."""

    key = models.CharField(max_length=32, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} (last {self.last_number})"


def total_is_net_plus_vat(name: str) -> models.CheckConstraint:
    """total = net + VAT, to the cent (SQLite adds decimals as floats): the
    check of every stored invoice (VatFigures)."""
    return models.CheckConstraint(
        condition=LessThan(
            Abs(models.F("total") - models.F("net") - models.F("vat_amount")),
            Decimal("0.005"),
        ),
        name=name,
    )


class VatFigures(models.Model):
    """What the provider's invoices and a partner's invoices to its customers
    store alike (docs/invoices.md "Figures"): a number drawn from an
    `InvoiceSequence`, net, VAT (rate, amount, treatment, country), total and a
    due date, written by `billing.services.invoices.invoice_figures` and read
    back by `billing.documents.stored_document`. The fields stay on each model
    (their help texts differ); add `total_is_net_plus_vat` to its constraints."""

    number: str
    net: Decimal
    vat_rate: Decimal
    vat_amount: Decimal
    vat_treatment: str
    vat_country: str
    total: Decimal
    currency: str
    issuer: dict
    bill_to: dict
    due_on: datetime.date | None

    class Meta:
        abstract = True

    @property
    def vat(self) -> VatTreatment:
        """The stored VAT treatment, its texts in the active language."""
        return treatment_of(self.vat_treatment, self.vat_rate, self.vat_country)


class Invoice(VatFigures, AppendOnly):
    """The invoice of an order (or the credit note of its refund), addressed to
    the payer and visible only to the payer's organization."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INVOICE)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    sequence = models.ForeignKey(InvoiceSequence, on_delete=models.PROTECT, related_name="+")
    sequence_number = models.PositiveIntegerField()
    number = models.CharField(max_length=40, unique=True)
    payer = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="invoices")
    issuer = models.JSONField(default=dict, help_text=_("The provider's name and address then."))
    bill_to = models.JSONField(default=dict, help_text=_("The payer's name and address then."))
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    # The figures (billing.documents, docs/invoices.md): net is what the order
    # charged (or credited), VAT the rate x net rounded half-up once, total
    # their sum; all negative on a credit note. Invoices issued before VAT
    # was shown keep their total as net, VAT 0, treatment "before_vat".
    net = money_field(help_text=_("Excl. VAT; negative on a credit note."))
    vat_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default=0, help_text=_("A fraction: 0.0810 is 8.1 %.")
    )
    vat_amount = money_field(default=0)
    vat_treatment = models.CharField(max_length=16, choices=Treatment.choices)
    vat_country = models.CharField(
        max_length=2, blank=True, help_text=_("The country whose rate applies, if any.")
    )
    total = money_field(help_text=_("Net plus VAT: what is to pay; negative on a credit note."))
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    due_on = models.DateField(
        null=True,
        blank=True,
        help_text=_(
            "The invoice date plus the payer's payment terms; none on a credit note "
            "or an invoice issued before due dates."
        ),
    )

    tenant_scope = Scope(owners=("payer",))
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()  # type: ignore[assignment,misc]  # AppendOnly's, scoped

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-issued_at", "-sequence_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "sequence_number"], name="invoice_number_once"
            ),
            models.UniqueConstraint(fields=["order", "kind"], name="invoice_one_per_kind"),
            total_is_net_plus_vat("invoice_total_is_net_plus_vat"),
        ]
        indexes = [
            models.Index(fields=["payer", "-issued_at"], name="invoice_payer_issued"),
            models.Index(fields=["issued_at", "id"], name="invoice_sync"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def issued_on(self) -> datetime.date:
        """The invoice date: the day of issue in the project's time zone."""
        return timezone.localdate(self.issued_at)


class CashbackEntry(AppendOnly):
    """The partner's prepaid account: a credit per order that earns cashback, a
    counter-entry when it is reversed. The balance is the sum, per currency."""

    class Kind(models.TextChoices):
        CREDIT = "credit", _("Cashback")
        REVERSAL = "reversal", _("Reversal")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="cashback_entries")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cashback_entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    # A credit can be reversed in parts (each credit order takes back its share,
    # never more than the credit in all), and the rest by a refund.
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("partner",))
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()  # type: ignore[assignment,misc]  # AppendOnly's, scoped

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-created_at"]
        verbose_name_plural = _("cashback entries")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="credit", amount__gt=0, reverses__isnull=True)
                | models.Q(kind="reversal", amount__lt=0, reverses__isnull=False),
                name="cashback_entry_sign",
            ),
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(kind="credit"), name="cashback_once_per_order"
            ),
        ]
        indexes = [models.Index(fields=["partner", "-created_at"], name="cashback_partner_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount}"


__all__ = [
    "CURRENCIES",
    "CashbackEntry",
    "Earning",
    "Invoice",
    "InvoiceSequence",
    "Order",
    "OrderLine",
    "Payer",
    "PriceBasis",
    "Renewal",
    "VatRate",
]
