"""`make run`: SQLite, eager Celery, email on the console, DEBUG on."""

from portal.settings.base import *  # noqa: F403
from portal.settings.env import env

DEBUG = env.bool("DEBUG", default=True)
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=True)  # `make run` seeds the demo
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
