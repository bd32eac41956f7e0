from celery import shared_task
from django.core.cache import cache

from portal.idempotency import idempotency_records_purge


@shared_task
def ping(token: str) -> str:
    """A round trip through the broker and a worker: leaves `pong` in the cache."""
    cache.set(f"ping:{token}", "pong", timeout=60)
    return "pong"


@shared_task
def purge_idempotency_records() -> int:
    """Forget Idempotency-Keys past their retention (beat)."""
    return idempotency_records_purge()
