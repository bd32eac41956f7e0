"""`make run`: SQLite, eager Celery, emails as files under var/mail/, DEBUG on."""

from portal.settings.base import *  # noqa: F403
from portal.settings.env import env

DEBUG = env.bool("DEBUG", default=True)
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=True)  # `make run` seeds the demo
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")

# Links in emails point at the port `make run PORT=…` serves on (SITE_URL still wins).
PORT = env.int("PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"

# Emails go to files, one per message, in var/mail/ (`make run` prints the path;
# staff also read every email in the admin's outbox), not onto the console
# where they buried the demo logins. EMAIL_URL or EMAIL_BACKEND choose otherwise.
if not env.str("EMAIL_URL", default="") and not env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"  # noqa: F405

# The demo's accounts sign in with their password alone (README.md, "make run");
# MFA_REQUIRED_FOR_PARTNERS=True tries the production policy. Passkeys work on
# http://127.0.0.1 here.
MFA_REQUIRED_FOR_PARTNERS = env.bool("MFA_REQUIRED_FOR_PARTNERS", default=False)
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=True)
# Webhooks to a receiver on this machine (http://127.0.0.1:…): local work only.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=True)
