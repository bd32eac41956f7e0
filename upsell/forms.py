from django import forms


class UpsellSwitchForm(forms.Form):
    """The partner's switch for one customer: `enabled=on|off`."""

    enabled = forms.ChoiceField(
        choices=[("on", "On"), ("off", "Off")], label="Promote higher editions"
    )

    def is_on(self) -> bool:
        return self.cleaned_data["enabled"] == "on"
