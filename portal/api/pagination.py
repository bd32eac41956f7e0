from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    """`results, next, previous, count`; `?page_size=` up to 200 (more is cut to
    200); one that is not a whole number from 1 up is a 400, not a silent 50."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # The list's length, when the view has it from a selector cheaper than a
    # COUNT of the list (it must be the same number); else the paginator counts.
    count: int | None = None

    def django_paginator_class(self, object_list, per_page) -> Paginator:
        paginator = Paginator(object_list, per_page)
        if self.count is not None:
            paginator.count = self.count  # Paginator.count is a cached_property
        return paginator

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("A whole number from 1 up.")]}
            )
        return min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise exceptions.NotFound(self.invalid_page_message)
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
