"""Webhooks' API shapes (API.md rev. 2): thin, the rules are in services."""

from rest_framework import serializers

from core.events import EVENT_TYPES
from tenants.serializers import confirmation_password
from webhooks.models import WebhookDelivery, WebhookEndpoint

EVENT_CHOICES = sorted(EVENT_TYPES)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        allow_empty=False,
        max_length=len(EVENT_CHOICES),
        help_text="The event types to deliver (GET webhook-event-types/).",
    )
    url = serializers.URLField(max_length=2000, help_text="https, a public address.")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "enabled",
            "description",
            "disabled_reason",
            "failing_since",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "disabled_reason",
            "failing_since",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]


class WebhookEndpointCreateSerializer(WebhookEndpointSerializer):
    password = confirmation_password()

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "password"]


class WebhookEndpointUpdateSerializer(WebhookEndpointSerializer):
    password = confirmation_password(required_when="when `url` changes")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "password"]


class WebhookSecretMixin(serializers.Serializer):
    secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=(
            "The signing secret (whsec_…), shown once: store it now. null in the replay "
            "of the same request (Idempotency-Key): the secret is never kept there."
        ),
    )


class WebhookEndpointCreatedSerializer(WebhookSecretMixin, WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookRotateSerializer(serializers.Serializer):
    password = confirmation_password()


class WebhookDeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True, help_text="The webhook-id of every attempt.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "type",
            "status",
            "attempts",
            "response_code",
            "duration_ms",
            "last_error",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "body",
            "response_body",
        ]
        read_only_fields = fields


class WebhookEventTypeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EVENT_CHOICES)
    description = serializers.CharField()
    object = serializers.CharField(help_text="What `data` holds.")
    object_path = serializers.CharField(help_text="The GET (under /api/v1/) `data` is a copy of.")
    example = serializers.JSONField(help_text="An example body: {type, timestamp, data}.")
