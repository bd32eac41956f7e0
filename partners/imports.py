"""Bulk import of customers and contacts from CSV files (SPEC §2, Atera).

One column definition per kind (CUSTOMERS, CONTACTS) drives the downloadable
template, the parser, the per-row form and the docs. An import is planned
before anything is written: every row is validated (a Django form per row, then
checks across rows and against the partner's customers), and any error rejects
the whole file with a report by row and column (the header is row 1, as a
spreadsheet shows it). A valid plan is written in one transaction, re-planned
inside it; matching makes a re-upload update instead of duplicating:

- a customer matches one the partner may act on (customers_visible_to) by
  company/tax id when the row has one, else by name (case-insensitive); a new
  one is created unclaimed, as customer_add makes it: full access, partner pays;
- a contact matches by email within its customer (by first and last name when
  the row has no email).

An empty cell leaves the current value as it is: an import adds and changes, it
never erases; nor does it rewrite a name, tax id or email that differs only in
case or spacing. Files up to SYNC_ROWS_MAX rows are written during the request;
larger ones by a Celery task (ImportJob) that reports its progress.
"""

import csv
import datetime
import io
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from partners.book_changes import book_changed
from partners.models import Access, ImportJob, Partnership, PartnershipEvent, Payment, Side
from partners.selectors import customers_visible_to
from partners.services import (
    clean_grant,
    contact_add,
    contact_update,
    customer_profile_update,
    grant_of,
)
from tenants.jobs import enqueue_on_commit
from tenants.models import Contact, Role, Tenant
from tenants.selectors import OrgContext, org_context_for, uuid_or_404
from tenants.services import ORGANIZATION_FIELDS, require_role, tenant_build

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
SYNC_ROWS_MAX = 1_000  # above this, a Celery task writes the file (ImportJob)
PROGRESS_EVERY = 500  # rows per bulk batch and per progress report
JOB_ERRORS_KEPT = 1_000
# A job `running` for this long lost its worker (its transaction rolled back, so
# nothing was written): it may be claimed again. 10,000 rows take about a minute.
JOB_STALE_AFTER = datetime.timedelta(minutes=30)
JOB_LOST_AFTER = datetime.timedelta(minutes=5)  # queued this long: its message was lost

CUSTOMERS = ImportJob.Kind.CUSTOMERS.value
CONTACTS = ImportJob.Kind.CONTACTS.value
CREATE, UPDATE = "create", "update"


# --- columns: the one definition of each kind ---------------------------------------


class DomainListField(forms.CharField):
    """Email domains separated by spaces, commas or semicolons, without @."""

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [part.lower() for part in re.split(r"[\s,;]+", text) if part]

    def validate(self, value) -> None:
        super().validate(value)
        if any("@" in d or "." not in d.strip(".") for d in value):
            raise ValidationError(_("Give domains like example.com, without @."))


class CountryField(forms.CharField):
    def to_python(self, value) -> str:
        return super().to_python(value).upper()

    def validate(self, value) -> None:
        super().validate(value)
        if value and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValidationError(_("Give the two-letter ISO country code (CH, DE, IT)."))


class CurrencyField(forms.ChoiceField):
    def to_python(self, value) -> str:
        return super().to_python(value).strip().upper()


class YesNoField(forms.Field):
    YES = frozenset({"yes", "y", "true", "1", "x", "ja", "oui", "si", "sì"})
    NO = frozenset({"", "no", "n", "false", "0", "nein", "non"})

    def to_python(self, value) -> bool:
        text = (value or "").strip().lower()
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValidationError(_("Write yes or no."))


def _text(model, name: str, *, required: bool = False) -> forms.CharField:
    return forms.CharField(max_length=model._meta.get_field(name).max_length, required=required)


@dataclass(frozen=True)
class Column:
    name: str
    field: forms.Field
    help: str
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
    def clean(self):
        data = super().clean()
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
    label: str
    columns: tuple[Column, ...]
    form_class: type[forms.Form]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _kind(name: str, label: str, columns: tuple[Column, ...], base: type[forms.Form]):
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


