"""Input is what the schema says it is (API.md: JSON in; 400 for bad input).

DRF reads input leniently: in a JSON body it takes `0` for `false`, `5` for the
string `"5"` or for the UUID `00000000-…-0005`, `"7"` for the integer 7; in a
query string it takes `?kind=` as if `kind` were absent. The schema promises
none of that, so a client relying on it would rely on an accident. Installed
once (`PortalConfig.ready`), for every serializer of the API:

- a JSON value must have the JSON type of its field (a decimal may be a string
  of digits or a whole number: `"9.90"`, `10`; never a float, whose digits are
  not exact); a blank "" is no decimal, where DRF would read it as null;
- in a query string (or a multipart form) an empty value is a value, and is
  validated as one instead of being read as "not given"; so are django-filter's
  filters (`portal.api.filters.check_filter_values`);
- a string's `maxLength` is the length of what the client sent: DRF trims
  the text first (`trim_whitespace`) and checks the trimmed length, so 41
  characters starting with a form feed passed a limit of 40;
- a query parameter is given once: `?months=3&months=6` is a 400 naming
  `months` on every API view (after authentication and permissions), where
  Django's QueryDict would quietly take the last value. No parameter of the API
  is a repeated list (the one list, `?ordering=`, is comma-separated in one
  value: `explode: false` in the schema).
"""

import re

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, fields
from rest_framework.utils import html
from rest_framework.views import APIView

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


# a decimal as the schema writes it: no exponent, no sign but "-", ASCII digits
# only (Python's Decimal also reads "1e3", "+5", " 5 " and Arabic-Indic digits)
DECIMAL_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _json_typed(field, data, types) -> bool:
    if not isinstance(data, types) or (isinstance(data, bool) and bool not in types):
        return False
    if isinstance(field, fields.DecimalField) and isinstance(data, str):
        return DECIMAL_TEXT.fullmatch(data) is not None
    return True


def _typed(cls, types):
    lenient = cls.to_internal_value

    def to_internal_value(self, data):
        if _json_input(self) and not _json_typed(self, data, types):
            self.fail("invalid")
        return lenient(self, data)

    to_internal_value.lenient = lenient
    return to_internal_value


def _decimal_blank_is_no_null(lenient):
    """DRF reads a blank decimal ("") as null where null is allowed; in JSON a
    null is `null`, and "" is no number (the schema says so)."""

    def validate_empty_values(self, data):
        if _json_input(self) and isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return lenient(self, data)

    validate_empty_values.lenient = lenient
    return validate_empty_values


def _length_as_sent(lenient):
    """`max_length` checked on the text as sent, before DRF trims it."""

    def run_validation(self, data=fields.empty):
        if (
            self.max_length is not None
            and isinstance(data, str)
            and len(data) > self.max_length
            and _json_input(self)
        ):
            self.fail("max_length", max_length=self.max_length)
        return lenient(self, data)

    run_validation.lenient = lenient
    return run_validation


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


def repeated_query_parameters(query_params) -> dict[str, list[str]]:
    """The field errors of the parameters given more than once (none: {})."""
    return {
        name: [_("Give this parameter once.")]
        for name, values in query_params.lists()
        if len(values) > 1
    }


def _single_query_values(lenient):
    def initial(self, request, *args, **kwargs):
        lenient(self, request, *args, **kwargs)  # authentication, permissions, throttles
        errors = repeated_query_parameters(request.query_params)
        if errors:
            raise exceptions.ValidationError(errors)

    initial.lenient = lenient
    return initial


def install() -> None:
    if hasattr(fields.Field.get_value, "lenient"):
        return
    for cls, types in JSON_TYPES.items():
        cls.to_internal_value = _typed(cls, types)
    fields.Field.get_value = _get_value_keeping_empty(fields.Field.get_value)
    fields.CharField.run_validation = _length_as_sent(fields.CharField.run_validation)
    fields.DecimalField.validate_empty_values = _decimal_blank_is_no_null(
        fields.DecimalField.validate_empty_values
    )
    DjangoFilterBackend.get_filterset = _checked_filterset(DjangoFilterBackend.get_filterset)
    APIView.initial = _single_query_values(APIView.initial)
