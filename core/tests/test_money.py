"""The money filters (issue 25): one place for an amount with its currency and sign."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from core.exceptions import Errors
from core.templatetags.money import money, per_period, signed_money

MINUS = "\N{MINUS SIGN}"


def test_a_discount_reads_minus_currency_amount_never_currency_minus_amount():
    assert money(Decimal("-9.52"), "CHF") == f"{MINUS} CHF 9.52"
    assert money(Decimal("9.5"), "CHF") == "CHF 9.50"
    assert money(Decimal("0"), "EUR") == "EUR 0.00"
    assert money(Decimal("-3"), "") == f"{MINUS} 3.00"
    assert "CHF -" not in money(Decimal("-9.52"), "CHF")


def test_a_change_has_its_sign_and_nothing_is_no_amount():
    assert signed_money(Decimal("12"), "CHF") == "+ CHF 12.00"
    assert signed_money(Decimal("-3"), "CHF") == f"{MINUS} CHF 3.00"
    assert signed_money(Decimal("0"), "CHF") == "CHF 0.00"
    assert money(None, "CHF") == "" and money("", "CHF") == "" and money("n/a", "CHF") == ""


def test_amounts_follow_the_language_and_periods_are_words():
    with translation.override("de"):
        assert money(Decimal("-1234.5"), "CHF") in (
            f"{MINUS} CHF 1.234,50",
            f"{MINUS} CHF 1\u2019234,50",
        )
        assert str(per_period("monthly")) == "pro Monat"
    with translation.override("en"):
        assert per_period("annual") == "per year"
    rendered = Template("{% load money %}{{ a|money:'EUR' }} {{ p|per_period }}").render(
        Context({"a": Decimal("-9.52"), "p": "monthly"})
    )
    assert rendered == f"{MINUS} EUR 9.52 per month"


def test_errors_collects_every_check_and_raises_them_once():
    from django.core.exceptions import ValidationError

    errors = Errors()
    with errors.collect():
        raise ValidationError({"quantity": "Give at least 1."})
    with errors.collect():
        raise ValidationError({"price": ["A price is more than 0."]})
    with errors.collect():
        raise ValidationError("Choose a date.")
    with pytest.raises(ValidationError) as raised:
        errors.raise_any()
    assert raised.value.message_dict == {
        "quantity": ["Give at least 1."],
        "price": ["A price is more than 0."],
        "__all__": ["Choose a date."],
    }
    Errors().raise_any()  # nothing found: nothing raised