# --- the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem: `row` as a spreadsheet numbers it (header = 1) and the
    column's name; both are None for a problem of the whole file."""

    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


class ImportInvalid(ValidationError):
    """The file has errors; nothing was written. `errors` is the full report."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(
            [
                _("Row %(row)s, %(column)s: %(message)s")
                % {"row": e.row, "column": e.column, "message": e.message}
                if e.row
                else e.message
                for e in errors[:20]
            ]
        )


def _file_error(message: str) -> ImportInvalid:
    return ImportInvalid([RowError(None, None, message)])


# --- reading the file ---------------------------------------------------------------------


SAVE_AS = gettext_lazy("In Excel, choose File, Save As, “CSV UTF-8 (Comma delimited)”.")


def _file_text(file) -> str:
    """The file's text: UTF-8 with or without a byte order mark, at most MAX_BYTES.
    `file` is an uploaded file, bytes, or text already decoded (a job's content)."""
    too_big = _("The file is larger than %(size)s MB; split it into smaller files.") % {
        "size": MAX_BYTES // (1024 * 1024)
    }
    if isinstance(file, str):
        if len(file) > MAX_BYTES or len(file.encode()) > MAX_BYTES:
            raise _file_error(too_big)
        return file.removeprefix("\ufeff")
    if isinstance(file, bytes):
        data = file
    else:
        if (getattr(file, "size", None) or 0) > MAX_BYTES:
            raise _file_error(too_big)
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _file_error(too_big)
    if data.startswith(b"PK\x03\x04"):
        raise _file_error(
            _("This is an Excel workbook, not a CSV file. %(save_as)s") % {"save_as": SAVE_AS}
        )
    if b"\x00" in data:
        raise _file_error(_("This is not a CSV text file. %(save_as)s") % {"save_as": SAVE_AS})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            _("The file is not UTF-8 text (the first problem is on line %(line)s). %(save_as)s")
            % {"line": line, "save_as": SAVE_AS}
        ) from None


