"""Errors the service layer raises, mapped once to HTTP by portal.api.exceptions
and portal.views (PermissionDenied → 403, ValidationError → 400, Http404 → 404,
TooManyAttempts → 429)."""

from collections.abc import Iterator
from contextlib import contextmanager

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


class Errors:
    """Every problem of one input, collected and raised once (issue 25: a form
    shows all its errors at once, not one stage per submit):

        errors = Errors()
        with errors.collect():
            prices_check(...)
        with errors.collect():
            tiers_check(...)
        errors.raise_any()

    A check's ValidationError is kept (field → messages) and the next check
    runs; `raise_any` raises them all as one ValidationError."""

    def __init__(self) -> None:
        self.found: dict[str, list] = {}

    def add(self, field: str | None, message: object) -> None:
        self.found.setdefault(field or "__all__", []).append(message)

    def add_error(self, exc: DjangoValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                for error in errors:
                    for message in error.messages:
                        self.add(field, message)
        else:
            for message in exc.messages:
                self.add(None, message)

    @contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except DjangoValidationError as exc:
            if isinstance(exc, TooManyAttempts):
                raise
            self.add_error(exc)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_any(self) -> None:
        if self.found:
            raise DjangoValidationError(
                {field: list(messages) for field, messages in self.found.items()}
            )
