"""Shapes of the offers API (API.md `offer-templates/`, `offers/`, `updates/`).

An offer is read by both sides. What the customer may read of its money follows
`billing.selectors.order_figures`: it never learns its partner's margin (the
price after the partner discount, the preferential price, the cashback), nor
what the partner would pay for an offer the partner pays. A withheld amount is
null, never absent, so both sides read the same shape."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Payer
from billing.serializers import (
    PARTNER_ONLY,
    RefusesRuledFields,
    deprecated_alias,
    money,
    named_choice,
    withheld_money,
)
from billing.services.orders import MAX_QUANTITY
from offers.effects import Change, Effect, offer_effect
from offers.models import (
    MAX_TERM_MONTHS,
    LicenseMode,
    Offer,
    OfferItem,
    OfferTemplate,
    TemplateItem,
)
from offers.services import MAX_CUSTOMERS_PER_SEND
from partners.serializers import PartnershipSerializer, ProductCodeField, TenantNameSerializer

# A send to more customers than this answers with `count` and `batch` only:
# the offers are followed through `progress` and paged with `GET offers/?batch=`.
OFFERS_LISTED_MAX = 100

CHARGED = (
    "What the payer would pay, as quoted when sent: null for the customer when its partner pays."
)


@extend_schema_field(
    {"type": "string", "enum": LicenseMode.values}, component_name="LicenseModeEnum"
)
class LicenseModeField(serializers.ChoiceField):
    """`absolute` sets the product's quantity to N; `relative` adds N."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "absolute: set the quantity to N; relative: add N.")
        super().__init__(choices=LicenseMode.choices, **kwargs)


# --- templates --------------------------------------------------------------------------


class OfferTemplateItemSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code", help_text="The product's code.")
    license_mode = LicenseModeField(read_only=True)

    class Meta:
        model = TemplateItem
        fields = ["id", "product", "quantity", "license_mode", "term_months"]
        read_only_fields = fields


class OfferTemplateSerializer(serializers.ModelSerializer):
    items = OfferTemplateItemSerializer(many=True, read_only=True)

    class Meta:
        model = OfferTemplate
        fields = ["id", "name", "items", "created_at", "updated_at"]
        read_only_fields = fields


class OfferTemplateNameSerializer(serializers.Serializer):
    """The body of `POST offer-templates/` and `PATCH offer-templates/{id}/` (a rename)."""

    name = serializers.CharField(max_length=200, help_text="Unique among your templates.")


class OfferTemplateItemCreateSerializer(RefusesRuledFields):
    """A line added to a template, saved at once; each product once per template
    (a second line of the same product is a 400 on `product`)."""

    product = ProductCodeField(help_text="The product's code.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    license_mode = LicenseModeField()
    term_months = serializers.IntegerField(
        min_value=1,
        max_value=MAX_TERM_MONTHS,
        help_text="The subscription ends this many months after the offer is accepted.",
    )


# --- offers -----------------------------------------------------------------------------

# Serialized fields the customer reads as null.
ITEM_MARGIN = ("after_partner_discount", "preferential_amount", "cashback", "cashback_amount")
CHARGED_NAMES = ("charged", "charged_amount")  # the name and its deprecated alias


class OfferItemSerializer(serializers.ModelSerializer):
    """A line of the offer as it was quoted when sent (its price waterfall)."""

    product = serializers.CharField(source="product.code", help_text="The product's code.")
    license_mode = LicenseModeField(read_only=True)
    list_amount = money()
    after_partner_discount = withheld_money(PARTNER_ONLY)
    preferential_amount = withheld_money(PARTNER_ONLY)
    public_amount = money()
    charged = withheld_money(CHARGED, source="charged_amount")
    cashback = withheld_money(PARTNER_ONLY, source="cashback_amount")
    charged_amount = deprecated_alias("charged")
    cashback_amount = deprecated_alias("cashback")

    class Meta:
        model = OfferItem
        fields = ["product", "quantity", "license_mode", "term_months", "list_amount"]
        fields += ["after_partner_discount", "preferential_amount", "public_amount"]
        fields += ["charged", "cashback"]
        fields += ["charged_amount", "cashback_amount"]  # deprecated aliases (v1)
        read_only_fields = fields


CHANGES = [Change.NEW, Change.INCREASE, Change.DECREASE, Change.NONE]
OWN_FIGURE = (
    "The caller's own figure: what its organization is charged or credited (0.00 when "
    "nothing), never the other side's; null when the offer cannot be priced."
)


@extend_schema_field({"type": "string", "enum": CHANGES}, component_name="OfferChangeEnum")
class ChangeField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=[(c, c) for c in CHANGES], read_only=True, **kwargs)


