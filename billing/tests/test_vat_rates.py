"""The seeded VAT table against the law as of December 2026 (docs/invoices.md
"The VAT table"): every EU country's standard rate and Switzerland's, and
the days the recent changes took effect (the day before keeps the old rate).
A rate that changes later is a new row (a new data migration or the admin),
and this table of expectations gains a line."""

import datetime
from decimal import Decimal

import pytest

from billing.vat import EU_COUNTRIES, rate_on

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("vat_table")]

# The standard rate of each country on 7 December 2026.
IN_FORCE = {
    "AT": "0.2000",
    "BE": "0.2100",
    "BG": "0.2000",
    "CY": "0.1900",
    "CZ": "0.2100",
    "DE": "0.1900",
    "DK": "0.2500",
    "EE": "0.2400",
    "ES": "0.2100",
    "FI": "0.2550",
    "FR": "0.2000",
    "GR": "0.2400",
    "HR": "0.2500",
    "HU": "0.2700",
    "IE": "0.2300",
    "IT": "0.2200",
    "LT": "0.2100",
    "LU": "0.1700",
    "LV": "0.2100",
    "MT": "0.1800",
    "NL": "0.2100",
    "PL": "0.2300",
    "PT": "0.2300",
    "RO": "0.2100",
    "SE": "0.2500",
    "SI": "0.2200",
    "SK": "0.2300",
    "CH": "0.0810",
}

# (country, first day of the new rate, the rate before, the new rate)
CHANGES = [
    ("CH", datetime.date(2024, 1, 1), "0.0770", "0.0810"),
    ("FI", datetime.date(2024, 9, 1), "0.2400", "0.2550"),
    ("SK", datetime.date(2025, 1, 1), "0.2000", "0.2300"),
    ("EE", datetime.date(2025, 7, 1), "0.2200", "0.2400"),
    ("RO", datetime.date(2025, 8, 1), "0.1900", "0.2100"),
]


def test_every_country_has_its_standard_rate_of_december_2026():
    assert set(IN_FORCE) == EU_COUNTRIES | {"CH"}
    today = datetime.date(2026, 12, 7)
    seeded = {country: rate_on(country, today) for country in IN_FORCE}
    assert seeded == {country: Decimal(rate) for country, rate in IN_FORCE.items()}


@pytest.mark.parametrize(("country", "day", "before", "after"), CHANGES)
def test_a_rate_change_takes_effect_on_its_day_and_the_old_rate_stays(country, day, before, after):
    assert rate_on(country, day - datetime.timedelta(days=1)) == Decimal(before)
    assert rate_on(country, day) == Decimal(after)


def test_luxembourg_is_back_at_17_percent_and_estonia_at_22_from_2024():
    # Luxembourg's 16 % of 2023 and Estonia's 20 % ended on 31 December 2023;
    # the table starts there (invoices show VAT from 2026 on)
    assert rate_on("LU", datetime.date(2024, 1, 1)) == Decimal("0.1700")
    assert rate_on("EE", datetime.date(2024, 1, 1)) == Decimal("0.2200")
