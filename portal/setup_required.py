"""Before `manage.py setup_platform` has run there is no provider organization
(SPEC §2 "Operator set-up"). A page that needs it raises PlatformNotSetUp; this
middleware answers it with a page naming the command, never a 500. Under
/api/ DRF's exception handler answers first (409, the API's error shape)."""

from django.shortcuts import render

from tenants.exceptions import SETUP_COMMAND, PlatformNotSetUp


def setup_required_page(request):
    return render(request, "setup_required.html", {"command": SETUP_COMMAND}, status=409)


class PlatformNotSetUpMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PlatformNotSetUp):
            return setup_required_page(request)
        return None
