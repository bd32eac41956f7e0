"""JSON input means what the schema says (portal/api/strict.py): the fixes the
API fuzzing (fuzz/) found, pinned here so `make test` keeps them."""

import pytest
from rest_framework import serializers


class Sample(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    quantity = serializers.IntegerField(required=False)
    note = serializers.CharField(required=False, allow_blank=True)


def _errors(data) -> dict:
    sample = Sample(data=data)
    sample.is_valid()
    return sample.errors


@pytest.mark.parametrize("amount", ["9.90", "10", 10, "-1.5", ".5", None])
def test_decimals_as_the_schema_writes_them(amount):
    assert _errors({"amount": amount}) == {}


@pytest.mark.parametrize(
    "amount",
    [
        9.9,  # a float's digits are not exact
        "",  # a blank is no number, and no null either
        "  ",
        "1e3",
        "+5",
        " 5 ",
        "\u0661\u0662",  # Arabic-Indic digits, which Decimal() reads
        True,
    ],
)
def test_other_decimals_are_refused(amount):
    assert "amount" in _errors({"amount": amount})


@pytest.mark.parametrize("value", ["3", 3.0, True])
def test_an_integer_is_a_json_integer(value):
    assert "quantity" in _errors({"amount": None, "quantity": value})


def test_a_string_is_a_json_string():
    assert "note" in _errors({"amount": None, "note": 5})
    assert _errors({"amount": None, "note": ""}) == {}


def test_form_input_keeps_its_blank_as_null():
    """A multipart form has only strings: there a blank nullable decimal is null."""
    from django.http import QueryDict

    sample = Sample(data=QueryDict("amount="))
    assert sample.is_valid(), sample.errors
    assert sample.validated_data["amount"] is None
