"""Browser pages of smart lists (SPEC §4) under /t/<slug>/smart-lists/: the
partner's lists with a form to save one, and a list's results (sortable,
paginated) with its CSV download, edit and delete. Thin: the form parses,
subscriptions.smart_lists validates, writes and reads. Included by portal/urls.py.

While the organization's subscriptions are off, the subscription filters and
columns are not offered and the subscription columns are not shown; what the
list saved stays untouched (the service keeps it)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View

from catalog.models import Product
from subscriptions import smart_lists
from subscriptions.api_smart_lists import csv_response
from subscriptions.models import SmartList
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext, tenant_descendants
from tenants.web import OrgViewMixin, form_add_service_errors

PAGE_SIZE = 50
ANY = [("", _("Any"))]
# The columns as the pages name them (the CSV keeps smart_lists.COLUMN_LABELS).
COLUMN_TITLES = {
    "name": _("Name"),
    "country": _("Country"),
    "current_mrr": _("Current MRR"),
    "upcoming_mrr": _("Upcoming MRR"),
    "current_end_date": _("Current end date"),
}
TREND_LABELS = {
    "up": pgettext_lazy("MRR trend", "up"),
    "down": pgettext_lazy("MRR trend", "down"),
    "flat": pgettext_lazy("MRR trend", "flat"),
}


class SmartListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    q = forms.CharField(label=_("Name contains"), required=False, max_length=200)
    country = forms.CharField(label=_("Country"), required=False, max_length=2)
    sub_partner = forms.ChoiceField(label=_("Sub-partner's customers"), required=False)
    mrr_min = forms.DecimalField(label=_("Current MRR from"), required=False, min_value=0)
    mrr_max = forms.DecimalField(label=_("Current MRR up to"), required=False, min_value=0)
    ending_within_days = forms.IntegerField(
        label=_("Current end date within (days)"), required=False, min_value=0
    )
    product = forms.ChoiceField(label=_("Product (live today)"), required=False)
    category = forms.ChoiceField(
        label=_("Category (live today)"), required=False, choices=ANY + Product.Category.choices
    )
    trend = forms.ChoiceField(
        label=_("Trend"),
        required=False,
        choices=ANY + [(t, TREND_LABELS[t]) for t in smart_lists.TRENDS],
    )
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(c, COLUMN_TITLES[c]) for c in smart_lists.COLUMNS],
    )

    def __init__(self, *args, org: OrgContext, **kwargs):
        super().__init__(*args, **kwargs)
        if org.is_admin:
            partners = tenant_descendants(tenant=org.tenant, kind=Tenant.Kind.PARTNER)
            self.fields["sub_partner"].choices = ANY + [
                (str(p.pk), p.name) for p in partners.order_by("name")
            ]
        else:
            del self.fields["sub_partner"]
        if org.tenant.subscriptions_enabled:
            products = smart_lists.product_choices(org=org)
            self.fields["product"].choices = ANY + [(p.code, p.name) for p in products]
        else:
            for name in smart_lists.SUBSCRIPTION_FILTERS:
                del self.fields[name]
            self.fields["columns"].choices = [
                c
                for c in self.fields["columns"].choices
                if c[0] not in smart_lists.SUBSCRIPTION_COLUMNS
            ]

    @classmethod
    def initial_for(cls, smart_list: SmartList) -> dict:
        return {"name": smart_list.name, "columns": smart_list.columns, **smart_list.filters}

    def to_service(self) -> dict:
        """name, filters (the offered ones, empty ones left out) and columns."""
        data = self.cleaned_data
        filters = {
            key: str(data[key]) if key.startswith("mrr_") else data[key]
            for key in smart_lists.FILTERS
            if key in self.fields and data.get(key) not in (None, "")
        }
        return {"name": data["name"], "filters": filters, "columns": data["columns"]}


class SmartListsView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    def _render(self, request, form, status=200):
        entries = smart_lists.smart_lists_for(org=self.org)
        context = {"entries": entries, "form": form}
        return render(request, "subscriptions/smart_lists.html", context, status=status)

    def get(self, request, slug):
        return self._render(request, SmartListForm(org=self.org))

    def post(self, request, slug):
        form = SmartListForm(request.POST, org=self.org)
        if form.is_valid():
            try:
                smart_list = smart_lists.smart_list_create(org=self.org, **form.to_service())
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("Smart list “%(name)s” saved.") % {"name": smart_list.name}
                )
                return redirect("smart_list", slug=slug, list_id=smart_list.pk)
        return self._render(request, form, status=400)


class SmartListView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    def _render(self, request, smart_list, form, status=200):
        columns = list(smart_list.columns)  # they stay while the switch is off
        ordering = smart_lists.parse_ordering(
            org=self.org, smart_list=smart_list, ordering=request.GET.get("ordering")
        )
        rows = smart_lists.smart_list_rows(org=self.org, smart_list=smart_list, ordering=ordering)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        headers = [
            {
                "key": c,
                "label": COLUMN_TITLES[c],
                "sorted": "asc" if ordering == c else "desc" if ordering == f"-{c}" else "",
                "next": f"-{c}" if ordering == c else c,
            }
            for c in columns
        ]
        table = [
            [values[c] for c in columns]
            for values in (smart_lists.row_values(row) for row in page.object_list)
        ]
        context = {
            "smart_list": smart_list,
            "headers": headers,
            "table": table,
            "page": page,
            "form": form,
            "can_edit": smart_lists.may_edit(org=self.org, smart_list=smart_list),
        }
        return render(request, "subscriptions/smart_list.html", context, status=status)

    def get(self, request, slug, list_id):
        smart_list = smart_lists.smart_list_get(org=self.org, list_id=list_id)
        form = SmartListForm(initial=SmartListForm.initial_for(smart_list), org=self.org)
        return self._render(request, smart_list, form)

    def post(self, request, slug, list_id):
        smart_list = smart_lists.smart_list_get(org=self.org, list_id=list_id)
        if not smart_lists.may_edit(org=self.org, smart_list=smart_list):
            raise PermissionDenied(gettext("Owners, admins and the list's author change it."))
        if request.POST.get("action") == "delete":
            smart_lists.smart_list_delete(org=self.org, smart_list=smart_list)
            messages.success(
                request, gettext("Smart list “%(name)s” deleted.") % {"name": smart_list.name}
            )
            return redirect("smart_lists", slug=slug)
        form = SmartListForm(request.POST, org=self.org)
        if form.is_valid():
            data = form.to_service()
            # a view saved from the customer list keeps its own filters (not on this form)
            kept = smart_lists.CUSTOMER_LIST_FILTERS & set(smart_list.filters)
            data["filters"] |= {key: smart_list.filters[key] for key in kept}
            try:
                smart_lists.smart_list_update(org=self.org, smart_list=smart_list, **data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, gettext("Smart list saved."))
                return redirect(reverse("smart_list", args=[slug, smart_list.pk]))
        smart_list.refresh_from_db()
        return self._render(request, smart_list, form, status=400)


class SmartListExportView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    def get(self, request, slug, list_id):
        smart_list = smart_lists.smart_list_get(org=self.org, list_id=list_id)
        return csv_response(org=self.org, smart_list=smart_list)


urlpatterns = [
    path("smart-lists/", SmartListsView.as_view(), name="smart_lists"),
    path("smart-lists/<uuid:list_id>/", SmartListView.as_view(), name="smart_list"),
    path(
        "smart-lists/<uuid:list_id>/export.csv",
        SmartListExportView.as_view(),
        name="smart_list_export",
    ),
]
