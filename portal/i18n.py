"""The footer's language picker (docs/i18n.md); a person's language is read by
`core.i18n`."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from core.i18n import SUPPORTED
from tenants.services import user_profile_update


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The footer's picker: Django's `set_language` (the cookie, the redirect to a
    safe `next`), and for a signed-in person their setting too."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if language in SUPPORTED and request.user.is_authenticated:
        user = request.user
        user_profile_update(user=user, full_name=user.full_name, language=language)
    return response
