"""Celery tasks of the tenancy core: they take ids, load, call one service."""

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from tenants import emails
from tenants.models import Membership
from tenants.notifications import membership_invitation_queue


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=emails.MAX_ATTEMPTS,
)
def deliver_email(self, email_id: str) -> bool:
    return emails.email_deliver(email_id=email_id)


@shared_task(
    bind=True,
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=emails.MAX_ATTEMPTS,
)
def deliver_emails(self, email_ids: list[str]) -> int:
    """Send many queued emails from one task (a notification to several people,
    a bulk send). Each is sent at most once (its row guards it); those that fail
    are retried together with backoff, the rest stay sent. Returns how many this
    run sent."""
    sent, failed, last_error = 0, [], None
    for email_id in email_ids:
        try:
            sent += emails.email_deliver(email_id=email_id)
        except Exception as exc:  # recorded on the row by email_deliver
            failed.append(email_id)
            last_error = exc
    if failed:
        raise self.retry(args=[failed], exc=last_error)
    return sent


@shared_task
def sweep_pending_emails() -> int:
    """Re-enqueue emails left pending (lost to a broker outage or a dead worker)."""
    ids = emails.email_pending_ids(older_than_seconds=settings.SWEEP_AFTER_SECONDS)
    for email_id in ids:
        deliver_email.delay(email_id)
    return len(ids)


@shared_task
def send_membership_invitation(membership_id: str) -> None:
    try:
        membership = Membership.unscoped.select_related("user", "tenant", "invited_by").get(
            id=membership_id
        )
    except ObjectDoesNotExist:
        return  # removed before delivery: nothing to say
    membership_invitation_queue(membership=membership)
