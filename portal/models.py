"""The portal's own table: what the API remembers of POSTs sent with an
`Idempotency-Key` (portal/idempotency.py)."""

from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    scope = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of (caller, organization, key)."
    )
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    content_type = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.scope[:12]}… ({self.status})"
