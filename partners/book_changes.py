"""What retires the cached figures of partners' books (`subscriptions.book_cache`
says what is cached and why): `book_changed`, and the signal receivers of the
rows below subscriptions a book depends on — partnerships and the products of a
limited grant, tenants, collaborators' assignments. Here, below subscriptions,
so that partners' own bulk writes (the customer import, `collaborators_set`)
call it without importing the app above."""

import uuid
from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import Model, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.db import CompiledQuery, Many
from partners.models import CustomerAssignment, Partnership, PendingShare
from tenants.branch_cache import Change, branch_changed
from tenants.models import Tenant
from tenants.signals import subtree_moved


def _book_paths(*, tenants: list, customers: list) -> QuerySet:
    """The paths of `tenants` and of every partner with a partnership on one of
    `customers`. A UNION, not `pk IN (…) OR pk IN (subquery)`: PostgreSQL answers
    that OR with a scan of every tenant (1.5 ms a write at 10,000 customers)."""
    partners = Partnership.unscoped.filter(customer_id__in=customers).values("partner")
    return (
        Tenant.objects.filter(pk__in=tenants)
        .order_by()
        .values_list("path")
        .union(Tenant.objects.filter(pk__in=partners).order_by().values_list("path"))
    )


# Every write that retires a book runs it: compiled once per process and list
# lengths (core.db.CompiledQuery).
_BOOK_PATHS = CompiledQuery(
    _book_paths,
    "tenants",
    "customers",
    kinds={"tenants": Many(uuid.UUID), "customers": Many(uuid.UUID)},
)


def book_changed(
    *,
    customer_ids: Iterable = (),
    tenant_ids: Iterable = (),
    paths: Iterable[str] = (),
    subscriptions_of: Iterable = (),
    invoices_of: Iterable = (),
) -> None:
    """Retire the cached books that can include these customers (their branches
    and their partners') and these tenants (their branches), and the branches
    of these tenant paths (a row that may be gone). One query, one bump.
    `subscriptions_of`, `invoices_of`: customers whose subscriptions (or
    invoices) changed, looked up as `customer_ids` are; when the call names
    nothing else, the retirement is logged with them (a `Change`) and the
    figures that can be are patched for them alone (tenants.branch_cache)
    rather than computed afresh."""
    subscriptions, invoices = {str(pk) for pk in subscriptions_of}, {str(pk) for pk in invoices_of}
    customer_ids, tenant_ids, paths = set(customer_ids), set(tenant_ids), list(paths)
    change = None
    if (subscriptions or invoices) and not (customer_ids or tenant_ids or paths):
        change = Change(frozenset(subscriptions | invoices), invoices=bool(invoices))
    # Their shares of the books to count again: a grant's, a tenant's change
    # (a partner named here has no share: harmless). A subscription's MRR is
    # its ledger's, which marks its customers itself (ledger_record_many), in
    # the transaction of the change; an invoice changes no MRR.
    shares_pending({str(pk) for pk in customer_ids | tenant_ids})
    customer_ids |= subscriptions | invoices
    if customer_ids or tenant_ids:
        rows = _BOOK_PATHS.rows(
            using=Tenant.objects.db,
            tenants=sorted(map(str, customer_ids | tenant_ids)),
            customers=sorted(map(str, customer_ids)),
        )
        paths += [path for (path,) in rows]
    hook = branch_changed(paths=paths, change=change)
    if hook is not None:
        hook.customers = frozenset(str(pk) for pk in customer_ids)  # type: ignore[attr-defined]


def shares_pending(customer_ids: Iterable) -> None:
    """Mark customers whose shares of the partners' books are to be counted
    again (subscriptions.books), in the transaction of the write: until the
    fold counts them, readers of their books count them from the ledger."""
    marks = [PendingShare(customer_id=uuid.UUID(str(pk))) for pk in {str(p) for p in customer_ids}]
    if marks:  # plain inserts: never waits on another transaction's mark
        PendingShare.objects.bulk_create(marks, batch_size=5000)


def invoices_changed_on_commit(*, customer_ids: Iterable) -> None:
    """`book_changed(invoices_of=...)` once the transaction commits (robust).
    The customers whose books this transaction has already retired at the same
    savepoint (an order's new subscription, a moment before its invoice) are
    not looked up again: that retirement grows to their invoices (its branches
    moved on at once and after the commit, logged with them). The branches of the others are looked up after the commit.
    Outside a transaction, at once."""
    customer_ids = {str(pk) for pk in customer_ids}
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        book_changed(invoices_of=customer_ids)
        return
    savepoints = set(connection.savepoint_ids)
    for entry in connection.run_on_commit:  # the retirements still pending here
        covered: frozenset[str] = getattr(entry[1], "customers", frozenset()) & customer_ids
        if entry[0] == savepoints and covered:
            change = entry[1].change
            if change is not None and not change.invoices:  # None: computed afresh
                entry[1].grow(Change(change.customers, invoices=True))
            customer_ids -= covered
    if not customer_ids:
        return

    def retire_books_after_commit() -> None:
        book_changed(invoices_of=customer_ids)

    transaction.on_commit(retire_books_after_commit, robust=True)


def _partnership_changed(sender: type[Model], instance: Partnership, **kwargs: object) -> None:
    book_changed(tenant_ids=[instance.partner_id, instance.customer_id])


def _grant_products_changed(
    sender: type[Model], instance: Partnership, action: str, **kwargs: object
) -> None:
    # Only from the partnership's side: the products have no accessor back to it.
    if action.startswith("post_"):
        book_changed(tenant_ids=[instance.partner_id, instance.customer_id])


def _tenant_changed(sender: type[Model], instance: Tenant, **kwargs: object) -> None:
    # The row may be gone (post_delete): its own path says its branch.
    book_changed(customer_ids=[instance.pk], paths=[instance.path])


def _assignment_changed(
    sender: type[Model], instance: CustomerAssignment, **kwargs: object
) -> None:
    book_changed(tenant_ids=[instance.partner_id])


def _subtree_moved(sender: type[Model], new_path: str, **kwargs: object) -> None:
    # The sub-tree books above the moved partners change: their customers' shares.
    grants = Partnership.unscoped.filter(partner__path__startswith=new_path)
    shares_pending(grants.values_list("customer_id", flat=True).distinct())


def connect() -> None:
    """Called once, from PartnersConfig.ready()."""
    receivers: list[tuple[type[Model], Callable[..., None]]] = [
        (Partnership, _partnership_changed),
        (Tenant, _tenant_changed),
        (CustomerAssignment, _assignment_changed),
    ]
    for model, receiver in receivers:
        uid = f"book-cache:{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid)
        post_delete.connect(receiver, sender=model, dispatch_uid=uid)
    subtree_moved.connect(_subtree_moved, sender=Tenant, dispatch_uid="books:subtree-moved")
    m2m_changed.connect(
        _grant_products_changed,
        sender=Partnership.products.through,
        dispatch_uid="book-cache:grant-products",
    )
