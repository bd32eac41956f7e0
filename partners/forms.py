"""Forms of the partnership pages: a grant, an invitation, an answer, an end, the
collaborators of a customer. They parse; the services validate the rules (clean_grant)."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy

from catalog.models import Product
from catalog.selectors import products_list
from partners.models import Access, Payment
from partners.selectors import partner_collaborators, partner_directory
from tenants.models import Tenant, User

GRANT_FIELDS = ("access", "payment", "products", "ends_on")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class GrantForm(forms.Form):
    """What a partner may manage: limited (listed products) or full (who pays).

    The payment mode only counts for full access and the products only for
    limited access; the one that does not apply is dropped, so a hidden choice
    left over from the other access never blocks the form.
    """

    access = forms.ChoiceField(
        choices=Access.choices, widget=forms.RadioSelect, label=gettext_lazy("Access")
    )
    payment = forms.ChoiceField(
        choices=Payment.choices,
        widget=forms.RadioSelect,
        required=False,
        label=gettext_lazy("Who pays"),
        help_text=gettext_lazy(
            "Full access only. The customer pays: public prices, the partner earns "
            "cashback. The partner pays: the partner orders at its prices and re-invoices."
        ),
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=gettext_lazy("Products"),
        help_text=gettext_lazy("Limited access only: the products the partner may manage."),
    )
    ends_on = forms.DateField(
        required=False,
        label=gettext_lazy("End date (optional)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Access stops by itself after this day."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = products_list().prefetch_related(None)

    def clean(self):
        data = super().clean()
        if data.get("access") == Access.LIMITED:
            data["payment"] = ""
        elif data.get("access") == Access.FULL:
            data["products"] = []
        return data

    def grant(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in GRANT_FIELDS}


def grant_initial(grant: dict) -> dict:
    """Form initial values from a grant as plain data (`services.grant_of`, `requested`)."""
    codes = grant.get("products") or []
    ends_on = grant.get("ends_on")
    return {
        "access": grant.get("access"),
        "payment": grant.get("payment") or None,
        "products": list(Product.objects.filter(code__in=codes).values_list("pk", flat=True))
        if codes
        else [],
        "ends_on": datetime.date.fromisoformat(ends_on) if ends_on else None,
    }


class PartnerInviteForm(GrantForm):
    partner = forms.ModelChoiceField(
        queryset=Tenant.objects.none(),
        label=gettext_lazy("Partner"),
        error_messages={
            "required": gettext_lazy("Pick a partner from the directory."),
            "invalid_choice": gettext_lazy("Pick a partner from the directory."),
        },
    )
    message = forms.CharField(
        required=False,
        max_length=2000,
        label=gettext_lazy("Message to the partner (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partner_directory()


class DeclineForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label=gettext_lazy("Reason (optional)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("The other side sees it in the email and in the history."),
    )


class EndForm(forms.Form):
    """Nothing to fill in: the page asks who you are on allauth's
    re-authentication page (password or second factor) before it ends."""


class ExtensionForm(forms.Form):
    until = forms.DateField(
        label=gettext_lazy("Keep access until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class CollaboratorsForm(forms.Form):
    users = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=gettext_lazy("Collaborators who manage this customer"),
    )

    def __init__(self, *args, partner: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = partner_collaborators(partner)


class OwnerInviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label=gettext_lazy("Owner's email"),
        help_text=gettext_lazy(
            "They get a link to set a password and review your access: keep, change or decline it."
        ),
    )
