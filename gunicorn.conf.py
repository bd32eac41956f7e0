"""gunicorn's settings for the Docker image and the compose stack (`-c gunicorn.conf.py`).

The command line still names the app, the address and the access log; what is
here is the workers (threaded, sized by the environment: docs/operations.md)
and the bounds on what a client may send before Django sees the request (issue
21, docs/security.md "Request size"). The body's size is bounded by the app itself
(portal.request_size), and should be by the proxy in front too.
"""

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
