"""Errors the service layer raises, mapped once to HTTP by portal.api.exceptions
and portal.views (PermissionDenied → 403, ValidationError → 400, Http404 → 404)."""

from django.utils.translation import gettext_lazy as _


class Conflict(Exception):
    """The object's current state forbids this transition (HTTP 409)."""

    def __init__(self, message: str = _("The object's current state does not allow this.")):
        super().__init__(message)
        self.message = message
