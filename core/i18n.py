"""The language of a request: the signed-in person's setting, else the browser's
(Django's LocaleMiddleware, which runs first). See docs/i18n.md."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

SUPPORTED = {code for code, _ in settings.LANGUAGES}


def user_language(user) -> str | None:
    """A person's chosen language, if they chose one we still offer."""
    language = getattr(user, "language", "")
    return language if language in SUPPORTED else None


class UserLanguageMiddleware:
    """After authentication: a person's setting wins over the browser's languages.
    (An API token's owner is known only in DRF's authentication, which activates
    the setting there: `tenants.authentication`.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = user_language(getattr(request, "user", None))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response
