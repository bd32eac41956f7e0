"""Webhooks' rules (SPEC §8 rev. 2, docs/webhooks.md): the outbox written in the
change's transaction, the fan-out to the endpoints that may see the event's
object, the signed delivery with its retries, the endpoints' life (create,
change, rotate, disable after three failing days) and the resend.

The flow: a service emits a domain event (core.events) inside its
transaction; `outbox_write` (subscribed in that transaction) inserts one
`WebhookEvent` per event and enqueues `fan_out` for after the commit, so a
rolled-back change leaves no row and no task. `events_fan_out` makes one
`WebhookDelivery` per endpoint that wants the type and may see the object
now (its body fixed then) and hands them on, one `deliver_many` message per
endpoint and chunk of events (the `webhooks` queue); `deliveries_attempt`
(and `delivery_attempt`, for one) claims due deliveries under their row locks
(skip_locked), checks the visibility again and the target after resolving
it, signs, posts over a keep-alive connection, and records each answer:
delivered, or pending with the next attempt's time, or failed once
WEBHOOKS_RETRY_FOR (3 days) has passed. Beat's `sweep` finds events not fanned out and
deliveries due (a retry's time, or a first attempt whose message was lost).
"""

import base64
import datetime
import http.client
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from standardwebhooks.webhooks import Webhook

from core.db import bulk_write
from core.events import EVENT_TYPES, event_subscribe
from core.jobs import enqueue_gathered_on_commit, enqueue_on_commit
from tenants.emails import notify
from tenants.models import Membership, Role, Tenant
from tenants.selectors import OrgContext, org_as_first_owner
from tenants.services import require_role
from webhooks import targets
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.payloads import data_for_many, visible_among

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
Status = WebhookDelivery.Status
# The first retry after ~30 s, then doubling, at most 6 h apart; ±25 % jitter.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 6 * 3600
_random = random.SystemRandom()
# A fan-out makes the deliveries of FAN_OUT_CHUNK events in one transaction
# and hands them on (one `deliver_many` message per endpoint), so that the
# first are sent while it goes on.
FAN_OUT_CHUNK = 25

T = TypeVar("T")


# --- the outbox: in the change's transaction ------------------------------------------


def outbox_write(name: str, payloads: list[dict[str, str | None]]) -> None:
    """`outbox_write_many` of one emit call."""
    outbox_write_many([(name, payloads)])


def outbox_write_many(events: list[tuple[str, list[dict[str, str | None]]]]) -> None:
    """One outbox row per event, in the emitting service's transaction (one
    insert for all the events heard at once: an order's three,
    core.events.events_gathered); their fan-out is enqueued for after the
    commit, one message for all the events of the transaction."""
    rows = bulk_write(
        [
            WebhookEvent(type=name, object_id=str(payload["id"]), payload=payload)
            for name, payloads in events
            for payload in payloads
        ]
    )
    enqueue_gathered_on_commit("webhooks.tasks.fan_out", [str(event.pk) for event in rows])


def outbox_subscribe() -> None:
    """Hear every domain event in its transaction (WebhooksConfig.ready)."""
    event_subscribe(outbox_write_many, in_transaction=True, many=True)


# --- who an endpoint reads as ------------------------------------------------------------


def endpoint_org(tenant: Tenant) -> OrgContext | None:
    """The organization as its (earliest) owner: an endpoint sees what an owner
    of its organization sees through the API. None without an owner."""
    return org_as_first_owner(tenant=tenant)


def _body(event: WebhookEvent, data: dict) -> str:
    """`{type, timestamp, data}` (Standard Webhooks' payload): `timestamp` is when
    the event happened, not when it is sent."""
    body = {"type": event.type, "timestamp": event.occurred_at, "data": data}
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


# --- fan-out -----------------------------------------------------------------------------


_NO_OWNER = object()


