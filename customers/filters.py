"""The customer list's search, filters and sorting: one FilterSet for the page
and the API, over `selectors.customer_list` (its `grant_*` annotations)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import BaseCSVField

from customers.selectors import customer_search
from partners.models import Access, Payment
from tenants.models import Tenant


class _SortKeys(BaseCSVField):
    """Sort keys separated by commas, none of them empty: `?ordering=` and
    `?ordering=,` are a 400 like any other key the list does not sort by, not a
    silent default order (leave the parameter out for that)."""

    def clean(self, value):
        if value is not None and (not value or any(item in ("", None) for item in value)):
            raise forms.ValidationError(_("Name a field to sort by between the commas."))
        return super().clean(value)


class SortFilter(django_filters.OrderingFilter):
    base_field_class = _SortKeys


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"), max_length=200)
    status = django_filters.ChoiceFilter(choices=Tenant.Status.choices)
    country = django_filters.CharFilter(lookup_expr="iexact", max_length=2)
    rank = django_filters.CharFilter(lookup_expr="iexact", max_length=50)
    access = django_filters.ChoiceFilter(field_name="grant_access", choices=Access.choices)
    payment = django_filters.ChoiceFilter(field_name="grant_payment", choices=Payment.choices)
    collaborator = django_filters.UUIDFilter(
        method="by_collaborator", label=_("Assigned collaborator")
    )
    ordering = SortFilter(
        fields=(
            ("name", "name"),
            ("created_at", "created_at"),
            ("city", "city"),
            ("country", "country"),
        ),
    )

    class Meta:
        model = Tenant
        fields = ["q", "status", "country", "rank", "access", "payment", "collaborator"]

    def search(self, queryset, name, value):
        return customer_search(queryset, value)

    def by_collaborator(self, queryset, name, value):
        partner = self.request.org.tenant
        return queryset.filter(
            collaborator_assignments__partner=partner, collaborator_assignments__user_id=value
        ).distinct()