class EffectLineSerializer(serializers.Serializer):
    """What the offer does to one product of the customer, as it stands now:
    every live subscription of the product counts, added up. The amounts are
    the caller's own: the customer reads what it is charged and credited, the
    partner what it is (and its cashback), neither the other's."""

    product = serializers.CharField(source="product.code", help_text="The product's code.")
    current_quantity = serializers.IntegerField(help_text="All its live subscriptions together.")
    new_quantity = serializers.IntegerField()
    change = ChangeField()
    text = serializers.CharField(help_text='In plain words: "Web hosting: 35 → 36 licences".')
    unit_price = withheld_money(
        "The public price of one unit at the tier the new quantity reaches."
    )
    amount_now = withheld_money(
        "What accepting settles now for this product: charged, or negative for a credit "
        "note. " + OWN_FIGURE
    )
    credit = withheld_money("Credited now. " + OWN_FIGURE)
    renewal_amount = withheld_money("The new quantity for one billing period. " + OWN_FIGURE)
    cashback = withheld_money(
        "What the partner's prepaid account gets now: the cashback of what is charged, "
        "less what the credits take back (negative: taken back). " + PARTNER_ONLY
    )


def viewer(org) -> str:
    """The side reading an offer's figures (`billing.models.Payer`)."""
    return Payer.PARTNER if org.tenant.is_partner else Payer.CUSTOMER


def effect_lines(effect: Effect, *, side: str) -> list[dict]:
    """The effect's lines with `side`'s own figures only."""
    priced = effect.quote is not None
    rows = []
    for line in effect.lines:
        rows.append(
            {
                "product": line.product,
                "current_quantity": line.current_quantity,
                "new_quantity": line.new_quantity,
                "change": line.change,
                "text": line.text,
                "unit_price": line.unit_price if priced else None,
                "amount_now": line.amount_now_of(side) - line.credit_of(side) if priced else None,
                "credit": line.credit_of(side) if priced else None,
                "renewal_amount": line.renewal_of(side) if priced else None,
                "cashback": line.cashback if priced and side == Payer.PARTNER else None,
            }
        )
    return rows


