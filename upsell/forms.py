from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class UpsellSwitchForm(forms.Form):
    """The partner's switch for one customer: `enabled=on|off`."""

    enabled = forms.ChoiceField(
        choices=[
            ("on", pgettext_lazy("upsell switch", "On")),
            ("off", pgettext_lazy("upsell switch", "Off")),
        ],
        label=_("Promote higher editions"),
    )

    def is_on(self) -> bool:
        return self.cleaned_data["enabled"] == "on"
