from django.contrib import admin

from catalog.models import Feature, PriceTier, Product, ProductPrice


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
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
