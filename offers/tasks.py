"""Celery tasks of offers: each takes ids and calls one idempotent service, so
a redelivered task changes nothing twice (one status change, one email)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from offers import services

DELIVERY_CHUNK = 100


@shared_task
def deliver_batch(batch_id: str) -> int:
    """Fan a bulk send out: one delivery task per chunk of its waiting offers, so
    the workers share the send and each task does its chunk in a few queries."""
    ids = services.offers_to_deliver(batch_id=batch_id)
    for start in range(0, len(ids), DELIVERY_CHUNK):
        deliver_offers.delay(ids[start : start + DELIVERY_CHUNK])
    return len(ids)


@shared_task(bind=True, acks_late=True, max_retries=settings.OFFER_DELIVERY_MAX_RETRIES)
def deliver_offers(self, offer_ids: list[str]) -> int:
    """Deliver a chunk; on a failure retry with backoff, and past the last retry
    fail each offer of the chunk still waiting, with the reason."""
    try:
        return services.offers_deliver(offer_ids=offer_ids)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            reason = str(exc) or type(exc).__name__
            for offer_id in offer_ids:
                services.offer_delivery_failed(offer_id=offer_id, reason=reason)
            return 0
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 1800)) from exc


@shared_task(bind=True, acks_late=True, max_retries=settings.OFFER_DELIVERY_MAX_RETRIES)
def deliver_offer(self, offer_id: str) -> bool:
    """Deliver one offer; a failure retries with exponential backoff and, past the
    last retry, ends the offer `failed` with the reason."""
    try:
        return services.offer_deliver(offer_id=offer_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            services.offer_delivery_failed(offer_id=offer_id, reason=str(exc) or type(exc).__name__)
            return False
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 1800)) from exc


@shared_task
def sweep_waiting_offers() -> int:
    """Re-enqueue offers left waiting (lost to a broker outage or a dead worker)."""
    ids = services.offers_to_deliver(older_than_seconds=settings.SWEEP_AFTER_SECONDS)
    for start in range(0, len(ids), DELIVERY_CHUNK):
        deliver_offers.delay(ids[start : start + DELIVERY_CHUNK])
    return len(ids)


@shared_task
def expire_offers() -> int:
    ids = services.offers_past_expiry(now=timezone.now())
    return sum(services.offer_expire(offer_id=offer_id) for offer_id in ids)
