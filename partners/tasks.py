"""Beat jobs of partnerships: expiry and end-date reminders. Each loads ids and
calls one idempotent service per row, so a rerun changes nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from partners import imports, selectors, services


@shared_task
def expire_partnerships() -> int:
    now = timezone.now()
    ids = list(
        selectors.partnerships_due_to_expire(today=timezone.localdate()).values_list(
            "pk", flat=True
        )
    )
    ids += list(selectors.invitations_past_expiry(now=now).values_list("pk", flat=True))
    return sum(services.partnership_expire(partnership_id=pk) for pk in ids)


@shared_task
def remind_partnerships_ending() -> int:
    today = timezone.localdate()
    sent = 0
    for days in services.REMINDER_DAYS:
        for pk in selectors.partnerships_ending_on(day=today + datetime.timedelta(days=days)):
            sent += services.partnership_remind(partnership_id=pk, days=days)
    return sent


@shared_task
def run_import_job(job_id: str) -> str:
    """Write a large import (partners.imports); a job no longer queued is skipped."""
    return imports.import_job_run(job_id=job_id)


@shared_task
def sweep_import_jobs() -> int:
    """Re-enqueue import jobs whose message or worker was lost (beat)."""
    ids = imports.import_jobs_to_retry(now=timezone.now())
    for job_id in ids:
        run_import_job.delay(str(job_id))
    return len(ids)