class _Readers:
    """The organizations of one fan-out call, each as its owner (endpoint_org),
    looked up once per organization however many events and endpoints."""

    def __init__(self) -> None:
        self._orgs: dict[object, object] = {}

    def org(self, tenant: Tenant) -> OrgContext | None:
        found = self._orgs.get(tenant.pk)
        if found is None:
            found = self._orgs[tenant.pk] = endpoint_org(tenant) or _NO_OWNER
        return None if found is _NO_OWNER else found  # type: ignore[return-value]

    def per_org_and_type(
        self, objects: Iterable[tuple[Tenant, str, str]], read: Callable[..., T]
    ) -> dict[tuple[object, str], T]:
        """`read(org, type, object ids)` once per organization and event type of
        `objects` ((organization, type, object id) each), the organization as its
        owner; a group whose organization has no owner is left out."""
        wanted: dict[tuple[object, str], set[str]] = {}
        tenants: dict[object, Tenant] = {}
        for tenant, event_type, object_id in objects:
            tenants[tenant.pk] = tenant
            wanted.setdefault((tenant.pk, event_type), set()).add(object_id)
        found = {}
        for (tenant_id, event_type), object_ids in wanted.items():
            org = self.org(tenants[tenant_id])
            if org is not None:
                found[(tenant_id, event_type)] = read(org, event_type, object_ids)
        return found


def events_fan_out(event_ids: Sequence[str]) -> list[str]:
    """Make the deliveries of these events, each event once: one per enabled
    endpoint that wants its type and whose organization may see the object now
    (its body as that organization's GET shows it, built once per organization
    and event). The endpoints and their organizations' owners are read once for
    the whole call. The events go FAN_OUT_CHUNK at a time, each chunk in one
    transaction with its objects read at once per organization
    (`data_for_many`); a chunk that fails is done again event by event, so one
    event that cannot be fanned out (rolled back, left for the sweeper) holds up
    no other. Each chunk's deliveries are handed to `deliver_many` after its
    commit, one message per endpoint, so the first are sent while the fan-out
    goes on. Returns the new deliveries' ids."""
    endpoints = list(WebhookEndpoint.unscoped.filter(enabled=True).select_related("tenant"))
    readers = _Readers()
    ids: list[str] = []
    event_ids = list(event_ids)
    for start in range(0, len(event_ids), FAN_OUT_CHUNK):
        chunk = event_ids[start : start + FAN_OUT_CHUNK]
        made = _chunk_fan_out(chunk, endpoints, readers)
        waiting: dict[object, list[str]] = {}  # per endpoint
        for endpoint_id, delivery_id in made:
            waiting.setdefault(endpoint_id, []).append(delivery_id)
            ids.append(delivery_id)
        for endpoint_ids in waiting.values():
            enqueue_on_commit("webhooks.tasks.deliver_many", endpoint_ids)
    return ids


def event_fan_out(*, event_id: str) -> list[str]:
    """`events_fan_out` of one event."""
    return events_fan_out([event_id])


def _chunk_fan_out(
    event_ids: Sequence[str], endpoints: Sequence[WebhookEndpoint], readers: _Readers
) -> list[tuple[object, str]]:
    """`_events_fan_out` of these events; if it fails, of each event on its own."""
    try:
        return _events_fan_out(event_ids, endpoints, readers)
    except Exception:  # one event that cannot be fanned out holds up no other
        if len(event_ids) == 1:
            log.exception("webhook event %s: fan-out failed; the sweeper retries", event_ids[0])
            return []
    return [
        made for event_id in event_ids for made in _chunk_fan_out([event_id], endpoints, readers)
    ]


