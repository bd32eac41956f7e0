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


class Limited(serializers.Serializer):
    fax = serializers.CharField(max_length=5, required=False, allow_blank=True)


@pytest.mark.parametrize("sent", ["\x0cabcde", " abcde", "abcde\n", "abcdef"])
def test_a_max_length_counts_what_the_client_sent_not_the_trimmed_text(sent):
    limited = Limited(data={"fax": sent})
    assert not limited.is_valid()
    assert "no more than 5" in str(limited.errors["fax"][0])


def test_text_within_its_length_is_still_trimmed():
    limited = Limited(data={"fax": " abc "})
    assert limited.is_valid(), limited.errors
    assert limited.validated_data["fax"] == "abc"


@pytest.mark.django_db
def test_patch_organization_refuses_an_over_long_value_that_trims_to_its_limit(world, api):
    client = api(world.customer_owner, world.customer)
    sent = "\x0c" + "1" * 40  # 41 characters as sent, 40 once trimmed (fax: maxLength 40)
    answer = client.patch("/api/v1/organization/", {"fax": sent}, format="json")
    assert answer.status_code == 400 and "fax" in answer.json()
    world.customer.refresh_from_db()
    assert world.customer.fax == ""  # nothing written
    fits = client.patch("/api/v1/organization/", {"fax": " " + "1" * 39}, format="json")
    assert fits.status_code == 200 and fits.json()["fax"] == "1" * 39


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/mrr/?months=3&months=6",  # a query serializer
        "/api/v1/customers/?status=active&status=suspended",  # a django-filter filter
        "/api/v1/customers/?page_size=5&page_size=10",  # pagination
        "/api/v1/customers/?q=a&q=b",  # search
        "/api/v1/customers/?ordering=name&ordering=-name",  # ordering (one CSV value)
        "/api/v1/webhook-endpoints/?page=1&page=1",  # the same value twice is still twice
    ],
)
def test_a_repeated_query_parameter_is_a_field_error(world, api, url):
    answer = api(world.partner_owner, world.partner).get(url)
    assert answer.status_code == 400, answer.content
    name = url.split("?")[1].split("=")[0]
    assert answer.json() == {name: ["Give this parameter once."]}


@pytest.mark.django_db
def test_a_repeated_query_parameter_is_refused_after_authentication(world, api):
    assert api().get("/api/v1/mrr/?months=3&months=6").status_code in (401, 403)
    assert api(world.partner_owner, world.partner).get("/api/v1/mrr/?months=6").status_code == 200
