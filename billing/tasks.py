"""Beat job of billing: renewals. The job lists what is due and enqueues one
task per period; each task bills its period once (billing.services.renewals),
so a rerun, a redelivery or two workers racing bill nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from billing.services import renewals


@shared_task
def place_renewals() -> int:
    due = list(renewals.renewals_due(today=timezone.localdate()))
    for subscription_id, period in due:
        renew_subscription.delay(subscription_id, period.isoformat())
    return len(due)


@shared_task(acks_late=True)
def renew_subscription(subscription_id: str, period_starts_on: str) -> str | None:
    order = renewals.subscription_renew(
        subscription_id=subscription_id,
        period_starts_on=datetime.date.fromisoformat(period_starts_on),
    )
    return str(order.pk) if order else None