def _events_fan_out(
    event_ids: Sequence[str], endpoints: Sequence[WebhookEndpoint], readers: _Readers
) -> list[tuple[object, str]]:
    """The deliveries of these events, made in one transaction: (endpoint id,
    delivery id) each."""
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=event_ids, fanned_out_at__isnull=True)
            .order_by("occurred_at", "pk")
        )
        if not events:  # fanned out already, or another worker holds them
            return []
        hearing = {
            event.pk: [endpoint for endpoint in endpoints if event.type in endpoint.events]
            for event in events
        }
        # each organization's view of the objects, read at once per event type
        seen = readers.per_org_and_type(
            (
                (endpoint.tenant, event.type, event.object_id)
                for event in events
                for endpoint in hearing[event.pk]
            ),
            data_for_many,
        )
        deliveries = []
        for event in events:
            bodies: dict[object, str | None] = {}  # per organization: built once
            for endpoint in hearing[event.pk]:
                if endpoint.tenant_id not in bodies:
                    data = seen.get((endpoint.tenant_id, event.type), {}).get(event.object_id)
                    bodies[endpoint.tenant_id] = None if data is None else _body(event, data)
                body = bodies[endpoint.tenant_id]
                if body is None:  # the organization may not see the object now
                    continue
                deliveries.append(
                    WebhookDelivery(
                        tenant_id=endpoint.tenant_id,
                        endpoint=endpoint,
                        event=event,
                        type=event.type,
                        body=body,
                    )
                )
        WebhookDelivery.unscoped.bulk_create(deliveries, ignore_conflicts=True)
        WebhookEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            fanned_out_at=timezone.now()
        )
        return [(delivery.endpoint_id, str(delivery.pk)) for delivery in deliveries]


# --- delivery ----------------------------------------------------------------------------


def retry_delay(attempts: int) -> datetime.timedelta:
    """The wait before the next attempt after `attempts` failed ones: 30 s
    doubling up to 6 h, with ±25 % jitter so a receiver that comes back is not
    hit by every retry at once."""
    seconds = min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    return datetime.timedelta(seconds=seconds * _random.uniform(0.75, 1.25))


def signature_headers(
    *, endpoint: WebhookEndpoint, msg_id: str, body: str, now: datetime.datetime
) -> dict[str, str]:
    """Standard Webhooks' three headers, signed by the `standardwebhooks` library
    with each secret that signs now (two `v1,` signatures during a rotation)."""
    signatures = [
        Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body.encode())
        for secret in endpoint.secrets_signing(now)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "PartnerPortal-Webhooks/1",
    }


# Deliveries claimed together (one query, one transaction, their visibility asked
# at once right before their POSTs); how long one `deliver_many` message may go
# on before it hands the rest on in a new message.
DELIVER_CHUNK = 10
DELIVER_MANY_SECONDS = 20.0


class _Attempts:
    """What the attempts of one run share: the keep-alive connections
    (targets.Session), each organization as its owner (read once), the
    endpoints whose attempt failed in this run, and the run's clock."""

    def __init__(self, session: targets.Session, *, seconds: float | None = None) -> None:
        self.session = session
        self.readers = _Readers()
        self.failing: set[object] = set()
        self.until = None if seconds is None else time.monotonic() + seconds

    def out_of_time(self) -> bool:
        return self.until is not None and time.monotonic() > self.until

    def visible_now(self, deliveries: Sequence[WebhookDelivery]) -> set[tuple[object, str, str]]:
        """(organization, type, object) of those of `deliveries` whose organization
        may see the object now: one query per organization and event type."""
        found = self.readers.per_org_and_type(
            ((d.endpoint.tenant, d.type, d.event.object_id) for d in deliveries), visible_among
        )
        return {
            (tenant_id, event_type, object_id)
            for (tenant_id, event_type), object_ids in found.items()
            for object_id in object_ids
        }


def delivery_attempt(*, delivery_id: str) -> bool:
    """Attempt one due delivery; True when it was delivered by this call.

    The row is claimed under its lock (skip_locked: another worker holding it
    means this call does nothing) and stays locked through the attempt, so a
    worker killed mid-attempt rolls back to the row as it was: still pending,
    found again by the sweeper, sent again with the same webhook-id."""
    with targets.Session() as session:
        delivered, _left = _chunk_attempt([str(delivery_id)], _Attempts(session))
    return delivered == 1


