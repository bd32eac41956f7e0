"""Production: secrets from the environment, DEBUG refused, HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from portal.settings.base import *  # noqa: F403
from portal.settings.env import env, require

SECRET_KEY = require("SECRET_KEY")
if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must not be enabled with production settings.")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)  # noqa: F405

# HTTPS everywhere. The headers every environment sends (CSP, frame options,
# nosniff, referrer and opener policies) are in base.py.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# HSTS goes out on HTTPS responses only, so the plain-http compose stack is unaffected.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Cookies travel over HTTPS only; SECURE_COOKIES=False is for a local plain-http
# stack (docker compose on localhost), never for a public deployment.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Logs as JSON lines (one object per record: time in UTC, level, logger,
# request id, message, traceback), for a log collector.
LOGGING = {  # a copy: base's dict is left as it is
    **LOGGING,  # noqa: F405
    "handlers": {"console": {**LOGGING["handlers"]["console"], "formatter": "json"}},  # noqa: F405
}
