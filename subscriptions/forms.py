"""Forms of the subscription pages: they parse; subscriptions.services validates and writes."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Product


class DateInput(forms.DateInput):
    """A date picker: its value is always ISO, whatever the locale (docs/i18n.md)."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs, format)


class SubscriptionForm(forms.Form):
    """Change a subscription: quantity, net unit price, first and last day of service.
    Quantities and dates are checked by the service, so its messages show inline."""

    quantity = forms.IntegerField(label=_("Quantity"))
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Net price of one unit per billing period."),
    )
    starts_on = forms.DateField(label=_("Starts on"), widget=DateInput)
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=DateInput,
        help_text=_("The last day of service; leave empty if it renews."),
    )

    def data_for_service(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("unit_price") is None:
            data.pop("unit_price", None)
        return data


class SubscriptionAddForm(SubscriptionForm):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), empty_label=None
    )

    field_order = ["product", "quantity", "unit_price", "starts_on", "ends_on"]

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(is_active=True).order_by(
            "category", "name"
        )
        self.fields["unit_price"].help_text = gettext(
            "Optional: defaults to the catalog price in %(currency)s."
        ) % {"currency": currency}

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        data.setdefault("unit_price", None)
        return data
