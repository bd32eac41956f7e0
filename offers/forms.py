"""The forms of the offers pages. They parse; offers.services validates and
writes, and its messages show inline (tenants.web.form_add_service_errors), so a
rule lives once — fields the service checks are optional here on purpose."""

from django import forms
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.services.orders import MAX_QUANTITY
from catalog.models import Product
from offers.models import MAX_TERM_MONTHS, LicenseMode, Offer, OfferTemplate

MESSAGE_MAX = 2000


class TemplateNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 200, "required": True, "autocomplete": "off"}),
    )


class TemplateItemForm(forms.Form):
    """One line of a template. `products` (the active catalog) is read once by the view."""

    product = forms.ChoiceField(label=_("Product"), required=False)
    quantity = forms.IntegerField(
        label=_("Quantity"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_QUANTITY, "inputmode": "numeric"}),
    )
    license_mode = forms.ChoiceField(
        label=_("License mode"),
        required=False,
        choices=[
            (LicenseMode.ABSOLUTE, _("Absolute: set the quantity to N")),
            (LicenseMode.RELATIVE, _("Relative: add N")),
        ],
        widget=forms.RadioSelect,
        initial=LicenseMode.ABSOLUTE,
    )
    term_months = forms.IntegerField(
        label=_("Term (months)"),
        required=False,
        initial=12,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_TERM_MONTHS, "inputmode": "numeric"}),
    )

    def __init__(self, *args, products: list[Product], **kwargs):
        super().__init__(*args, **kwargs)
        self.products = {str(p.pk): p for p in products}
        self.fields["product"].choices = [("", gettext("Choose a product…"))] + [
            (pk, f"{p.name} ({p.get_billing_period_display().lower()})")
            for pk, p in self.products.items()
        ]

    def clean_product(self) -> Product | None:
        return self.products.get(self.cleaned_data["product"] or "")

    def item(self) -> dict:
        """The keyword arguments of `services.template_item_add`."""
        data = self.cleaned_data
        return {
            "product": data["product"],
            "quantity": data["quantity"],
            "license_mode": data["license_mode"],
            "term_months": data["term_months"],
        }


class AnyMultipleChoiceField(forms.MultipleChoiceField):
    """Customer ids as sent: `offer_send` names each one it refuses, with the reason."""

    def valid_value(self, value) -> bool:
        return True


def _template_label(template: OfferTemplate) -> str:
    count = len(template.items.all())  # prefetched by templates_for
    return ngettext("%(name)s (%(count)s item)", "%(name)s (%(count)s items)", count) % {
        "name": template.name,
        "count": count,
    }


class OfferSendForm(forms.Form):
    template = forms.ChoiceField(
        label=_("Offer template"), error_messages={"required": _("Choose a template.")}
    )
    customers = AnyMultipleChoiceField(
        label=_("Customers"), required=False, widget=forms.CheckboxSelectMultiple
    )
    all_customers = forms.BooleanField(label=_("All customers I manage"), required=False)
    all_or_nothing = forms.BooleanField(
        label=_("All or nothing: send to nobody if any customer would be left out"),
        required=False,
    )
    message = forms.CharField(
        label=_("Message (optional)"),
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MESSAGE_MAX}),
        help_text=_("Your customer reads it with the offer, on its Updates page and in the email."),
    )

    def __init__(self, *args, templates: list[OfferTemplate], **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(t.pk): t for t in templates}
        self.fields["template"].choices = [("", gettext("Choose a template…"))] + [
            (pk, _template_label(t)) for pk, t in self.templates.items()
        ]

    def clean_template(self) -> OfferTemplate:
        return self.templates[self.cleaned_data["template"]]

    def clean(self):
        data = super().clean()
        # Checked with the template, not after it: every error shows at once.
        if not data.get("all_customers") and not data.get("customers"):
            self.add_error("customers", gettext("Choose at least one customer."))
        return data


class OfferDeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.TextInput(attrs={"maxlength": MESSAGE_MAX}),
    )


class SentOffersFilterForm(forms.Form):
    """The sent offers list's filters (GET); unknown values are ignored."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    customer = forms.ChoiceField(label=_("Customer"), required=False)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", gettext("Any")), *Offer.Status.choices]
        self.fields["customer"].choices = [
            ("", gettext("Any")),
            *((str(c.pk), c.name) for c in customers),
        ]
