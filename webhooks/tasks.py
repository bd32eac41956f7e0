"""Celery tasks of webhooks: they take ids and call one service (STYLE.md).
Every state lives in the rows, so a lost or repeated message changes nothing:
the sweeper finds what a lost one left, a repeated one finds nothing to do."""

from celery import shared_task

from webhooks import services


@shared_task(acks_late=True)
def fan_out(event_ids: list[str]) -> int:
    """Make the deliveries of these outbox events (each once)."""
    return len(services.events_fan_out(event_ids))


@shared_task(acks_late=True)
def deliver(delivery_id: str) -> bool:
    """One attempt of one delivery, if it is due; a failure is scheduled on the
    row (next_attempt_at) and retried by `sweep`, not by a Celery countdown, so a
    retry three days out survives broker restarts."""
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True)
def deliver_many(delivery_ids: list[str]) -> int:
    """An attempt of each of these deliveries that is due (a fan-out's, one
    endpoint's; the sweeper's), as `deliver` each, over keep-alive connections."""
    return services.deliveries_attempt(delivery_ids)


# The sweeper hands the due deliveries on in messages of this many.
SWEEP_DELIVER_MANY = 100


@shared_task
def sweep() -> int:
    """Beat: hand events not fanned out and deliveries due to the tasks again."""
    event_ids, delivery_ids = services.sweep()
    if event_ids:
        fan_out.delay(event_ids)
    for start in range(0, len(delivery_ids), SWEEP_DELIVER_MANY):
        deliver_many.delay(delivery_ids[start : start + SWEEP_DELIVER_MANY])
    return len(event_ids) + len(delivery_ids)


@shared_task
def purge() -> int:
    """Beat: forget events and delivery logs past WEBHOOKS_KEEP_DAYS."""
    return services.events_purge()
