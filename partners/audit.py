"""Partnerships in the audit log (tenants/audit.py): every step of a grant's
history (PartnershipEvent) is also an audit event in BOTH organizations' logs,
so the partner's owners and the customer's owners each see it. Called from the
one place that writes the history, `partners.services._record` (and its bulk
twin, `customers_add_unclaimed`)."""

from collections.abc import Iterable

from partners.models import Partnership, PartnershipEvent, Side
from tenants.audit import audit_record_shared_many
from tenants.models import AuditEvent, Membership, Role, Tenant

Kind = PartnershipEvent.Kind
Action = AuditEvent.Action

AUDIT_ACTIONS: dict[str, str] = {
    Kind.CREATED: Action.GRANT_REQUESTED,
    Kind.OWNER_INVITED: Action.GRANT_OWNER_INVITED,
    Kind.ACCEPTED: Action.GRANT_ACCEPTED,
    Kind.ACCEPTED_WITH_CHANGES: Action.GRANT_ACCEPTED_WITH_CHANGES,
    Kind.DECLINED: Action.GRANT_DECLINED,
    Kind.CANCELLED: Action.GRANT_CANCELLED,
    Kind.RESENT: Action.GRANT_RESENT,
    Kind.CHANGED: Action.GRANT_CHANGED,
    Kind.PAYMENT_CHANGED: Action.GRANT_PAYMENT_CHANGED,
    Kind.EXTENSION_REQUESTED: Action.GRANT_EXTENSION_REQUESTED,
    Kind.EXTENDED: Action.GRANT_EXTENDED,
    Kind.EXPIRED: Action.GRANT_EXPIRED,
    Kind.ENDED: Action.GRANT_ENDED,
}

# The side whose member takes each step, as selectors.PARTNERSHIP_ACTIONS fixes
# it. Ending is either owner's (told by the actor's ownership); expiring is the
# portal's own job (no side).
ACTING_SIDE: dict[str, str] = {
    Kind.CREATED: "inviting",
    Kind.CANCELLED: "inviting",
    Kind.RESENT: "inviting",
    Kind.ACCEPTED: "invited",
    Kind.ACCEPTED_WITH_CHANGES: "invited",
    Kind.DECLINED: "invited",
    Kind.OWNER_INVITED: Side.PARTNER,
    Kind.EXTENSION_REQUESTED: Side.PARTNER,
    Kind.CHANGED: Side.CUSTOMER,
    Kind.PAYMENT_CHANGED: Side.CUSTOMER,
    Kind.EXTENDED: Side.CUSTOMER,
}


def _side_ended_by(partnership: Partnership, event: PartnershipEvent) -> str | None:
    owned = list(
        Membership.unscoped.filter(
            user=event.actor,
            tenant_id__in=(partnership.partner_id, partnership.customer_id),
            role=Role.OWNER,
        ).values_list("tenant_id", flat=True)
    )
    if len(owned) != 1:  # staff, or an owner of both sides: not told
        return None
    return Side.PARTNER if owned[0] == partnership.partner_id else Side.CUSTOMER


def acting_tenant(partnership: Partnership, event: PartnershipEvent) -> Tenant | None:
    """The organization the actor took the step in."""
    if event.actor is None:
        return None
    side = ACTING_SIDE.get(event.kind)
    if side == "inviting":
        side = partnership.initiated_by
    elif side == "invited":
        side = partnership.invited_side
    elif event.kind == Kind.ENDED:
        side = _side_ended_by(partnership, event)
    if side is None:
        return None
    return partnership.partner if side == Side.PARTNER else partnership.customer


def partnership_event_audit(*, partnership: Partnership, event: PartnershipEvent) -> None:
    """Record `event` in the partner's log (naming the customer) and in the
    customer's (naming the partner), with the grant before and after."""
    partnership_events_audit([(partnership, event)])


def partnership_events_audit(events: Iterable[tuple[Partnership, PartnershipEvent]]) -> None:
    """`partnership_event_audit` for many events, in one insert."""
    audit_record_shared_many(
        {
            "parties": [
                (partnership.partner, partnership.customer.name),
                (partnership.customer, partnership.partner.name),
            ],
            "action": AUDIT_ACTIONS[event.kind],
            "actor": event.actor,
            "actor_tenant": acting_tenant(partnership, event),
            "details": {
                "partnership": str(partnership.pk),
                "status": partnership.status,
                "before": event.before,
                "after": event.after,
                "note": event.note,
            },
        }
        for partnership, event in events
    )
