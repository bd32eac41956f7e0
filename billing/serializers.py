"""Shapes of the billing API (API.md `quotes/`, `orders/`, `invoices/`, `cashback/`).

What a side may read of an order's money is decided by
`billing.selectors.order_figures`; an amount withheld from a side is null, never
absent, so both sides read the same shape. Money is a decimal string with two
places plus the `currency` of the order."""

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Choices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing import selectors
from billing.models import CashbackEntry, Earning, Invoice, Order, OrderLine, Payer, PriceBasis
from billing.selectors import order_figures
from billing.services.orders import MAX_LINES, MAX_QUANTITY, Quote
from billing.vat import Treatment
from partners.models import Access, Payment, Side
from partners.serializers import ProductCodeField
from subscriptions.serializers import SubscriptionSerializer

PARTNER_ONLY = (
    "The partner's side only: null for the customer, which never learns its partner's margin."
)
CHARGED = "What the payer was charged: null for the customer when its partner paid the order."
CREDITED = (
    "What a credit order gave back to the payer (its credit note): null for the customer "
    "when its partner paid."
)
CLAWBACK = "The cashback a credit order took back from the partner's prepaid account."


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


def withheld_money(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    return money(allow_null=True, help_text=help_text, **kwargs)


class DeprecatedAlias(serializers.DecimalField):
    """The rev. 1 name of a money field now called `alias_of`: the same value,
    kept in v1 responses and marked `deprecated` in the schema
    (`portal.api.schema.PortalAutoSchema`); see docs/api-changelog.md."""

    def __init__(self, *, alias_of: str, **kwargs: Any) -> None:
        self.alias_of = alias_of
        kwargs["help_text"] = (
            f"Deprecated: API rev. 1's name of `{alias_of}`, the same value, kept during v1."
        )
        super().__init__(max_digits=14, decimal_places=2, read_only=True, allow_null=True, **kwargs)


def deprecated_alias(name: str) -> DeprecatedAlias:
    return DeprecatedAlias(alias_of=name)


def rate(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=4, read_only=True, **kwargs)


def named_choice(
    choices: type[Choices], component_name: str, **kwargs: Any
) -> serializers.ChoiceField:
    """A choice field whose enum has its own name in the schema (several models
    share the field names `kind` and `status`)."""

    @extend_schema_field({"type": "string", "enum": choices.values}, component_name=component_name)
    class NamedChoiceField(serializers.ChoiceField):
        pass

    return NamedChoiceField(choices=choices.choices, read_only=True, **kwargs)


# --- input ------------------------------------------------------------------------------


# Fields with money or the billing calendar in them: set by the pricing rules and
# the order's day, never by a client (API.md: 400 if sent).
RULED_FIELDS = {
    "unit_price": gettext_lazy("Prices come from the pricing rules; a client cannot set one."),
    "starts_on": gettext_lazy("A subscription starts on the day its order is placed."),
    "billing_anchor": gettext_lazy(
        "The billing anchor is the first day of the subscription, never edited."
    ),
    "currency": gettext_lazy("A subscription is in the customer's currency."),
    "billing_period": gettext_lazy("The billing period is the product's."),
}


class RefusesRuledFields(serializers.Serializer):
    """A 400 naming each ruled field the client sent, beside any other field error;
    platform staff may send those in `staff_may_set` (their special prices)."""

    staff_may_set: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        sent = data if hasattr(data, "keys") else {}
        org = self.context.get("org")
        allowed = self.staff_may_set if org is not None and org.is_staff else ()
        refused = {
            field: [str(text)]
            for field, text in RULED_FIELDS.items()
            if field in sent and field not in allowed
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {}
            raise serializers.ValidationError({**refused, **detail}) from exc
        if refused:
            raise serializers.ValidationError(refused)
        return value


class PreviewThenCommit(serializers.Serializer):
    """SPEC §7's "preview, then commit" on a body that moves money."""

    dry_run = serializers.BooleanField(
        default=False, help_text="Return the preview (a quote) and write nothing."
    )
    expected_total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="The preview's charged total: a different amount at commit is a 409 "
        "with the new figures, and nothing is written.",
    )


def special_unit_price(what: str) -> serializers.DecimalField:
    """Staff's special unit price of `what` (billing.services.special_prices)."""
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        help_text=f"Platform staff only, with `price_reason`: a special public unit price "
        f"for {what} instead of the rules' (no degressive tier on top; audited; renewals "
        f"price by the rules). Anyone else: 400.",
    )