class OfferSerializer(serializers.ModelSerializer):
    """An offer as the caller's side may read it. The partner sees every amount
    and why a delivery failed; for the customer the partner's margin, the failure
    reason, and the charged amounts of an offer its partner pays are null. The
    view passes the organization in the context (`org`)."""

    partner = TenantNameSerializer(read_only=True)
    customer = TenantNameSerializer(read_only=True)
    status = named_choice(Offer.Status, "OfferStatusEnum")
    payer = serializers.ChoiceField(
        choices=Payer.choices, read_only=True, help_text="Who would pay, as quoted when sent."
    )
    charged = withheld_money(CHARGED, source="charged_amount")
    charged_amount = deprecated_alias("charged")
    public_amount = money()
    failure_reason = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Why the delivery failed (the partner's side only: null for the customer).",
    )
    order = serializers.UUIDField(
        source="order_id",
        read_only=True,
        allow_null=True,
        help_text="The order placed when the offer was accepted.",
    )
    items = OfferItemSerializer(many=True, read_only=True)
    effect = serializers.SerializerMethodField(
        help_text="What accepting would do now, per product (SPEC §6 rev. 2); "
        "empty once the offer is closed."
    )
    reduces = serializers.SerializerMethodField(
        help_text="Whether accepting would lower any quantity: accepting then needs "
        "`confirm_reduction: true`."
    )

    class Meta:
        model = Offer
        fields = ["id", "partner", "customer", "template_name", "message", "status"]
        fields += ["currency", "payer", "charged", "public_amount", "created_at"]
        fields += ["delivered_at", "expires_at", "closed_at", "decline_reason"]
        fields += ["failure_reason", "order", "items", "effect", "reduces"]
        fields += ["charged_amount"]  # deprecated alias (v1)
        read_only_fields = fields

    def _effect(self, offer: Offer) -> Effect | None:
        if offer.status not in Offer.OPEN:
            return None
        effects = self.context.setdefault("effects", {})
        if offer.pk not in effects:
            effects[offer.pk] = offer_effect(offer)
        return effects[offer.pk]

    @extend_schema_field(EffectLineSerializer(many=True))
    def get_effect(self, offer: Offer) -> list:
        effect = self._effect(offer)
        if effect is None:
            return []
        lines = effect_lines(effect, side=viewer(self.context["org"]))
        return EffectLineSerializer(lines, many=True).data

    def get_reduces(self, offer: Offer) -> bool:
        effect = self._effect(offer)
        return bool(effect and effect.reduces)

    def to_representation(self, offer: Offer) -> dict:
        data = super().to_representation(offer)
        if self.context["org"].tenant.is_partner:
            return data
        data["failure_reason"] = None
        hide_charged = offer.payer == Payer.PARTNER
        for field in CHARGED_NAMES if hide_charged else ():
            data[field] = None
        for item in data["items"]:
            for field in ITEM_MARGIN + (CHARGED_NAMES if hide_charged else ()):
                item[field] = None
        return data


class OfferSendSerializer(RefusesRuledFields):
    """The body of `POST offers/`: a template sent to one customer (`customer`)
    or to many (`customers`), exactly one of the two. A customer the caller may
    not act on (another partner's, a missing id) is a 400 naming it under
    `customers`. A customer left out for a reason known in advance (a limited
    grant without a product, a suspended organization, nobody there to answer,
    no price in its currency) is reported under `skipped` while the others are
    sent to; with `all_or_nothing`, or when nobody is left, the send is a 400
    naming each, and nothing is sent."""

    customer = serializers.UUIDField(required=False, help_text="One customer's id.")
    customers = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_empty=False,
        max_length=MAX_CUSTOMERS_PER_SEND,
        help_text=f"Customers' ids, up to {MAX_CUSTOMERS_PER_SEND:,}.",
    )
    template = serializers.UUIDField(help_text="One of your templates (id).")
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Shown to the customer with the offer.",
    )
    all_or_nothing = serializers.BooleanField(
        default=False,
        help_text="Refuse the whole send (400 naming each) when any customer would be "
        "left out; by default the eligible customers are sent to and the others reported "
        "under `skipped`.",
    )

    def validate(self, attrs):
        one, many = attrs.pop("customer", None), attrs.pop("customers", None)
        if one is not None and many is not None:
            raise serializers.ValidationError(
                {"customers": [_("Give either customer or customers, not both.")]}
            )
        if one is None and many is None:
            raise serializers.ValidationError(
                {"customer": [_("Choose a customer (customer) or several (customers).")]}
            )
        attrs["customer_ids"] = [one] if one is not None else many
        attrs["one"] = one is not None  # answered with the offer itself (API.md rev. 2)
        return attrs


class SkippedSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text="The customer's name.")
    reason = serializers.CharField()


