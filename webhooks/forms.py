from django import forms
from django.utils.translation import gettext_lazy as _

from core.events import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_("Where the portal POSTs the events: https, a public address."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=[(name, name) for name in sorted(EVENT_TYPES)],
        widget=forms.CheckboxSelectMultiple,
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