def deliveries_attempt(delivery_ids: Sequence[str]) -> int:
    """Attempt these deliveries (those due), DELIVER_CHUNK at a time: a chunk is
    claimed under its rows' locks in one transaction (skip_locked, as
    `delivery_attempt`: a row another worker holds is its), the organizations'
    right to see the objects is asked in one query right before the chunk's
    POSTs, and each attempt is recorded as `delivery_attempt` records it; the
    chunk commits at its end, so a worker killed mid-chunk rolls the chunk back
    and its deliveries are sent again later, with the same webhook-ids (at
    least once, docs/webhooks.md). One keep-alive connection per receiving host
    serves the whole run, each organization's owner is read once. Once an
    attempt to an endpoint fails, the run's other deliveries to it are handed
    on, one message each (a receiver that is down holds the run up for one
    timeout, not one per delivery); after DELIVER_MANY_SECONDS the rest goes on
    in a new message. Returns how many were delivered."""
    ids = list(dict.fromkeys(str(delivery_id) for delivery_id in delivery_ids))
    delivered = 0
    with targets.Session() as session:
        attempts = _Attempts(session, seconds=DELIVER_MANY_SECONDS)
        for start in range(0, len(ids), DELIVER_CHUNK):
            done, left = _chunk_attempt(ids[start : start + DELIVER_CHUNK], attempts)
            delivered += done
            rest = left + ids[start + DELIVER_CHUNK :]
            if rest and (left or attempts.out_of_time()):
                enqueue_on_commit("webhooks.tasks.deliver_many", rest)
                break
    return delivered


def _chunk_attempt(ids: Sequence[str], attempts: _Attempts) -> tuple[int, list[str]]:
    """Claim and attempt these deliveries (those due and not held elsewhere) in
    one transaction: how many were delivered, and the ids left unattempted when
    the run's time was up."""
    with transaction.atomic():
        claimed = {
            str(delivery.pk): delivery
            for delivery in WebhookDelivery.unscoped.select_for_update(
                skip_locked=True, of=("self",)
            )
            .select_related("endpoint", "endpoint__tenant", "event")
            .filter(pk__in=ids, status=Status.PENDING, next_attempt_at__lte=timezone.now())
        }
        deliveries = [claimed[delivery_id] for delivery_id in ids if delivery_id in claimed]
        # May the organizations still see the objects? A query, not the GET: the
        # bodies were fixed at the fan-out and are sent as they are.
        visible = attempts.visible_now(deliveries)
        delivered: list[WebhookDelivery] = []  # written at the chunk's end, in one UPDATE
        left: list[str] = []
        for number, delivery in enumerate(deliveries):
            if number and attempts.out_of_time():
                left = [str(d.pk) for d in deliveries[number:]]
                break
            if _attempt(delivery, attempts, visible):
                delivered.append(delivery)
        WebhookDelivery.unscoped.bulk_update(delivered, _DELIVERED_FIELDS)
        return len(delivered), left