def special_price_reason(what: str) -> serializers.CharField:
    """Why `what` has staff's special unit price (required with one, refused without)."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=f"Why {what} has a special `unit_price` (platform staff; required with "
        f"one, refused without one). Recorded in the audit log and shown on the order.",
    )


class OrderLineCreateSerializer(RefusesRuledFields):
    product = ProductCodeField(help_text="The product's code.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = special_unit_price("this line")

    staff_may_set = ("unit_price",)


class OrderCreateSerializer(RefusesRuledFields):
    """The body of `POST quotes/` and `POST orders/`. Whether the lines may be
    ordered together (each product once, one managing partner) is the service's
    decision; its refusals come back as 400 on `lines`."""

    customer = serializers.UUIDField(
        required=False,
        help_text="The customer's id; a customer organization may leave it out (itself).",
    )
    # ListSerializer's max_length (DRF 3.14) is missing from the stubs.
    lines = OrderLineCreateSerializer(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    price_reason = special_price_reason("a line")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        org = self.context["org"]
        if attrs.get("customer") is None:
            if not org.tenant.is_customer:
                raise serializers.ValidationError({"customer": [_("Choose the customer.")]})
            attrs["customer"] = org.tenant.pk
        return attrs


class OrderPlaceSerializer(PreviewThenCommit, OrderCreateSerializer):
    """The body of `POST orders/`: the lines, and the preview's rules."""


# --- subscriptions placed and changed by orders (SPEC §4 rev. 2) ------------------------


class SubscriptionOrderSerializer(PreviewThenCommit, RefusesRuledFields):
    """The body of `POST subscriptions/`: one order line that opens a subscription
    today, priced by the rules for the payer."""

    customer = serializers.UUIDField(
        required=False, help_text="The customer; a customer organization may leave it out."
    )
    product = ProductCodeField(help_text="The product's code.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    ends_on = serializers.DateField(
        required=False, allow_null=True, help_text="The last day of service; none: it renews."
    )
    unit_price = special_unit_price("the opening order")
    price_reason = special_price_reason("the subscription's order")

    staff_may_set = ("unit_price",)


# --- quotes -----------------------------------------------------------------------------


class QuoteLineSerializer(serializers.Serializer):
    product = serializers.CharField(help_text="The product's code.")
    quantity = serializers.IntegerField()
    unit_price = money(help_text="The public price of one unit for one period.")
    tier_rate = rate(help_text="The degressive rate this quantity reaches.")
    list_amount = money(help_text="quantity x unit_price.")
    after_partner_discount = withheld_money(PARTNER_ONLY)
    preferential_amount = withheld_money(PARTNER_ONLY)
    public_amount = money(help_text="The list amount after the degressive rate.")
    payer = serializers.ChoiceField(choices=Payer.choices)
    charged = money(help_text="What the payer would be charged for this line, now.")
    credit = money(
        allow_null=True,
        help_text="What would be credited to whoever paid (a lowering, an early end): "
        "the unused paid days, at the price paid. Null for the customer on a line "
        "credited to its partner (the partner's price is not the customer's to read).",
    )
    cashback = withheld_money(PARTNER_ONLY + " Negative: the cashback taken back.")
    discount = withheld_money(PARTNER_ONLY)
    # a change to a subscription (PATCH and DELETE subscriptions/{id}/); null otherwise
    subscription = serializers.UUIDField(required=False, allow_null=True)
    current_quantity = serializers.IntegerField(required=False, allow_null=True)
    new_quantity = serializers.IntegerField(
        required=False, allow_null=True, help_text="0: the subscription ends."
    )
    new_unit_price = money(
        required=False, allow_null=True, help_text="The unit price the next renewal bills."
    )
    period_starts_on = serializers.DateField(
        required=False, allow_null=True, help_text="The first day charged or credited."
    )
    period_ends_on = serializers.DateField(
        required=False, allow_null=True, help_text="The last day charged or credited."
    )
    next_renewal_on = serializers.DateField(
        required=False, allow_null=True, help_text="Null: no renewal follows."
    )
    renewal_amount = money(
        required=False,
        allow_null=True,
        help_text="What the next renewal charges, at today's prices.",
    )


