"""Forms of the subscription pages: they parse; subscriptions.services validates and writes.
Adding a subscription is an order: billing's order page."""

from django import forms
from django.utils.translation import gettext_lazy as _


class DateInput(forms.DateInput):
    """A date picker: its value is always ISO, whatever the locale (docs/i18n.md)."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs, format)


class SubscriptionForm(forms.Form):
    """Change what holds no money: the last day of service. Quantity, price and
    start change only by an order (SPEC §4 rev. 2); the service checks the date."""

    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=DateInput,
        help_text=_("The last day of service; leave empty if it renews."),
    )
