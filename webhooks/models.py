"""Webhooks (SPEC §8 rev. 2, docs/webhooks.md): an organization's endpoints, the
outbox of domain events, and one delivery per event and endpoint.

- `WebhookEndpoint`: where an organization wants to hear which event types,
  signed with its secret (and, during a rotation's overlap, the previous one).
- `WebhookEvent`: the outbox, one row per domain event, written in the
  transaction of the change it reports (`webhooks.outbox`): a change that rolls
  back leaves none, a change that commits leaves it for the fan-out, which a
  lost message cannot lose (the sweeper finds rows not fanned out).
- `WebhookDelivery`: one event for one endpoint. Its id is the `webhook-id` of
  every attempt; its `body` is fixed when it is made, so a retry sends the same
  bytes; its row state (`pending`, `next_attempt_at`) is the schedule, claimed
  under a row lock, so a worker killed mid-attempt loses nothing.
"""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.scoping import Scope, TenantScopedQuerySet
from tenants.models import Tenant, User


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=2000)
    events = models.JSONField(_("event types"), default=list)
    enabled = models.BooleanField(_("enabled"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The signing secret (`whsec_` + base64): HMAC needs it in the clear.
    secret = models.CharField(max_length=100)
    # During a rotation's overlap both secrets sign (two `v1,` signatures).
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt has failed (cleared by a success); 3 days: disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def secrets_signing(self, now=None) -> list[str]:
        """The secrets that sign now: the current one, and the previous one
        until its overlap ends."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and now < self.previous_secret_expires_at
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookEvent(models.Model):
    """The outbox row of one domain event (core.events): its type, the id of the
    object it is about and the payload's ids. No tenant owns it: the fan-out
    decides, per endpoint, who may see the object."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now)
    fanned_out_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["fanned_out_at", "occurred_at"], name="webhook_event_todo")]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"


def _give_up_default():
    return timezone.now() + datetime.timedelta(seconds=settings.WEBHOOKS_RETRY_FOR_SECONDS)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery status", "Pending")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery status", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery status", "Failed")

    # The `webhook-id` header of every attempt.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    type = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    body = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Retried until then (WEBHOOKS_RETRY_FOR_SECONDS after it was made or resent).
    give_up_at = models.DateTimeField(default=_give_up_default)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    tenant_scope = Scope(owners=("tenant",))
    unscoped = models.Manager()
    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = "unscoped"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.type} → {self.endpoint_id} ({self.status})"
