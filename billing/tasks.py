"""Beat job of billing: renewals. The job lists what is due and enqueues one
task per batch of RENEWAL_BATCH periods; each task bills its periods once
(billing.services.renewals), so a rerun, a redelivery or two workers racing
bill nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from billing.services import renewals


@shared_task
def place_renewals() -> int:
    due = list(renewals.renewals_due(today=timezone.localdate()))
    for start in range(0, len(due), renewals.RENEWAL_BATCH):
        renew_batch.delay(
            [
                [subscription_id, period.isoformat()]
                for subscription_id, period in due[start : start + renewals.RENEWAL_BATCH]
            ]
        )
    return len(due)


@shared_task(acks_late=True)
def renew_batch(due: list[list[str]]) -> int:
    """A batch of [subscription id, period start]: how many were placed."""
    return renewals.renewals_place(
        due=[
            (subscription_id, datetime.date.fromisoformat(period))
            for subscription_id, period in due
        ]
    )


@shared_task(acks_late=True)
def renew_subscription(subscription_id: str, period_starts_on: str) -> str | None:
    """One period (the tasks queued before batches; staff's reruns)."""
    order = renewals.subscription_renew(
        subscription_id=subscription_id,
        period_starts_on=datetime.date.fromisoformat(period_starts_on),
    )
    return str(order.pk) if order else None
