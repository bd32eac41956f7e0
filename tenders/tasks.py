"""Tenders' tasks: fan a new tender out to the partners that opted in, one
email each. They keep the names they had in `partners.tasks`, so messages
already queued under those names still find them after a deploy."""

from celery import shared_task

from tenders.services import partners_receiving_tenders, tender_tell_partner


@shared_task(name="partners.tasks.tell_partners_of_tender")
def tell_partners_of_tender(tender_id: str) -> int:
    """Fan a new tender out: one task per partner that opted in to tenders."""
    ids = [str(pk) for pk in partners_receiving_tenders().values_list("pk", flat=True)]
    for partner_id in ids:
        tell_partner_of_tender.delay(tender_id, partner_id)
    return len(ids)


@shared_task(
    name="partners.tasks.tell_partner_of_tender",
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=5,
)
def tell_partner_of_tender(tender_id: str, partner_id: str) -> int:
    """Email one partner an excerpt; idempotent (keyed emails)."""
    return tender_tell_partner(tender_id=tender_id, partner_id=partner_id)
