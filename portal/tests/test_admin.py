"""Django admin for support engineers (issue 22): no <select> of every tenant
or user, lists and percentages as people type them, read-only where a service
owns the write."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import (
    AutocompleteSelect,
    AutocompleteSelectMultiple,
    ForeignKeyRawIdWidget,
    ManyToManyRawIdWidget,
)
from django.forms import ModelChoiceField
from django.test import RequestFactory

from catalog.models import Product
from tenants.models import AuditEvent, Tenant, User
from tenants.tests.factories import UserFactory
from upsell.models import UpsellSwitch

pytestmark = pytest.mark.django_db

SEARCHABLE = (
    AutocompleteSelect,
    AutocompleteSelectMultiple,
    ForeignKeyRawIdWidget,
    ManyToManyRawIdWidget,
)


def _forms(model_admin, request):
    """Every form the admin lets staff submit: add, change, and their inlines'."""
    for obj in (None, model_admin.model()):
        allowed = (
            model_admin.has_add_permission(request)
            if obj is None
            else model_admin.has_change_permission(request, obj)
        )
        if not allowed:
            continue
        yield model_admin.get_form(request, obj, change=obj is not None)
        for inline in model_admin.get_inline_instances(request, obj):
            if inline.has_add_permission(request, obj) or inline.has_change_permission(
                request, obj
            ):
                yield inline.get_formset(request, obj).form


def test_no_admin_form_lists_every_tenant_or_user_in_a_select():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    offenders = []
    for model, model_admin in admin.site._registry.items():
        for form in _forms(model_admin, request):
            for name, field in form.base_fields.items():
                if not isinstance(field, ModelChoiceField):
                    continue
                if field.queryset.model not in (Tenant, User):
                    continue
                widget = getattr(field.widget, "widget", field.widget)  # the related wrapper
                if not isinstance(widget, SEARCHABLE):
                    offenders.append(f"{model.__name__}.{name}")
    assert not offenders, " ".join(sorted(set(offenders)))


def test_the_upsell_switches_are_spelt_right():
    assert UpsellSwitch._meta.verbose_name_plural == "upsell switches"


def _tenant_change_data(client, tenant) -> dict:
    """The change form's own values, as the browser would post them back."""
    form = client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()  # as the widget shows it
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for formset in client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").context[
        "inline_admin_formsets"
    ]:
        prefix = formset.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_tenant_lists_are_lines_and_the_discount_is_a_percentage(world, browser):
    client = browser(world.staff)
    partner = world.partner
    partner.specialities = ["Backup", "Microsoft 365"]
    partner.save()
    page = client.get(f"/admin/tenants/tenant/{partner.pk}/change/")
    form = page.context["adminform"].form
    assert {"name", "status", "origin", "website", "country"} <= set(form.fields)
    assert "parent" not in form.fields  # a partner moves in the provider console
    assert form["specialities"].value() == "Backup\nMicrosoft 365"
    html = page.content.decode()
    assert "Backup\nMicrosoft 365</textarea>" in html  # not ["Backup", "Microsoft 365"]
    assert 'name="discount_rate" value="20"' in html  # not 0.2000
    assert 'name="kind"' not in html and 'name="currency"' not in html  # fixed once made

    data = _tenant_change_data(client, partner)
    member_prefix = [k for k in data if k.endswith("TOTAL_FORMS")]
    assert member_prefix
    data.update(
        discount_rate="25",
        email_domains="Alpine.example\n\n  alpine-it.ch ",
        specialities="Backup\nSecurity",
    )
    response = client.post(f"/admin/tenants/tenant/{partner.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    partner.refresh_from_db()
    assert partner.discount_rate == Decimal("0.2500")
    assert AuditEvent.unscoped.filter(  # through partner_update, as the console and the API
        tenant=partner, action=AuditEvent.Action.PARTNER_DISCOUNT_CHANGED, actor=world.staff
    ).exists()
    assert partner.email_domains == ["alpine.example", "alpine-it.ch"]
    assert partner.specialities == ["Backup", "Security"]

    too_much = client.post(
        f"/admin/tenants/tenant/{partner.pk}/change/", {**data, "discount_rate": "40"}
    )
    assert too_much.status_code == 200
    assert "discount_rate" in too_much.context["adminform"].form.errors
    with_at = client.post(
        f"/admin/tenants/tenant/{partner.pk}/change/", {**data, "email_domains": "a@b.ch"}
    )
    assert "email_domains" in with_at.context["adminform"].form.errors
    partner.refresh_from_db()
    assert partner.discount_rate == Decimal("0.2500")

    listing = client.get("/admin/tenants/tenant/?kind__exact=partner").content.decode()
    assert "25 %" in listing and "0.2500" not in listing


def test_no_organization_is_added_in_the_admin_which_points_to_the_console(world, browser):
    client = browser(world.staff)
    before = Tenant.objects.count()
    assert client.get("/admin/tenants/tenant/add/").status_code == 403
    data = {"kind": "partner", "name": "Sneaky", "slug": "sneaky", "currency": "CHF"}
    assert client.post("/admin/tenants/tenant/add/", data).status_code == 403
    assert Tenant.objects.count() == before
    listing = client.get("/admin/tenants/tenant/").content.decode()
    assert "/admin/tenants/tenant/add/" not in listing
    assert 'href="/provider/partners/new/"' in listing  # invite the owner there


def _product_data(**prices) -> dict:
    data = {
        "code": "mail-basic",
        "name": "Mail Basic",
        "category": "email",
        "family": "",
        "edition_rank": "0",
        "billing_period": "monthly",
        "is_active": "on",
        "prices-TOTAL_FORMS": str(len(prices)),
        "prices-INITIAL_FORMS": "0",
        "tiers-TOTAL_FORMS": "0",
        "tiers-INITIAL_FORMS": "0",
    }
    for n, (currency, amount) in enumerate(prices.items()):
        data[f"prices-{n}-currency"] = currency
        data[f"prices-{n}-amount"] = amount
    return data


def test_an_active_product_needs_a_price_in_every_currency(world, browser):
    client = browser(world.staff)
    refused = client.post("/admin/catalog/product/add/", _product_data(CHF="4.00"))
    assert refused.status_code == 200
    assert "missing: EUR" in refused.content.decode()
    assert not Product.objects.filter(code="mail-basic").exists()

    inactive = _product_data(CHF="4.00")
    del inactive["is_active"]
    assert client.post("/admin/catalog/product/add/", inactive).status_code == 302
    product = Product.objects.get(code="mail-basic")
    assert not product.is_active  # an inactive product may wait for its prices

    response = client.post("/admin/catalog/product/add/", _product_data(CHF="4.00", EUR="3.80"))
    assert response.status_code == 200  # the code is taken now: a form error, not a 500
    data = _product_data(CHF="4.00", EUR="3.80")
    data["code"] = "mail-plus"
    assert client.post("/admin/catalog/product/add/", data).status_code == 302
    assert set(Product.objects.get(code="mail-plus").prices.values_list("currency", flat=True)) == {
        "CHF",
        "EUR",
    }
