from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.models import ROLES_BY_KIND, AuditEvent, Branding, Role, Tenant
from tenants.services import ORGANIZATION_FIELDS, PARTNER_LISTING_FIELDS


def role_choices(tenant: Tenant) -> list[tuple[str, str]]:
    return [(r, Role(r).label) for r in ROLES_BY_KIND[tenant.kind]]


class MemberInviteForm(forms.Form):
    email = forms.EmailField(max_length=254, label=_("Email"))
    role = forms.ChoiceField(label=_("Role"))
    buyer = forms.BooleanField(
        required=False, label=_("Buyer"), help_text=_("May this person buy?")
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(tenant)


class MemberUpdateForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))
    buyer = forms.BooleanField(required=False, label=_("Buyer"))

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(tenant)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("What uses it, e.g. “billing sync”.")
    )


class CommaListField(forms.CharField):
    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [part.strip() for part in (value or "").split(",") if part.strip()]


# The model's field names, as labels people read in their language (every form
# of an organization's profile: its own, and a partner's for its customer).
ORGANIZATION_LABELS = {
    "name": _("Name"),
    "rank": _("Rank"),
    "phone": _("Phone"),
    "fax": _("Fax"),
    "address": _("Address"),
    "city": _("City"),
    "state": _("State"),
    "postal_code": _("Postal code"),
    "country": _("Country"),
    "vat_number": _("VAT number"),
    "listed_in_directory": _("Listed in directory"),
    "receives_tenders": _("Receives tenders"),
}


class OrganizationForm(forms.ModelForm):
    email_domains = CommaListField(
        required=False,
        label=_("Email domains"),
        help_text=_("Without @, separated by commas."),
    )
    specialities = CommaListField(
        required=False, label=_("Specialities"), help_text=_("Separated by commas.")
    )
    website = forms.URLField(required=False, assume_scheme="https", label=_("Website"))

    class Meta:
        model = Tenant
        fields = [*ORGANIZATION_FIELDS, *PARTNER_LISTING_FIELDS]
        labels = ORGANIZATION_LABELS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.is_partner:
            for field in PARTNER_LISTING_FIELDS:
                del self.fields[field]

    def validate_unique(self):
        """Saved by organization_update, which validates the model itself."""


class BrandingForm(forms.ModelForm):
    buy_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=500,
        label=_("Buy URL"),
        help_text=_("https:// only. Empty: inherited from the partner above."),
    )

    class Meta:
        model = Branding
        fields = list(Branding.INHERITED_FIELDS)
        labels = {
            "display_name": _("Display name"),
            "support_email": _("Support email"),
            "support_phone": _("Support phone"),
            "accent_color": _("Accent color"),
        }
        widgets = {"accent_color": forms.TextInput(attrs={"type": "color"})}


class AuditFilterForm(forms.Form):
    """The audit log's filter (GET); an unknown action shows every event."""

    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", pgettext_lazy("any action", "Any")), *AuditEvent.Action.choices],
    )


PERCENT = Decimal("100")


class LinesField(forms.Field):
    """A list (a JSON field: email domains, specialities) typed one item a line,
    not as JSON text."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def has_changed(self, initial, data) -> bool:
        return list(initial or []) != self.to_python(data)


class PercentField(forms.DecimalField):
    """A rate stored as a fraction (0.2000) and shown and typed in percent (20)."""

    def __init__(self, *, max_rate: Decimal, **kwargs):
        super().__init__(
            max_digits=5, decimal_places=2, min_value=0, max_value=max_rate * PERCENT, **kwargs
        )

    def prepare_value(self, value):
        if isinstance(value, Decimal):  # the stored fraction; typed text stays as typed
            return f"{(value * PERCENT).normalize():f}"
        return value

    def clean(self, value):
        percent = super().clean(value)
        return None if percent is None else (percent / PERCENT).quantize(Decimal("0.0001"))

    def has_changed(self, initial, data) -> bool:
        try:
            return initial != self.clean(data)
        except ValidationError:
            return True
