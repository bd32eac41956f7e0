"""VAT numbers checked by the organization's country (docs/invoices.md "VAT
numbers"), offline, by `python-stdnum`: the format and the check digit, not
whether the tax office registered the number (no VIES or UID-register call).

- **Switzerland** (CH): the UID with its VAT suffix, `CHE-123.456.788 MWST`
  (or TVA, IVA, TPV); stored in that printed form.
- **An EU country**: that country's VAT number, with or without its prefix
  (`DE136695976`, `136 695 976` for Germany; Greece's prefix is EL, GR is
  read as EL); stored compact with its prefix, as VIES writes it.
- **No country**: a Swiss or EU number is recognized by its own prefix and
  checked as that country's; anything else asks for the country.
- **Any other country** (Liechtenstein, the UK, the US, ...): kept as typed,
  trimmed; it is printed on invoices and changes no VAT (billing.vat).

`vat_number_clean` is what every write of `Tenant.vat_number` goes through
(`Tenant.clean`, so each service's `full_clean`, the forms and the admin);
`vat_number_valid` is what the reverse charge asks of a stored number.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.util import clean

EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
# The VAT prefix of a country where it is not the ISO code (VIES: Greece is EL).
_PREFIX = {"GR": "EL"}
_COUNTRY_OF_PREFIX = {"EL": "GR", **{c: c for c in EU_COUNTRIES}}


def vat_prefix(country: str) -> str:
    """The prefix a VAT number of `country` (an EU country) starts with."""
    return _PREFIX.get(country, country)


def _invalid(message: str) -> ValidationError:
    return ValidationError({"vat_number": message})


def _swiss(number: str) -> str:
    try:
        return ch_vat.format(ch_vat.validate(number))
    except stdnum_errors.InvalidChecksum:
        raise _invalid(
            _("The check digit of this Swiss VAT number does not match: look for a typing error.")
        ) from None
    except stdnum_errors.ValidationError:
        raise _invalid(
            _("A Swiss VAT number is the UID and MWST, TVA or IVA: CHE-123.456.788 MWST.")
        ) from None


def _prefix_country(compact: str) -> str | None:
    """The EU country whose prefix `compact` starts with, if any."""
    return _COUNTRY_OF_PREFIX.get(compact[:2])


def _compact(number: str) -> str:
    """Without spaces, dots, dashes, commas and slashes, in upper case."""
    return clean(number, " -./,").upper().strip()


def _european(number: str, country: str) -> str:
    compact = _compact(number)
    given = _prefix_country(compact)
    if given is not None and given != country:
        raise _invalid(
            _("This is a VAT number of %(other)s; the organization's country is %(country)s.")
            % {"other": given, "country": country}
        )
    compact = vat_prefix(country) + (compact[2:] if given else compact)
    try:
        compact = eu_vat.validate(compact)
    except stdnum_errors.InvalidChecksum:
        raise _invalid(
            _("The check digit of this VAT number does not match: look for a typing error.")
        ) from None
    except stdnum_errors.ValidationError:
        raise _invalid(
            _(
                "Not a VAT number of %(country)s: it starts with %(prefix)s "
                "and follows that country's format."
            )
            % {"country": country, "prefix": vat_prefix(country)}
        ) from None
    return compact


def vat_number_clean(number: str | None, country: str | None) -> str:
    """`number` as stored for an organization in `country`: "" for none, the
    normalized form of a valid Swiss or EU number (module docstring); raises
    ValidationError on `vat_number` with what is wrong."""
    number = " ".join((number or "").split())
    country = (country or "").strip().upper()
    if not number:
        return ""
    if country == "CH":
        return _swiss(number)
    if country in EU_COUNTRIES:
        return _european(number, country)
    if country:
        return number
    compact = _compact(number)
    if compact.startswith("CHE"):
        return _swiss(number)
    given = _prefix_country(compact)
    if given is not None:
        return _european(number, given)
    raise _invalid(
        _(
            "Give the organization's country first: a VAT number is checked against it "
            "(a Swiss or EU number with its prefix is recognized without)."
        )
    )


def vat_number_valid(number: str | None, country: str | None) -> bool:
    """Whether `number` is a valid VAT number of `country`, a Swiss or EU
    country (the reverse charge asks this of the bill-to's stored number, so
    that one stored before the check applies none)."""
    country = (country or "").strip().upper()
    if not (number or "").strip() or not (country == "CH" or country in EU_COUNTRIES):
        return False
    try:
        vat_number_clean(number, country)
    except ValidationError:
        return False
    return True
