"""`Idempotency-Key` for the API's POSTs (API.md): the same key with the same
request returns the first response again; with another request, 422.

A middleware, so it covers every POST of `/api/v1/` the same way. The key is
scoped to the caller (its API token, or its session's user) and the
organization it names (`X-Tenant`), so one client's keys never meet another's.

    first request   → a row `in_progress` is inserted (the unique scope is the
                      lock: of 20 identical requests at once exactly one runs),
                      the view runs, its response is stored (`done`)
    same key, same  → the stored response, with `Idempotent-Replayed: true`;
    request           one still running is waited for (up to WAIT_SECONDS),
                      then answered 409 "still being processed"
    same key, other → 422
    request

A 5xx (or an exception) stores nothing, so the client may retry with the same
key; so do 409 and 429, which are about the moment, not the request. Records
are kept IDEMPOTENCY_KEY_TTL_HOURS (48) and then purged by beat.
"""

import hashlib
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import IdempotencyRecord

HEADER = "Idempotency-Key"
API_PREFIX = "/api/v1/"
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05
NOT_STORED = {409, 429}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _caller(request) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        return "token:" + _sha256(authorization.encode())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body),
        status=record.response_status,
        content_type=record.content_type or None,
    )
    if record.location:
        response["Location"] = record.location
    response["Idempotent-Replayed"] = "true"
    return response


def _settled(scope: str) -> IdempotencyRecord | None:
    """The record of `scope` once it is done (or still running after the wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        record = IdempotencyRecord.objects.filter(scope=scope).first()
        if record is None or record.status == IdempotencyRecord.Status.DONE:
            return record
        if time.monotonic() >= deadline:
            return record
        time.sleep(POLL_SECONDS)


class IdempotencyKeyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH:
            return JsonResponse(
                {
                    HEADER: [
                        _("Give a key of 1 to %(maximum)s characters.")
                        % {"maximum": MAX_KEY_LENGTH}
                    ]
                },
                status=400,
            )
        caller = _caller(request)
        if caller is None:  # unauthenticated: the view answers 401, nothing to remember
            return self.get_response(request)
        tenant = request.headers.get("X-Tenant", "")
        scope = _sha256(f"{caller}|{tenant}|{key}".encode())
        fingerprint = _sha256(
            f"{request.method} {request.get_full_path()}\n".encode() + request.body
        )
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, fingerprint=fingerprint)
        except IntegrityError:
            return self._repeat(scope, fingerprint, request)
        try:
            response = self.get_response(request)
        except Exception:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        self._store(record, response)
        return response

    def _repeat(self, scope: str, fingerprint: str, request):
        record = _settled(scope)
        if record is None:  # the first one failed and let go of the key: run this one
            return self(request)
        if record.fingerprint != fingerprint:
            return JsonResponse(
                {
                    "detail": _("This %(header)s was used with another request.")
                    % {"header": HEADER}
                },
                status=422,
            )
        if record.status != IdempotencyRecord.Status.DONE:
            return JsonResponse(
                {
                    "detail": _("A request with this %(header)s is still being processed.")
                    % {"header": HEADER}
                },
                status=409,
            )
        return _replay(record)

    @staticmethod
    def _store(record: IdempotencyRecord, response) -> None:
        if (
            response.status_code >= 500
            or response.status_code in NOT_STORED
            or getattr(response, "streaming", False)
        ):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status=IdempotencyRecord.Status.DONE,
            response_status=response.status_code,
            response_body=response.content,
            content_type=response.get("Content-Type", ""),
            location=response.get("Location", "")[:500],
        )


def idempotency_records_purge(*, now=None) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_HOURS (beat)."""
    cutoff = (now or timezone.now()) - timezone.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
