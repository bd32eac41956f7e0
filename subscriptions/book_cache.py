"""The partner's book figures, cached until the book changes (docs/performance.md).

The dashboard's MRR (`mrr.book_mrr`), the movements of a month and the
programme's progress aggregate every subscription a partner manages, and the
number of customers its owners and admins see (`customers_visible_count`, the
customer list's count) reads every grant: their cost grows with the book
(about 200 ms for the MRR at 100,000 subscriptions), and they are read far
more often than the book changes. So each is cached per branch of the
tenant tree (`tenants.branch_cache`) under a key naming who asks, the
parameters and today's date: the current month's figures are today's, and
every figure, a past month's movements included, counts only what the
partner manages today (`partners.selectors.manages_now`, docs/security.md).
A grant's `ends_on` is a day, its last: the day after it, the keys are new,
so the grant drops out of every figure with no write and no job; nothing
cached before can be served after.

What a book depends on, and what retires it here:

- subscriptions: their customer's branch and the branches of every partner
  with a partnership on that customer (a partner may manage customers of
  another branch);
- partnerships and the products of a limited grant (every change: granted,
  changed, ended, expired by the job): the partner's and the customer's
  branches; the partner's branch holds every partner above it, whose
  sub-tree figures count its grants;
- tenants (a customer's currency, a move, a deletion): the tenant's branch and
  its partners'; `tenants.services.tenant_move` tells both branches itself;
- collaborators' assignments: the partner's branch.

Invalidation is not a domain flow, and a forgotten call would show a partner
stale money: so model signals do it (the one place they are used), for every
`save()` and `delete()` wherever it happens. The bulk writes that send no
signal call `book_changed` themselves: `subscription_cancel`, the customer
import, the demo seeds.

A write to subscriptions (or invoices) alone names its customers
(`book_changed(subscriptions_of=…)`): the branch is retired all the same, and
the next read patches the book for those customers instead of computing it
afresh (`tenants.branch_cache`, `mrr.BookShares`, `mrr.Moves.replaced`;
docs/performance.md, "The first view after a write").

`book_changed` and the receivers of partnerships, grants, tenants and
assignments live below, in `partners.book_changes` (connected by
PartnersConfig); this module adds the subscriptions' receiver and says whose
view of a book is cached (`book_scope`).
"""

from django.db.models.signals import post_delete, post_save

from partners.book_changes import book_changed
from subscriptions.models import Subscription
from tenants.models import Role
from tenants.selectors import OrgContext


def book_scope(org: OrgContext) -> str:
    """Whose view of the partner's book: owners and admins share the partner's;
    a collaborator sees the customers assigned to them."""
    return "partner" if org.has_role(Role.ADMIN) else f"user:{org.user.pk}"


def _subscription_changed(
    sender: type[Subscription], instance: Subscription, **kwargs: object
) -> None:
    book_changed(subscriptions_of=[instance.customer_id])


def connect() -> None:
    """Called once, from SubscriptionsConfig.ready()."""
    uid = f"book-cache:{Subscription._meta.label}"
    post_save.connect(_subscription_changed, sender=Subscription, dispatch_uid=uid)
    post_delete.connect(_subscription_changed, sender=Subscription, dispatch_uid=uid)
