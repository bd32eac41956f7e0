"""Celery tasks of the tenancy core: they take ids, load, call one service."""

from celery import shared_task
from django.core.exceptions import ObjectDoesNotExist

from tenants import emails
from tenants.models import Membership


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


@shared_task
def sweep_pending_emails() -> int:
    """Re-enqueue emails left pending (lost to a broker outage or a dead worker)."""
    ids = emails.email_pending_ids(older_than_seconds=300)
    for email_id in ids:
        deliver_email.delay(email_id)
    return len(ids)


@shared_task
def send_membership_invitation(membership_id: str) -> None:
    from tenants.notifications import membership_invitation_queue

    try:
        membership = Membership.objects.select_related("user", "tenant", "invited_by").get(
            id=membership_id
        )
    except ObjectDoesNotExist:
        return  # removed before delivery: nothing to say
    membership_invitation_queue(membership=membership)
