"""The partner invoice's email to the customer's billing contact, queued in the
outbox in the invoice's transaction (keyed by invoice and recipient: it leaves
once) and rendered at delivery from the invoice's rows.

The billing contact: the customer's primary contact when it has an email
address (Atera's customer record names one); otherwise the customer's owners
and admins (the people who read its invoices in the portal)."""

from django.conf import settings
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from resale.models import PartnerInvoice
from tenants.emails import (
    Notification,
    emails_enqueue,
    notification_emails_deferred,
    notification_renderer,
    notifications_write,
)
from tenants.models import Contact, OutboundEmail
from tenants.selectors import owners_and_admins

PARTNER_INVOICE_EMAIL = "resale.partner-invoice"


def partner_invoice_issued(*, invoice: PartnerInvoice) -> None:
    """Queue the invoice's email to the customer's billing contact."""
    params = {"invoice": str(invoice.pk)}
    key = f"partner-invoice:{invoice.pk}"
    contact = (
        Contact.unscoped.filter(customer_id=invoice.customer_id, is_primary=True)
        .exclude(email="")
        .first()
    )
    if contact is not None:
        emails = [
            OutboundEmail(
                key=f"{key}:contact:{contact.pk}",
                to=contact.email,
                renderer=PARTNER_INVOICE_EMAIL,
                params=params,
                language=settings.LANGUAGE_CODE,
            )
        ]
    else:
        users = owners_and_admins(invoice.customer_id)
        emails = notification_emails_deferred(
            key=key, users=users, renderer=PARTNER_INVOICE_EMAIL, params=params
        )
    if ids := notifications_write(emails, new_keys=True):
        emails_enqueue(ids)


def partner_invoice_url(invoice: PartnerInvoice, slug: str) -> str:
    return reverse("partner_invoice_detail", kwargs={"slug": slug, "invoice_id": invoice.pk})


@notification_renderer(PARTNER_INVOICE_EMAIL)
def _partner_invoice_email(params: dict) -> Notification:
    invoice = PartnerInvoice.unscoped.select_related("partner", "customer").get(
        pk=params["invoice"]
    )
    amount = f"{invoice.currency} {invoice.total}"
    return Notification(
        subject=format_lazy(
            _("Invoice {number} from {partner}: {amount}"),
            number=invoice.number,
            partner=invoice.partner.name,
            amount=amount,
        ),
        lines=[
            format_lazy(
                _("{partner} invoices {customer} for {month}."),
                partner=invoice.partner.name,
                customer=invoice.customer.name,
                month=date_format(invoice.month, "YEAR_MONTH_FORMAT"),
            ),
            format_lazy(
                _("Amount due: {amount}, by {date}."),
                amount=amount,
                date=date_format(invoice.due_on, "DATE_FORMAT"),
            ),
        ],
        url=partner_invoice_url(invoice, invoice.customer.slug),
        label=_("View the invoice"),
    )
