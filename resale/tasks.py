"""Beat job of resale: the partners' invoices for the month just ended. The job
lists the (grant, month) pairs not yet invoiced and enqueues one task each;
each task issues its invoice once (resale.invoicing), so a rerun, a
redelivery or two workers racing issue nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from resale import invoicing


@shared_task
def issue_partner_invoices() -> int:
    due = invoicing.partner_invoices_due(today=timezone.localdate())
    for partnership_id, month in due:
        issue_partner_invoice.delay(partnership_id, month)
    return len(due)


@shared_task(acks_late=True)
def issue_partner_invoice(partnership_id: str, month: str) -> str | None:
    invoice = invoicing.partner_invoice_issue(
        partnership_id=partnership_id, month=datetime.date.fromisoformat(month)
    )
    return str(invoice.pk) if invoice else None
