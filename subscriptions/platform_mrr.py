"""The platform's MRR and its movements by partner (SPEC §2 "Provider console",
API.md `GET provider/mrr/`): every customer's subscriptions, read from the
ledger with the book's one rule (`mrr`: a month's MRR on its last day, the
current month's today; each customer rounded once per day; movements as
ChartMogul defines them, at the customer level).

A customer's movements count for its home partner now (`Tenant.parent`, SPEC
§2: the partner that created it or holds its full grant), not for a partner
above it; a customer with no partner parent is the provider's own ("direct").
Amounts are never converted: each currency has its own figures, and a
partner's row is one currency's.

For platform staff only (the provider console's selector, `provider_console_user`
guards its callers). One query per currency, whatever the number of partners
or customers: the database classifies each customer and sums per partner; the
platform's figures are the exact sums of the partners' (cents, rounded once per
customer)."""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from subscriptions.models import Subscription
from subscriptions.mrr import (
    MONTHS_MAX,
    _per_customer,
    month_columns,
    rounded_columns,
)
from subscriptions.mrr_rules import KINDS, month_ends, month_history
from tenants.models import Tenant

FIGURES = ("mrr", *KINDS)


@dataclass(frozen=True)
class PartnerFigures:
    """One partner's (None: the provider's direct customers) figures in one
    currency, month by month (`history`: `{month, mrr, new, …}`)."""

    partner_id: uuid.UUID | None
    partner_name: str
    currency: str
    history: list[dict]

    def month(self, label: str) -> dict:
        return next(m for m in self.history if m["month"] == label)


def _partner_rows(currency: str, ends: list[datetime.date], labels: list[str], today) -> list:
    """One query: per home partner of the customers with `currency` subscriptions,
    its month figures (`mrr.month_columns`, cents)."""
    subscriptions = Subscription.unscoped.filter(currency=currency).order_by()
    inner, params = _per_customer(subscriptions, ends, today)
    columns, day_params = month_columns(ends, using=subscriptions.db)
    connection = connections[subscriptions.db]
    quote = connection.ops.quote_name
    tenants = quote(Tenant._meta.db_table)
    pk, parent = quote(Tenant._meta.pk.column), quote(Tenant._meta.get_field("parent").column)
    kind = quote(Tenant._meta.get_field("kind").column)
    name = quote(Tenant._meta.get_field("name").column)
    partner = f"p.{kind} = %s"
    sql = (
        f"SELECT partner_id, partner_name, {', '.join(columns)} FROM ("  # noqa: S608 (no values)
        f"SELECT first_paid, {rounded_columns(ends)}, "
        f"CASE WHEN {partner} THEN p.{pk} END AS partner_id, "
        f"CASE WHEN {partner} THEN p.{name} END AS partner_name "
        f"FROM ({inner}) per_customer "
        f"JOIN {tenants} c ON c.{pk} = per_customer.customer_id "
        f"LEFT JOIN {tenants} p ON p.{pk} = c.{parent}"
        ") rounded GROUP BY partner_id, partner_name"
    )
    kinds = [Tenant.Kind.PARTNER.value] * 2
    with connection.cursor() as cursor:
        cursor.execute(sql, day_params + kinds + list(params))
        rows = cursor.fetchall()
    return [
        PartnerFigures(
            partner_id=uuid.UUID(str(partner_id)) if partner_id else None,
            partner_name=partner_name or "",
            currency=currency,
            history=month_history(figures, labels),
        )
        for partner_id, partner_name, *figures in rows
    ]


def _sum_months(rows: list[PartnerFigures], labels: list[str]) -> list[dict]:
    return [
        {
            "month": label,
            **{f: sum((r.history[m][f] for r in rows), Decimal("0.00")) for f in FIGURES},
        }
        for m, label in enumerate(labels)
    ]


def platform_mrr(
    *, months: int = 12, month: str | None = None, today: datetime.date | None = None
) -> dict:
    """The platform's MRR per currency over the last `months` months with its
    movements, and per partner and currency the MRR and movements of `month`
    ("YYYY-MM", one of those months; default: the current one). Partners whose
    figures that month are all zero are left out; the rows come by currency,
    then MRR (highest first), then name, the provider's direct customers last
    among equals."""
    if not 1 <= months <= MONTHS_MAX:
        raise ValidationError({"months": _("From 1 to %(max)s.") % {"max": MONTHS_MAX}})
    today = today or timezone.localdate()
    ends, labels = month_ends(today, months)
    month = month or labels[-1]
    if month not in labels:
        message = _("One of the months shown: %(first)s to %(last)s.")
        raise ValidationError({"month": message % {"first": labels[0], "last": labels[-1]}})
    currencies, partners = [], []
    for currency in Tenant.Currency.values:
        rows = _partner_rows(currency, ends, labels, today)
        history = _sum_months(rows, labels)
        currencies.append(
            {"currency": currency, "current_mrr": history[-1]["mrr"], "history": history}
        )
        for row in rows:
            figures = row.month(month)
            if any(figures[f] for f in FIGURES):
                partners.append(
                    {
                        "partner": {"id": row.partner_id, "name": row.partner_name}
                        if row.partner_id
                        else None,
                        "currency": currency,
                        **{f: figures[f] for f in FIGURES},
                    }
                )
    partners.sort(
        key=lambda p: (
            p["currency"],
            -p["mrr"],
            p["partner"] is None,
            p["partner"]["name"].lower() if p["partner"] else "",
        )
    )
    return {"month": month, "months": labels, "currencies": currencies, "partners": partners}