def _delimiter(text: str) -> str:
    """`;` or `,`, whichever the header line uses more (Excel writes `;` where the
    decimal separator is a comma)."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    return ";" if header.count(";") > header.count(",") else ","


def _header_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


@dataclass
class _Table:
    names: list[str | None]  # the column of each cell position; None: no known column
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row, {column: cell})
    errors: list[RowError]


def _read_table(text: str, kind: ImportKind) -> _Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    errors: list[RowError] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _file_error(_("This is not a CSV file: %(error)s.") % {"error": exc}) from None
    if not header or not any(c.strip() for c in header):
        raise _file_error(_("The file is empty: the first row names the columns."))
    names: list[str | None] = []
    for cell in header:
        name = _header_name(cell)
        if not name:
            names.append(None)
        elif name not in kind.column_names:
            errors.append(
                RowError(
                    1,
                    cell.strip(),
                    _("Unknown column. The columns of a %(kind)s file are: %(columns)s.")
                    % {"kind": kind.name, "columns": ", ".join(kind.column_names)},
                )
            )
            names.append(None)
        elif name in names:
            errors.append(RowError(1, name, _("This column appears twice.")))
            names.append(None)
        else:
            names.append(name)
    errors += [
        RowError(1, c.name, _("This column is required."))
        for c in kind.columns
        if c.required and c.name not in names
    ]
    if errors:
        return _Table(names, [], errors)
    rows: list[tuple[int, dict[str, str]]] = []
    row = 1
    try:
        for row, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue  # an empty line
            if len(rows) == MAX_ROWS:
                raise _file_error(
                    _("The file has more than %(max)s rows; split it into smaller files.")
                    % {"max": number_format(MAX_ROWS, force_grouping=True)}
                )
            values = {}
            for position, cell in enumerate(cells):
                name = names[position] if position < len(names) else None
                if name is not None:
                    values[name] = cell
                elif cell.strip():
                    errors.append(
                        RowError(row, f"column {position + 1}", _("This cell has no column name."))
                    )
            rows.append((row, values))
    except csv.Error as exc:
        errors.append(
            RowError(row + 1, None, _("This row is not valid CSV: %(error)s.") % {"error": exc})
        )
    if not rows and not errors:
        raise _file_error(_("The file has no rows below the header."))
    return _Table(names, rows, errors)


# --- the plan -------------------------------------------------------------------------------


@dataclass
class PlannedContact:
    action: str
    pk: uuid.UUID | None
    fields: dict  # first_name, last_name, email, phone as the row gives them
    make_primary: bool
    changes: list[str]


@dataclass
class PlannedRow:
    row: int
    action: str  # create | update: of the customer (customers) or of the contact (contacts)
    customer_name: str
    customer_pk: uuid.UUID | None
    profile: dict = field(default_factory=dict)  # customers: the filled profile cells
    currency: str = ""
    changes: list[str] = field(default_factory=list)
    contact: PlannedContact | None = None

    def as_dict(self) -> dict:
        contact = self.contact
        return {
            "row": self.row,
            "action": self.action,
            "customer": self.customer_name,
            "changes": self.changes,
            "contact": (
                {
                    "action": contact.action,
                    "name": f"{contact.fields['first_name']} {contact.fields['last_name']}",
                    "email": contact.fields.get("email", ""),
                    "primary": contact.make_primary,
                }
                if contact
                else None
            ),
        }


@dataclass
class ImportPlan:
    kind: str
    content: str
    rows: list[PlannedRow]
    errors: list[RowError]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def created(self) -> int:
        return sum(r.action == CREATE for r in self.rows)

    @property
    def updated(self) -> int:
        return sum(r.action == UPDATE for r in self.rows)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _key(value: str) -> str:
    return " ".join(value.split()).casefold()


# What rows are matched by: a difference of case or spacing there is no change.
MATCHING_FIELDS = frozenset({"name", "tax_id", "first_name", "last_name", "email"})


def _differs(field_name: str, value, current) -> bool:
    if field_name in MATCHING_FIELDS:
        return _key(value) != _key(current)
    return value != current


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class _Known:
    pk: uuid.UUID
    name: str
    tax_id: str
    currency: str


class _Customers:
    """The customers this partner user may act on, indexed by tax id and by name."""

    def __init__(self, org: OrgContext):
        self.by_tax: dict[str, list[_Known]] = defaultdict(list)
        self.by_name: dict[str, list[_Known]] = defaultdict(list)
        # One plain query, not .iterator(): a server-side cursor gets a slow plan from
        # PostgreSQL while the statistics predate a large import (measured: 40 times slower).
        rows = (
            customers_visible_to(org=org).order_by().values_list("pk", "name", "tax_id", "currency")
        )
        for pk, name, tax_id, currency in rows:
            known = _Known(pk, name, tax_id, currency)
            if tax_id.strip():
                self.by_tax[_key(tax_id)].append(known)
            self.by_name[_key(name)].append(known)

    def match(self, *, name: str, tax_id: str) -> tuple[_Known | None, RowError | None]:
        """The customer a row names: by tax id when given (or a namesake without
        a tax id, which gets it), else by name. An ambiguous match is an error."""
        if tax_id:
            hits = self.by_tax.get(_key(tax_id), [])
            if len(hits) > 1:
                return None, self._ambiguous(
                    "tax_id",
                    ngettext(
                        "%(count)s of your customers has this tax id; tell them apart before "
                        "importing.",
                        "%(count)s of your customers have this tax id; tell them apart before "
                        "importing.",
                        len(hits),
                    )
                    % {"count": len(hits)},
                )
            if hits:
                return hits[0], None
            hits = [k for k in self.by_name.get(_key(name), []) if not k.tax_id.strip()]
        else:
            hits = self.by_name.get(_key(name), [])
        if len(hits) > 1:
            return None, self._ambiguous(
                "name",
                ngettext(
                    "%(count)s of your customers has this name; tell them apart before importing.",
                    "%(count)s of your customers have this name; tell them apart before importing.",
                    len(hits),
                )
                % {"count": len(hits)},
            )
        return (hits[0] if hits else None), None

    def reference(self, value: str) -> tuple[_Known | None, str]:
        """The customer a contact row names, by tax id or name; else why not."""
        hits = self.by_tax.get(_key(value)) or self.by_name.get(_key(value), [])
        if len(hits) == 1:
            return hits[0], ""
        if hits:
            return None, (
                ngettext(
                    "%(count)s of your customers is called “%(name)s”; give the tax id instead.",
                    "%(count)s of your customers are called “%(name)s”; give the tax id instead.",
                    len(hits),
                )
                % {"count": len(hits), "name": value}
            )
        return None, _("No customer you manage has the name or tax id “%(value)s”.") % {
            "value": value
        }

    @staticmethod
    def _ambiguous(column: str, message: str) -> RowError:
        return RowError(0, column, message)


def _contacts_of(customer_pks: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    found: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for chunk in _chunks(sorted(set(customer_pks)), 1000):
        for contact in (
            Contact.objects.filter(customer_id__in=chunk)
            .order_by("created_at", "pk")
            .values("pk", "customer_id", "first_name", "last_name", "email", "phone", "is_primary")
        ):
            found[contact["customer_id"]].append(contact)
    return found


def _contact_find(contacts: list[dict], fields: dict) -> dict | None:
    """The customer's contact a row means: the one with its email; else one of
    the same first and last name (without an email, if the row gives one: it
    gets it)."""
    email = (fields.get("email") or "").casefold()
    if email:
        found = next((c for c in contacts if c["email"].casefold() == email), None)
        if found is not None:
            return found
    name = (_key(fields["first_name"]), _key(fields["last_name"]))
    return next(
        (
            c
            for c in contacts
            if (_key(c["first_name"]), _key(c["last_name"])) == name and not (email and c["email"])
        ),
        None,
    )


def _plan_contact(match: dict | None, fields: dict, make_primary: bool) -> PlannedContact:
    if match is None:
        return PlannedContact(CREATE, None, fields, make_primary, [])
    changes = [f for f, value in fields.items() if value and _differs(f, value, match[f])]
    if make_primary and not match["is_primary"]:
        changes.append("is_primary")
    return PlannedContact(UPDATE, match["pk"], fields, make_primary, changes)


def _validated_rows(table: _Table, kind: ImportKind, errors: list[RowError]):
    """Each row through the kind's form. One form validates the rows in turn,
    rebound to each row's data (full_clean starts afresh each time): a new form
    per row would copy its fields 10,000 times, most of a large file's time."""
    form = kind.form_class(data={})
    for row, values in table.rows:
        form.data, form._errors = values, None
        if form.is_valid():
            yield row, form.cleaned_data
        else:
            for column, messages in form.errors.items():
                errors += [
                    RowError(row, None if column == "__all__" else column, m) for m in messages
                ]


