"""The forms of a change to a billed subscription (moved from billing, issue 19)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy


class SubscriptionRaiseForm(forms.Form):
    """The new quantity of a subscription; the service decides what it may be."""

    quantity = forms.IntegerField(label=gettext_lazy("New quantity"), min_value=1)


class SubscriptionEndForm(SubscriptionRaiseForm):
    """Ending now asks for nothing but the confirmation (and the preview's total)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("initial", None)
        super().__init__(*args, **kwargs)
        del self.fields["quantity"]
