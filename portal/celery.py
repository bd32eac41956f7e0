"""The Celery app. Broker and behaviour come from the CELERY_* Django settings.

Tasks get ids and JSON only (JSON serialization is the only accepted content),
acknowledge late, and services enqueue them with `enqueue_on_commit` so a
rolled-back transaction never sends anything.
"""

import os

from celery import Celery

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.dev"

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