def _plan_customers(org: OrgContext, table: _Table, errors: list[RowError]) -> list[PlannedRow]:
    known = _Customers(org)
    planned: list[PlannedRow] = []
    by_tax: dict[str, int] = {}
    by_name: dict[str, int] = {}  # every row's name
    by_name_without_tax: dict[str, int] = {}
    by_target: dict[uuid.UUID, int] = {}
    for row, data in _validated_rows(table, KINDS[CUSTOMERS], errors):
        name, tax_id = data["name"], data["tax_id"]
        name_key, tax_key = _key(name), _key(tax_id)
        twice = (
            by_tax.get(tax_key) or by_name_without_tax.get(name_key)
            if tax_id
            else by_name.get(name_key)
        )
        if twice:
            column = "tax_id" if tax_id and by_tax.get(tax_key) else "name"
            errors.append(
                RowError(
                    row, column, _("Row %(row)s already imports this customer.") % {"row": twice}
                )
            )
            continue
        by_name.setdefault(name_key, row)
        if tax_id:
            by_tax[tax_key] = row
        else:
            by_name_without_tax[name_key] = row
        target, problem = known.match(name=name, tax_id=tax_id)
        if problem:
            errors.append(RowError(row, problem.column, problem.message))
            continue
        if target is not None and target.pk in by_target:
            errors.append(
                RowError(
                    row,
                    "tax_id" if tax_id else "name",
                    _("Row %(row)s already imports “%(name)s”.")
                    % {"row": by_target[target.pk], "name": target.name},
                )
            )
            continue
        profile = {f: data[f] for f in ORGANIZATION_FIELDS if data[f]}
        if target is None:
            planned.append(
                PlannedRow(
                    row,
                    CREATE,
                    name,
                    None,
                    profile=profile,
                    currency=data["currency"] or org.tenant.currency,
                )
            )
        else:
            by_target[target.pk] = row
            if data["currency"] and data["currency"] != target.currency:
                errors.append(
                    RowError(
                        row,
                        "currency",
                        _(
                            "“%(name)s” is billed in %(currency)s; "
                            "an import does not change a customer's currency."
                        )
                        % {"name": target.name, "currency": target.currency},
                    )
                )
                continue
            planned.append(PlannedRow(row, UPDATE, target.name, target.pk, profile=profile))
        if data["contact_first_name"]:
            planned[-1].contact = PlannedContact(
                CREATE,
                None,
                {
                    "first_name": data["contact_first_name"],
                    "last_name": data["contact_last_name"],
                    "email": data["contact_email"],
                    "phone": data["contact_phone"],
                },
                True,
                [],
            )
    _plan_customer_changes(planned)
    return planned


