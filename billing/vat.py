"""VAT on invoices (SPEC §7 rev. 2 "Invoices people can use", docs/invoices.md).

One table, `VatRate`, holds the standard rates by country with the day each
took effect; `vat_treatment` decides, for an issuer's country, a bill-to
organization and the invoice date, which rate applies and what the invoice
says about it. The provider's invoices and the partners' invoices to their
customers both ask it.

The rules, deliberately a simplification of the law (docs/invoices.md says
what is left out): a sale inside the issuer's own country (Switzerland to
Switzerland, Germany to Germany) bears that country's standard rate; an EU
consumer (no valid VAT number) bears its own country's standard rate; an EU
business with a VAT number valid for its country (format and check digit,
tenants.vat_numbers) is invoiced without VAT, reverse charge noted;
anything else (the US, an issuer or a payer without a country) is outside the
scope of VAT. Liechtenstein shares Switzerland's VAT (customs treaty), so its
organizations count as Swiss.
"""

import dataclasses
import datetime
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.db import CompiledQuery
from tenants.models import Tenant
from tenants.vat_numbers import EU_COUNTRIES, vat_number_valid

# Liechtenstein is inside Swiss VAT: its rate is Switzerland's.
SWISS_VAT_AREA = frozenset({"CH", "LI"})
ZERO = Decimal("0.0000")


class VatRate(models.Model):
    """A country's standard VAT rate from `valid_from` until the next row of
    the same country. Staff edit it in the Django admin; a rate change is a
    new row with its date, never an edit of the old one (invoices already
    issued keep the rate they were issued with anyway)."""

    country = models.CharField(
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("An ISO 3166-1 alpha-2 code, e.g. CH."))],
        help_text=_("ISO 3166-1 alpha-2 code."),
    )
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.5"))],
        help_text=_("A fraction: 0.0810 is 8.1 %."),
    )
    valid_from = models.DateField(help_text=_("The first invoice date this rate applies to."))

    class Meta:
        ordering = ["country", "-valid_from"]
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        constraints = [
            models.UniqueConstraint(fields=["country", "valid_from"], name="vat_rate_once_per_day"),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0) & models.Q(rate__lte=Decimal("0.5")),
                name="vat_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.rate * 100:g} % from {self.valid_from}"

    @property
    def percent(self) -> str:
        """8.1 for 0.0810, in the active language's format."""
        return percent(self.rate)


class VatRateMissing(LookupError):
    """No rate of that country was valid on that day: staff add it (admin)."""


class Treatment(models.TextChoices):
    """Which rule an invoice's VAT follows (stored on the invoice)."""

    DOMESTIC = "domestic", _("Standard rate of the issuer's country")
    EU_CONSUMER = "eu_consumer", _("Standard rate of the consumer's EU country")
    REVERSE_CHARGE = "reverse_charge", _("Reverse charge (EU business)")
    OUTSIDE_SCOPE = "outside_scope", _("Outside the scope of VAT")
    BEFORE_VAT = "before_vat", _("Issued before VAT")


@dataclasses.dataclass(frozen=True)
class VatTreatment:
    """What an invoice charges and says: `rate` (a fraction), `label` for the
    VAT line and `note` printed under the totals, both in the active
    language; `kind` (a `Treatment`) and `country` (whose rate) are kept on
    the invoice so that it can be printed again in another language."""

    rate: Decimal
    label: str
    reverse_charge: bool
    note: str
    kind: str = Treatment.OUTSIDE_SCOPE
    country: str = ""


def _rate_on(*, country: str, on: datetime.date) -> QuerySet:
    return (
        VatRate.objects.filter(country=country, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("rate")[:1]
    )


# Every invoice reads it: compiled once per process (core.db.CompiledQuery).
_RATE_ON = CompiledQuery(_rate_on, "country", "on", kinds={"on": datetime.date})


def rate_on(country: str, on: datetime.date) -> Decimal:
    """The standard rate of `country` on `on` (the latest row not after it)."""
    rows = _RATE_ON.rows(using=VatRate.objects.db, country=country, on=on)
    if not rows:
        raise VatRateMissing(f"No VAT rate of {country} on {on.isoformat()}.")
    return rows[0][0]


def rates_in_force(on: datetime.date) -> list[VatRate]:
    """Each country's row in force on `on` (the provider console shows them)."""
    rows = VatRate.objects.filter(valid_from__lte=on).order_by("country", "-valid_from")
    seen: dict[str, VatRate] = {}
    for row in rows:
        seen.setdefault(row.country, row)
    return list(seen.values())


def _area(country: str) -> str:
    country = (country or "").strip().upper()
    return "CH" if country in SWISS_VAT_AREA else country


def vat_treatment(issuer_country: str, bill_to: Tenant, on: datetime.date) -> VatTreatment:
    """The VAT of an invoice dated `on` from an issuer in `issuer_country` to
    `bill_to` (module docstring: the rules). Raises `VatRateMissing` when
    the rate it needs is not in the table for that day."""
    issuer, payer = _area(issuer_country), _area(bill_to.country)
    # only a number valid for the payer's country (tenants.vat_numbers) makes
    # it a business: one stored before the check, or of another country, not
    business = vat_number_valid(bill_to.vat_number, payer)
    if issuer and issuer == payer and (issuer == "CH" or issuer in EU_COUNTRIES):
        return treatment_of(Treatment.DOMESTIC, rate_on(payer, on), payer)
    if issuer and payer in EU_COUNTRIES:
        if business:
            return treatment_of(Treatment.REVERSE_CHARGE, ZERO, payer)
        return treatment_of(Treatment.EU_CONSUMER, rate_on(payer, on), payer)
    return treatment_of(Treatment.OUTSIDE_SCOPE, ZERO, "")


def percent(rate: Decimal) -> str:
    """0.0810 → "8.1", 0.19 → "19", in the active language's number format."""
    value = (rate * 100).normalize()
    places = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    return formats.number_format(value, decimal_pos=places, use_l10n=True)


def treatment_of(kind: str, rate: Decimal, country: str) -> VatTreatment:
    """The treatment `kind` at `rate` with its texts in the active language
    (how an invoice stored with these three is printed again)."""
    if kind in (Treatment.DOMESTIC, Treatment.EU_CONSUMER):
        label = gettext("VAT %(rate)s %%") % {"rate": percent(rate)}
        note = (
            gettext("VAT of %(country)s at its standard rate.") % {"country": country}
            if kind == Treatment.EU_CONSUMER
            else ""
        )
        return VatTreatment(rate, label, False, note, kind, country)
    if kind == Treatment.REVERSE_CHARGE:
        return VatTreatment(
            ZERO,
            gettext("VAT 0 % (reverse charge)"),
            True,
            gettext(
                "Reverse charge: VAT is to be accounted for by the recipient "
                "(Article 196, Council Directive 2006/112/EC)."
            ),
            kind,
            country,
        )
    if kind == Treatment.BEFORE_VAT:
        return VatTreatment(
            ZERO,
            gettext("No VAT shown"),
            False,
            gettext("Issued before invoices showed VAT: the total is the amount charged."),
            kind,
            "",
        )
    return VatTreatment(
        ZERO, gettext("No VAT"), False, gettext("Outside the scope of VAT."), kind, ""
    )
