"""Forms of the customer pages. They parse; the services validate the rules and the
views show a service's errors inline."""

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import (
    CONTRACT_AMOUNTS,
    CONTRACT_OPTIONAL,
    CONTRACT_TERM_FIELDS,
    AlertProfile,
    Contract,
    SlaPolicy,
)
from customers.selectors import alert_profiles, sla_policies, technicians
from customers.services import contract_clean, time_entry_errors
from partners.forms import DATE_INPUT, GRANT_FIELDS, GrantForm
from partners.services import clean_grant
from tenants.forms import ORGANIZATION_LABELS, CommaListField
from tenants.models import Tenant
from tenants.selectors import OrgContext
from tenants.services import ORGANIZATION_FIELDS

COUNTRY_CODE = re.compile(r"[A-Z]{2}")


class CustomerProfileForm(forms.ModelForm):
    """Name and the optional profile fields (organization_update's ORGANIZATION_FIELDS)."""

    email_domains = CommaListField(
        required=False,
        label=gettext_lazy("Email domains"),
        help_text=gettext_lazy("Without @, separated by commas: example.com, example.ch."),
    )

    country = forms.CharField(
        required=False,
        label=gettext_lazy("Country"),
        help_text=gettext_lazy("Two letters (ISO 3166): CH, DE, IT…"),
        widget=forms.TextInput(attrs={"size": 2, "autocomplete": "country", "placeholder": "CH"}),
    )

    class Meta:
        model = Tenant
        fields = list(ORGANIZATION_FIELDS)
        labels = {
            **ORGANIZATION_LABELS,
            "name": gettext_lazy("Customer name"),
            "tax_id": gettext_lazy("Company / tax id"),
        }
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "fax": forms.TextInput(attrs={"type": "tel"}),
            "address": forms.TextInput(attrs={"autocomplete": "street-address"}),
            "postal_code": forms.TextInput(attrs={"autocomplete": "postal-code"}),
        }

    def clean_email_domains(self):
        domains = [d.lower() for d in self.cleaned_data["email_domains"]]
        if any("@" in d for d in domains):
            raise forms.ValidationError(_("Give domains without @ (example.com)."))
        return domains

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if country and not COUNTRY_CODE.fullmatch(country):
            raise forms.ValidationError(_("Two letters, e.g. CH."))
        return country

    def validate_unique(self):
        """Saved by a service, which validates the model itself."""

    def profile(self) -> dict:
        return {name: self.cleaned_data[name] for name in ORGANIZATION_FIELDS}


class CustomerCreateProfileForm(CustomerProfileForm):
    """The wizard's first step: the profile and the customer's currency."""

    class Meta(CustomerProfileForm.Meta):
        fields = [*ORGANIZATION_FIELDS, "currency"]
        help_texts = {"currency": gettext_lazy("Prices, contracts and invoices of this customer.")}


def _decimal(label: str, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, max_digits=12, decimal_places=2, min_value=0, **kwargs
    )


