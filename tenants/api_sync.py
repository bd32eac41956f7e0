"""Whole-book syncs (API.md rev. 2): `?cursor=` and `?updated_since=` on
`customers/`, `subscriptions/`, `orders/` and `invoices/`.

Without either parameter a list is what it always was: numbered pages in its
own order, `?ordering=` where it has one. With either, the list is a *walk*:

- rows in the order they last changed, `(updated_at, id)` ascending (an
  invoice never changes: its `issued_at`), so a row inserted or changed while
  a client pages lands after the rows already read, never among them: nothing
  is missed and nothing shifts, as pages by number or offset would;
- `updated_since=<ISO time>` keeps the rows changed at or after that time (a
  time without an offset is UTC); the epoch walks the whole book;
- `next` carries `cursor`, an opaque token of the last row read (signed: a
  token this list did not give is a 400); `previous` is null; `count` is how
  many rows are left from this page on;
- `page` and `ordering` do not go with a walk (400).

A view opts in by listing `SyncFilterBackend` last among its filter backends
(it orders the walk) and naming `sync_field` when its rows' change time is not
`updated_at`; `portal.api.pagination.PortalPagination` pages a walk by the cursor.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend

CURSOR = "cursor"
UPDATED_SINCE = "updated_since"
SALT = "portal.api.cursor"


@dataclass(frozen=True)
class Walk:
    """A sync walk: the list's change-time field, and where the last page ended."""

    field: str
    basename: str
    after: tuple[datetime.datetime, str] | None


def _salt(basename: str) -> str:
    return f"{SALT}:{basename}"  # a token of one list is no token of another


def cursor_token(walk: Walk, at: datetime.datetime, pk: object) -> str:
    return signing.dumps({"at": at.isoformat(), "id": str(pk)}, salt=_salt(walk.basename))


def _cursor(raw: str, basename: str) -> tuple[datetime.datetime, str]:
    try:
        data = signing.loads(raw, salt=_salt(basename))
        at = datetime.datetime.fromisoformat(data["at"])
        pk = str(data["id"])
    except (signing.BadSignature, ValueError, TypeError, KeyError):
        raise exceptions.ValidationError(
            {CURSOR: [_("Give the cursor of a page of this list (its next link).")]}
        ) from None
    return at, pk


def parse_updated_since(raw: str) -> datetime.datetime:
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        value = None
    if value is None:
        raise exceptions.ValidationError(
            {UPDATED_SINCE: [_("Give an ISO 8601 time, e.g. 2026-01-31T08:00:00Z.")]}
        )
    if timezone.is_naive(value):
        return value.replace(tzinfo=datetime.UTC)
    try:  # in UTC: the database compares no offset beyond its range (e.g. +16:25)
        return value.astimezone(datetime.UTC)
    except OverflowError:  # before year 1 or after 9999 in UTC: the whole book, or nothing
        if value.year == 1:
            return datetime.datetime.min.replace(tzinfo=datetime.UTC)
        return datetime.datetime.max.replace(tzinfo=datetime.UTC)


class SyncFilterBackend(BaseFilterBackend):
    """The walk of a list (module docstring): last among the view's backends."""

    def filter_queryset(self, request, queryset: QuerySet, view) -> QuerySet:
        params = request.query_params
        if getattr(view, "action", None) != "list" or not (
            CURSOR in params or UPDATED_SINCE in params
        ):
            return queryset
        clashing = {
            "page": _("Pages by number do not go with a cursor walk."),
            "ordering": _("A cursor walk is ordered by the time rows changed."),
        }
        errors = {name: [message] for name, message in clashing.items() if name in params}
        if errors:
            raise exceptions.ValidationError(errors)
        field = getattr(view, "sync_field", "updated_at")
        basename = getattr(view, "basename", None) or type(view).__name__
        after = _cursor(params[CURSOR], basename) if CURSOR in params else None
        if UPDATED_SINCE in params:
            queryset = queryset.filter(
                **{f"{field}__gte": parse_updated_since(params[UPDATED_SINCE])}
            )
        if after is not None:
            at, pk = after
            queryset = queryset.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at, "pk__gt": pk}))
        request.sync_walk = Walk(field=field, basename=basename, after=after)
        view.unfiltered = False  # the customers' list: its count is the walk's own
        return queryset.order_by(field, "pk")

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        return [
            {
                "name": CURSOR,
                "required": False,
                "in": "query",
                "description": "Whole-book sync: the cursor of the previous page (its `next` "
                "link). Rows come in the order they last changed, `(updated_at, id)`; a row "
                "inserted or changed meanwhile comes after those read. Not with `page` or "
                "`ordering`.",
                "schema": {"type": "string", "minLength": 1},
            },
            {
                "name": UPDATED_SINCE,
                "required": False,
                "in": "query",
                "description": "Whole-book sync: only rows changed at or after this ISO 8601 "
                "time (UTC without an offset); starts a cursor walk.",
                "schema": {"type": "string", "format": "date-time"},
            },
        ]


def row_position(row: Any, field: str) -> tuple[datetime.datetime, object]:
    """(change time, id) of a row of the walk: a model instance or a `values()` dict."""
    if isinstance(row, dict):
        return row[field], row["id"]
    return getattr(row, field), row.pk