def _plan_customer_changes(planned: list[PlannedRow]) -> None:
    """What an update would change: the filled cells that differ; and whether
    its contact is new or an existing one (which becomes the primary)."""
    updates = {r.customer_pk: r for r in planned if r.action == UPDATE}
    for chunk in _chunks(list(updates), 1000):
        for current in Tenant.objects.filter(pk__in=chunk).values("pk", *ORGANIZATION_FIELDS):
            row = updates[current["pk"]]
            row.changes = [f for f, v in row.profile.items() if _differs(f, v, current[f])]
    contacts = _contacts_of(pk for pk, r in updates.items() if r.contact)
    for pk, row in updates.items():
        if row.contact:
            match = _contact_find(contacts.get(pk, []), row.contact.fields)
            row.contact = _plan_contact(match, row.contact.fields, True)


def _plan_contacts(org: OrgContext, table: _Table, errors: list[RowError]) -> list[PlannedRow]:
    known = _Customers(org)
    valid: list[tuple[int, dict, _Known]] = []
    primary_row: dict[uuid.UUID, int] = {}
    for row, data in _validated_rows(table, KINDS[CONTACTS], errors):
        customer, problem = known.reference(data["customer"])
        if customer is None:
            errors.append(RowError(row, "customer", problem))
            continue
        if data["is_primary"]:
            if customer.pk in primary_row:
                errors.append(
                    RowError(
                        row,
                        "is_primary",
                        _(
                            "Row %(row)s already makes another contact "
                            "the primary contact of “%(name)s”."
                        )
                        % {"row": primary_row[customer.pk], "name": customer.name},
                    )
                )
                continue
            primary_row[customer.pk] = row
        valid.append((row, data, customer))
    existing = _contacts_of(customer.pk for _, _, customer in valid)
    planned: list[PlannedRow] = []
    for row, data, customer in valid:
        fields = {f: data[f] for f in ("first_name", "last_name", "email", "phone")}
        contacts = existing[customer.pk]
        match = _contact_find(contacts, fields)
        if match is not None and match.get("row"):
            column = "email" if fields["email"] else "first_name"
            errors.append(
                RowError(
                    row,
                    column,
                    _("Row %(row)s already has this contact of “%(name)s”.")
                    % {"row": match["row"], "name": customer.name},
                )
            )
            continue
        # A customer without a primary contact gets its first one, unless a row makes
        # another contact primary (contact_create decides the same way when writing).
        has_primary = any(c["is_primary"] for c in contacts) or customer.pk in primary_row
        contact = _plan_contact(match, fields, data["is_primary"] or not has_primary)
        if match is None:
            contacts.append({**fields, "pk": None, "is_primary": contact.make_primary, "row": row})
        else:
            match["row"] = row
        planned.append(
            PlannedRow(
                row,
                contact.action,
                customer.name,
                customer.pk,
                changes=contact.changes,
                contact=contact,
            )
        )
    return planned


