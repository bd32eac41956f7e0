"""`Idempotency-Key` for the API's POSTs (API.md): the same key with the same
request returns the first response again; with another request, 422.

A middleware, so it covers every POST of `/api/v1/` the same way. The key is
scoped to the caller (its API token, or its session's user) and the
organization it names (`X-Tenant`), so one client's keys never meet another's.

    first request   → in one transaction: a row `in_progress` is inserted (the
                      unique scope is the lock: of 20 identical requests at once
                      exactly one runs, the others wait for its commit), the
                      view runs, its response is stored (`done`); an exception
                      rolls back the row and the view's writes together
    same key, same  → the stored response, with `Idempotent-Replayed: true`;
    request           one still running is waited for (up to WAIT_SECONDS),
                      then answered 409 "still being processed"
    same key, other → 422
    request

What is kept never holds a secret, and nothing is kept that a stranger could
make us keep (issue 21):

- only an authenticated caller's request is remembered: a live API token (read
  here, before the view, so a made-up `Bearer` with a key writes no row) or a
  signed-in session; anyone else passes straight to the view, which answers 401;
- only a success (2xx, 3xx) is stored: a 4xx (bad input, refused, 409, 429) or
  a 5xx (or an exception) stores nothing, so the client may correct the request
  or retry it with the same key;
- a field the view marks secret (`tenants.api_base.secret_response`: a new
  token) is stored as null, with a `detail` saying the object was created and
  its secret shown once: the replay says so, and never shows the secret.

Records are kept IDEMPOTENCY_KEY_TTL_HOURS (48) and then purged by beat.
"""

import hashlib
import json
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import IdempotencyRecord
from tenants.api_base import SECRET_FIELDS
from tenants.models import Tenant
from tenants.selectors import api_token_authenticate

HEADER = "Idempotency-Key"
API_PREFIX = "/api/v1/"
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _caller(request) -> str | None:
    """Who is asking, when the API will know them: a live API token of an
    organization that is not suspended (as `tenants.authentication` reads it),
    else the session's user; None for anyone else."""
    parts = request.headers.get("Authorization", "").split()
    if parts and parts[0].lower() == "bearer":
        token = api_token_authenticate(raw=parts[1]) if len(parts) == 2 else None
        if token is None or token.tenant.status == Tenant.Status.SUSPENDED:
            return None
        return f"token:{token.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _stored_body(response) -> bytes:
    """The response's body as kept for a replay: the fields the view marked
    secret are null, and a `detail` says why."""
    secret = getattr(response, SECRET_FIELDS, ())
    if not secret:
        return response.content
    data = json.loads(response.content)
    if not isinstance(data, dict):  # nothing of it is kept but the status
        data = {}
    for name in secret:
        if name in data:
            data[name] = None
    data["detail"] = _(
        "Created by the first request with this %(header)s. What is shown only once "
        "(%(fields)s) was in that answer and is not kept."
    ) % {"header": HEADER, "fields": ", ".join(secret)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


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
        if caller is None:  # unauthenticated: the view answers 401; nothing kept, no row
            return self.get_response(request)
        tenant = request.headers.get("X-Tenant", "")
        scope = _sha256(f"{caller}|{tenant}|{key}".encode())
        fingerprint = _sha256(
            f"{request.method} {request.get_full_path()}\n".encode() + request.body
        )
        # The record, the view's writes and the stored response commit together
        # or not at all (issue 28): a database lost mid-request (a restart) can
        # neither strand the key `in_progress` nor leave a committed order whose
        # key runs the view again. An exception rolls everything back.
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(scope=scope, fingerprint=fingerprint)
            except IntegrityError:
                record = None  # another request holds the key (its transaction has ended)
            else:
                response = self.get_response(request)
                self._store(record, response)
        if record is None:
            return self._repeat(scope, fingerprint, request)
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
        if response.status_code >= 400 or getattr(response, "streaming", False):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status=IdempotencyRecord.Status.DONE,
            response_status=response.status_code,
            response_body=_stored_body(response),
            content_type=response.get("Content-Type", ""),
            location=response.get("Location", "")[:500],
        )


def idempotency_records_purge(*, now=None) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_HOURS (beat)."""
    cutoff = (now or timezone.now()) - timezone.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