class QuoteTotalsSerializer(serializers.Serializer):
    list_amount = money()
    public_amount = money()
    preferential_amount = withheld_money(PARTNER_ONLY)
    charged = money()
    credit = money(help_text="Credited now: to the caller's organization alone, for a customer.")
    net = money(help_text="charged - credit: what `expected_total` confirms.")
    cashback = withheld_money(PARTNER_ONLY)
    discount = withheld_money(PARTNER_ONLY)


class QuoteSerializer(serializers.Serializer):
    """What an order of these lines would cost now, and who would pay and earn.
    Nothing is written. Seen by the customer, the partner's figures are null."""

    customer = serializers.UUIDField()
    currency = serializers.CharField()
    payer = serializers.ChoiceField(choices=Payer.choices)
    price_basis = serializers.ChoiceField(choices=PriceBasis.choices)
    earning = serializers.ChoiceField(choices=Earning.choices)
    partner = serializers.UUIDField(
        allow_null=True, help_text="The partner managing these products, if any."
    )
    lines = QuoteLineSerializer(many=True)
    totals = QuoteTotalsSerializer()


def quote_as_seen(quote: Quote, *, by_partner: bool) -> dict:
    """The quote as the requesting side may read it: a customer never sees its
    partner's preferential price, cashback or discount (as `order_figures`)."""

    def margin(value: Decimal) -> Decimal | None:
        return value if by_partner else None

    lines = [
        {
            "product": line.product.code,
            "quantity": line.price.quantity,
            "unit_price": line.price.unit_price,
            "tier_rate": line.price.tier_rate,
            "list_amount": line.price.list_amount,
            "after_partner_discount": margin(line.price.after_partner_discount),
            "preferential_amount": margin(line.price.preferential_amount),
            "public_amount": line.price.public_amount,
            "payer": quote.terms.payer,
            "charged": line.charged,
            "credit": line.credit,
            "cashback": margin(line.cashback - line.clawback),
            "discount": margin(line.discount),
        }
        for line in quote.lines
    ]
    return {
        "customer": quote.customer.pk,
        "currency": quote.currency,
        "payer": quote.terms.payer,
        "price_basis": quote.terms.price_basis,
        "earning": quote.terms.earning,
        "partner": quote.partner.pk if quote.partner else None,
        "lines": lines,
        "totals": {
            "list_amount": quote.total("list_amount"),
            "public_amount": quote.total("public_amount"),
            "preferential_amount": margin(quote.total("preferential_amount")),
            "charged": quote.charged,
            "credit": quote.credit,
            "net": quote.net,
            "cashback": margin(quote.cashback - quote.clawback),
            "discount": margin(quote.discount),
        },
    }


# --- orders -----------------------------------------------------------------------------

# Serialized field -> the key of `order_figures` that withholds it (None = withheld).
ORDER_FIGURES = {
    "charged": "charged",
    "cashback": "cashback",
    "charged_amount": "charged",
    "credited_amount": "charged",
    "clawback_amount": "cashback",
    "preferential_amount": "preferential",
    "cashback_amount": "cashback",
    "discount_amount": "discount",
}
LINE_FIGURES = {**ORDER_FIGURES, "after_partner_discount": "preferential"}


class OrderLineSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code", help_text="The product's code.")
    after_partner_discount = withheld_money(PARTNER_ONLY)
    preferential_amount = withheld_money(PARTNER_ONLY)
    charged = withheld_money(CHARGED, source="charged_amount")
    cashback = withheld_money(PARTNER_ONLY, source="cashback_amount")
    charged_amount = deprecated_alias("charged")
    cashback_amount = deprecated_alias("cashback")
    discount_amount = withheld_money(PARTNER_ONLY)
    credited_amount = withheld_money(CREDITED)
    clawback_amount = withheld_money(PARTNER_ONLY + " " + CLAWBACK)
    subscription = serializers.UUIDField(
        source="subscription_id",
        allow_null=True,
        help_text="The subscription this line started or renewed.",
    )

    special_price = serializers.BooleanField(
        read_only=True,
        help_text="True when platform staff set this line's unit price (see `price_reason`).",
    )
    price_reason = serializers.CharField(
        read_only=True, help_text="Why staff set a special price; empty otherwise."
    )

    class Meta:
        model = OrderLine
        fields = ["product", "quantity", "unit_price", "tier_rate", "list_amount"]
        fields += ["after_partner_discount", "preferential_amount", "public_amount"]
        fields += ["charged", "cashback", "discount_amount", "subscription"]
        fields += [
            "credited_amount",
            "clawback_amount",
            "period_starts_on",
            "period_ends_on",
            "special_price",
            "price_reason",
        ]
        fields += ["charged_amount", "cashback_amount"]  # deprecated aliases (v1)
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    """An order or renewal as the requesting side may read it (`order_figures`):
    the partner sees everything; the customer sees neither the preferential price
    nor the partner's earnings, nor the charged amount of an order its partner
    paid. `invoice` is given only to the payer."""

    customer = serializers.UUIDField(source="customer_id")
    partner = serializers.UUIDField(
        source="partner_id", allow_null=True, help_text="The partner that managed the products."
    )
    preferential_amount = withheld_money(PARTNER_ONLY)
    charged = withheld_money(CHARGED, source="charged_amount")
    cashback = withheld_money(PARTNER_ONLY, source="cashback_amount")
    charged_amount = deprecated_alias("charged")
    cashback_amount = deprecated_alias("cashback")
    discount_amount = withheld_money(PARTNER_ONLY)
    credited_amount = withheld_money(CREDITED)
    clawback_amount = withheld_money(PARTNER_ONLY + " " + CLAWBACK)
    kind = named_choice(Order.Kind, "OrderKindEnum")
    status = named_choice(Order.Status, "OrderStatusEnum")
    ordered_by = named_choice(Side, "OrderedByEnum", help_text="The side that placed it.")
    access = serializers.ChoiceField(
        choices=Access.choices, allow_blank=True, read_only=True, help_text="Empty: no partner."
    )
    payment = serializers.ChoiceField(
        choices=Payment.choices, allow_blank=True, read_only=True, help_text="Full access only."
    )
    invoice = serializers.SerializerMethodField(
        help_text="The order's invoice, for the payer's organization only (else null)."
    )
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "kind", "status", "customer", "partner", "ordered_by", "payer"]
        fields += ["price_basis", "earning", "access", "payment", "currency", "list_amount"]
        fields += ["public_amount", "preferential_amount", "charged", "cashback"]
        fields += ["discount_amount", "credited_amount", "clawback_amount", "invoice", "lines"]
        fields += ["placed_at", "updated_at"]
        fields += ["charged_amount", "cashback_amount"]  # deprecated aliases (v1)
        read_only_fields = fields

    def _figures(self, order: Order) -> dict:
        return order_figures(org=self.context["org"], order=order)

    def get_invoice(self, order: Order) -> uuid.UUID | None:
        invoice = self._figures(order)["invoice"]
        return invoice.pk if invoice is not None else None

    def to_representation(self, order: Order) -> dict:
        data = super().to_representation(order)
        figures = self._figures(order)
        withheld = {key for key, value in figures.items() if value is None}
        for field, key in ORDER_FIGURES.items():
            if key in withheld:
                data[field] = None
        for line in data["lines"]:
            for field, key in LINE_FIGURES.items():
                if key in withheld:
                    line[field] = None
        return data


