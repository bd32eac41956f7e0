"""A request id for every request (docs/reliability.md, "Request ids").

`RequestIdMiddleware`, first in MIDDLEWARE, takes the caller's `X-Request-ID`
when it is well-formed (8 to 64 letters, digits, `-`, `_`, `.`, `:`; a proxy
or a client may have set one) and otherwise makes one (32 hex digits). The id is
`request.request_id`, it goes back in the `X-Request-ID` header of every answer
and in the body of the API's 500s (`portal.api.exceptions.server_error`), and
`RequestIdFilter` puts it on every log record written while the request is
served (`-` outside a request: a Celery task, a command).
"""

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,64}")
NONE = "-"

_current: ContextVar[str] = ContextVar("request_id", default=NONE)


def current_request_id() -> str:
    """The id of the request being served in this thread, or "-"."""
    return _current.get()


def request_id_for(request) -> str:
    """The caller's `X-Request-ID` if well-formed, else a new one."""
    given = request.headers.get(HEADER, "")
    return given if WELL_FORMED.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`; never filters a record out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True
