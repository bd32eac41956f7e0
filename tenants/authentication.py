from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.i18n import user_language
from tenants.models import Tenant
from tenants.selectors import api_token_authenticate, tenant_suspended_message
from tenants.services import api_token_touch


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: the token's user, acting in the token's tenant
    (`request.auth` is the ApiToken). A suspended organization's token is
    refused with 403 on every request, whatever it asks (SPEC §2)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header."))
        token = api_token_authenticate(raw=parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        language = user_language(token.user)
        if language:  # the owner's setting wins over Accept-Language, as on pages
            translation.activate(language)
            request.LANGUAGE_CODE = language
        if token.tenant.status == Tenant.Status.SUSPENDED:
            # every request of a suspended organization's token, whatever it asks (403)
            raise exceptions.PermissionDenied(tenant_suspended_message(token.tenant))
        api_token_touch(
            token=token, precision_seconds=settings.API_TOKEN_LAST_USED_PRECISION_SECONDS
        )
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token made by an owner or admin.",
        }
