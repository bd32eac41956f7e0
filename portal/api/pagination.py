from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from tenants.api_sync import CURSOR, cursor_token, row_position


class PortalPagination(PageNumberPagination):
    """`results, next, previous, count`; `?page_size=` up to 200 (more is cut to
    200); one that is not a whole number from 1 up is a 400, not a silent 50.
    A sync walk (tenants.api_sync) is paged by its cursor instead: the same
    envelope, `next` with the cursor of the page's last row, `previous` null,
    `count` the rows left from this page on."""

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

    walk = None

    def paginate_queryset(self, queryset, request, view=None):
        self.walk = getattr(request, "sync_walk", None)
        if self.walk is None:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        size = self.get_page_size(request)
        self.walk_count = queryset.count()
        rows = list(queryset[: size + 1])
        page, more = rows[:size], len(rows) > size
        self.walk_next = None
        if more:
            at, pk = row_position(page[-1], self.walk.field)
            self.walk_next = replace_query_param(
                request.build_absolute_uri(), CURSOR, cursor_token(self.walk, at, pk)
            )
        return page

    def get_paginated_response(self, data):
        if self.walk is None:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.walk_count,
                "next": self.walk_next,
                "previous": None,
                "results": data,
            }
        )

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
