"""Smart lists (SPEC §4): a partner's saved filters over its customers, with
current MRR, upcoming MRR and the current end date, computed by the database.

Definitions, once:

- **current MRR**: the sum of the customer's subscriptions' states today, read
  from the ledger (`selectors.ledger_states`, `CustomerLedgerFigure`), summed as
  twelves and divided by 12 once.
- **current end date**: the earliest `ends_on` among today's live subscriptions
  (None: everything renews).
- **upcoming MRR**: the MRR on the customer's next change day, as in the
  subscription widget (`selectors.customer_mrr`): the earlier of the next
  scheduled start and the day after the earliest last day of service from today
  on. With nothing scheduled to change it equals the current MRR.
- **trend**: upcoming against current: up, down or flat.

The switch (`Tenant.subscriptions_enabled`): while off, the subscription filters
(MRR range, ending within, product, category, trend) are ignored when a list is
evaluated — by the page, the API and the CSV alike, so all three list the same
customers — and cannot be changed; the saved filters and columns stay in the
database untouched, so switching on again brings the list back as it was. The
subscription columns a list already has stay, on the page, in the API and in
the CSV (SPEC §4, Zendesk Sell: "existing smart-list columns stay"); while off
they are only not offered for adding.
"""

import datetime
import uuid
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    CharField,
    DateField,
    DecimalField,
    Exists,
    F,
    Field,
    OuterRef,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from core.exports import csv_lines
from partners.models import Access, CustomerAssignment, Payment
from partners.selectors import (
    customers_managed_now,
    customers_visible_to,
    grants_active_now,
    manages_now,
    partner_collaborators,
    products_managed_now,
)
from subscriptions.models import SmartList, Subscription, mrr_from_twelves
from subscriptions.selectors import HOLDS, CustomerLedgerFigure, mrr_trend
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext, tenant_descendants, uuid_or_404, uuid_or_none

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Figures(TypedDict):
    """What `_annotated` adds to each customer."""

    current_twelves: Decimal
    current_end_date: datetime.date | None
    upcoming_twelves: Decimal
    trend: str  # an alias: a filter's key, not selected (`mrr_trend` of the two sums)


COLUMNS = ("name", "country", "current_mrr", "upcoming_mrr", "current_end_date")
SUBSCRIPTION_COLUMNS = frozenset({"current_mrr", "upcoming_mrr", "current_end_date"})
# The CSV's headers (data: never translated; the pages have their own labels).
COLUMN_LABELS = {
    "name": "Name",
    "country": "Country",
    "current_mrr": "Current MRR",
    "upcoming_mrr": "Upcoming MRR",
    "current_end_date": "Current end date",
}
FILTERS = (
    "q",
    "country",
    "sub_partner",
    "mrr_min",
    "mrr_max",
    "ending_within_days",
    "product",
    "category",
    "trend",
    # the customer list's own filters (portal.workbench: a view saved from it)
    "status",
    "access",
    "payment",
    "rank",
    "collaborator",
)
SUBSCRIPTION_FILTERS = frozenset(
    {"mrr_min", "mrr_max", "ending_within_days", "product", "category", "trend"}
)
# Saved by a view of the customer list; the smart list page keeps them as saved.
CUSTOMER_LIST_FILTERS = frozenset({"status", "access", "payment", "rank", "collaborator"})
TRENDS = ("up", "down", "flat")
# The customer list's sort keys (portal.workbench), a saved view's `ordering`.
CUSTOMER_LIST_ORDERINGS = (
    "name",
    "created_at",
    "city",
    "country",
    "mrr",
    "upcoming_mrr",
    "seats",
    "ends_on",
    "access",
    "upsell",
    "pending",
)
NUL = "\x00"  # PostgreSQL stores no NUL, in text or in JSON
ENDING_WITHIN_MAX = 3660
MONEY_MAX = Decimal("1000000000")
# `ordering` names a column; the database sorts by these expressions.
_ORDER_KEYS = {
    "name": "name",
    "country": "country",
    "current_mrr": "current_twelves",
    "upcoming_mrr": "upcoming_twelves",
    "current_end_date": "current_end_date",
}
_TWELVES: DecimalField = DecimalField(max_digits=24, decimal_places=2)


