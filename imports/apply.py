"""Writing a valid plan in one transaction, re-planned inside it."""

import uuid
from collections.abc import Callable

from django.db import transaction

from core.db import bulk_write
from customers.services import contact_add, contact_update
from imports.columns import CUSTOMERS
from imports.parse import ImportInvalid, Upload
from imports.plan import (
    CREATE,
    ImportPlan,
    ImportResult,
    PlannedContact,
    PlannedRow,
    chunks,
    import_plan,
    require_importer,
)
from partners.services import customer_profile_update, customers_add_unclaimed
from tenants.models import Contact, Tenant
from tenants.selectors import OrgContext

PROGRESS_EVERY = 500  # rows per bulk batch and per progress report


# --- writing ---------------------------------------------------------------------------------


def _customers_create(org: OrgContext, rows: list[PlannedRow]) -> None:
    """A batch of new customers as customer_add makes them (customers_add_unclaimed),
    each with its primary contact when the row names one."""
    partnerships = customers_add_unclaimed(
        org=org, customers=[{**row.profile, "currency": row.currency} for row in rows]
    )
    contacts = [
        Contact(
            customer=partnership.customer,
            is_primary=True,
            **{k: v for k, v in row.contact.fields.items() if v},
        )
        for row, partnership in zip(rows, partnerships, strict=True)
        if row.contact
    ]
    for contact in contacts:
        contact.clean_fields(exclude=["customer"])
    bulk_write(contacts)


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
        stored = Contact(pk=contact.pk, customer=Tenant(pk=customer_pk))
        contact_update(org=org, contact=stored, data=data)


def _write(org: OrgContext, plan: ImportPlan, progress: Callable[[int], None] | None) -> None:
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        before, done = done, done + count
        if progress and (done // PROGRESS_EVERY > before // PROGRESS_EVERY or done == plan.total):
            progress(done)

    if plan.kind == CUSTOMERS:
        creates = [r for r in plan.rows if r.action == CREATE]
        for batch in chunks(creates, PROGRESS_EVERY):
            _customers_create(org, batch)
            advance(len(batch))
    for row in plan.rows:
        if plan.kind == CUSTOMERS and row.action == CREATE:
            continue
        if plan.kind == CUSTOMERS and row.changes:
            data = {f: row.profile[f] for f in row.changes}
            customer_profile_update(org=org, customer=Tenant(pk=row.customer_pk), data=data)
        if row.contact:
            assert row.customer_pk is not None  # only a new customer has none: written above
            _write_contact(org, row.customer_pk, row.contact)
        advance(1)


def import_apply(
    *, org: OrgContext, kind: str, file: Upload, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Write the file in one transaction. It is planned again inside it, after
    locking the partner, so concurrent imports of one partner run one after the
    other and the second one updates what the first created. `progress(n)` is
    called every PROGRESS_EVERY rows written."""
    with transaction.atomic():
        require_importer(org)
        Tenant.objects.select_for_update().filter(pk=org.tenant.pk).first()
        plan = import_plan(org=org, kind=kind, file=file)
        if plan.errors:
            raise ImportInvalid(plan.errors)
        _write(org, plan, progress)
    return ImportResult(created=plan.created, updated=plan.updated)