def _require_importer(org: OrgContext) -> None:
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Only partners import customers."))
    require_role(org, Role.ADMIN)


def import_plan(*, org: OrgContext, kind: str, file) -> ImportPlan:
    """Read and validate the whole file and decide, row by row, what would be
    created and what updated. Writes nothing. Raises ImportInvalid for a file
    that cannot be read at all; row errors come back in `plan.errors`."""
    _require_importer(org)
    import_kind(kind)
    text = _file_text(file)
    table = _read_table(text, KINDS[kind])
    errors = list(table.errors)
    if table.rows:
        plan_rows = _plan_customers if kind == CUSTOMERS else _plan_contacts
        rows = plan_rows(org, table, errors)
    else:
        rows = []
    order = {name: i for i, name in enumerate(KINDS[kind].column_names)}
    errors.sort(key=lambda e: (e.row or 0, order.get(e.column, len(order))))
    return ImportPlan(kind=kind, content=text, rows=[] if errors else rows, errors=errors)


# --- writing ---------------------------------------------------------------------------------


def _unique_slugs(tenants: list[Tenant]) -> None:
    """The slugs tenant_create would give (the name's, or with a suffix when it is
    taken), decided for a whole batch in one query."""
    bases = {t.pk: slugify(t.name)[:60] or "org" for t in tenants}
    candidates = set(bases.values()) | {t.slug for t in tenants}
    taken = set(Tenant.objects.filter(slug__in=candidates).values_list("slug", flat=True))
    for tenant in tenants:
        base = bases[tenant.pk]
        if base not in taken:
            tenant.slug = base
        elif tenant.slug in taken:  # tenant_build's own suffix is taken too
            tenant.slug = f"{base[:47]}-{tenant.pk.hex}"
        taken.add(tenant.slug)


@transaction.atomic
def customers_create_unclaimed(*, org: OrgContext, customers: list[dict]) -> list[Partnership]:
    """Many unclaimed customers at once, each exactly as customer_add(org, name,
    currency, **profile) makes it without an owner email: the tenant (tenant_build)
    under the partner, which is also its origin; an active full partnership paid
    by the partner, requested as granted; its "created" event. `customers` are
    dicts of name, currency, the profile fields, and an optional `contact` that
    becomes the primary contact. A few queries per batch instead of ~8 per customer."""
    _require_importer(org)
    grant = clean_grant(access=Access.FULL, payment=Payment.PARTNER, products=None)
    tenants, contacts = [], []
    for data in customers:
        profile = {k: v for k, v in data.items() if k not in ("name", "currency", "contact")}
        tenant = tenant_build(
            kind=Tenant.Kind.CUSTOMER,
            name=data["name"],
            parent=org.tenant,
            origin=org.tenant,
            currency=data.get("currency") or org.tenant.currency,
            **profile,
        )
        tenants.append(tenant)
        if data.get("contact"):
            contacts.append(Contact(customer=tenant, is_primary=True, **data["contact"]))
    _unique_slugs(tenants)
    for tenant in tenants:
        tenant.clean_fields(exclude=["parent", "origin", "path"])
    for contact in contacts:
        contact.clean_fields(exclude=["customer"])
    Tenant.objects.bulk_create(tenants)
    now = timezone.now()
    partnerships = Partnership.objects.bulk_create(
        Partnership(
            partner=org.tenant,
            customer=tenant,
            access=grant["access"],
            payment=grant["payment"],
            ends_on=grant["ends_on"],
            initiated_by=Side.PARTNER,
            invited_by=org.user,
            status=Partnership.Status.ACTIVE,
            activated_at=now,
        )
        for tenant in tenants
    )
    if partnerships:
        requested = grant_of(partnerships[0])  # the same grant for all: full, partner pays
        Partnership.objects.filter(pk__in=[p.pk for p in partnerships]).update(requested=requested)
        for partnership in partnerships:
            partnership.requested = requested
        PartnershipEvent.objects.bulk_create(
            PartnershipEvent(
                partnership=p, kind=PartnershipEvent.Kind.CREATED, actor=org.user, after=requested
            )
            for p in partnerships
        )
    Contact.objects.bulk_create(contacts)
    book_changed(tenant_ids=[org.tenant.pk])  # bulk inserts send no signal
    return partnerships