# --- validation ---------------------------------------------------------------------------


def _money(value: object) -> str:
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0 or amount > MONEY_MAX:
        raise ValueError(value)
    return str(amount.quantize(Decimal("0.01")))


def _clean_filter(org: OrgContext, key: str, value: object) -> str | int:
    """The filter's stored value, or raises ValueError / ValidationError with its message."""
    if key in ("mrr_min", "mrr_max"):
        try:
            return _money(value)
        except (InvalidOperation, ValueError, TypeError) as exc:
            raise ValidationError(_("An amount of at least 0, e.g. 100.00.")) from exc
    if key == "ending_within_days":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(_("A whole number of days."))
        try:
            days = int(value)
        except ValueError as exc:
            raise ValidationError(_("A whole number of days.")) from exc
        if not 0 <= days <= ENDING_WITHIN_MAX:
            raise ValidationError(_("Between 0 and %(max)s days.") % {"max": ENDING_WITHIN_MAX})
        return days
    if not isinstance(value, str):
        raise ValidationError(_("A text value."))
    if NUL in value:  # the database cannot store it (a JSON column)
        raise ValidationError(_("Null characters are not allowed."))
    value = value.strip()
    if key == "q":
        return value[:200]
    if key == "country":
        if len(value) != 2 or not value.isalpha():
            raise ValidationError(_("A two-letter country code, e.g. CH."))
        return value.upper()
    if key == "product":
        if not product_choices(org=org).filter(code=value).exists():
            raise ValidationError(_("No such product."))
        return value
    if key == "category":
        if value not in Product.Category.values:
            raise ValidationError(
                _("One of %(values)s.") % {"values": ", ".join(Product.Category.values)}
            )
        return value
    if key == "trend":
        if value not in TRENDS:
            raise ValidationError(_("One of up, down, flat."))
        return value
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ValidationError(_("One of %(values)s.") % {"values": ", ".join(_CHOICES[key])})
        return value
    if key == "rank":
        return value[:50]
    if key == "collaborator":
        if not org.has_role(Role.ADMIN):
            raise ValidationError(_("Filtering by collaborator is for owners and admins."))
        pk = uuid_or_none(value)
        if pk is None or not partner_collaborators(org.tenant).filter(pk=pk).exists():
            raise ValidationError(_("Choose collaborators of your organization."))
        return str(pk)
    # sub_partner: a partner below this one, for owners and admins
    if not org.has_role(Role.ADMIN):
        raise ValidationError(_("Filtering by sub-partner is for owners and admins."))
    if _sub_partner(org, value) is None:
        raise ValidationError(_("No such sub-partner."))
    return str(uuid.UUID(value))


_CHOICES = {
    "status": tuple(Tenant.Status.values),
    "access": tuple(Access.values),
    "payment": tuple(Payment.values),
}


def clean_ordering(ordering: object) -> str:
    """A saved view's sort key: one of CUSTOMER_LIST_ORDERINGS (`-` for
    descending), or "" (by name)."""
    if ordering in (None, ""):
        return ""
    if not isinstance(ordering, str) or ordering.removeprefix("-") not in CUSTOMER_LIST_ORDERINGS:
        raise ValidationError(
            {"ordering": _("One of %(values)s.") % {"values": ", ".join(CUSTOMER_LIST_ORDERINGS)}}
        )
    return ordering


def product_choices(*, org: OrgContext) -> QuerySet[Product]:
    """The products a list may filter by: those the partner manages now (every
    one while it has a full grant; under limited grants only theirs), with its
    sub-partners' for owners and admins (who may filter by a sub-partner), so
    the choices reveal no product outside the grants the user may read."""
    return products_managed_now(partner=org.tenant, subtree=org.is_admin).order_by("code")


