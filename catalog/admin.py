from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _

from catalog.models import Feature, PriceTier, Product, ProductPrice


class ProductPricesFormSet(BaseInlineFormSet):
    """An active product has a public price in every currency (SPEC §2): without
    one, every quote of it in that currency would fail. The API's serializer
    asks for both too; an inactive product may be priced later."""

    def clean(self):
        super().clean()
        if any(self.errors) or not self.instance.is_active:
            return
        priced = {
            form.cleaned_data["currency"]
            for form in self.forms
            if form.cleaned_data.get("currency") and not form.cleaned_data.get("DELETE")
        }
        choices = ProductPrice._meta.get_field("currency").choices or []
        missing = [code for code, _label in choices if code not in priced]
        if missing:
            raise ValidationError(
                _("An active product needs a public price in every currency; missing: %(missing)s.")
                % {"missing": ", ".join(missing)}
            )


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    formset = ProductPricesFormSet
    extra = 0


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "family",
        "edition_rank",
        "billing_period",
        "is_active",
    ]
    list_filter = ["category", "billing_period", "family", "is_active"]
    search_fields = ["code", "name", "family"]
    filter_horizontal = ["features"]
    inlines = [ProductPriceInline, PriceTierInline]


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
