"""The audit log's one writer: services call `audit_record` for every
security-relevant action (docs/security.md lists them), inside their own
transaction, so the row and the change it records commit or roll back together.

An action that concerns two organizations (a partnership's grant, an upsell
switch set by a partner on a customer) is recorded once in each one's log
(`audit_record_shared`), so both sides' owners see it.

The client's address comes from the request when the caller has it, else from
`AuditRequestMiddleware`, which remembers the address of the request being
served. Only the address travels that way: who acted, and in which
organization, is always passed explicitly.
"""

import contextvars
import ipaddress
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponseBase

from core.db import bulk_write
from tenants.models import AuditEvent, Membership, Tenant, User
from tenants.selectors import OrgContext

TARGET_MAX_LENGTH = AuditEvent._meta.get_field("target").max_length

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "audit_client_ip", default=None
)


def client_ip(request: HttpRequest) -> str | None:
    """The request's client address (REMOTE_ADDR: behind a proxy, the proxy must
    pass the client's address on as REMOTE_ADDR, as for the rate limits)."""
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class AuditRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


def _event(
    *,
    tenant: Tenant,
    action: str,
    actor: User | None,
    actor_tenant: Tenant | None,
    target: str,
    details: dict | None,
    request: HttpRequest | None,
) -> AuditEvent:
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent(
        tenant=tenant,
        action=AuditEvent.Action(action),
        actor=actor,
        actor_email=actor.email if actor is not None else "",
        actor_tenant=actor_tenant,
        target=(target or "")[:TARGET_MAX_LENGTH],
        details=details or {},
        ip=client_ip(request) if request is not None else _client_ip.get(),
    )


def audit_record(
    *,
    tenant: Tenant,
    action: str,
    actor: User | None = None,
    actor_tenant: Tenant | None = None,
    target: str = "",
    details: dict | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to `tenant`'s log (in the caller's transaction)."""
    event = _event(
        tenant=tenant,
        action=action,
        actor=actor,
        actor_tenant=actor_tenant,
        target=target,
        details=details,
        request=request,
    )
    event.save(force_insert=True)
    return event


def audit_record_shared(
    *,
    parties: Iterable[tuple[Tenant, str]],
    action: str,
    actor: User | None = None,
    actor_tenant: Tenant | None = None,
    details: dict | None = None,
    request: HttpRequest | None = None,
) -> list[AuditEvent]:
    """Append the same event to the log of each organization it concerns, in one
    insert. `parties` are (organization, target) pairs: each side's row names
    what the event concerns from there (the partner's log names the customer)."""
    return audit_record_shared_many(
        [
            {
                "parties": parties,
                "action": action,
                "actor": actor,
                "actor_tenant": actor_tenant,
                "details": details,
                "request": request,
            }
        ]
    )


def audit_record_shared_many(entries: Iterable[dict]) -> list[AuditEvent]:
    """Many `audit_record_shared` events (each a dict of its arguments) in one
    insert: a bulk write (the import) is audited row by row at the cost of one."""
    events = [
        _event(
            tenant=tenant,
            action=entry["action"],
            actor=entry.get("actor"),
            actor_tenant=entry.get("actor_tenant"),
            target=target,
            details=entry.get("details"),
            request=entry.get("request"),
        )
        for entry in entries
        for tenant, target in dict(entry["parties"]).items()
    ]
    return list(bulk_write(events))


def audit_member_changes(*, org: OrgContext, membership: Membership, before: dict) -> None:
    """`member_update`'s events: one per flag that changed (role, buyer)."""
    for field, action in (
        ("role", AuditEvent.Action.MEMBER_ROLE_CHANGED),
        ("buyer", AuditEvent.Action.MEMBER_BUYER_CHANGED),
    ):
        if before[field] != getattr(membership, field):
            audit_record(
                tenant=org.tenant,
                action=action,
                actor=org.user,
                actor_tenant=org.tenant,
                target=membership.user.email,
                details={
                    "before": {field: before[field]},
                    "after": {field: getattr(membership, field)},
                },
            )
