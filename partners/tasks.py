"""Beat jobs of partnerships: expiry and end-date reminders. Each loads ids and
calls one idempotent service per row, so a rerun changes nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from partners import imports, selectors, services
from partners.services.tenders import partners_receiving_tenders, tender_tell_partner


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


@shared_task
def tell_partners_of_tender(tender_id: str) -> int:
    """Fan a new tender out: one task per partner that opted in to tenders."""
    ids = [str(pk) for pk in partners_receiving_tenders().values_list("pk", flat=True)]
    for partner_id in ids:
        tell_partner_of_tender.delay(tender_id, partner_id)
    return len(ids)


@shared_task(autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def tell_partner_of_tender(tender_id: str, partner_id: str) -> int:
    """Email one partner an excerpt; idempotent (keyed emails)."""
    return tender_tell_partner(tender_id=tender_id, partner_id=partner_id)