def _attempt(
    delivery: WebhookDelivery, attempts: _Attempts, visible: set[tuple[object, str, str]]
) -> bool:
    """One claimed delivery's attempt (in its chunk's transaction); True when delivered."""
    endpoint = delivery.endpoint
    if endpoint.pk in attempts.failing:
        # this run's attempt to the endpoint failed: a message of its own
        enqueue_on_commit("webhooks.tasks.deliver", str(delivery.pk))
        return False
    if not endpoint.enabled:
        _close(delivery, _("The endpoint is disabled."))
        return False
    if (endpoint.tenant_id, delivery.type, delivery.event.object_id) not in visible:
        _close(delivery, _("The organization may no longer see this object."))
        return False
    now = timezone.now()
    headers = signature_headers(
        endpoint=endpoint, msg_id=str(delivery.pk), body=delivery.body, now=now
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    answer, error = _post(attempts.session, endpoint.url, delivery.body, headers)
    delivery.response_code = answer.status if answer else None
    delivery.response_body = answer.body[:2000] if answer else ""
    delivery.duration_ms = answer.duration_ms if answer else None
    delivery.last_error = error[:500]
    if not error:
        delivery.status = Status.DELIVERED
        delivery.delivered_at = now
        if endpoint.failing_since is not None:  # a success ends the failing streak
            WebhookEndpoint.unscoped.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None
        return True  # the row is written with its chunk's (_DELIVERED_FIELDS)
    if now >= delivery.give_up_at:
        delivery.status = Status.FAILED
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    delivery.save(update_fields=_ATTEMPT_FIELDS)  # not the body: it never changes
    attempts.failing.add(endpoint.pk)
    _endpoint_failed(endpoint, now)
    return False


_ATTEMPT_FIELDS = [
    "status",
    "attempts",
    "response_code",
    "response_body",
    "duration_ms",
    "last_error",
    "next_attempt_at",
    "last_attempt_at",
    "delivered_at",
]
_DELIVERED_FIELDS = [name for name in _ATTEMPT_FIELDS if name != "next_attempt_at"]


def _post(
    session: targets.Session, url: str, body: str, headers: dict[str, str]
) -> tuple[targets.Answer | None, str]:
    """One POST: the answer (None when there was none) and what went wrong ("" for a 2xx)."""
    try:
        answer = session.post(url, body=body.encode(), headers=headers)
    except ValidationError as exc:  # TargetRefused: the name resolves inside now
        return None, "; ".join(exc.messages)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timeout, TLS
        return None, f"{type(exc).__name__}: {exc}"
    return answer, "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"


def _close(delivery: WebhookDelivery, reason: str) -> None:
    delivery.status = Status.FAILED
    delivery.last_error = reason[:500]
    delivery.save(update_fields=["status", "last_error"])


def _endpoint_failed(endpoint: WebhookEndpoint, now: datetime.datetime) -> None:
    """Count the endpoint as failing since its first failure after its last
    success; failing for WEBHOOKS_DISABLE_AFTER (3 days), it is disabled, its
    pending deliveries closed and its organization's owners emailed (once: the
    conditional UPDATE lets one attempt do it)."""
    WebhookEndpoint.unscoped.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    limit = now - datetime.timedelta(seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS)
    reason = _("Every delivery failed for three days.")
    disabled = WebhookEndpoint.unscoped.filter(
        pk=endpoint.pk, enabled=True, failing_since__lte=limit
    ).update(enabled=False, disabled_reason=reason)
    if not disabled:
        return
    WebhookDelivery.unscoped.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.FAILED, last_error=_("The endpoint is disabled.")
    )
    owners = [
        m.user
        for m in Membership.unscoped.filter(tenant=endpoint.tenant, role=Role.OWNER).select_related(
            "user"
        )
    ]
    notify(
        key=f"webhook-endpoint-disabled:{endpoint.pk}:{now.isoformat()}",
        users=owners,
        subject=gettext_lazy("A webhook endpoint was disabled"),
        lines=[
            format_lazy(
                gettext_lazy(
                    "Every delivery to {url} has failed for three days, so it was disabled. "
                    "Fix the receiver, then enable the endpoint again and resend what it missed."
                ),
                url=endpoint.url,
            )
        ],
        url=reverse(
            "webhook_endpoint", kwargs={"slug": endpoint.tenant.slug, "endpoint_id": endpoint.pk}
        ),
        label=gettext_lazy("Open the endpoint"),
    )


def sweep(
    *, now: datetime.datetime | None = None, limit: int = 1000
) -> tuple[list[str], list[str]]:
    """What beat hands to the tasks again: events not fanned out SWEEP_AFTER_SECONDS
    after they happened (their message lost), and pending deliveries that are
    due (a retry's time come, or a first attempt whose message was lost)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.SWEEP_AFTER_SECONDS)
    events = WebhookEvent.objects.filter(fanned_out_at__isnull=True, occurred_at__lt=cutoff)
    due = WebhookDelivery.unscoped.filter(status=Status.PENDING).filter(
        Q(attempts=0, created_at__lt=cutoff) | Q(attempts__gt=0, next_attempt_at__lte=now)
    )
    return (
        [str(pk) for pk in events.order_by("occurred_at").values_list("pk", flat=True)[:limit]],
        [str(pk) for pk in due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]],
    )


def events_purge(*, now: datetime.datetime | None = None) -> int:
    """Forget events (and their delivery logs) older than WEBHOOKS_KEEP_DAYS whose
    deliveries are all over."""
    now = now or timezone.now()
    old = WebhookEvent.objects.filter(
        occurred_at__lt=now - datetime.timedelta(days=settings.WEBHOOKS_KEEP_DAYS),
        fanned_out_at__isnull=False,
    ).exclude(deliveries__status=Status.PENDING)
    deleted, _counts = old.delete()
    return deleted


# --- endpoints ---------------------------------------------------------------------------


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    if not chosen:
        raise ValidationError({"events": _("Choose at least one event type.")})
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {"events": _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}}
        )
    return chosen


def _require_manager(org: OrgContext) -> None:
    require_role(org, Role.ADMIN)
    if org.membership is None:
        raise PermissionDenied(
            _("Webhooks act for an organization's owners; staff need a membership here.")
        )


def endpoint_create(
    *,
    org: OrgContext,
    url: str,
    events: Sequence[str],
    enabled: bool = True,
    description: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the organization and its secret, returned this once.
    The URL must be `https` and public (targets.target_check)."""
    _require_manager(org)
    targets.target_check(url)
    secret = _new_secret()
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=org.tenant,
        url=url,
        events=_clean_events(events),
        enabled=enabled,
        description=description.strip(),
        secret=secret,
        created_by=org.user,
    )
    return endpoint, secret