class ContractForm(forms.Form):
    """A contract: each type asks only for its own amounts (CONTRACT_AMOUNTS). The
    others are dropped, so a hidden amount is never required nor refused."""

    type = forms.ChoiceField(
        choices=[("", gettext_lazy("Choose a type…")), *Contract.Type.choices],
        label=gettext_lazy("Contract type"),
        widget=forms.Select(attrs={"data-contract-type": ""}),
    )
    name = forms.CharField(max_length=200, label=gettext_lazy("Contract name"))
    starts_on = forms.DateField(label=gettext_lazy("Start"), widget=DATE_INPUT)
    ends_on = forms.DateField(
        label=gettext_lazy("End (optional)"), required=False, widget=DATE_INPUT
    )
    fee = _decimal(gettext_lazy("Monthly fee"))
    hourly_rate = _decimal(gettext_lazy("Hourly rate"))
    hours = _decimal(gettext_lazy("Hours in the block"))
    amount = _decimal(gettext_lazy("Amount"))
    unit_price = _decimal(gettext_lazy("Price per unit and month"))
    quantity = _decimal(gettext_lazy("Units (devices or GB)"))
    warning_threshold = _decimal(gettext_lazy("Warn when the balance falls below (optional)"))
    bills_on = forms.DateField(
        label=gettext_lazy("Billing date (optional, else the start)"),
        required=False,
        widget=DATE_INPUT,
    )

    AMOUNT_FIELDS = CONTRACT_TERM_FIELDS

    def amount_fields(self):
        """The term inputs, each with the types that ask for it (for the page's script)."""
        return [
            (
                self[name],
                " ".join(
                    t
                    for t in CONTRACT_AMOUNTS
                    if name in CONTRACT_AMOUNTS[t] or name in CONTRACT_OPTIONAL.get(t, ())
                ),
            )
            for name in CONTRACT_TERM_FIELDS
        ]

    def clean(self):
        data = super().clean()
        kind = data.get("type")
        kept = (*CONTRACT_AMOUNTS.get(kind, ()), *CONTRACT_OPTIONAL.get(kind, ()))
        for name in CONTRACT_TERM_FIELDS:
            if name not in kept:
                data[name] = None
                self._errors.pop(name, None)
        if data.get("type"):
            try:
                contract_clean(dict(data))
            except forms.ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    if name not in self._errors:
                        self.add_error(name if name in self.fields else None, messages)
        return data

    def contract(self) -> dict:
        return {
            name: self.cleaned_data.get(name)
            for name in ("type", "name", "starts_on", "ends_on", *CONTRACT_TERM_FIELDS)
        }


