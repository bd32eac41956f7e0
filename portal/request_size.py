"""Request bodies are capped before anything reads them (issue 21, reproduction 7).

A body's size is known from its `Content-Length` before a byte of it is read:
a request that announces more than its route takes is answered 413 at once
(JSON under /api/, a page elsewhere), so a 60 MB "logo" costs the server
nothing. The middleware sits before every one that reads a body (the
Idempotency-Key fingerprint, CSRF's form) and after the session and user, so
its page can be rendered like any other.

Every route takes at most `REQUEST_BODY_MAX_BYTES` (Django's
`DATA_UPLOAD_MAX_MEMORY_SIZE`, a form or JSON body); the upload routes take
what their file may weigh (`tenants.services.LOGO_MAX_BYTES`,
`imports.parse.MAX_BYTES`) plus room for the multipart envelope and the
form's other fields. A body without a `Content-Length` (chunked) is not read by
Django at all. The service's own check still says why a file that got through
is refused (too large, wrong type) with a 400.

In front of the app, gunicorn bounds the request line and headers
(gunicorn.conf.py) and a proxy should bound the body too
(docs/security.md, "Request size").
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from imports.parse import MAX_BYTES as IMPORT_MAX_BYTES
from tenants.services import LOGO_MAX_BYTES

# The multipart envelope (boundaries, part headers) and the form's other fields.
ENVELOPE_BYTES = 64 * 1024

# Routes whose body may be larger than a form's: their upload and its envelope.
ROUTE_MAX_BYTES = {
    "organization": LOGO_MAX_BYTES + ENVELOPE_BYTES,  # the page's logo form
    "api:organization-branding-logo": LOGO_MAX_BYTES + ENVELOPE_BYTES,
    "customer_import": IMPORT_MAX_BYTES + ENVELOPE_BYTES,
    "api:customer-import": IMPORT_MAX_BYTES + ENVELOPE_BYTES,
}


def route_max_bytes(path: str) -> int:
    """How large a body the route of `path` takes."""
    try:
        name = resolve(path).view_name
    except Resolver404:
        name = ""
    return max(ROUTE_MAX_BYTES.get(name, 0), settings.REQUEST_BODY_MAX_BYTES)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.2f}".rstrip("0").rstrip(".")


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # as Django reads it: no body
        if length > settings.REQUEST_BODY_MAX_BYTES:
            limit = route_max_bytes(request.path_info)
            if length > limit:
                return self.refuse(request, limit)
        return self.get_response(request)

    @staticmethod
    def refuse(request, limit: int):
        message = _(
            "This request is too large: at most %(size)s MB is accepted here. Send a smaller file."
        ) % {"size": _megabytes(limit)}
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=413)
        return render(request, "413.html", {"message": message}, status=413)
