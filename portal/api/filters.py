"""Query strings and paths read strictly where django-filter, DRF and Django
are lenient (see portal.api.strict)."""

import django_filters
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings

BOOLEAN_SPELLINGS = ("true", "false")
NUL = "\x00"


def check_filter_values(filterset, request) -> None:
    """django-filter reads `?status=` and `?buyer=null` as "no filter"; a client
    that sends them means something, so they are a 400 like any bad value.
    Free text (`?q=`) and lists (`?ordering=`) may be empty."""
    errors = {}
    for name, filter_ in filterset.filters.items():
        for value in request.query_params.getlist(name):
            if isinstance(filter_, django_filters.BooleanFilter):
                if value not in BOOLEAN_SPELLINGS:
                    errors[name] = [_("Give true or false.")]
            elif (
                value == ""
                and type(filter_) is not django_filters.CharFilter
                and not isinstance(filter_, django_filters.filters.BaseCSVFilter)
            ):
                errors[name] = [_("Give a value, or leave the parameter out.")]
    if errors:
        raise exceptions.ValidationError(errors)


class StrictContentNegotiation(DefaultContentNegotiation):
    """`?format=` names a format; empty, it names none there is (404, as DRF
    answers an unknown one)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "":
            raise Http404(_("No such format."))
        return super().select_renderer(request, renderers, format_suffix)


class RefuseNulMiddleware:
    """No text the API reads may hold NUL, which PostgreSQL cannot even compare
    with: in the query string it is bad input (400), in the path it names
    nothing (404). Before any view, so none has to remember it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            if NUL in request.path:
                return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
            for name, values in request.GET.lists():
                if NUL in name or any(NUL in value for value in values):
                    return JsonResponse(
                        {name: [_("Null characters are not allowed.")]},
                        status=status.HTTP_400_BAD_REQUEST,
                    )
        return self.get_response(request)