# --- invoices ---------------------------------------------------------------------------


class BillToSerializer(serializers.Serializer):
    """The payer's name and address as printed on the invoice, frozen at issue."""

    name = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    country = serializers.CharField()
    tax_id = serializers.CharField()
    vat_number = serializers.CharField(
        default="", help_text="Empty on invoices issued before VAT numbers were printed."
    )


class InvoiceLineSerializer(serializers.Serializer):
    product = serializers.CharField(source="product.code", help_text="The product's code.")
    description = serializers.CharField(
        source="product.name", help_text="The line as printed (the product's name)."
    )
    quantity = serializers.IntegerField()
    unit_price = money(help_text="The public price of one unit for one period.")
    period_starts_on = serializers.DateField()
    period_ends_on = serializers.DateField()
    amount = money(
        help_text="Net (excl. VAT), negative on a credit note: the lines add up to `net`."
    )


class InvoiceSerializer(serializers.ModelSerializer):
    """An invoice (or credit note) addressed to the caller's organization."""

    kind = named_choice(Invoice.Kind, "InvoiceKindEnum")
    order = serializers.UUIDField(source="order_id")
    payer = serializers.UUIDField(source="payer_id", help_text="The organization invoiced.")
    bill_to = BillToSerializer(read_only=True)
    lines = serializers.SerializerMethodField(help_text="The order's lines as invoiced.")

    issuer = BillToSerializer(
        read_only=True, help_text="The issuer's name, address and VAT number as printed."
    )
    # named VatTreatmentEnum by ENUM_NAME_OVERRIDES (partner invoices share it)
    vat_treatment = serializers.ChoiceField(choices=Treatment.choices, read_only=True)
    issued_on = serializers.DateField(read_only=True, help_text="The invoice date.")
    due_on = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="The invoice date plus the payer's payment terms; null on a credit note "
        "and on invoices issued before due dates.",
    )

    class Meta:
        model = Invoice
        fields = ["id", "number", "kind", "order", "payer", "issuer", "bill_to", "currency"]
        fields += ["net", "vat_rate", "vat_amount", "vat_treatment", "vat_country", "total"]
        fields += ["issued_at", "issued_on", "due_on", "lines"]
        read_only_fields = fields

    @extend_schema_field(InvoiceLineSerializer(many=True))
    def get_lines(self, invoice: Invoice) -> list:
        lines = InvoiceLineSerializer(selectors.invoice_lines(invoice=invoice), many=True)
        return lines.data  # type: ignore[return-value]  # many=True: a list, typed a dict by the stubs


# --- cashback ---------------------------------------------------------------------------


class CashbackEntrySerializer(serializers.ModelSerializer):
    kind = named_choice(CashbackEntry.Kind, "CashbackEntryKindEnum")
    order = serializers.UUIDField(source="order_id")
    customer = serializers.UUIDField(source="order.customer_id", help_text="The order's customer.")

    class Meta:
        model = CashbackEntry
        fields = ["id", "kind", "amount", "currency", "order", "customer", "note", "created_at"]
        read_only_fields = fields


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = money()


class CashbackPageSerializer(serializers.Serializer):
    """One page of the prepaid account's ledger (newest first) with the balance
    per currency, which is the sum of every entry, not of this page."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    balance = BalanceSerializer(many=True)
    results = CashbackEntrySerializer(many=True)


class SubscriptionPlacedSerializer(serializers.Serializer):
    """The answer of a subscription write: the subscription and the order that
    made the change (null when nothing was billed)."""

    subscription = SubscriptionSerializer()
    order = OrderSerializer(allow_null=True)