def _write_contact(org: OrgContext, customer_pk: uuid.UUID, contact: PlannedContact) -> None:
    if contact.action == CREATE:
        fields = {k: v for k, v in contact.fields.items() if v}
        contact_add(
            org=org, customer=Tenant(pk=customer_pk), is_primary=contact.make_primary, **fields
        )
    elif contact.changes:
        data = {f: contact.fields[f] for f in contact.changes if f != "is_primary"}
        if "is_primary" in contact.changes:
            data["is_primary"] = True
        contact_update(org=org, contact=Contact(pk=contact.pk), data=data)


def _write(org: OrgContext, plan: ImportPlan, progress: Callable[[int], None] | None) -> None:
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        before, done = done, done + count
        if progress and (done // PROGRESS_EVERY > before // PROGRESS_EVERY or done == plan.total):
            progress(done)

    if plan.kind == CUSTOMERS:
        creates = [r for r in plan.rows if r.action == CREATE]
        for batch in _chunks(creates, PROGRESS_EVERY):
            customers_create_unclaimed(
                org=org,
                customers=[
                    {
                        **r.profile,
                        "currency": r.currency,
                        "contact": {k: v for k, v in r.contact.fields.items() if v}
                        if r.contact
                        else None,
                    }
                    for r in batch
                ],
            )
            advance(len(batch))
    for row in plan.rows:
        if plan.kind == CUSTOMERS and row.action == CREATE:
            continue
        if plan.kind == CUSTOMERS and row.changes:
            data = {f: row.profile[f] for f in row.changes}
            customer_profile_update(org=org, customer=Tenant(pk=row.customer_pk), data=data)
        if row.contact:
            _write_contact(org, row.customer_pk, row.contact)
        advance(1)


def import_apply(
    *, org: OrgContext, kind: str, file, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Write the file in one transaction. It is planned again inside it, after
    locking the partner, so concurrent imports of one partner run one after the
    other and the second one updates what the first created. `progress(n)` is
    called every PROGRESS_EVERY rows written."""
    with transaction.atomic():
        _require_importer(org)
        Tenant.objects.select_for_update().filter(pk=org.tenant.pk).first()
        plan = import_plan(org=org, kind=kind, file=file)
        if plan.errors:
            raise ImportInvalid(plan.errors)
        _write(org, plan, progress)
    return ImportResult(created=plan.created, updated=plan.updated)


# --- submitting: dry run, now, or as a job -----------------------------------------------------


@dataclass
class ImportOutcome:
    plan: ImportPlan
    result: ImportResult | None = None  # written during the request
    job: ImportJob | None = None  # queued for the task

    @property
    def dry_run(self) -> bool:
        return self.result is None and self.job is None


def import_submit(*, org: OrgContext, kind: str, file, dry_run: bool = False) -> ImportOutcome:
    """What the page and the API call: validate the whole file (ImportInvalid with
    the report), then show the plan (dry run), write it now (up to SYNC_ROWS_MAX
    rows) or queue an ImportJob for the task."""
    plan = import_plan(org=org, kind=kind, file=file)
    if plan.errors:
        raise ImportInvalid(plan.errors)
    if dry_run:
        return ImportOutcome(plan)
    if plan.total <= SYNC_ROWS_MAX:
        return ImportOutcome(plan, result=import_apply(org=org, kind=kind, file=plan.content))
    return ImportOutcome(plan, job=_job_create(org, plan))


@transaction.atomic
def _job_create(org: OrgContext, plan: ImportPlan) -> ImportJob:
    job = ImportJob.objects.create(
        partner=org.tenant,
        kind=plan.kind,
        content=plan.content,
        total=plan.total,
        created_by=org.user,
    )
    enqueue_on_commit("partners.tasks.run_import_job", str(job.pk))
    return job


def import_job_get(*, org: OrgContext, job_id) -> ImportJob:
    """One import of this partner (any member may follow it); else 404."""
    job_id = uuid_or_404(job_id, _("No such import."))
    job = (
        ImportJob.objects.filter(partner=org.tenant, pk=job_id)
        .defer("content")
        .select_related("created_by")
        .first()
    )
    if job is None or not org.tenant.is_partner:
        raise Http404(_("No such import."))
    return job


class _Progress:
    """Writes a running job's `processed` where others see it at once. On
    PostgreSQL, through a second connection in autocommit (the import's own
    transaction commits only at the end); SQLite has one writer at a time, so
    there it goes into the import's transaction and shows when it commits."""

    def __init__(self, job_id: uuid.UUID):
        self.job_id = job_id
        self.side = None
        if connection.vendor == "postgresql":
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, processed: int) -> None:
        if self.side is None:
            ImportJob.objects.filter(pk=self.job_id).update(processed=processed)
            return
        quote = self.side.ops.quote_name
        sql = (
            f"UPDATE {quote(ImportJob._meta.db_table)} SET {quote('processed')} = %s "  # noqa: S608 (names from the model)
            f"WHERE {quote('id')} = %s"
        )
        try:
            with self.side.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
                cursor.execute(sql, [processed, self.job_id])
        except DatabaseError:
            logger.warning("import job %s: progress not written", self.job_id, exc_info=True)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _job_finish(job: ImportJob, status: str, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, finished_at=timezone.now(), content="", **fields
    )


def import_jobs_to_retry(*, now) -> list:
    """Jobs whose message or worker was lost: queued too long, or running stale."""
    return list(
        ImportJob.objects.filter(
            Q(status=ImportJob.Status.QUEUED, created_at__lt=now - JOB_LOST_AFTER)
            | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER)
        ).values_list("pk", flat=True)[:100]
    )


