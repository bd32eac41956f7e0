"""`make test`: SQLite unless DATABASE_URL / REDIS_URL point at the real services."""

import os
import tempfile

from portal.settings.base import *  # noqa: F403

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "https://portal.example.test"
DEMO_DATA_ALLOWED = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Tasks run in-process so tests see their effects; tests of the broker path start
# a real worker against CELERY_BROKER_URL (Redis when REDIS_URL is set).
CELERY_TASK_ALWAYS_EAGER = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory, so concurrent tests wait for the write lock.
    # One file per test process, in the temp folder; removed when the run ends.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"portal-test-{os.getpid()}.sqlite3")
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "100000/hour"}}  # noqa: F405
# Most tests sign in without a second factor; tenants/tests/test_mfa.py turns the
# partners' requirement on (its default everywhere else, base.py). The live
# server of the e2e journeys is http: passkeys are allowed there.
MFA_REQUIRED_FOR_PARTNERS = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True

# Webhooks to a receiver on this machine (http://127.0.0.1:…): tests and local work only.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

# Session activity is tracked in production (base.py); here only by the tests of
# it (tenants/tests/test_sessions.py, e2e/test_sessions.py), so that the pinned
# statement counts of pages do not include a session's first activity write.
USERSESSIONS_TRACK_ACTIVITY = False
