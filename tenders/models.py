"""Tenders (SPEC §3): a customer's or a visitor's request for offers, and the
partners' proposals. The tables keep the names they had in `partners`
(`db_table`): moving them here changed no row."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from core.scoping import Scope, TenantScopedQuerySet
from tenants.models import Tenant, User


class Tender(models.Model):
    """A request for offers, posted by a customer (from its portal) or by a
    visitor (who confirms an email address first), seen in full by the partners
    that opted in to tenders while it is valid."""

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Waiting for the email confirmation")
        OPEN = "open", _("Open")
        CANCELLED = "cancelled", _("Cancelled")
        WITHDRAWN = "withdrawn", _("Withdrawn by the platform")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=5000)
    category = models.CharField(max_length=32, choices=Product.Category.choices)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=40, blank=True)
    valid_until = models.DateField(help_text=_("The last day partners see it."))
    customer = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tenders",
        help_text=_("The customer that posted it; empty for a visitor."),
    )
    posted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    # The poster's links (confirm, cancel) are signed over (id, nonce).
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    opened_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Tender moderation (the provider console): staff withdraw a request, with the reason
    # the poster is told.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(max_length=1000, blank=True)

    tenant_scope = Scope(owners=("customer",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_tender"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="tender_status_valid"),
            models.Index(fields=["customer", "-created_at"], name="tender_customer_created"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def poster_email(self) -> str:
        """Where the poster's emails go: a customer member's own (verified)
        address, or the address a visitor confirmed; `contact_email` is for
        partners to read, and reaches nobody unconfirmed."""
        return self.posted_by.email if self.posted_by_id else self.contact_email

    @property
    def excerpt(self) -> str:
        text = " ".join(self.description.split())
        return text if len(text) <= 280 else f"{text[:277].rstrip()}…"


class TenderProposal(models.Model):
    """A partner's answer to a tender: a message, emailed to the poster."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tender = models.ForeignKey(Tender, on_delete=models.CASCADE, related_name="proposals")
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tender_proposals")
    author = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_scope = Scope(owners=("partner", "tender__customer"))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_tenderproposal"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "partner"], name="tender_one_proposal"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} → {self.tender}"