def import_job_run(*, job_id) -> str:
    """The task's work: write a queued job's file in one transaction. Idempotent:
    a job done, failed or running (on a live worker) is left alone; one left
    running by a worker that died is claimed again."""
    now = timezone.now()
    claimable = Q(status=ImportJob.Status.QUEUED) | Q(
        status=ImportJob.Status.RUNNING, started_at__lt=now - JOB_STALE_AFTER
    )
    claimed = ImportJob.objects.filter(claimable, pk=job_id).update(
        status=ImportJob.Status.RUNNING, started_at=now
    )
    if not claimed:
        return "skipped"
    job = ImportJob.objects.select_related("partner", "created_by").get(pk=job_id)
    progress = _Progress(job.pk)
    # The report is kept on the job: it reads in the language of whoever started it.
    language = getattr(job.created_by, "language", "") or None
    with translation.override(language):
        try:
            if job.created_by is None:
                raise PermissionDenied(_("The person who started this import has left."))
            org = org_context_for(user=job.created_by, tenant_id=job.partner_id)
            with transaction.atomic():
                result = import_apply(org=org, kind=job.kind, file=job.content, progress=progress)
                _job_finish(
                    job,
                    ImportJob.Status.DONE,
                    processed=job.total,
                    created_count=result.created,
                    updated_count=result.updated,
                )
            return ImportJob.Status.DONE
        except ImportInvalid as exc:
            _job_finish(
                job,
                ImportJob.Status.FAILED,
                error=ngettext(
                    "The file no longer fits your customers (they changed since it was checked): "
                    "%(count)s error; nothing was written.",
                    "The file no longer fits your customers (they changed since it was checked): "
                    "%(count)s errors; nothing was written.",
                    len(exc.errors),
                )
                % {"count": len(exc.errors)},
                errors=[e.as_dict() for e in exc.errors[:JOB_ERRORS_KEPT]],
            )
        except (PermissionDenied, Http404):
            _job_finish(
                job,
                ImportJob.Status.FAILED,
                error=_(
                    "The person who started this import may no longer import customers; "
                    "nothing was written."
                ),
            )
        except Exception:
            logger.exception("import job %s failed", job.pk)
            _job_finish(
                job,
                ImportJob.Status.FAILED,
                error=_("The import failed unexpectedly; nothing was written."),
            )
        finally:
            progress.close()
    return ImportJob.Status.FAILED
