"""The one definition of each kind of import (customers, contacts): its columns drive
the downloadable template, the parser, the per-row form and the docs."""

import csv
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imports.models import ImportJob
from tenants.models import Contact, Tenant

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CUSTOMERS = ImportJob.Kind.CUSTOMERS.value
CONTACTS = ImportJob.Kind.CONTACTS.value


# --- columns: the one definition of each kind ---------------------------------------


class DomainListField(forms.CharField):
    """Email domains separated by spaces, commas or semicolons, without @."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # a list, as the stubs allow SimpleArrayField's
        text = super().to_python(value)
        assert text is not None  # empty_value is "": an empty cell is ""
        return [part.lower() for part in re.split(r"[\s,;]+", text) if part]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if any("@" in d or "." not in d.strip(".") for d in value):
            raise ValidationError(_("Give domains like example.com, without @."))


class CountryField(forms.CharField):
    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        assert text is not None  # empty_value is "": an empty cell is ""
        return text.upper()

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValidationError(_("Give the two-letter ISO country code (CH, DE, IT)."))


class CurrencyField(forms.ChoiceField):
    def to_python(self, value: Any) -> str:
        return super().to_python(value).strip().upper()


class YesNoField(forms.Field):
    YES = frozenset({"yes", "y", "true", "1", "x", "ja", "oui", "si", "sì"})
    NO = frozenset({"", "no", "n", "false", "0", "nein", "non"})

    def to_python(self, value: Any) -> bool:
        text = (value or "").strip().lower()
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValidationError(_("Write yes or no."))


def _text(model: type[models.Model], name: str, *, required: bool = False) -> forms.CharField:
    column = model._meta.get_field(name)
    assert isinstance(column, models.Field)  # a column of the model, not a relation's far side
    return forms.CharField(max_length=column.max_length, required=required)


@dataclass(frozen=True)
class Column:
    name: str
    field: forms.Field
    help: "StrOrPromise"
    example: str
    required: bool = False  # the header must name it (and its cells must be filled)


CONTACT_ON_CUSTOMER = (
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
)

CUSTOMER_COLUMNS = (
    Column(
        "name",
        _text(Tenant, "name", required=True),
        gettext_lazy("Company name."),
        "Muster AG",
        True,
    ),
    Column(
        "rank",
        _text(Tenant, "rank"),
        gettext_lazy("Your internal label; it has no effect."),
        "Gold",
    ),
    Column(
        "email_domains",
        DomainListField(required=False),
        gettext_lazy("Email domains without @, separated by spaces or commas."),
        "muster.ch",
    ),
    Column(
        "tax_id",
        _text(Tenant, "tax_id"),
        gettext_lazy(
            "Company/tax id. When given, it finds the customer to update (else the name does)."
        ),
        "CHE-123.456.789",
    ),
    Column("phone", _text(Tenant, "phone"), gettext_lazy("Phone number."), "+41 31 123 45 67"),
    Column("fax", _text(Tenant, "fax"), gettext_lazy("Fax number."), ""),
    Column(
        "address", _text(Tenant, "address"), gettext_lazy("Street and number."), "Bahnhofstrasse 1"
    ),
    Column("city", _text(Tenant, "city"), gettext_lazy("City."), "Bern"),
    Column("state", _text(Tenant, "state"), gettext_lazy("State, canton or province."), "BE"),
    Column("postal_code", _text(Tenant, "postal_code"), gettext_lazy("Postal code."), "3011"),
    Column(
        "country", CountryField(required=False), gettext_lazy("Two-letter ISO country code."), "CH"
    ),
    Column(
        "currency",
        CurrencyField(choices=[("", ""), *Tenant.Currency.choices], required=False),
        gettext_lazy(
            "CHF or EUR, for a new customer; empty: your own currency. "
            "An existing customer keeps its currency."
        ),
        "CHF",
    ),
    Column(
        "contact_first_name",
        _text(Contact, "first_name"),
        gettext_lazy("The primary contact's first name (optional; with a last name)."),
        "Anna",
    ),
    Column(
        "contact_last_name",
        _text(Contact, "last_name"),
        gettext_lazy("The primary contact's last name."),
        "Muster",
    ),
    Column(
        "contact_email",
        forms.EmailField(required=False),
        gettext_lazy("The primary contact's email; it finds the contact to update."),
        "anna@muster.ch",
    ),
    Column(
        "contact_phone",
        _text(Contact, "phone"),
        gettext_lazy("The primary contact's phone."),
        "+41 79 123 45 67",
    ),
)

CONTACT_COLUMNS = (
    Column(
        "customer",
        forms.CharField(max_length=200),
        gettext_lazy("Name or company/tax id of a customer you manage."),
        "Muster AG",
        True,
    ),
    Column(
        "first_name",
        _text(Contact, "first_name", required=True),
        gettext_lazy("First name."),
        "Anna",
        True,
    ),
    Column(
        "last_name",
        _text(Contact, "last_name", required=True),
        gettext_lazy("Last name."),
        "Muster",
        True,
    ),
    Column(
        "email",
        forms.EmailField(required=False),
        gettext_lazy(
            "Email. It finds the contact to update within the customer "
            "(without one, the first and last name do)."
        ),
        "anna@muster.ch",
    ),
    Column("phone", _text(Contact, "phone"), gettext_lazy("Phone number."), "+41 79 123 45 67"),
    Column(
        "is_primary",
        YesNoField(required=False),
        gettext_lazy(
            "yes makes this the customer's primary contact; empty or no leaves the primary as it "
            "is. A customer's first contact becomes its primary contact."
        ),
        "yes",
    ),
)


class CustomerRowForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if any(data.get(name) for name in CONTACT_ON_CUSTOMER):
            for name in ("contact_first_name", "contact_last_name"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("A contact needs a first and a last name."))
        return data


class ContactRowForm(forms.Form):
    pass


@dataclass(frozen=True)
class ImportKind:
    name: str
    label: "StrOrPromise"
    columns: tuple[Column, ...]
    form_class: type[forms.Form]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _kind(
    name: str, label: "StrOrPromise", columns: tuple[Column, ...], base: type[forms.Form]
) -> ImportKind:
    form_class = type(base.__name__, (base,), {c.name: c.field for c in columns})
    return ImportKind(name=name, label=label, columns=columns, form_class=form_class)


KINDS: dict[str, ImportKind] = {
    CUSTOMERS: _kind(CUSTOMERS, gettext_lazy("Customers"), CUSTOMER_COLUMNS, CustomerRowForm),
    CONTACTS: _kind(CONTACTS, gettext_lazy("Contacts"), CONTACT_COLUMNS, ContactRowForm),
}


def import_kind(kind: str) -> ImportKind:
    try:
        return KINDS[kind]
    except KeyError:
        names = list(KINDS)
        raise ValidationError(
            {
                "kind": _("Choose %(kinds)s or %(last)s.")
                % {"kinds": ", ".join(names[:-1]), "last": names[-1]}
            }
        ) from None


def import_template(*, kind: str) -> str:
    """The CSV template: the header and one example row. It starts with a byte
    order mark so that Excel opens it as UTF-8."""
    columns = import_kind(kind).columns
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([c.example for c in columns])
    return "\ufeff" + out.getvalue()


def import_template_filename(kind: str) -> str:
    return f"{import_kind(kind).name}-import-template.csv"


def import_columns_doc() -> str:
    """The columns of each kind, as Markdown (for the API docs, in English)."""
    lines = []
    with translation.override(None):
        for kind in KINDS.values():
            lines.append(f"\n\n**{kind.label}** (`kind={kind.name}`):\n")
            lines += [
                f"\n- `{c.name}`{' (required)' if c.required else ''}: {c.help}"
                for c in kind.columns
            ]
    return "".join(lines)
