"""Settings for the gunicorn that `bench/throughput.py` loads: production's
(`portal.settings.prod`: DEBUG off, persistent connections) on the bench
database, plain HTTP on loopback, and `bench_urls` as the URLconf, which adds
the floor view to the portal's own URLs. Never used outside the bench."""

import os
import warnings

warnings.filterwarnings("ignore", "No directory at", UserWarning)  # whitenoise, no collectstatic

os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")  # plain HTTP on loopback
os.environ.setdefault("SECURE_COOKIES", "False")
# The per-user API throttle stays on (it costs a cache round trip per request),
# at a rate a load test does not reach.
os.environ.setdefault("API_THROTTLE_USER", "100000000/hour")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from portal.settings.prod import *  # noqa: E402, F403

ROOT_URLCONF = "bench_urls"
# No collectstatic for a bench: static URLs without the manifest's hashes.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
