from django import forms

from tenants.models import ROLES_BY_KIND, AuditEvent, Branding, Role, Tenant
from tenants.services import ORGANIZATION_FIELDS, PARTNER_LISTING_FIELDS


def role_choices(tenant: Tenant) -> list[tuple[str, str]]:
    return [(r, Role(r).label) for r in ROLES_BY_KIND[tenant.kind]]


class MemberInviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField()
    buyer = forms.BooleanField(required=False, help_text="May this person buy?")

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(tenant)


class MemberUpdateForm(forms.Form):
    role = forms.ChoiceField()
    buyer = forms.BooleanField(required=False)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(tenant)


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “billing sync”.")


class CommaListField(forms.CharField):
    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [part.strip() for part in (value or "").split(",") if part.strip()]


class OrganizationForm(forms.ModelForm):
    email_domains = CommaListField(required=False, help_text="Without @, separated by commas.")
    specialities = CommaListField(required=False, help_text="Separated by commas.")
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Tenant
        fields = [*ORGANIZATION_FIELDS, *PARTNER_LISTING_FIELDS]

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
        label="Buy URL",
        help_text="https:// only. Empty: inherited from the partner above.",
    )

    class Meta:
        model = Branding
        fields = list(Branding.INHERITED_FIELDS)
        widgets = {"accent_color": forms.TextInput(attrs={"type": "color"})}


class AuditFilterForm(forms.Form):
    """The audit log's filter (GET); an unknown action shows every event."""

    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *AuditEvent.Action.choices]
    )