def endpoint_url_changes(endpoint: WebhookEndpoint, fields: Mapping[str, object]) -> bool:
    """Whether a change sends the endpoint's events somewhere else: as sensitive
    as a new endpoint (re-authentication, SPEC §1)."""
    return "url" in fields and str(fields["url"]) != endpoint.url


@transaction.atomic
def endpoint_update(
    *, org: OrgContext, endpoint: WebhookEndpoint, **fields: object
) -> WebhookEndpoint:
    """Change the URL (checked again), the event types, the description or
    `enabled`; enabling again forgets the failing streak."""
    _require_manager(org)
    endpoint = WebhookEndpoint.unscoped.select_for_update().get(pk=endpoint.pk, tenant=org.tenant)
    if "url" in fields:
        targets.target_check(str(fields["url"]))
        endpoint.url = str(fields["url"])
    if "events" in fields:
        endpoint.events = _clean_events(fields["events"])  # type: ignore[arg-type]
    if "description" in fields:
        endpoint.description = str(fields["description"]).strip()
    if "enabled" in fields:
        enabled = bool(fields["enabled"])
        if enabled and not endpoint.enabled:
            endpoint.failing_since = None
            endpoint.disabled_reason = ""
        endpoint.enabled = enabled
    endpoint.save()
    return endpoint


def endpoint_delete(*, org: OrgContext, endpoint: WebhookEndpoint) -> None:
    """The endpoint and its delivery log go; nothing more is sent to it."""
    _require_manager(org)
    WebhookEndpoint.unscoped.filter(pk=endpoint.pk, tenant=org.tenant).delete()


@transaction.atomic
def endpoint_rotate_secret(
    *, org: OrgContext, endpoint: WebhookEndpoint
) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned this once; the old one keeps signing beside it for
    WEBHOOKS_SECRET_OVERLAP_SECONDS (each delivery then carries two `v1,`
    signatures), so the receiver can switch without losing a delivery."""
    _require_manager(org)
    endpoint = WebhookEndpoint.unscoped.select_for_update().get(pk=endpoint.pk, tenant=org.tenant)
    secret = _new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + datetime.timedelta(
        seconds=settings.WEBHOOKS_SECRET_OVERLAP_SECONDS
    )
    endpoint.secret = secret
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def delivery_resend(*, org: OrgContext, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, now, with the same webhook-id and body (a receiver
    that de-duplicates by webhook-id and already has it ignores it). A pending
    one is attempted now instead of at its retry time; the retry window starts
    again."""
    _require_manager(org)
    now = timezone.now()
    WebhookDelivery.unscoped.filter(pk=delivery.pk, tenant=org.tenant).update(
        status=Status.PENDING,
        next_attempt_at=now,
        give_up_at=now + datetime.timedelta(seconds=settings.WEBHOOKS_RETRY_FOR_SECONDS),
        last_error="",
    )
    enqueue_on_commit("webhooks.tasks.deliver", str(delivery.pk))
    delivery.refresh_from_db()
    return delivery
