"""An API request's objects freed when its response is closed, not by the
garbage collector.

DRF ties a request's objects in reference cycles: the view holds the request,
the response, the paginator and its own bound handlers (a viewset's `get` is
`self.list`); the request's `parser_context` holds the view and the request
itself; the response's `renderer_context` holds the view, the request and the
response. None of it is freed when the request ends: it waits for the cyclic
garbage collector, and with it everything those objects reach (the page's
rows, the querysets and their compiled queries): about 850 objects for a page
of 50 customers, where a plain Django view leaves about 40. The collector then
runs four times as often, its younger generations hold whole requests, and its
full collections (200,000 objects: the whole process) come far more often and
take tens to hundreds of milliseconds each: the customer list API's slow tail
(docs/performance.md, issue 27 point 3).

`install()` (PortalConfig.ready) wraps `APIView.finalize_response`: each
response gets a closer that breaks those links when the server closes it
(`HttpResponse.close`, after the body is sent; Django's test client closes it
too), so the request's objects go as soon as the server lets go of the
response. Nothing reads them after that: the body is rendered, the middleware
has run; `response.data` stays (tests read it).
"""

from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList
from rest_framework.views import APIView


def release(view, request, response) -> None:
    """Break the reference cycles among a finished request's view, DRF request,
    response and serializers."""
    view.__dict__.clear()  # its request, response, paginator, bound handlers
    request.parser_context = None  # the view and the request itself
    response.renderer_context = None  # the view, the request and the response itself
    data = getattr(response, "data", None)
    for value in (data, *(data.values() if isinstance(data, dict) else ())):
        # a serializer's output (the body or a paginated page's `results`) and
        # its serializer hold each other; a list serializer and its child too
        if isinstance(value, ReturnDict | ReturnList) and value.serializer is not None:
            serializer, value.serializer = value.serializer, None
            child = getattr(serializer, "child", None)
            serializer.__dict__.clear()  # its data, context (the view, the request), child
            if child is not None:
                child.__dict__.clear()  # its parent


def _closing(finalize):
    def finalize_response(self, request, response, *args, **kwargs):
        response = finalize(self, request, response, *args, **kwargs)
        closers = getattr(response, "_resource_closers", None)
        if closers is not None:  # an HttpResponse (a handler may return another)
            closers.append(lambda: release(self, request, response))
        return response

    finalize_response.wrapped = finalize
    return finalize_response


def install() -> None:
    if hasattr(APIView.finalize_response, "wrapped"):
        return
    APIView.finalize_response = _closing(APIView.finalize_response)
