"""Jobs of the customer import: run a large import, and sweep the ones whose
message or worker was lost. Both are idempotent (a job no longer queued is skipped).

They keep the names they were registered under in `partners` (issue 19), so
messages already queued and the beat schedule still reach them."""

from celery import shared_task
from django.utils import timezone

from imports.jobs import import_job_run, import_jobs_to_retry


@shared_task(name="partners.tasks.run_import_job")
def run_import_job(job_id: str) -> str:
    """Write a large import (imports.jobs); a job no longer queued is skipped."""
    return import_job_run(job_id=job_id)


@shared_task(name="partners.tasks.sweep_import_jobs")
def sweep_import_jobs() -> int:
    """Re-enqueue import jobs whose message or worker was lost (beat)."""
    ids = import_jobs_to_retry(now=timezone.now())
    for job_id in ids:
        run_import_job.delay(str(job_id))
    return len(ids)
