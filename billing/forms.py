"""The form of the quote and order pages: up to five lines of product and
quantity (and, on the partner's quote page, the customer; on the order page,
for platform staff only, a special unit price per line and its reason). It
parses; the billing services price, check and write, and their messages show
inline."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.forms import BoundField
from django.http import QueryDict
from django.utils.translation import gettext as _

from billing.services.orders import MAX_QUANTITY, LineRequest
from billing.services.special_prices import REASON_MAX_LENGTH
from catalog.models import Product
from tenants.models import Tenant

FORM_LINES = 5


class OrderLinesForm(forms.Form):
    """`products` (the active catalog) and `customers` are read once by the view,
    so five product selects cost one query, not five."""

    def __init__(
        self,
        *args: Any,
        products: list[Product],
        customers: Iterable[Tenant] | None = None,
        special_prices: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Staff's special prices (billing.services.special_prices): the fields
        # exist for staff only; anyone else sending one gets a form error.
        self.special_prices = special_prices
        self.products = {str(p.pk): p for p in products}
        self.customers: dict[str, Tenant] | None = None
        if customers is not None:
            self.customers = {str(c.pk): c for c in customers}
            self.fields["customer"] = forms.ChoiceField(
                choices=[("", _("Choose a customer…"))]
                + [(pk, c.name) for pk, c in self.customers.items()],
            )
        product_choices = [("", "—")] + [
            (pk, f"{p.name} ({p.get_billing_period_display().lower()})")
            for pk, p in self.products.items()
        ]
        for n in range(FORM_LINES):
            self.fields[f"product_{n}"] = forms.ChoiceField(
                label=_("Product %(number)s") % {"number": n + 1},
                choices=product_choices,
                required=False,
            )
            self.fields[f"quantity_{n}"] = forms.IntegerField(
                label=_("Quantity %(number)s") % {"number": n + 1},
                min_value=1,
                max_value=MAX_QUANTITY,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            if special_prices:
                self.fields[f"unit_price_{n}"] = forms.DecimalField(
                    label=_("Special unit price %(number)s") % {"number": n + 1},
                    min_value=Decimal("0"),
                    max_digits=12,
                    decimal_places=2,
                    required=False,
                    widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
                )
        if special_prices:
            self.fields["price_reason"] = forms.CharField(
                label=_("Why a special price"),
                max_length=REASON_MAX_LENGTH,
                required=False,
                help_text=_(
                    "Platform staff only: required with a special unit price, recorded in "
                    "the audit log and shown on the order."
                ),
            )

    @property
    def rows(self) -> list[tuple]:
        """(product field, quantity field, special unit price field or None) per
        line, for the template."""
        return [
            (
                self[f"product_{n}"],
                self[f"quantity_{n}"],
                self[f"unit_price_{n}"] if self.special_prices else None,
            )
            for n in range(FORM_LINES)
        ]

    @property
    def price_reason_field(self) -> BoundField | None:
        return self["price_reason"] if self.special_prices else None

    def special_price_given(self) -> bool:
        """A special unit price was sent on some line (valid or not)."""
        return any(str(self.data.get(f"unit_price_{n}", "")).strip() for n in range(FORM_LINES))

    def price_reason(self) -> str:
        return self.cleaned_data.get("price_reason", "") if self.special_prices else ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.special_prices and any(
            key.startswith("unit_price_") or key == "price_reason" for key in self.data
        ):
            # Refused, and the lines are still checked: every error shows at once.
            self.add_error(None, _("Prices come from the pricing rules; a client cannot set one."))
        chosen = 0
        for n in range(FORM_LINES):
            product = cleaned.get(f"product_{n}")
            quantity = cleaned.get(f"quantity_{n}")
            if f"quantity_{n}" in self.errors or f"product_{n}" in self.errors:
                chosen += 1
                continue
            if product and quantity is None:
                self.add_error(f"quantity_{n}", _("Give a quantity."))
            elif quantity is not None and not product:
                self.add_error(f"product_{n}", _("Choose a product for this quantity."))
            if product or quantity is not None:
                chosen += 1
        if not chosen:
            raise forms.ValidationError(_("Choose at least one product and its quantity."))
        return cleaned

    @property
    def customer_field(self) -> BoundField | None:
        """The customer select (partner's quote page), else None."""
        return self["customer"] if "customer" in self.fields else None

    def chosen_customer(self) -> Tenant | None:
        if self.customers is None:
            return None
        return self.customers[self.cleaned_data["customer"]]

    def line_requests(self) -> list[LineRequest]:
        return [
            LineRequest(
                self.products[self.cleaned_data[f"product_{n}"]],
                self.cleaned_data[f"quantity_{n}"],
                special_price=self.cleaned_data.get(f"unit_price_{n}"),
            )
            for n in range(FORM_LINES)
            if self.cleaned_data.get(f"product_{n}")
        ]

    def querystring(self) -> str:
        """The lines as a query string, to carry a quote over to the order page."""
        query = QueryDict(mutable=True)
        for n, line in enumerate(self.line_requests()):
            query[f"product_{n}"] = str(line.product.pk)
            query[f"quantity_{n}"] = str(line.quantity)
        return query.urlencode()
