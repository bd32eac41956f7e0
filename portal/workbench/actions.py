"""The customer list's bulk actions (issue 25): each one over a selection of
customers, through the service the single-customer path calls, so the same
permissions and checks apply. A selection is all or nothing: an id the user may
not act on (another partner's customer, a missing or malformed id) refuses the
whole action with the 404 of a missing customer before anything is written;
each action runs in one transaction, so a refusal half-way writes nothing."""

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exports import csv_lines
from offers.models import OfferTemplate
from offers.services import Refusal, Sent, offer_send_eligible
from partners.selectors import NOT_FOUND, customers_visible_to
from partners.services import collaborators_set
from portal.workbench.selectors import row_figures, workbench_customers
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext, uuid_or_none
from tenants.services import require_role
from upsell.services import upsell_switch

MAX_SELECTION = 500
ADMINS_ONLY = gettext_lazy("Only the partner's owners and admins can do this.")


@dataclass
class Outcome:
    """What a bulk action did: the customers it changed and those it left as they
    were (each with the reason)."""

    done: list[str] = field(default_factory=list)
    skipped: list[Refusal] = field(default_factory=list)


def selection_get(*, org: OrgContext, customer_ids: Sequence[object]) -> list[Tenant]:
    """The selected customers, in name order, if the user may act on every one;
    else the 404 of a missing customer (nothing is read further, nothing written)."""
    ids = list(dict.fromkeys(str(raw).strip() for raw in customer_ids))
    if not ids:
        raise ValidationError({"customers": _("Choose at least one customer.")})
    if len(ids) > MAX_SELECTION:
        raise ValidationError(
            {"customers": _("At most %(max)s customers at once.") % {"max": MAX_SELECTION}}
        )
    pks = [uuid_or_none(raw) for raw in ids]
    if any(pk is None for pk in pks):
        raise Http404(str(NOT_FOUND))
    customers = list(customers_visible_to(org=org).filter(pk__in=pks).order_by("name", "pk"))
    if len(customers) != len(pks):
        raise Http404(str(NOT_FOUND))
    return customers


def bulk_offer_send(
    *, org: OrgContext, customer_ids: Sequence[object], template: OfferTemplate, message: str = ""
) -> Sent:
    """Send `template` to the selection through the offers' bulk send, which sends
    to the eligible customers and reports the others with the reason."""
    customers = selection_get(org=org, customer_ids=customer_ids)
    return offer_send_eligible(
        org=org, template=template, customer_ids=[c.pk for c in customers], message=message
    )


@transaction.atomic
def bulk_upsell_set(*, org: OrgContext, customer_ids: Sequence[object], enabled: bool) -> Outcome:
    """Switch upsell on or off for each selected customer (`upsell_switch`, which
    records each change); those already so are reported, not written."""
    if not org.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only the partner's owners and admins switch upsell."))
    customers = selection_get(org=org, customer_ids=customer_ids)
    already = set(
        workbench_customers(org=org)
        .filter(pk__in=[c.pk for c in customers], upsell_on=enabled)
        .values_list("pk", flat=True)
    )
    outcome = Outcome()
    reason = _("Upsell was on already.") if enabled else _("Upsell was off already.")
    for customer in customers:
        if customer.pk in already:
            outcome.skipped.append(Refusal(customer.name, reason))
            continue
        upsell_switch(org=org, customer=customer, enabled=enabled)
        outcome.done.append(customer.name)
    return outcome


@transaction.atomic
def bulk_collaborator_assign(
    *, org: OrgContext, customer_ids: Sequence[object], user_id: object
) -> Outcome:
    """Assign one collaborator to each selected customer, keeping those assigned
    already (`collaborators_set`, the collaborators page's service, with the
    customer's collaborators and this one)."""
    require_role(org, Role.ADMIN)
    customers = selection_get(org=org, customer_ids=customer_ids)
    user_pk = uuid_or_none(user_id)
    if user_pk is None:
        raise ValidationError({"collaborator": _("Choose collaborators of your organization.")})
    outcome = Outcome()
    for customer in customers:
        current = {a.user_id for a in customer.collaborator_assignments.filter(partner=org.tenant)}
        if user_pk in current:
            outcome.skipped.append(Refusal(customer.name, _("Assigned already.")))
            continue
        try:
            collaborators_set(org=org, customer=customer, user_ids=[*current, user_pk])
        except ValidationError as exc:
            raise ValidationError({"collaborator": exc.messages}) from exc
        outcome.done.append(customer.name)
    return outcome


EXPORT_HEADER = (
    "Name",
    "Country",
    "Currency",
    "Current MRR",
    "Upcoming MRR",
    "Trend",
    "Seats",
    "Next end date",
    "Access",
    "Upsell",
    "Pending offers",
    "Invitation waiting",
)


def bulk_export_lines(
    *, org: OrgContext, customer_ids: Sequence[object], today: datetime.date | None = None
) -> Iterator[str]:
    """The selection as CSV lines, the list's columns (headers are data: never
    translated). Refused as a whole like every action when an id is not ours."""
    customers = selection_get(org=org, customer_ids=customer_ids)
    rows = workbench_customers(org=org, today=today or timezone.localdate()).filter(
        pk__in=[c.pk for c in customers]
    )

    def cells(customer: Tenant) -> list:
        figures = row_figures(customer)
        return [
            customer.name,
            customer.country,
            customer.currency,
            figures["current_mrr"],
            figures["upcoming_mrr"],
            figures["trend"],
            customer.seats,
            customer.current_end_date,
            customer.grant_access,
            "on" if customer.upsell_on else "off",
            customer.open_offers,
            "yes" if customer.invitation_waiting else "no",
        ]

    return csv_lines(EXPORT_HEADER, map(cells, rows.order_by("name", "pk")))


def selection_ids(values: Sequence[str]) -> list[str]:
    """The ids as posted, blanks dropped (the browser sends one per checkbox)."""
    return [v for v in values if v.strip()]
