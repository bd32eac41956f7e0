"""Tenant scoping that fails closed by construction (issue 19, item 5;
docs/architecture.md "The scoping rule").

Every tenant-owned model has two managers:

- `objects`, what people type: its querysets refuse to run (`UnscopedQuery`)
  on any evaluation (iteration, `len`, `bool`, `get`, `first`, `values`, …),
  `count`, `exists`, `aggregate`, `contains`, `explain`, `iterator`, `update`,
  `delete`, `in_bulk`, `get_or_create`, `update_or_create`, and as the value
  of a lookup (`pk__in=<queryset>`), until narrowed through the one scoping
  entry: `.for_org(org)` or `.of_tenants(tenants)`. A queryset Django made
  for an instance already loaded (a related manager, a prefetch: the
  `instance` hint) counts as scoped, and so does `.none()`. `create()` and
  `bulk_create()` are writes, not reads: allowed.
- `unscoped`, named on purpose, for services, selectors, tasks, notification
  recipients, migrations, admin and tests (tests/test_scoping.py lists where it
  may appear). It is the model's `Meta.default_manager_name`, so the framework
  (unique validation, related managers, the admin, dumpdata, factory_boy, DRF's
  validators) keeps working; the base manager stays Django's plain one.

A model says which of its foreign keys name its owners with `tenant_scope`
(a `Scope`): `for_org(org)` keeps the rows any owner path names `org` for, and,
when `org` is a partner and the model names the customer the row is about,
the rows of the customers the partner manages now (for the row's product, when
the model names one) instead of rows naming the partner as that customer. That is `partners.selectors.manages_now`, the one
rule: `tenants` is below `partners`, so `partners` hands it down at start-up
(`use_managing_rule`, from `PartnersConfig.ready`). `of_tenants(tenants)`
keeps the rows whose owner is among tenants the permission function already
resolved (e.g. `customers_visible_to(org=...)`, which also applies the
collaborator's assignments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self

from django.db import models
from django.db.models import Expression, OuterRef, Q


class UnscopedQuery(Exception):
    """A tenant-owned queryset was about to run without a scope."""

    def __init__(self, model: type[models.Model], operation: str):
        name = model.__name__
        super().__init__(
            f"{name}.objects refuses an unscoped {operation}: narrow it with "
            f"{name}.objects.for_org(org) or .of_tenants(tenants) (tenants.scoping), "
            f"reach it through an instance already loaded (customer.<related>), or, in a "
            f"service, selector, task, migration, admin or test, use {name}.unscoped."
        )
        self.model = model
        self.operation = operation


@dataclass(frozen=True)
class Scope:
    """Whose rows these are.

    `owners`: lookup paths to the tenants that own a row (a foreign key, or one
    through the parent, e.g. "order__customer"). `customer`: the path to the
    customer the row is about, when the partners that manage that customer now
    read it too (a subscription, a contact); None for a partner's own records.
    `product`: with `customer`, the row's product, so a limited grant reaches
    only the products it lists.
    """

    owners: tuple[str, ...]
    customer: str | None = None
    product: str | None = None


# (partner, the customer's OuterRef, the product's OuterRef or None) -> a condition
# (tenants.models imports this module: a tenant is typed as the model it is.)
ManagingRule = Callable[[models.Model, OuterRef, OuterRef | None], Expression]
_managing_rule: list[ManagingRule] = []


def use_managing_rule(rule: ManagingRule) -> None:
    """`partners` hands down its `manages_now` (PartnersConfig.ready). Until it
    has, `for_org` keeps owned rows only: narrower, never wider."""
    _managing_rule[:] = [rule]


def managed_condition(
    partner: models.Model, customer: OuterRef, product: OuterRef | None
) -> Expression:
    """The condition "`partner` manages the row's customer now (and its product)":
    the rule `partners` handed down (for_org calls it; tests spy on it here)."""
    return _managing_rule[0](partner, customer, product)


def _tenant_of(org: Any) -> models.Model:
    """`org` is a Tenant or an OrgContext (its `.tenant`)."""
    return getattr(org, "tenant", org)


class TenantScopedQuerySet(models.QuerySet):
    """Refuses to run until scoped. Compose with a model's own queryset:
    `class Scoped(TenantScopedQuerySet, SubscriptionQuerySet)`, and keep the
    plain one as `unscoped`."""

    _scoped: bool = False

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]  # private in Django, absent from the stubs
        clone._scoped = self._scoped
        return clone

    def _is_scoped(self) -> bool:
        hints: dict[str, Any] = getattr(self, "_hints", {})  # private, absent from the stubs
        return self._scoped or "instance" in hints or self.query.is_empty()

    def _refuse_unless_scoped(self, operation: str) -> None:
        if not self._is_scoped():
            raise UnscopedQuery(self.model, operation)

    # --- the scoping entry ---------------------------------------------------------------

    def _scope(self) -> Scope:
        scope = getattr(self.model, "tenant_scope", None)
        if not isinstance(scope, Scope):
            raise TypeError(f"{self.model.__name__} names no tenant_scope (tenants.scoping.Scope)")
        return scope

    def _narrowed(self, condition: Q | Expression) -> Self:
        clone = self.filter(condition)
        clone._scoped = True
        return clone

    def for_org(self, org: Any) -> Self:
        """The rows `org` (a Tenant or an OrgContext) owns, and for a partner the
        rows of the customers it manages now (see the module's docstring)."""
        tenant = _tenant_of(org)
        if getattr(tenant, "pk", None) is None:
            # Q(owner=None) would match the rows whose owner is empty.
            raise UnscopedQuery(self.model, "for_org() without an organization")
        scope = self._scope()
        managing = bool(scope.customer) and getattr(tenant, "is_partner", False)
        condition = Q()
        for path in scope.owners:
            # A partner is never the customer a row is about: its rows there are
            # those of the customers it manages (one EXISTS, a semi-join).
            if not (managing and path == scope.customer):
                condition |= Q(**{path: tenant})
        if managing and scope.customer:
            if not _managing_rule:
                return self._narrowed(condition) if condition else self.none()
            product = OuterRef(scope.product) if scope.product else None
            managed = managed_condition(tenant, OuterRef(scope.customer), product)
            condition = condition | Q(managed) if condition else Q(managed)
        return self._narrowed(condition)

    def of_tenants(self, tenants: Iterable[Any] | models.QuerySet) -> Self:
        """The rows owned by one of `tenants` (Tenants, their ids, or a queryset
        of tenants the permission function resolved)."""
        if not isinstance(tenants, models.QuerySet):
            tenants = [getattr(tenant, "pk", tenant) for tenant in tenants]
        condition = Q()
        for path in self._scope().owners:
            condition |= Q(**{f"{path}__in": tenants})
        return self._narrowed(condition)

    # --- combining: the result is scoped only if what it can return is ------------------

    def __or__(self, other: Any) -> Self:
        combined = super().__or__(other)
        if isinstance(combined, TenantScopedQuerySet):
            combined._scoped = _is_scoped(self) and _is_scoped(other)
        return combined

    def __xor__(self, other: Any) -> Self:
        combined = super().__xor__(other)  # type: ignore[misc]  # Django 4.2+, absent from the stubs
        if isinstance(combined, TenantScopedQuerySet):
            combined._scoped = _is_scoped(self) and _is_scoped(other)
        return combined

    def __and__(self, other: Any) -> Self:
        combined = super().__and__(other)
        if isinstance(combined, TenantScopedQuerySet):
            combined._scoped = _is_scoped(self) or _is_scoped(other)
        return combined

    def union(self, *other_qs: Any, all: bool = False) -> Self:
        combined = super().union(*other_qs, all=all)
        combined._scoped = _is_scoped(self) and not any(not _is_scoped(q) for q in other_qs)
        return combined

    def intersection(self, *other_qs: Any) -> Self:
        combined = super().intersection(*other_qs)
        combined._scoped = _is_scoped(self) or any(_is_scoped(q) for q in other_qs)
        return combined

    def difference(self, *other_qs: Any) -> Self:
        combined = super().difference(*other_qs)
        combined._scoped = _is_scoped(self)  # fewer rows than self's
        return combined

    # --- every way a queryset reaches the database --------------------------------------

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._refuse_unless_scoped("read")
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch: bool, chunk_size: int | None) -> Any:
        self._refuse_unless_scoped("iterator()")
        return super()._iterator(use_chunked_fetch, chunk_size)  # type: ignore[misc]  # as above

    def count(self) -> int:
        if self._result_cache is None:
            self._refuse_unless_scoped("count()")
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._refuse_unless_scoped("exists()")
        return super().exists()

    def contains(self, obj: models.Model) -> bool:
        self._refuse_unless_scoped("contains()")
        return super().contains(obj)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._refuse_unless_scoped("aggregate()")
        return super().aggregate(*args, **kwargs)

    def explain(self, *, format: Any = None, **options: Any) -> str:
        self._refuse_unless_scoped("explain()")
        return super().explain(format=format, **options)

    def update(self, **kwargs: Any) -> int:
        self._refuse_unless_scoped("update()")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._refuse_unless_scoped("delete()")
        return super().delete()

    def _raw_delete(self, using: Any) -> int:
        self._refuse_unless_scoped("delete()")
        return super()._raw_delete(using)

    def get_or_create(self, defaults: Any = None, **kwargs: Any) -> Any:
        self._refuse_unless_scoped("get_or_create()")
        return super().get_or_create(defaults, **kwargs)

    def update_or_create(
        self, defaults: Any = None, create_defaults: Any = None, **kwargs: Any
    ) -> Any:
        self._refuse_unless_scoped("update_or_create()")
        return super().update_or_create(defaults, create_defaults, **kwargs)

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:
        # `Tenant.objects.filter(pk__in=Contact.objects.values("customer"))`:
        # the inner query reads rows too. (Subquery()/Exists() take `.query`:
        # they are correlated to an outer row by OuterRef, which is scoped.)
        self._refuse_unless_scoped("subquery")
        return super().resolve_expression(*args, **kwargs)


def _is_scoped(queryset: Any) -> bool:
    """A strict queryset narrowed by the entry (or empty, or an instance's); any
    other (a plain `unscoped` one: explicit) is the caller's choice."""
    return not isinstance(queryset, TenantScopedQuerySet) or queryset._is_scoped()
