"""Beat jobs of partnerships: expiry and end-date reminders. Each loads ids and
calls one idempotent service per row, so a rerun changes nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from partners import selectors, services


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
