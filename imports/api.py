"""API of the bulk import (API.md, SPEC §2): the CSV templates, the upload (dry
run, written at once, or queued as a job) and a job's progress. Parse, call
the import steps (imports.jobs), render. Mounted at customers/import/ by portal/api/urls.py."""

import json

from django.http import HttpResponse
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from imports.columns import (
    KINDS,
    import_columns_doc,
    import_template,
    import_template_filename,
)
from imports.jobs import SYNC_ROWS_MAX, import_job_get, import_submit
from imports.models import ImportJob
from imports.parse import ImportInvalid
from imports.plan import CREATE, UPDATE
from tenants.api_base import OrgAPIView
from tenants.models import Role, Tenant


@extend_schema_field({"type": "string", "enum": list(KINDS)}, component_name="ImportKindEnum")
class ImportKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=[(k.name, k.label) for k in KINDS.values()], **kwargs)


@extend_schema_field(
    {"type": "string", "enum": ImportJob.Status.values}, component_name="ImportJobStatusEnum"
)
class ImportJobStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ImportJob.Status.choices, **kwargs)


class CSVRenderer(BaseRenderer):
    """Lets a client ask for `Accept: text/csv`; errors still come as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, str | bytes) else json.dumps(data)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the import's report says what is wrong with it
        help_text="The CSV file (UTF-8, with or without BOM; `,` or `;`).",
    )
    kind = ImportKindField()
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Validate and plan only; write nothing."
    )


class ImportQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, help_text="As a spreadsheet numbers it: the header is row 1."
    )
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ImportErrorsSerializer(serializers.Serializer):
    errors = RowErrorSerializer(many=True)


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class PlannedContactSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[CREATE, UPDATE])
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    primary = serializers.BooleanField()


class PlannedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    action = serializers.ChoiceField(
        choices=[CREATE, UPDATE],
        help_text="Of the customer (customers file) or of the contact (contacts file).",
    )
    customer = serializers.CharField()
    changes = serializers.ListField(
        child=serializers.CharField(), help_text="The columns an update changes."
    )
    contact = PlannedContactSerializer(allow_null=True)


class ImportDryRunSerializer(ImportResultSerializer):
    dry_run = serializers.BooleanField()
    rows = PlannedRowSerializer(many=True)


class ImportQueuedSerializer(serializers.Serializer):
    job = serializers.UUIDField()
    status = ImportJobStatusField()
    status_url = serializers.URLField()


class ImportJobSerializer(serializers.ModelSerializer):
    kind = ImportKindField()
    status = ImportJobStatusField()
    created = serializers.IntegerField(source="created_count")
    updated = serializers.IntegerField(source="updated_count")
    errors = RowErrorSerializer(many=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "total",
            "processed",
            "created",
            "updated",
            "error",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]


class CustomerImportTemplateAPI(OrgAPIView):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="customers_import_template",
        description="A CSV template: the header and one example row." + import_columns_doc(),
        parameters=[
            OpenApiParameter("kind", str, enum=list(KINDS), required=True),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        kind = request.query_params.get("kind", "")
        content = import_template(kind=kind)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        filename = import_template_filename(kind)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class CustomerImportAPI(OrgAPIView):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN
    parser_classes = [MultiPartParser]

    def handle_exception(self, exc):
        # The one 400 shape of this endpoint, also for what is refused before
        # `post` reads the upload (a query parameter given twice, portal.api.strict).
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
            report = [
                {"row": None, "column": field, "message": str(message)}
                for field, messages in exc.detail.items()
                for message in (messages if isinstance(messages, list) else [messages])
            ]
            return Response({"errors": report}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="customers_import",
        description=(
            "Every row is validated before anything is written; any error → 400 with the "
            "report and nothing written. Customers match yours by tax id, else by name; "
            "contacts by email within the customer: a re-upload updates, it does not "
            "duplicate. A dry run (`?dry_run=1` or the `dry_run` field) answers what would be "
            f"created and updated. Up to {SYNC_ROWS_MAX:,} rows are written at once "
            "(201 when something was created, else 200); a larger file is queued (202) and "
            "its progress is at `status_url`." + import_columns_doc()
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        parameters=[OpenApiParameter("dry_run", bool, required=False)],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ImportOutcome",
                serializers=[ImportResultSerializer, ImportDryRunSerializer],
                resource_type_field_name=None,
            ),
            201: ImportResultSerializer,
            202: ImportQueuedSerializer,
            400: OpenApiResponse(ImportErrorsSerializer, description="Nothing was written."),
        },
    )
    def post(self, request):
        serializer = ImportUploadSerializer(data=request.data)
        query = ImportQuerySerializer(data=request.query_params)
        if not (serializer.is_valid() & query.is_valid()):
            # the one 400 shape of this endpoint: the report, its row null
            errors = {**serializer.errors, **query.errors}
            report = [
                {"row": None, "column": field, "message": str(message)}
                for field, messages in errors.items()
                for message in messages
            ]
            return Response({"errors": report}, status=status.HTTP_400_BAD_REQUEST)
        data = serializer.validated_data
        dry_run = data["dry_run"] or query.validated_data["dry_run"]
        try:
            outcome = import_submit(
                org=self.org, kind=data["kind"], file=data["file"], dry_run=dry_run
            )
        except ImportInvalid as exc:
            return Response(
                {"errors": [e.as_dict() for e in exc.errors]}, status=status.HTTP_400_BAD_REQUEST
            )
        if outcome.job is not None:
            url = reverse("api:customer-import-job", kwargs={"job_id": outcome.job.pk})
            return Response(
                {
                    "job": outcome.job.pk,
                    "status": outcome.job.status,
                    "status_url": request.build_absolute_uri(url),
                },
                status=status.HTTP_202_ACCEPTED,
            )
        if outcome.dry_run:
            plan = outcome.plan
            return Response(
                {
                    "dry_run": True,
                    "created": plan.created,
                    "updated": plan.updated,
                    "rows": [row.as_dict() for row in plan.rows],
                }
            )
        result = outcome.result
        return Response(
            {"created": result.created, "updated": result.updated},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class CustomerImportJobAPI(OrgAPIView):
    """A queued import's progress, for the members of its partner."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    @extend_schema(operation_id="customers_import_job", responses=ImportJobSerializer)
    def get(self, request, job_id):
        job = import_job_get(org=self.org, job_id=job_id)
        return Response(ImportJobSerializer(job).data)


urlpatterns = [
    path("", CustomerImportAPI.as_view(), name="customer-import"),
    path("template/", CustomerImportTemplateAPI.as_view(), name="customer-import-template"),
    path("jobs/<uuid:job_id>/", CustomerImportJobAPI.as_view(), name="customer-import-job"),
]
