"""gunicorn's settings for the Docker image and the compose stack (`-c gunicorn.conf.py`).

The command line still names the app, the address and the access log; what is
here is the workers (threaded, sized by the environment: docs/operations.md)
and the bounds on what a client may send before Django sees the request (issue
21, docs/security.md "Request size"). The body's size is bounded by the app itself
(portal.request_size), and should be by the proxy in front too. gunicorn's own
logs (the master's and workers' lines, the access log) are written like the
app's (portal/logs.py): UTC, ISO 8601, JSON lines in production.
"""

import gc
import os

# The request line (method, path and query string): gunicorn's default, stated.
# A longer one is answered 414 by gunicorn.
limit_request_line = 4094
# At most this many header fields (gunicorn's default is 100): a browser sends
# about 15, a proxy adds a few.
limit_request_fields = 50
# Each header field, name and value: gunicorn's default, stated (the session
# and CSRF cookies are far shorter).
limit_request_field_size = 8190

# Workers and threads (docs/operations.md, "gunicorn"). gthread workers: each
# process serves `threads` requests at once, so a health probe is answered while
# other threads wait on the database or Redis (with sync workers, two requests
# stuck on a paused Redis left /healthz unanswered). Each thread holds its own
# database connection (CONN_MAX_AGE): workers x threads connections per web
# container. WEB_CONCURRENCY is the name gunicorn and most platforms use.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))


# The garbage collector's first threshold (Python's default: 700): a young
# collection when this many more container objects were made than freed. A
# request of the customer list API holds a few thousand at once, so at 700 a
# request triggered about one young collection, each walking the request's
# live objects and moving them to older generations; at 7,000 a request
# rarely triggers one: the collector's time per API request fell from 0.38
# to 0.06 ms (docs/performance.md, issue 27 point 3). What is left for it
# (Django's own request cycles, about 40 objects a request) waits a few
# hundred requests at most.
GC_THRESHOLD = 7_000


def post_worker_init(worker):
    """Each worker, once the app is loaded: import the URLconf (every view
    module, what the first request would import), then move everything alive
    now into the collector's permanent generation (`gc.freeze`). The garbage
    collector's full collections then walk only what requests left behind, not
    the code, settings and URL patterns of the whole process (about 200,000
    objects): 1-2 ms each instead of 130-200 ms, which every request the
    worker was serving waited out (docs/performance.md, the customer list API's
    slow tail). And young collections come at `GC_THRESHOLD`."""
    from django.urls import get_resolver

    try:
        get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
    except Exception:  # the first request reports it, as without this hook
        worker.log.exception("importing the URLconf before gc.freeze()")
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


# Logs (docs/operations.md, "Logs"): gunicorn's lines in the app's format
# (portal/logs.py, LOGGING in portal/settings): the time in UTC, ISO 8601, and
# in production (portal.settings.prod, the image's default) one JSON object per
# line; the access log (`--access-logfile -`) on stdout, the rest on stderr,
# neither passed on to the root logger (Django's LOGGING would print it twice).
# An access line carries the request id the app answered with (X-Request-ID);
# its own time stamp (%(t)s, local time) is left out: the record's is the time.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
_FORMAT = "json" if os.environ.get("DJANGO_SETTINGS_MODULE") == "portal.settings.prod" else "plain"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"gunicorn": {"()": "portal.logs.GunicornFilter"}},
    "formatters": {
        "plain": {
            "()": "portal.logs.UtcFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "portal.logs.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _FORMAT,
            "filters": ["gunicorn"],
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": _FORMAT,
            "filters": ["gunicorn"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
