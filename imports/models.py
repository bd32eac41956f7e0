"""The bulk import's jobs (SPEC §2): a large CSV import written by a Celery task.
Moved from `customers` (issue 19): the table keeps its name (`db_table`), rows and all."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant, User
from tenants.scoping import Scope, TenantScopedQuerySet


class ImportJob(models.Model):
    """A large import written by a Celery task (imports.jobs). The file is
    validated before the job is saved; the task writes it in one transaction and
    reports `processed` as it goes. The content is dropped once the job ends."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONTACTS = "contacts", _("Contacts")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    content = models.TextField(blank=True, help_text=_("The CSV as uploaded, decoded."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text=_("Data rows in the file."))
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    errors = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The report [{row, column, message}] of a failed run."),
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    tenant_scope = Scope(owners=("partner",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        db_table = "partners_importjob"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["partner", "created_at"], name="import_job_partner_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import of {self.partner} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return min(100, self.processed * 100 // self.total) if self.total else 0