class ContractStepForm(ContractForm):
    """The wizard's optional contract: nothing is asked unless "Add a contract" is ticked."""

    add_contract = forms.BooleanField(required=False, label=gettext_lazy("Add a contract"))
    field_order = ["add_contract"]
    REQUIRED = ("type", "name", "starts_on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.REQUIRED:
            self.fields[name].required = False

    def clean(self):
        if not self.cleaned_data.get("add_contract"):
            self._errors.clear()
            self.cleaned_data = {"add_contract": False}
            return self.cleaned_data
        for name in self.REQUIRED:
            if not self.cleaned_data.get(name) and name not in self._errors:
                self.add_error(name, self.fields[name].error_messages["required"])
        return super().clean()

    def contract(self) -> dict | None:
        return super().contract() if self.cleaned_data.get("add_contract") else None


class TimeEntryForm(forms.Form):
    """Time worked under a contract (customers.services.time_entry_add checks the
    contract's dates and type)."""

    date = forms.DateField(label=gettext_lazy("Day"), widget=DATE_INPUT)
    hours = forms.DecimalField(
        label=gettext_lazy("Hours"),
        max_digits=4,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("24"),
    )
    description = forms.CharField(
        label=gettext_lazy("What was done (optional)"), max_length=500, required=False
    )
    technician = forms.ModelChoiceField(
        label=gettext_lazy("Technician (optional)"), queryset=None, required=False
    )

    def __init__(self, *args, org: OrgContext, contract: Contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract = contract
        self.fields["technician"].queryset = technicians(org=org).order_by("email")  # type: ignore[attr-defined]

    def clean(self):
        """The service's checks on what parsed, so every error shows at once."""
        data = super().clean()
        errors = time_entry_errors(self.contract, data.get("date"), data.get("hours"))
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)
        return data


class TopUpForm(forms.Form):
    """Prepaid time or money added to a block (customers.services.contract_top_up)."""

    date = forms.DateField(label=gettext_lazy("Day"), widget=DATE_INPUT)
    hours = forms.DecimalField(
        label=gettext_lazy("Hours added"),
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount billed"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )

    def __init__(self, *args, by_hours: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not by_hours:
            del self.fields["hours"]


class ServiceProfileForm(forms.Form):
    """The SLA and alert-threshold profile, from the partner's own lists."""

    sla = forms.ModelChoiceField(
        queryset=SlaPolicy.objects.none(),
        required=False,
        label=gettext_lazy("SLA"),
        empty_label=gettext_lazy("No SLA"),
    )
    alert_profile = forms.ModelChoiceField(
        queryset=AlertProfile.objects.none(),
        required=False,
        label=gettext_lazy("Alert-threshold profile"),
        empty_label=gettext_lazy("No alert profile"),
    )

    def __init__(self, *args, org: OrgContext, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sla"].queryset = sla_policies(org=org)
        self.fields["alert_profile"].queryset = alert_profiles(org=org)

    def service_profile(self) -> dict:
        return {
            "sla": self.cleaned_data["sla"],
            "alert_profile": self.cleaned_data["alert_profile"],
        }


class ContactForm(forms.Form):
    first_name = forms.CharField(
        max_length=100,
        label=gettext_lazy("First name"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    last_name = forms.CharField(
        max_length=100,
        label=gettext_lazy("Last name"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(required=False, max_length=254, label=gettext_lazy("Email (optional)"))
    phone = forms.CharField(
        required=False,
        max_length=40,
        label=gettext_lazy("Phone (optional)"),
        widget=forms.TextInput(attrs={"type": "tel"}),
    )

    def contact(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in ("first_name", "last_name", "email", "phone")
        }


class ContactAddForm(ContactForm):
    is_primary = forms.BooleanField(
        required=False,
        label=gettext_lazy("Make this the primary contact"),
        help_text=gettext_lazy("A customer's first contact becomes its primary contact anyway."),
    )


class PrimaryContactForm(ContactForm):
    """The wizard's primary contact: someone to reach, so an email is needed."""

    email = forms.EmailField(max_length=254, label=gettext_lazy("Email"))


class AccessStepForm(GrantForm):
    """The wizard's access step (partner owners): ask the customer's owner for
    access, or leave the customer unclaimed (managed by you, full, paid by you)."""

    owner_email = forms.EmailField(
        required=False,
        max_length=254,
        label=gettext_lazy("Owner's email (optional)"),
        help_text=gettext_lazy(
            "The customer's legal manager: they get an email to accept, change or "
            "decline the access you ask for. Without an email the customer is unclaimed: you "
            "manage it at once with full access, paid by you, until you invite an owner."
        ),
    )
    message = forms.CharField(
        required=False,
        max_length=2000,
        label=gettext_lazy("Message to the owner (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    field_order = ["owner_email", *GRANT_FIELDS, "message"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["access"].required = False

    def clean(self):
        if "owner_email" in self._errors:
            return self.cleaned_data
        if not self.cleaned_data.get("owner_email"):
            self._errors.clear()
            self.cleaned_data = {"owner_email": ""}
            return self.cleaned_data
        data = super().clean()
        if not any(name in self._errors for name in GRANT_FIELDS):
            try:
                clean_grant(**self.grant())
            except forms.ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    self.add_error(name if name in self.fields else None, messages)
        return data

    def access_request(self) -> dict | None:
        """customer_add's grant arguments; None leaves the customer unclaimed."""
        if not self.cleaned_data.get("owner_email"):
            return None
        return {
            "owner_email": self.cleaned_data["owner_email"],
            "message": self.cleaned_data["message"],
            **self.grant(),
        }


class ConfirmForm(forms.Form):
    """The wizard's last step: the summary, nothing to type."""


class SlaPolicyForm(forms.Form):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    first_response_minutes = forms.IntegerField(
        min_value=1,
        label=gettext_lazy("First response (minutes)"),
        help_text=gettext_lazy("E.g. 60 for one hour."),
    )
    resolution_minutes = forms.IntegerField(
        min_value=1,
        label=gettext_lazy("Resolution (minutes)"),
        help_text=gettext_lazy("E.g. 480 for one working day."),
    )


class AlertProfileForm(forms.Form):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    cpu_percent = forms.IntegerField(min_value=0, initial=90, label=gettext_lazy("CPU (%)"))
    memory_percent = forms.IntegerField(min_value=0, initial=90, label=gettext_lazy("Memory (%)"))
    disk_percent = forms.IntegerField(min_value=0, initial=90, label=gettext_lazy("Disk (%)"))
    offline_minutes = forms.IntegerField(
        min_value=1,
        initial=15,
        label=gettext_lazy("Offline for (minutes)"),
        help_text=gettext_lazy("Alert when a machine has not reported for this long."),
    )
