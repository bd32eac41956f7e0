"""The plan: every row validated (a form per row, then checks across rows and
against the partner's customers) and matched, before anything is written."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imports.columns import CONTACTS, CUSTOMERS, KINDS, ImportKind, import_kind
from imports.parse import RowError, Table, Upload, file_text, read_table
from partners.selectors import customers_visible_to
from tenants.models import Contact, Role, Tenant
from tenants.selectors import OrgContext
from tenants.services import ORGANIZATION_FIELDS, require_role

CREATE, UPDATE = "create", "update"


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


def _differs(field_name: str, value: object, current: object) -> bool:
    if field_name in MATCHING_FIELDS:
        assert isinstance(value, str) and isinstance(current, str)  # text columns and cells
        return _key(value) != _key(current)
    return value != current


def chunks(items: list, size: int) -> Iterator[list]:
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
    for chunk in chunks(sorted(set(customer_pks)), 1000):
        for contact in (
            Contact.unscoped.filter(customer_id__in=chunk)
            .order_by("created_at", "pk")
            .values("pk", "customer_id", "first_name", "last_name", "email", "phone", "is_primary")
        ):
            found[contact["customer_id"]].append(dict(contact))  # a plain dict: the plan adds "row"
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


def _validated_rows(
    table: Table, kind: ImportKind, errors: list[RowError]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row through the kind's form. One form validates the rows in turn,
    rebound to each row's data (full_clean starts afresh each time): a new form
    per row would copy its fields 10,000 times, most of a large file's time."""
    form = kind.form_class(data={})
    for row, values in table.rows:
        form.data, form._errors = values, None  # type: ignore[attr-defined]  # BaseForm._errors: missing from the stubs
        if form.is_valid():
            yield row, form.cleaned_data
        else:
            for column, messages in form.errors.items():
                errors += [
                    RowError(row, None if column == "__all__" else column, str(m)) for m in messages
                ]


def _plan_customers(org: OrgContext, table: Table, errors: list[RowError]) -> list[PlannedRow]:
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
        profile = {f: data[f] for f in ORGANIZATION_FIELDS if data.get(f)}
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
    updates: dict[uuid.UUID, PlannedRow] = {}
    for r in planned:
        if r.action == UPDATE:
            assert r.customer_pk is not None  # an update names the customer it matched
            updates[r.customer_pk] = r
    for chunk in chunks(list(updates), 1000):
        for current in Tenant.objects.filter(pk__in=chunk).values("pk", *ORGANIZATION_FIELDS):
            row = updates[current["pk"]]
            row.changes = [f for f, v in row.profile.items() if _differs(f, v, current[f])]
    contacts = _contacts_of(pk for pk, r in updates.items() if r.contact)
    for pk, row in updates.items():
        if row.contact:
            match = _contact_find(contacts.get(pk, []), row.contact.fields)
            row.contact = _plan_contact(match, row.contact.fields, True)


def _plan_contacts(org: OrgContext, table: Table, errors: list[RowError]) -> list[PlannedRow]:
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


def require_importer(org: OrgContext) -> None:
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Only partners import customers."))
    require_role(org, Role.ADMIN)


def import_plan(*, org: OrgContext, kind: str, file: Upload) -> ImportPlan:
    """Read and validate the whole file and decide, row by row, what would be
    created and what updated. Writes nothing. Raises ImportInvalid for a file
    that cannot be read at all; row errors come back in `plan.errors`."""
    require_importer(org)
    import_kind(kind)
    text = file_text(file)
    table = read_table(text, KINDS[kind])
    errors = list(table.errors)
    if table.rows:
        plan_rows = _plan_customers if kind == CUSTOMERS else _plan_contacts
        rows = plan_rows(org, table, errors)
    else:
        rows = []
    order: dict[str | None, int] = {name: i for i, name in enumerate(KINDS[kind].column_names)}
    errors.sort(key=lambda e: (e.row or 0, order.get(e.column, len(order))))
    return ImportPlan(kind=kind, content=text, rows=[] if errors else rows, errors=errors)
