"""One mapping from service-layer errors to API.md's error rules.

Every answer under /api/ is JSON, errors included: DRF's errors through
`exception_handler`; a URL no route matches, a request Django refuses before
any view, and a server error (an unexpected exception anywhere, a view or a
middleware) through `handler404`, `handler400` and `handler500`. A 500 carries
the request's id (`request_id`, also the `X-Request-ID` header and in every log
line of the request: portal.request_id), so a report can be matched with the
traceback in the logs. A server error because the database cannot be reached
(a restart, a failover: Django's OperationalError or InterfaceError) is not the
request's fault and passes: it answers 503 with `Retry-After`, in the same shape
(issue 28, docs/reliability.md); a write refused so was not committed, or is
replayed by its `Idempotency-Key`. A page answers the same 503 and
`Retry-After` as a short HTML page (`templates/503.html`), rendered without
touching the database.
"""

import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import Conflict, TooManyAttempts, validation_detail
from portal.request_id import current_request_id


def exception_handler(exc, context):
    if isinstance(exc, TooManyAttempts):  # before ValidationError, which it is too
        exc = exceptions.Throttled(wait=exc.retry_after, detail=exc.messages[0])
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, list):
        # a bare message (DRF's search filter raises one) is a field error of no field
        exc = exceptions.ValidationError({"non_field_errors": exc.detail})
    if isinstance(exc, Conflict):
        response = Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    else:
        # None for an unexpected exception: it goes on to Django, which logs its
        # traceback, rolls back, and answers with `server_error` (JSON here)
        response = drf_exception_handler(exc, context)
    if response is not None:
        # errors are JSON, also where the answer would have been CSV (`?format=csv`)
        request = context["request"]
        request.accepted_renderer, request.accepted_media_type = JSON, JSON.media_type
    return response


JSON = JSONRenderer()
DATABASE_RETRY_AFTER = 2  # seconds: a restart or a failover takes about that


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """`handler404`: a URL no route matches (an id that is not a UUID, say) is JSON
    under /api/ like every other answer of the API; a page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
    return render(request, "404.html", {"reason": not_found_reason(exception)}, status=404)


def not_found_reason(exception) -> str:
    """The reason a view gave its 404 ("No such invoice.", translated when it was
    raised), for the page to show; none for a URL no route matches, nor for
    Django's own "No <Model> matches the given query." (a model's name)."""
    message = exception.args[0] if exception is not None and exception.args else None
    if not isinstance(message, str | Promise):
        return ""
    message = str(message)
    return "" if message.endswith("matches the given query.") else message


def bad_request(request, exception=None):
    """`handler400`, for the same reason (a request Django refuses before any view)."""
    if _is_api(request):
        return JsonResponse({"detail": _("Bad request.")}, status=status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


@requires_csrf_token
def server_error(request):
    """`handler500`: under /api/ the API's error shape, with the request id the
    logs carry; a page elsewhere. Django calls it with DEBUG off, after logging
    the exception."""
    if _is_api(request):
        request_id = getattr(request, "request_id", None) or current_request_id()
        if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
            response = JsonResponse(
                {
                    "detail": _("The database is briefly unavailable. Retry shortly."),
                    "request_id": request_id,
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
            response["Retry-After"] = str(DATABASE_RETRY_AFTER)
            return response
        return JsonResponse(
            {"detail": _("A server error occurred."), "request_id": request_id},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable_page(request)
    return defaults.server_error(request)


def database_unavailable_page(request) -> HttpResponse:
    """A page's answer while the database cannot be reached: 503 with
    `Retry-After`, a short page in the language the request was in
    (`templates/503.html`). Rendered without the request (no context
    processor, no user, no session): nothing here touches the database."""
    request_id = getattr(request, "request_id", None) or current_request_id()
    response = HttpResponse(
        loader.render_to_string("503.html", {"request_id": request_id}),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response