class OfferSentSerializer(serializers.Serializer):
    """What `POST offers/` with `customers` answers (201); with one `customer`
    the answer is the offer itself.

    Each customer gets an offer, `waiting` until the background delivery makes
    it `awaiting_confirmation`. Up to 100 customers, `offers` lists them all;
    beyond, `offers` is empty: `count` says how many were sent, `progress` (the
    send's `GET offers/batches/{id}/`) follows the delivery, and
    `GET offers/?batch={batch}` pages the offers."""

    batch = serializers.UUIDField(help_text="The send's id (`GET offers/batches/{id}/`).")
    count = serializers.IntegerField(help_text="How many offers were sent.")
    progress = serializers.URLField(help_text="The send's progress (`offers/batches/{id}/`).")
    offers = OfferSerializer(
        many=True,
        help_text=f"The offers sent, when there are at most {OFFERS_LISTED_MAX}; else empty.",
    )
    skipped = SkippedSerializer(
        many=True, help_text="The customers left out, each with the reason; nothing sent to them."
    )


class OfferAcceptSerializer(RefusesRuledFields):
    """The body of `POST offers/{id}/accept/` (all optional). The accept is
    priced by the rules: a price, start or anchor sent is a 400."""

    confirm_reduction = serializers.BooleanField(
        default=False,
        help_text="Required (true) when the offer `reduces`: else a 400 and nothing changes.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Return the preview and write nothing."
    )
    expected_total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="The preview's `total` (what your organization is charged now minus what "
        "it is credited): a different amount at commit is a 409 with the new figures, and "
        "nothing is written.",
    )


class AcceptPreviewSerializer(serializers.Serializer):
    """What accepting would do now, line by line; nothing was written. Every
    amount is the caller's own (the customer's: what it is charged and
    credited, never its partner's); `total` (charged now minus credited now)
    is what `expected_total` confirms."""

    offer = serializers.UUIDField()
    currency = serializers.CharField()
    payer = serializers.ChoiceField(
        choices=Payer.choices, help_text="Who pays what is charged now and at renewal."
    )
    reduces = serializers.BooleanField()
    lines = EffectLineSerializer(many=True)
    amount_now = withheld_money("Charged now. " + OWN_FIGURE)
    credit = withheld_money("Credited now. " + OWN_FIGURE)
    total = withheld_money("amount_now - credit: what `expected_total` confirms. " + OWN_FIGURE)
    renewal_amount = withheld_money("At the next renewal. " + OWN_FIGURE)


class AcceptChangedSerializer(serializers.Serializer):
    """409 of an accept: the offer's status forbids it (`detail` only), or its
    `expected_total` is no longer the amount (the new figures under `preview`).
    Nothing was written."""

    detail = serializers.CharField()
    preview = AcceptPreviewSerializer(
        required=False, help_text="Only when the amount changed since the preview."
    )


def accept_preview(offer: Offer, effect: Effect, *, side: str) -> dict:
    priced = effect.quote is not None
    body = {
        "offer": offer.pk,
        "currency": effect.currency,
        "payer": effect.payer,
        "reduces": effect.reduces,
        "lines": effect_lines(effect, side=side),
        "amount_now": effect.amount_now_of(side) if priced else None,
        "credit": effect.credit_of(side) if priced else None,
        "total": effect.total_of(side) if priced else None,
        "renewal_amount": effect.renewal_of(side) if priced else None,
    }
    return AcceptPreviewSerializer(body).data


class OfferDeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Optional; the partner reads it.",
    )


class OfferBatchProgressSerializer(serializers.Serializer):
    waiting = serializers.IntegerField()
    awaiting_confirmation = serializers.IntegerField()
    accepted = serializers.IntegerField()
    declined = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    failed = serializers.IntegerField()
    expired = serializers.IntegerField()
    total = serializers.IntegerField()


class OfferBatchSerializer(serializers.Serializer):
    """One send of a template to many customers, and how far its delivery got:
    how many of its offers are in each status."""

    id = serializers.UUIDField()
    template_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    progress = OfferBatchProgressSerializer()


# --- updates ----------------------------------------------------------------------------


class UpdatesSerializer(serializers.Serializer):
    """What awaits the customer's answer: offers (owners and admins answer them)
    and partners' invitations (owners answer them); `count` is the badge."""

    count = serializers.IntegerField()
    offers = OfferSerializer(many=True)
    invitations = PartnershipSerializer(many=True)