def _sub_partner(org: OrgContext, value: object) -> Tenant | None:
    pk = uuid_or_none(value)
    if pk is None:
        return None
    return tenant_descendants(tenant=org.tenant, kind=Tenant.Kind.PARTNER).filter(pk=pk).first()


def _clean_filters(org: OrgContext, filters: object, saved: dict) -> dict:
    if not isinstance(filters, dict):
        raise ValidationError({"filters": _("An object of filters.")})
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise ValidationError(
            {"filters": _("Unknown filters: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    errors, cleaned = {}, {}
    for key in FILTERS:
        value = filters.get(key)
        if value is None or value == "":
            continue
        try:
            cleaned[key] = _clean_filter(org, key, value)
        except ValidationError as exc:
            errors[key] = exc.messages
    low, high = cleaned.get("mrr_min"), cleaned.get("mrr_max")
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        errors["mrr_max"] = [_("At least the minimum MRR.")]
    if not org.tenant.subscriptions_enabled:
        # While off, the subscription filters are out of reach: kept as saved.
        for key in SUBSCRIPTION_FILTERS & set(cleaned):
            if cleaned[key] != saved.get(key):
                errors[key] = [_("Subscriptions are switched off for this organization.")]
        cleaned = {k: v for k, v in cleaned.items() if k not in SUBSCRIPTION_FILTERS}
        cleaned |= {k: v for k, v in saved.items() if k in SUBSCRIPTION_FILTERS}
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_columns(org: OrgContext, columns: object, saved: list) -> list[str]:
    if columns is None:
        columns = list(COLUMNS)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ValidationError({"columns": _("A list of column names.")})
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise ValidationError(
            {"columns": _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    if not org.tenant.subscriptions_enabled:
        wanted = set(columns) & SUBSCRIPTION_COLUMNS
        kept = set(saved) & SUBSCRIPTION_COLUMNS
        if wanted and wanted != kept:
            raise ValidationError(
                {"columns": _("Subscriptions are switched off for this organization.")}
            )
        columns = [c for c in columns if c not in SUBSCRIPTION_COLUMNS] + sorted(kept)
    if not columns:
        raise ValidationError({"columns": _("At least one column.")})
    return [c for c in COLUMNS if c in columns]  # stored in the canonical order


# --- writes -------------------------------------------------------------------------------


def _require_partner(org: OrgContext) -> None:
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Smart lists are for partners."))


def may_edit(*, org: OrgContext, smart_list: SmartList) -> bool:
    """Owners and admins edit every list of their partner; members their own."""
    return org.has_role(Role.ADMIN) or smart_list.created_by_id == org.user.pk


def _save(smart_list: SmartList, fields: list[str] | None = None) -> SmartList:
    """Insert (no `fields`) or update; a name taken by another list of the partner is a 400."""
    try:
        with transaction.atomic():
            if fields:
                smart_list.save(update_fields=fields)
            else:
                smart_list.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError({"name": _("A smart list of this name exists already.")}) from exc
    return smart_list


def _clean_name(name: object) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if NUL in name:
        raise ValidationError({"name": _("Null characters are not allowed.")})
    if not name or len(name) > 200:
        raise ValidationError({"name": _("A name of 1 to 200 characters.")})
    return name


def smart_list_create(
    *,
    org: OrgContext,
    name: str,
    filters: dict | None = None,
    columns: list | None = None,
    ordering: str = "",
) -> SmartList:
    """Any partner member saves a list; unknown filters or columns are refused.
    `ordering` is the customer list's sort key of a view saved from it."""
    _require_partner(org)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    for field, clean in (
        ("name", lambda: _clean_name(name)),
        ("filters", lambda: _clean_filters(org, filters or {}, {})),
        ("columns", lambda: _clean_columns(org, columns, [])),
        ("ordering", lambda: clean_ordering(ordering)),
    ):
        try:
            cleaned[field] = clean()
        except ValidationError as exc:  # every field's errors at once
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    smart_list = SmartList(partner=org.tenant, created_by=org.user, **cleaned)
    return _save(smart_list)


def smart_list_update(
    *,
    org: OrgContext,
    smart_list: SmartList,
    name: str | None = None,
    filters: dict | None = None,
    columns: list | None = None,
    ordering: str | None = None,
) -> SmartList:
    """Replace what is given (`filters` as a whole). While subscriptions are off,
    the saved subscription filters and columns stay as they are."""
    if not may_edit(org=org, smart_list=smart_list):
        raise PermissionDenied(_("Owners, admins and the list's author edit it."))
    fields = ["updated_at"]
    if name is not None:
        smart_list.name = _clean_name(name)
        fields.append("name")
    if filters is not None:
        smart_list.filters = _clean_filters(org, filters, smart_list.filters)
        fields.append("filters")
    if columns is not None:
        smart_list.columns = _clean_columns(org, columns, smart_list.columns)
        fields.append("columns")
    if ordering is not None:
        smart_list.ordering = clean_ordering(ordering)
        fields.append("ordering")
    return _save(smart_list, fields)


def smart_list_delete(*, org: OrgContext, smart_list: SmartList) -> None:
    if not may_edit(org=org, smart_list=smart_list):
        raise PermissionDenied(_("Owners, admins and the list's author delete it."))
    smart_list.delete()


# --- reads --------------------------------------------------------------------------------


def smart_lists_for(*, org: OrgContext) -> QuerySet[SmartList]:
    if not org.tenant.is_partner:
        return SmartList.objects.none()
    return SmartList.unscoped.filter(partner=org.tenant).select_related("created_by")


def smart_list_get(*, org: OrgContext, list_id: object) -> SmartList:
    """One of the partner's lists; another partner's is a 404 like a missing id."""
    list_id = uuid_or_404(list_id, _("No such smart list."))
    smart_list = smart_lists_for(org=org).filter(pk=list_id).first()
    if smart_list is None:
        raise Http404(_("No such smart list."))
    return smart_list


def effective_filters(*, org: OrgContext, smart_list: SmartList) -> dict:
    """The saved filters that apply now: without the subscription ones while off."""
    if org.tenant.subscriptions_enabled:
        return dict(smart_list.filters)
    return {k: v for k, v in smart_list.filters.items() if k not in SUBSCRIPTION_FILTERS}


def _managed(org: OrgContext, filters: dict, today: datetime.date) -> Exists:
    """Which subscriptions count: those whose product is managed now for their
    customer by the partner, or, with a sub-partner filter, by that sub-partner
    or a partner below it (a full grant, or a limited one listing the product:
    as `subscriptions_for` says). Every figure and filter of a list reads only
    these, so a limited grant shows nothing of the products outside it."""
    partner, subtree = org.tenant, False
    if filters.get("sub_partner"):
        partner, subtree = _sub_partner(org, filters["sub_partner"]) or org.tenant, True
    return manages_now(
        partner=partner,
        customer=OuterRef("customer"),
        product=OuterRef("product"),
        subtree=subtree,
        today=today,
    )


def _annotated(
    customers: QuerySet[Tenant], today: datetime.date, managed: Exists
) -> "QuerySet[WithAnnotations[Tenant, _Figures]]":
    """Current and upcoming MRR (as twelves), the current end date and the trend,
    over the `managed` subscriptions (a limited grant counts only its products,
    as the subscription list and the widget do): correlated subqueries, so the
    query count does not depend on the rows."""
    managed_subscriptions = Subscription.unscoped.filter(managed)

    def figure(
        sql: str, day: datetime.date | Coalesce, output_field: Field
    ) -> CustomerLedgerFigure:
        return CustomerLedgerFigure(managed_subscriptions, sql, day, output_field)

    holds = "since <= {day} AND (until IS NULL OR until > {day})"
    qs = customers.annotate(
        current_twelves=Coalesce(
            figure(f"SUM(CASE WHEN {holds} THEN twelves ELSE 0 END)", today, _TWELVES),
            Value(Decimal(0)),
            output_field=_TWELVES,
        ),
        current_end_date=figure(
            f"MIN(CASE WHEN {holds} AND quantity > 0 THEN ends_on END)", today, DateField()
        ),
    ).alias(
        # not selected (the rows read the two sums): the upcoming sum's day
        change_on=figure(
            f"MIN(CASE WHEN since > {{day}} AND {HOLDS} THEN since END)", today, DateField()
        ),
    )
    # on the next change, or today without one (then it is the current sum): one
    # subquery, in which the database reads the day once per customer
    qs = qs.annotate(
        upcoming_twelves=Coalesce(
            figure(
                f"SUM(CASE WHEN {holds} THEN twelves ELSE 0 END)",
                Coalesce(F("change_on"), Value(today), output_field=DateField()),
                _TWELVES,
            ),
            Value(Decimal(0)),
            output_field=_TWELVES,
        )
    )
    # a filter's key, not selected: each row's trend is `mrr_trend` of its two sums
    # (selected, its SQL would repeat both figures' subqueries twice)
    return qs.alias(
        trend=Case(
            When(upcoming_twelves__gt=F("current_twelves"), then=Value("up")),
            When(upcoming_twelves__lt=F("current_twelves"), then=Value("down")),
            default=Value("flat"),
            output_field=CharField(),
        )
    )


def customers_with_figures(
    customers: QuerySet[Tenant], *, org: OrgContext, today: datetime.date
) -> "QuerySet[WithAnnotations[Tenant, _Figures]]":
    """`customers` with a smart list's figures (`current_twelves`,
    `upcoming_twelves`, `current_end_date`, `trend`) over the subscriptions the
    partner manages now for each: the customer list's MRR columns."""
    return _annotated(customers, today, _managed(org, {}, today))


def clean_filters(*, org: OrgContext, filters: object) -> dict:
    """The filters as a list would save them, or a ValidationError naming each bad one."""
    return _clean_filters(org, filters, {})


def _customers(org: OrgContext, filters: dict, today: datetime.date) -> QuerySet[Tenant]:
    """The user's customers; with a sub-partner filter, those the sub-partner or
    a partner below it manages now (never those the tree puts below it)."""
    if filters.get("sub_partner"):
        sub_partner = _sub_partner(org, filters["sub_partner"]) if org.is_admin else None
        if sub_partner is None:  # gone since, or a collaborator's view: nothing
            return Tenant.objects.none()
        return customers_managed_now(partner=sub_partner, subtree=True, today=today)
    return customers_visible_to(org=org, today=today)


def figures_filtered(
    qs: "QuerySet[WithAnnotations[Tenant, _Figures]]",
    *,
    org: OrgContext,
    filters: dict,
    today: datetime.date,
) -> "QuerySet[WithAnnotations[Tenant, _Figures]]":
    """`customers_with_figures` narrowed by cleaned filters (the customer list's
    view of them: the smart list page adds the sub-partner's scope first)."""
    return _filtered(qs, org, filters, today, _managed(org, filters, today))


def _filtered(
    qs: "QuerySet[WithAnnotations[Tenant, _Figures]]",
    org: OrgContext,
    filters: dict,
    today: datetime.date,
    managed: Exists,
) -> "QuerySet[WithAnnotations[Tenant, _Figures]]":
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    if filters.get("country"):
        qs = qs.filter(country__iexact=filters["country"])
    if "mrr_min" in filters:
        qs = qs.filter(current_twelves__gte=Decimal(filters["mrr_min"]) * 12)
    if "mrr_max" in filters:
        qs = qs.filter(current_twelves__lte=Decimal(filters["mrr_max"]) * 12)
    if "ending_within_days" in filters:
        until = today + datetime.timedelta(days=int(filters["ending_within_days"]))
        qs = qs.filter(current_end_date__lte=until)
    if filters.get("trend"):
        qs = qs.filter(trend=filters["trend"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("rank"):
        qs = qs.filter(rank__iexact=filters["rank"])
    grant = grants_active_now(today=today).filter(partner=org.tenant, customer=OuterRef("pk"))
    if filters.get("access"):
        qs = qs.filter(Exists(grant.filter(access=filters["access"])))
    if filters.get("payment"):
        qs = qs.filter(Exists(grant.filter(payment=filters["payment"])))
    if filters.get("collaborator"):
        assigned = CustomerAssignment.unscoped.filter(
            partner=org.tenant, user_id=filters["collaborator"], customer=OuterRef("pk")
        )
        qs = qs.filter(Exists(assigned))
    live_today = Subscription.unscoped.active_on(today).filter(managed, customer=OuterRef("pk"))
    if filters.get("product"):
        qs = qs.filter(Exists(live_today.filter(product__code=filters["product"])))
    if filters.get("category"):
        qs = qs.filter(Exists(live_today.filter(product__category=filters["category"])))
    return qs


def parse_ordering(*, org: OrgContext, smart_list: SmartList, ordering: str | None) -> str:
    """A column of the list (`-` for descending) to sort by; anything else: by name."""
    ordering = (ordering or "").strip()
    column = ordering.removeprefix("-")
    if column not in COLUMNS or (
        column in SUBSCRIPTION_COLUMNS and column not in smart_list.columns
    ):
        return "name"
    return ordering


def smart_list_rows(
    *,
    org: OrgContext,
    smart_list: SmartList,
    ordering: str | None = None,
    today: datetime.date | None = None,
) -> QuerySet:
    """The list's customers as rows (dicts): id, name, country, currency,
    current_twelves, upcoming_twelves, current_end_date; filtered and sorted by
    the database (`ordering`: a column, `-` for descending). The trend is not
    selected: `row_values` reads it off the two figures, where the database
    would repeat each figure's subqueries inside it (a filter by trend still
    runs in the database). Bench: the CSV export against COPY."""
    today = today or timezone.localdate()
    filters = effective_filters(org=org, smart_list=smart_list)
    managed = _managed(org, filters, today)
    qs = _annotated(_customers(org, filters, today), today, managed)
    qs = _filtered(qs, org, filters, today, managed)
    ordering = parse_ordering(org=org, smart_list=smart_list, ordering=ordering)
    descending = ordering.startswith("-")
    column = F(_ORDER_KEYS[ordering.removeprefix("-")])
    key = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return qs.order_by(key, "-pk" if descending else "pk").values(
        "id",
        "name",
        "country",
        "currency",
        "current_twelves",
        "upcoming_twelves",
        "current_end_date",
    )


def row_values(row: dict) -> dict:
    """A row's column values: MRR divided by 12 once, rounded half-up."""
    return {
        "id": row["id"],
        "name": row["name"],
        "country": row["country"],
        "currency": row["currency"],
        "current_mrr": mrr_from_twelves(row["current_twelves"]),
        "upcoming_mrr": mrr_from_twelves(row["upcoming_twelves"]),
        "current_end_date": row["current_end_date"],
        # as the `trend` annotation, which compares the two sums of twelves
        "trend": mrr_trend(row["upcoming_twelves"], row["current_twelves"]),
    }


def smart_list_csv_lines(*, org: OrgContext, smart_list: SmartList) -> Iterator[str]:
    """The CSV, one line at a time: the saved columns' header, then a row per
    customer read in chunks of 2000, so memory stays flat at any size."""
    columns = list(smart_list.columns)
    rows = smart_list_rows(org=org, smart_list=smart_list).iterator(chunk_size=2000)

    def cells(row: dict) -> list:
        values = row_values(row)  # once per row: it divides and rounds the MRR
        return [values[c] for c in columns]

    return csv_lines([COLUMN_LABELS[c] for c in columns], map(cells, rows))
