"""What the whole API does alike, written into the schema once instead of on
each view (a client reads it off the schema; `make fuzz` holds the API to it):

- the error answers every operation can give (API.md, "Errors");
- no string takes a NUL character (DRF refuses it; PostgreSQL cannot store it);
- pages are numbered from 1, and hold at least one entry;

and, field by field (`PortalAutoSchema`, the API's schema class):

- a decimal is a string with at least one digit (drf-spectacular's pattern also
  matches `""`), not negative where the field says so, or a whole number
  (portal.api.strict);
- a string that must not be blank has a character that is not stripped;
- a list that must not be empty has an item, and a list has its maximum;
- a rev. 1 name kept as an alias is `deprecated`.
"""

import math

from django.core.validators import RegexValidator
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import has_override
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# Field errors: `{field: [messages]}`, nested for nested fields and lists of
# objects (`{"lines": [{}, {"quantity": [...]}]}`), `non_field_errors` for the rest.
VALIDATION_ERROR = {"type": "object", "additionalProperties": {}}

ERRORS = {
    "400": ("ValidationError", "Bad input: field errors, or the organization is not named."),
    "401": ("Error", "Not authenticated: no credentials, or an invalid or revoked token."),
    "403": (
        "Error",
        "The caller's role in its organization does not allow this; or (`code`: "
        "`mfa_required`) a browser session of a person who must set up two-factor "
        "authentication first.",
    ),
    "404": ("Error", "No such object, or one of an organization the caller may not see."),
    "409": ("Error", "The object's current state forbids this transition."),
    "415": (
        "Error",
        "The body's media type is not one this operation reads (e.g. a malformed multipart).",
    ),
    "422": ("Error", "This Idempotency-Key was used with another request."),
    "429": ("Error", "Too many requests; retry later."),
}
ALWAYS = ("400", "401", "403", "404", "429")
BY_METHOD = {
    "post": (*ALWAYS, "409", "415", "422"),
    "put": (*ALWAYS, "409", "415"),
    "patch": (*ALWAYS, "409", "415"),
    "delete": (*ALWAYS, "409"),
}


NO_NUL = {"pattern": "\\x00"}
UNCONSTRAINED_FORMATS = (None, "email", "uri")


def document_inputs(schema: dict) -> None:
    """NUL-free strings in one request schema (in place),
    down to its nested objects and lists (not through `$ref`s: the referenced
    request components are visited on their own)."""
    if not isinstance(schema, dict):
        return
    if (
        schema.get("type") == "string"
        and "enum" not in schema
        and schema.get("format") in UNCONSTRAINED_FORMATS
    ):
        schema.setdefault("not", dict(NO_NUL))
    for key in ("properties", "patternProperties"):
        for child in schema.get(key, {}).values():
            document_inputs(child)
    for key in ("items", "additionalProperties"):
        document_inputs(schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(key, ()):
            document_inputs(child)


def _document_parameter(parameter: dict) -> None:
    schema = parameter.get("schema", {})
    if parameter.get("name") in ("page", "page_size") and schema.get("type") == "integer":
        schema.setdefault("minimum", 1)
    if parameter.get("name") == "ordering" and schema.get("type") == "array":
        schema.setdefault("minItems", 1)  # `?ordering=` is a 400: leave it out for the default
    document_inputs(schema)


def document_api(result, generator, request, public):
    """drf-spectacular postprocessing hook: see the module's docstring."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the input shapes
            document_inputs(component)
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for parameter in operation.get("parameters", ()):
                _document_parameter(parameter)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                document_inputs(media.get("schema"))
            responses = operation.setdefault("responses", {})
            for status in BY_METHOD.get(method, ALWAYS):
                component, description = ERRORS[status]
                responses.setdefault(
                    status,
                    {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{component}"}
                            }
                        },
                        "description": description,
                    },
                )
    return result


class FilterLengthsExtension(DjangoFilterExtension):
    """django-filter's `max_length` is enforced (400 past it): say so. Defining
    the class registers it; `PortalConfig.ready` imports this module."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        max_length = filter_field.extra.get("max_length")
        for parameter in parameters:
            if max_length and parameter["schema"].get("type") == "string":
                parameter["schema"]["maxLength"] = max_length
        return parameters


# DRF strips what `str.strip()` strips before it checks for blank
STRIPPED = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"[^{STRIPPED}]"
LISTS = (serializers.ListField, serializers.ListSerializer)


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the input rules it leaves out (module docstring)."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if getattr(field, "alias_of", None) and isinstance(schema, dict):
            schema["deprecated"] = True  # billing.serializers.deprecated_alias
        if direction != "request" or not isinstance(schema, dict) or has_override(field, "field"):
            return schema
        if schema.get("type") == "array" and isinstance(field, LISTS):
            if not field.allow_empty:
                schema["minItems"] = 1
            if getattr(field, "max_length", None) is not None:
                schema["maxItems"] = field.max_length
        elif isinstance(field, serializers.DecimalField) and schema.get("format") == "decimal":
            _decimal_input(field, schema)
        elif (
            isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & schema.keys()
        ):
            if any(isinstance(v, RegexValidator) for v in field.validators):
                # drf-spectacular writes the validator's pattern after this
                schema["allOf"] = [{"pattern": NOT_BLANK}]
            else:
                schema["pattern"] = NOT_BLANK
        return schema


def _decimal_input(field: serializers.DecimalField, schema: dict) -> None:
    whole, places = field.max_whole_digits or 12, field.decimal_places
    low, high = field.min_value, field.max_value
    sign = "" if low is not None and low >= 0 else "-?"
    largest = 10**whole - 1
    whole_number = {
        "type": "integer",
        "minimum": -largest if low is None else max(-largest, math.ceil(low)),
        "maximum": largest if high is None else min(largest, math.floor(high)),
    }
    for key in ("type", "format", "pattern"):
        schema.pop(key, None)
    schema["anyOf"] = [
        {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^{sign}(?:[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}})$",
        },
        whole_number,
    ]
