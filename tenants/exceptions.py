"""Errors the service layer raises, mapped once to HTTP by portal.api.exceptions
and portal.views (PermissionDenied → 403, ValidationError → 400, Http404 → 404,
TooManyAttempts → 429)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _


class Conflict(Exception):
    """The object's current state forbids this transition (HTTP 409)."""

    def __init__(self, message: str = _("The object's current state does not allow this.")):
        super().__init__(message)
        self.message = message


SETUP_COMMAND = (
    'python manage.py setup_platform --name "<company>" --currency CHF --admin-email <you@company>'
)


class PlatformNotSetUp(Conflict):
    """The install has no provider organization yet: `manage.py setup_platform`
    has not run (SPEC §2 "Operator set-up"). HTTP 409 in the API; in the browser
    a page naming the command (portal.views.PlatformNotSetUpMiddleware)."""

    def __init__(self):
        super().__init__(
            _("The platform is not set up yet. An operator runs: %(command)s")
            % {"command": SETUP_COMMAND}
        )


class TooManyAttempts(DjangoValidationError):
    """Too many wrong passwords to confirm a sensitive action
    (tenants.reauthentication): HTTP 429 in the API (with Retry-After), the
    form's error on a page. A ValidationError, so a form shows it like any."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, code="too_many_attempts")
        self.retry_after = retry_after


def validation_detail(exc: DjangoValidationError):
    """A service's ValidationError as field → messages: the API's 400 body and the
    forms' inline errors (`tenants.web.form_add_service_errors`) read the same."""
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [
                m for e in errors for m in e.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return {"non_field_errors": exc.messages}
