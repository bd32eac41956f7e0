from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from catalog.models import Feature, PriceTier, Product, ProductPrice
from catalog.services import (
    product_audit,
    product_prices_check,
    product_snapshot,
    product_tiers_check,
)


def _kept(formset: BaseInlineFormSet) -> list[dict]:
    return [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class ProductPricesFormSet(BaseInlineFormSet):
    """The prices as the catalog service judges them (SPEC §2): an active
    product has a price above zero in every currency; the console and the API
    ask the same (`product_prices_check`)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        prices = {row["currency"]: row["amount"] for row in _kept(self) if row.get("currency")}
        try:
            product_prices_check(is_active=self.instance.is_active, prices=prices)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["prices"]) from exc


class PriceTiersFormSet(BaseInlineFormSet):
    """Degressive tiers as the catalog service judges them (`product_tiers_check`)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = [
            row
            for row in _kept(self)
            if row.get("min_quantity") is not None and row.get("rate") is not None
        ]
        try:
            product_tiers_check(rows)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["tiers"]) from exc


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    formset = ProductPricesFormSet
    extra = 0


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    formset = PriceTiersFormSet
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

    def save_model(self, request, obj, form, change):
        """Remember the product as it was, for the audit entry `save_related` writes."""
        if change:
            request._product_before = product_snapshot(Product.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        """A change in admin is audited in the provider's log like one in the console."""
        super().save_related(request, form, formsets, change)
        product_audit(
            actor=request.user,
            product=form.instance,
            before=getattr(request, "_product_before", None) if change else None,
        )


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
