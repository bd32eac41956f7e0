"""Input is what the schema says it is (API.md: JSON in; 400 for bad input).

DRF reads input leniently: in a JSON body it takes `0` for `false`, `5` for the
string `"5"` or for the UUID `00000000-…-0005`, `"7"` for the integer 7; in a
query string it takes `?kind=` as if `kind` were absent. The schema promises
none of that, so a client relying on it would rely on an accident. Installed
once (`PortalConfig.ready`), for every serializer of the API:

- a JSON value must have the JSON type of its field (a decimal may be a string
  or a whole number: `"9.90"`, `10`; never a float, whose digits are not exact);
- in a query string (or a multipart form) an empty value is a value, and is
  validated as one instead of being read as "not given"; so are django-filter's
  filters (`portal.api.filters.check_filter_values`).
"""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import fields
from rest_framework.utils import html

from portal.api.filters import check_filter_values

# field class → the JSON types its value may have (bool is never an int here)
JSON_TYPES = {
    fields.CharField: (str,),
    fields.UUIDField: (str,),
    fields.BooleanField: (bool,),
    fields.IntegerField: (int,),
    fields.FloatField: (int, float),
    fields.DecimalField: (str, int),
}


def _json_input(field) -> bool:
    data = getattr(field.root, "initial_data", None)
    return data is not None and not html.is_html_input(data)


def _typed(cls, types):
    lenient = cls.to_internal_value

    def to_internal_value(self, data):
        if _json_input(self) and (
            not isinstance(data, types) or (isinstance(data, bool) and bool not in types)
        ):
            self.fail("invalid")
        return lenient(self, data)

    to_internal_value.lenient = lenient
    return to_internal_value


def _get_value_keeping_empty(lenient):
    def get_value(self, dictionary):
        if (
            html.is_html_input(dictionary)
            and dictionary.get(self.field_name) == ""
            and not self.required
            and not self.allow_null
        ):
            return ""  # validated: blank where blank is allowed, else an error
        return lenient(self, dictionary)

    get_value.lenient = lenient
    return get_value


def _checked_filterset(lenient):
    def get_filterset(self, request, queryset, view):
        filterset = lenient(self, request, queryset, view)
        if filterset is not None:
            check_filter_values(filterset, request)
        return filterset

    get_filterset.lenient = lenient
    return get_filterset


def install() -> None:
    if hasattr(fields.Field.get_value, "lenient"):
        return
    for cls, types in JSON_TYPES.items():
        cls.to_internal_value = _typed(cls, types)
    fields.Field.get_value = _get_value_keeping_empty(fields.Field.get_value)
    DjangoFilterBackend.get_filterset = _checked_filterset(DjangoFilterBackend.get_filterset)
