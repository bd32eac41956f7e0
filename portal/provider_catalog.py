"""The provider console's catalog (`/provider/catalog/`, SPEC §2 "Provider
console", §4): platform staff list the products, create and change them (prices
per currency, degressive tiers, features, the edition within a family) and stop
or resume selling them. The writes are the catalog's services, which the API
and Django admin use too (`catalog.services`): an active product needs a price
in every currency, tiers must be degressive, and every write is audited in the
provider's log. Anyone but staff gets a 404 (ProviderConsoleMixin)."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from catalog.models import Feature, Product, code_validator
from catalog.selectors import PRODUCT_STATUSES, product_families, product_get, products_for_staff
from catalog.services import (
    CURRENCIES,
    MAX_TIER_RATE,
    product_create,
    product_prices_check,
    product_status_set,
    product_tiers_check,
    product_update,
)
from core.exceptions import Errors, validation_detail
from portal.provider import PAGE_SIZE, ProviderConsoleMixin
from tenants.forms import PercentField
from tenants.web import form_add_service_errors

NEW_FEATURE_ROWS = 2
EXTRA_TIER_ROWS = 2


class ProductForm(forms.Form):
    name = forms.CharField(max_length=200, label=gettext_lazy("Name"))
    code = forms.CharField(
        max_length=64,
        validators=[code_validator],
        label=gettext_lazy("Code"),
        help_text=gettext_lazy("How orders and the API name it: lower-case, e.g. web-hosting."),
    )
    description = forms.CharField(
        max_length=2000,
        required=False,
        label=gettext_lazy("Description"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    category = forms.ChoiceField(choices=Product.Category.choices, label=gettext_lazy("Category"))
    billing_period = forms.ChoiceField(
        choices=Product.BillingPeriod.choices, label=gettext_lazy("Billing period")
    )
    family = forms.CharField(
        max_length=64,
        required=False,
        label=gettext_lazy("Family"),
        help_text=gettext_lazy("Editions of one family are offered as upgrades of each other."),
        widget=forms.TextInput(attrs={"list": "product-families"}),
    )
    edition_rank = forms.IntegerField(
        min_value=0,
        max_value=32767,
        initial=0,
        label=gettext_lazy("Edition rank"),
        help_text=gettext_lazy("Higher is a better edition of its family."),
    )
    is_active = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Sold (active): it needs a price in every currency"),
    )
    features = forms.ModelMultipleChoiceField(
        queryset=Feature.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Features"),
    )


class PricesForm(forms.Form):
    """One public price per currency (per unit and billing period)."""

    prefix = "price"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for currency in CURRENCIES:
            self.fields[currency] = forms.DecimalField(
                max_digits=12, decimal_places=2, required=False, label=currency
            )

    def prices(self) -> dict[str, Decimal]:
        return {c: a for c, a in self.cleaned_data.items() if a is not None}


class TierForm(forms.Form):
    """One degressive tier; a row left empty is no tier."""

    min_quantity = forms.IntegerField(
        min_value=1, max_value=1_000_000, required=False, label=gettext_lazy("From quantity")
    )
    rate = PercentField(max_rate=Decimal("1"), required=False, label=gettext_lazy("Discount (%)"))

    def clean(self):
        data = super().clean()
        given = [data.get("min_quantity") is not None, data.get("rate") is not None]
        if any(given) and not all(given):
            raise ValidationError(_("Give both the quantity and the discount, or neither."))
        return data

    def tier(self) -> dict | None:
        if self.cleaned_data.get("min_quantity") is None:
            return None
        return {
            "min_quantity": self.cleaned_data["min_quantity"],
            "rate": self.cleaned_data["rate"],
        }


class NewFeatureForm(forms.Form):
    """A feature the catalog does not have yet; a row left empty adds nothing."""

    code = forms.CharField(
        max_length=64, required=False, validators=[code_validator], label=gettext_lazy("Code")
    )
    name = forms.CharField(max_length=200, required=False, label=gettext_lazy("Name"))

    def clean(self):
        data = super().clean()
        code, name = data.get("code", ""), data.get("name", "")
        if bool(code) != bool(name):
            raise ValidationError(_("Give both the code and the name, or neither."))
        if code and Feature.objects.filter(code=code).exists():
            self.add_error("code", _("This feature exists: tick it in the list."))
        return data


TierFormSet = forms.formset_factory(TierForm, extra=0)
NewFeatureFormSet = forms.formset_factory(NewFeatureForm, extra=NEW_FEATURE_ROWS)


def _price_summary(product: Product) -> str:
    return " · ".join(f"{p.currency} {p.amount:.2f}" for p in product.prices.all())


def _tier_summary(product: Product) -> str:
    return " · ".join(
        _("from %(quantity)s: %(percent)s %% off")
        % {"quantity": t.min_quantity, "percent": f"{(t.rate * 100).normalize():f}"}
        for t in product.tiers.all()
    )


class ProductsView(ProviderConsoleMixin, View):
    """The catalog, 25 products a page, filtered by status and family."""

    def get(self, request):
        return _products_page(request, self.provider)


def _products_page(request, provider, status_code: int = 200):
    status = request.GET.get("status", "")
    family = request.GET.get("family", "")
    page = Paginator(products_for_staff(status=status, family=family), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [{"product": p, "prices": _price_summary(p), "tiers": _tier_summary(p)} for p in page]
    statuses = dict(zip(PRODUCT_STATUSES, (_("Active"), _("Inactive")), strict=True))
    return render(
        request,
        "provider/catalog/products.html",
        {
            "provider": provider,
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": statuses.items(),
            "family": family,
            "families": product_families(),
        },
        status=status_code,
    )


class ProductFormView(ProviderConsoleMixin, View):
    """Create a product, or change one (`product_id`): the same page, the same
    services as the API (`product_create`, `product_update`)."""

    def get(self, request, product_id=None):
        product = self._product(product_id)
        if product is None:
            forms_ = self._forms(data=None, initial={}, prices={}, tiers=[])
        else:
            forms_ = self._forms(
                data=None,
                initial={
                    **{f: getattr(product, f) for f in ProductForm.base_fields if f != "features"},
                    "features": list(product.features.all()),
                },
                prices={p.currency: p.amount for p in product.prices.all()},
                tiers=[
                    {"min_quantity": t.min_quantity, "rate": t.rate} for t in product.tiers.all()
                ],
            )
        return self._render(request, product, forms_)

    def post(self, request, product_id=None):
        product = self._product(product_id)
        forms_ = self._forms(data=request.POST, initial={}, prices={}, tiers=[])
        form, prices_form, tiers, new_features = forms_
        # Every form validated (a list, not a short-circuiting generator), so all
        # their errors show at once.
        valid = [f.is_valid() for f in forms_]
        if not all(valid):
            self._add_rule_errors(form, prices_form, tiers)
        else:
            fields = {k: v for k, v in form.cleaned_data.items() if k != "features"}
            features = [{"code": f.code, "name": f.name} for f in form.cleaned_data["features"]]
            features += [
                {"code": f.cleaned_data["code"], "name": f.cleaned_data["name"]}
                for f in new_features
                if f.cleaned_data.get("code")
            ]
            write = {
                "actor": request.user,
                "prices": prices_form.prices(),
                "tiers": [t for t in (f.tier() for f in tiers) if t is not None],
                "features": features,
                **fields,
            }
            try:
                if product is None:
                    product = product_create(**write)
                    text = _("%(product)s was added to the catalog.")
                else:
                    product = product_update(product=product, **write)
                    text = _("%(product)s was saved.")
            except ValidationError as exc:
                self._add_service_errors(exc, form, prices_form, tiers)
            else:
                messages.success(request, text % {"product": product.name})
                return redirect("provider_catalog")
        return self._render(request, product, forms_, status=400)

    def _add_rule_errors(self, form, prices_form, tiers) -> None:
        """The catalog's own rules on what parsed, while a form has errors: a
        price of 0 or less or tiers out of order show with the fields' errors."""
        errors = Errors()
        if prices_form.is_valid():
            is_active = bool(form.cleaned_data.get("is_active"))
            with errors.collect():
                product_prices_check(is_active=is_active, prices=prices_form.prices())
        if tiers.is_valid():
            with errors.collect():
                product_tiers_check([t for t in (f.tier() for f in tiers) if t is not None])
        if errors:
            self._add_service_errors(ValidationError(errors.found), form, prices_form, tiers)

    def _product(self, product_id) -> Product | None:
        if product_id is None:
            return None
        return product_get(code_or_id=str(product_id), include_inactive=True)

    def _forms(self, *, data, initial, prices, tiers):
        tier_rows = tiers + [{}] * EXTRA_TIER_ROWS
        return (
            ProductForm(data, initial=initial),
            PricesForm(data, initial=prices),
            TierFormSet(data, initial=tier_rows if data is None else None, prefix="tiers"),
            NewFeatureFormSet(data, prefix="newfeature"),
        )

    @staticmethod
    def _add_service_errors(exc, form, prices_form, tiers) -> None:
        """The service's errors where they belong: a price's on the first
        currency left empty, the tiers' above the tiers, the rest on the form."""
        detail = validation_detail(exc)
        for message in detail.pop("prices", []):
            empty = [c for c in CURRENCIES if prices_form.cleaned_data.get(c) is None]
            prices_form.add_error((empty or list(CURRENCIES))[0], message)
        tiers.service_errors = detail.pop("tiers", [])
        if detail:
            form_add_service_errors(form, ValidationError(detail))

    def _render(self, request, product, forms_, status=200):
        form, prices_form, tiers, new_features = forms_
        return render(
            request,
            "provider/catalog/product_form.html",
            {
                "provider": self.provider,
                "product": product,
                "form": form,
                "prices_form": prices_form,
                "tiers": tiers,
                "tier_errors": getattr(tiers, "service_errors", []),
                "new_features": new_features,
                "families": product_families(),
                "max_tier_percent": int(MAX_TIER_RATE * 100),
            },
            status=status,
        )


class ProductStatusView(ProviderConsoleMixin, View):
    """Stop selling a product or sell it again (`product_status_set`): its
    subscriptions keep running and renew; no new order takes it while inactive."""

    def post(self, request, product_id):
        product = product_get(code_or_id=str(product_id), include_inactive=True)
        status = request.POST.get("status", "")
        try:
            if status not in PRODUCT_STATUSES:
                raise ValidationError({"status": _("Choose active or inactive.")})
            product = product_status_set(
                actor=request.user, product=product, is_active=status == "active"
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return _products_page(request, self.provider, status_code=400)
        if product.is_active:
            text = _("%(product)s is sold again.")
        else:
            text = _("%(product)s is no longer sold; its subscriptions keep running.")
        messages.success(request, text % {"product": product.name})
        return redirect("provider_catalog")
