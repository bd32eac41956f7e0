"""The partner's book figures, cached until the book changes (docs/performance.md).

The dashboard's MRR (`mrr.book_mrr`), the movements of a month and the
programme's progress aggregate every subscription a partner manages, and the
number of customers its owners and admins see (`customers_visible_count`, the
customer list's count) reads every grant: their cost grows with the book
(about 200 ms for the MRR at 100,000 subscriptions), and they are read far
more often than the book changes. So each is cached per branch of the
tenant tree (`tenants.branch_cache`) under a key naming who asks, the
parameters and today's date (the current month's figures are today's).

What a book depends on, and what retires it here:

- subscriptions: their customer's branch and the branches of every partner
  with a partnership on that customer (a partner may manage customers of
  another branch);
- partnerships and the products of a limited grant: the partner's and the
  customer's branches;
- tenants (a customer's currency, a move, a deletion): the tenant's branch and
  its partners'; `tenants.services.tenant_move` tells both branches itself;
- collaborators' assignments: the partner's branch.

Invalidation is not a domain flow, and a forgotten call would show a partner
stale money: so model signals do it (the one place they are used), for every
`save()` and `delete()` wherever it happens. The bulk writes that send no
signal call `book_changed` themselves: `subscription_cancel`, the customer
import, the demo seeds.
"""

from collections.abc import Iterable

from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save

from partners.models import CustomerAssignment, Partnership
from subscriptions.models import Subscription
from tenants.branch_cache import branch_changed
from tenants.models import Role, Tenant
from tenants.selectors import OrgContext


def book_scope(org: OrgContext) -> str:
    """Whose view of the partner's book: owners and admins share the partner's;
    a collaborator sees the customers assigned to them."""
    return "partner" if org.has_role(Role.ADMIN) else f"user:{org.user.pk}"


def book_changed(
    *, customer_ids: Iterable = (), tenant_ids: Iterable = (), paths: Iterable[str] = ()
) -> None:
    """Retire the cached books that can include these customers (their branches
    and their partners') and these tenants (their branches), and the branches
    of these tenant paths (a row that may be gone). One query, one bump."""
    customer_ids, tenant_ids, paths = set(customer_ids), set(tenant_ids), list(paths)
    if customer_ids or tenant_ids:
        partners = Partnership.objects.filter(customer__in=customer_ids).values("partner")
        paths += Tenant.objects.filter(
            Q(pk__in=customer_ids | tenant_ids) | Q(pk__in=partners)
        ).values_list("path", flat=True)
    branch_changed(paths=paths)


def _subscription_changed(sender, instance: Subscription, **kwargs) -> None:
    book_changed(customer_ids=[instance.customer_id])


def _partnership_changed(sender, instance: Partnership, **kwargs) -> None:
    book_changed(tenant_ids=[instance.partner_id, instance.customer_id])


def _grant_products_changed(sender, instance: Partnership, action: str, **kwargs) -> None:
    # Only from the partnership's side: the products have no accessor back to it.
    if action.startswith("post_"):
        book_changed(tenant_ids=[instance.partner_id, instance.customer_id])


def _tenant_changed(sender, instance: Tenant, **kwargs) -> None:
    # The row may be gone (post_delete): its own path says its branch.
    book_changed(customer_ids=[instance.pk], paths=[instance.path])


def _assignment_changed(sender, instance: CustomerAssignment, **kwargs) -> None:
    book_changed(tenant_ids=[instance.partner_id])


def connect() -> None:
    """Called once, from SubscriptionsConfig.ready()."""
    receivers = [
        (Subscription, _subscription_changed),
        (Partnership, _partnership_changed),
        (Tenant, _tenant_changed),
        (CustomerAssignment, _assignment_changed),
    ]
    for model, receiver in receivers:
        uid = f"book-cache:{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid)
        post_delete.connect(receiver, sender=model, dispatch_uid=uid)
    m2m_changed.connect(
        _grant_products_changed,
        sender=Partnership.products.through,
        dispatch_uid="book-cache:grant-products",
    )
