"""A partner's resale price list and its own invoices to the customers it bills
(SPEC §7 rev. 2, "Partners invoice their customers"; docs/partner-billing.md).

Money is `Decimal` with two places; every amount was rounded once per step by
`resale.pricing` and `resale.invoicing`. A partner invoice and its lines are
records of what was billed: written once, never edited or deleted.
"""

import uuid
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models import InvoiceSequence, VatFigures, total_is_net_plus_vat
from billing.vat import Treatment
from catalog.models import Product
from core.scoping import Scope, TenantScopedQuerySet
from partners.models import Partnership
from subscriptions.models import Subscription
from tenants.models import AppendOnly, AppendOnlyQuerySet, ScopedAppendOnlyQuerySet, Tenant, User

CURRENCIES = Tenant.Currency.choices
# A markup above 1000 % is a typing error, not a price (the API and the page say 400).
MAX_MARKUP_PERCENT = 1000


def money_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class ResaleMode(models.TextChoices):
    PUBLIC = "public", pgettext_lazy("resale mode", "Public price")
    MARKUP = "markup", pgettext_lazy("resale mode", "Markup on your cost")
    FIXED = "fixed", pgettext_lazy("resale mode", "Fixed price")


class ResalePriceEntry(models.Model):
    """How a partner resells one product in one currency, from `valid_from` on:
    at the public price, at its own cost plus `value` %, or at the fixed unit
    price `value`. A change writes a new row valid from its day (the same day's
    row is replaced), so an invoice for a past month prices each day with the
    rule of that day. No row: the public price."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="resale_prices")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    mode = models.CharField(max_length=16, choices=ResaleMode.choices)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The markup in % (markup) or the unit price for one period (fixed)."),
    )
    valid_from = models.DateField()
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["product__name", "currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "product", "currency", "valid_from"],
                name="resale_price_once_per_day",
            ),
            models.CheckConstraint(
                condition=models.Q(mode="public", value__isnull=True)
                | models.Q(mode="markup", value__gte=0, value__lte=MAX_MARKUP_PERCENT)
                | models.Q(mode="fixed", value__gte=0),
                name="resale_price_value_fits_mode",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.currency} {self.mode} {self.value}"


class PartnerInvoice(VatFigures, AppendOnly):
    """A partner's invoice to one customer it bills (full access, partner pays)
    for one calendar month: numbered in the partner's own gap-free sequence,
    read by the partner's owners and admins and by the customer's members."""

    append_only_name = "Partner invoices"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="issued_invoices")
    customer = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="partner_invoices")
    partnership = models.ForeignKey(Partnership, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text=_("The first day of the month billed."))
    period_start = models.DateField()
    period_end = models.DateField()
    sequence = models.ForeignKey(InvoiceSequence, on_delete=models.PROTECT, related_name="+")
    sequence_number = models.PositiveIntegerField()
    number = models.CharField(max_length=40)
    issuer = models.JSONField(default=dict, help_text=_("The partner's name and address then."))
    bill_to = models.JSONField(default=dict, help_text=_("The customer's name and address then."))
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    # The figures (billing.documents): net = the sum of the lines, VAT = the
    # treatment's rate x net rounded half-up once (billing.vat, from the
    # partner's country to the customer on the invoice date), total = net + VAT.
    net = money_field(help_text=_("The sum of the lines, excl. VAT."))
    vat_rate = models.DecimalField(
        max_digits=5, decimal_places=4, help_text=_("A fraction: 0.0810 is 8.1 %.")
    )
    vat_amount = money_field()
    vat_treatment = models.CharField(max_length=16, choices=Treatment.choices)
    vat_country = models.CharField(
        max_length=2, blank=True, help_text=_("The country whose rate applies, if any.")
    )
    total = money_field(help_text=_("Net plus VAT: what is to pay."))
    cost = money_field(help_text=_("What the provider's products cost the partner (its own)."))
    margin = money_field(help_text=_("Net minus cost (the partner's own)."))
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    issued_on = models.DateField(help_text=_("The invoice date."))
    due_on = models.DateField(help_text=_("The invoice date plus the customer's payment terms."))

    tenant_scope = Scope(owners=("partner", "customer"))
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()  # type: ignore[assignment,misc]  # AppendOnly's, scoped

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-month", "-sequence_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "customer", "month"], name="partner_invoice_once_per_month"
            ),
            models.UniqueConstraint(
                fields=["sequence", "sequence_number"], name="partner_invoice_number_once"
            ),
            models.UniqueConstraint(fields=["partner", "number"], name="partner_invoice_number"),
            total_is_net_plus_vat("partner_invoice_total_is_net_plus_vat"),
        ]
        indexes = [
            models.Index(fields=["partner", "-month"], name="partner_invoice_partner_month"),
            models.Index(fields=["customer", "-month"], name="partner_invoice_customer_month"),
        ]

    def __str__(self) -> str:
        return self.number


class PartnerInvoiceLine(AppendOnly):
    """One line of a partner invoice: a provider product for a span of days at
    its resale price (with the partner's cost for the same days), or one of the
    customer's contracts' charges."""

    append_only_name = "Partner invoice lines"

    class Kind(models.TextChoices):
        PRODUCT = "product", pgettext_lazy("invoice line", "Product")
        CONTRACT = "contract", pgettext_lazy("invoice line", "Contract")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invoice = models.ForeignKey(PartnerInvoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    charge_kind = models.CharField(
        max_length=32, blank=True, help_text=_("A contract line's kind of charge.")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(
        max_digits=14, decimal_places=4, help_text=_("Units, or a contract's hours or count.")
    )
    unit_price = money_field(help_text=_("The resale price of one unit for one period."))
    amount = money_field()
    unit_cost = money_field(default=0)
    cost = money_field(default=0)
    margin = money_field(default=0)
    period_start = models.DateField()
    period_end = models.DateField()

    tenant_scope = Scope(owners=("invoice__partner", "invoice__customer"))
    unscoped = AppendOnlyQuerySet.as_manager()
    objects = ScopedAppendOnlyQuerySet.as_manager()  # type: ignore[assignment,misc]  # AppendOnly's, scoped

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="partner_invoice_line_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"
