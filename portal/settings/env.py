"""The one place settings read the environment.

`env` is django-environ's reader; `require` fails loudly for a key that must be
set (production secrets), so a missing value never silently becomes a default.
"""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def require(key: str) -> str:
    value = env.str(key, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {key} must be set.")
    return value
