"""Forms of the partnership pages. They parse; the services validate the rules
(clean_grant) and the views show a service's errors inline."""

import datetime

from django import forms

from partners.models import Access, Payment
from partners.selectors import partner_directory
from subscriptions.models import Product
from subscriptions.selectors import products_list
from tenants.models import Role, Tenant, User

GRANT_FIELDS = ("access", "payment", "products", "ends_on")


class GrantForm(forms.Form):
    """What a partner may manage: limited (listed products) or full (who pays).

    The payment mode only counts for full access and the products only for
    limited access; the one that does not apply is dropped, so a hidden choice
    left over from the other access never blocks the form.
    """

    access = forms.ChoiceField(choices=Access.choices, widget=forms.RadioSelect)
    payment = forms.ChoiceField(
        choices=Payment.choices,
        widget=forms.RadioSelect,
        required=False,
        label="Who pays",
        help_text="Full access only. The customer pays: public prices, the partner earns "
        "cashback. The partner pays: the partner orders at its prices and re-invoices.",
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Limited access only: the products the partner may manage.",
    )
    ends_on = forms.DateField(
        required=False,
        label="End date (optional)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Access stops by itself after this day.",
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


class CustomerAddForm(GrantForm):
    name = forms.CharField(max_length=200, label="Customer name")
    currency = forms.ChoiceField(choices=Tenant.Currency.choices)
    owner_email = forms.EmailField(
        required=False,
        max_length=254,
        label="Owner's email (optional)",
        help_text="The customer's legal manager: they get an email to accept, change or "
        "decline the access you ask for. Without an email the customer is unclaimed: you "
        "manage it at once with full access, paid by you, until you invite an owner.",
    )
    message = forms.CharField(
        required=False,
        max_length=2000,
        label="Message to the owner (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    field_order = ["name", "currency", "owner_email", *GRANT_FIELDS, "message"]


class PartnerInviteForm(GrantForm):
    partner = forms.ModelChoiceField(
        queryset=Tenant.objects.none(),
        error_messages={
            "required": "Pick a partner from the directory.",
            "invalid_choice": "Pick a partner from the directory.",
        },
    )
    message = forms.CharField(
        required=False,
        max_length=2000,
        label="Message to the partner (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partner_directory()


class DeclineForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The other side sees it in the email and in the history.",
    )


class EndForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Enter your password to confirm: access stops at once.",
    )


class ExtensionForm(forms.Form):
    until = forms.DateField(
        label="Keep access until",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class CollaboratorsForm(forms.Form):
    users = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Collaborators who manage this customer",
    )

    def __init__(self, *args, partner: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = User.objects.filter(
            memberships__tenant=partner, memberships__role=Role.COLLABORATOR
        ).order_by("email")


class OwnerInviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Owner's email",
        help_text="They get a link to set a password and review your access: keep, change or decline it.",
    )
