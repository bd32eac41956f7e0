"""API of smart lists (API.md `smart-lists/`, SPEC §4): saved filters over the
partner's customers, their rows and their CSV. Parse, call
subscriptions.smart_lists, render. Mounted at smart-lists/ by portal/api/urls.py.

Every partner member reads the partner's lists; owners, admins and a list's
author change or delete it. Result rows carry every figure whatever the switch
says; `columns` tells what the list shows (kept as saved while subscriptions are
off), and the subscription filters are ignored while off."""

from django.http import StreamingHttpResponse
from django.urls import path
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import renderers, serializers, status
from rest_framework.response import Response

from catalog.models import Product
from core import exports
from partners.models import Access, Payment
from subscriptions import smart_lists
from subscriptions.models import SmartList
from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.audit import audit_record
from tenants.models import AuditEvent, Role, Tenant


class SmartListFiltersSerializer(serializers.Serializer):
    """The filters (for the schema: the service validates and refuses unknown keys)."""

    q = serializers.CharField(required=False, help_text="Part of the customer's name.")
    country = serializers.CharField(required=False, help_text="Two letters, e.g. CH.")
    sub_partner = serializers.UUIDField(
        required=False,
        help_text="A partner below this one: its customers instead (owners and admins).",
    )
    mrr_min = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    mrr_max = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    ending_within_days = serializers.IntegerField(
        required=False, help_text="The current end date is within this many days."
    )
    product = serializers.CharField(
        required=False,
        help_text="A product code live today, among those the partner manages now "
        "(under limited grants only: theirs).",
    )
    category = serializers.ChoiceField(choices=Product.Category.choices, required=False)
    trend = serializers.ChoiceField(choices=smart_lists.TRENDS, required=False)
    status = serializers.ChoiceField(choices=Tenant.Status.choices, required=False)
    access = serializers.ChoiceField(
        choices=Access.choices, required=False, help_text="This partner's grant now."
    )
    payment = serializers.ChoiceField(
        choices=Payment.choices, required=False, help_text="This partner's grant now."
    )
    rank = serializers.CharField(required=False, help_text="The customer's rank (any case).")
    collaborator = serializers.UUIDField(
        required=False,
        help_text="Customers assigned to this collaborator of the partner (owners and admins).",
    )


@extend_schema_field(SmartListFiltersSerializer)
class FiltersField(serializers.JSONField):
    pass


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "enum": list(smart_lists.COLUMNS)}}
)
class ColumnsField(serializers.JSONField):
    pass


class SmartListSerializer(serializers.ModelSerializer):
    filters = FiltersField(help_text="As saved (subscription filters ignored while off).")
    columns = ColumnsField(help_text="As saved, in the canonical order.")
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = SmartList
        fields = ["id", "name", "filters", "columns", "created_by", "can_edit"]
        fields += ["created_at", "updated_at"]
        read_only_fields = fields

    def get_can_edit(self, smart_list) -> bool:
        return smart_lists.may_edit(org=self.context["org"], smart_list=smart_list)


class SmartListWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    filters = FiltersField(required=False, help_text="Replaces the saved filters as a whole.")
    columns = ColumnsField(required=False, help_text="Default: every column.")


class SmartListRowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    country = serializers.CharField()
    currency = serializers.CharField()
    current_mrr = serializers.DecimalField(max_digits=14, decimal_places=2)
    upcoming_mrr = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="The MRR after the next change."
    )
    current_end_date = serializers.DateField(allow_null=True)
    trend = serializers.ChoiceField(choices=smart_lists.TRENDS)


class CsvRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/csv` through; the export itself streams past renderers."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return str(data).encode()


ORDERING = OpenApiParameter(
    "ordering",
    OpenApiTypes.STR,
    enum=[f"{sign}{c}" for c in smart_lists.COLUMNS for sign in ("", "-")],
    description="A column, `-` for descending; by name by default.",
)


class SmartListViewSet(OrgViewSet):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    serializer_class = SmartListSerializer
    queryset = SmartList.objects.none()
    filter_backends = []

    def get_org_queryset(self):
        return smart_lists.smart_lists_for(org=self.org)

    def _get(self, pk) -> SmartList:
        return smart_lists.smart_list_get(org=self.org, list_id=pk)

    def _render(self, smart_list, status_code=status.HTTP_200_OK) -> Response:
        data = SmartListSerializer(smart_list, context={"org": self.org}).data
        return Response(data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        serializer = SmartListSerializer(page, many=True, context={"org": self.org})
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=SmartListWriteSerializer, responses={201: SmartListSerializer})
    def create(self, request):
        serializer = SmartListWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        smart_list = smart_lists.smart_list_create(org=self.org, **serializer.validated_data)
        return self._render(smart_list, status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return self._render(self._get(pk))

    @extend_schema(request=SmartListWriteSerializer, responses=SmartListSerializer)
    def partial_update(self, request, pk=None):
        smart_list = self._get(pk)
        serializer = SmartListWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        smart_lists.smart_list_update(
            org=self.org, smart_list=smart_list, **serializer.validated_data
        )
        return self._render(smart_list)

    def destroy(self, request, pk=None):
        smart_lists.smart_list_delete(org=self.org, smart_list=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="smart_lists_results",
        parameters=[ORDERING],
        responses=SmartListRowSerializer(many=True),
    )
    def results(self, request, pk=None):
        """The list's customers with their figures, filtered and sorted by the database."""
        smart_list = self._get(pk)
        rows = smart_lists.smart_list_rows(
            org=self.org, smart_list=smart_list, ordering=request.query_params.get("ordering")
        )
        page = self.paginate_queryset(rows)
        data = SmartListRowSerializer([smart_lists.row_values(r) for r in page], many=True).data
        return self.get_paginated_response(data)


class SmartListExportAPI(OrgAPIView):
    """The list's customers as CSV, streamed: the saved columns, money as plain decimals."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="smart_lists_export_csv", responses={(200, "text/csv"): OpenApiTypes.STR}
    )
    def get(self, request, pk):
        smart_list = smart_lists.smart_list_get(org=self.org, list_id=pk)
        return csv_response(org=self.org, smart_list=smart_list)


def csv_response(*, org, smart_list: SmartList) -> StreamingHttpResponse:
    """The streamed CSV download (the API's and the page's)."""
    filename = slugify(smart_list.name) or "smart-list"
    audit_record(
        tenant=org.tenant,
        action=AuditEvent.Action.EXPORT_SMART_LIST,
        actor=org.user,
        actor_tenant=org.tenant,
        target=smart_list.name,
        details={
            "smart_list": str(smart_list.pk),
            "filters": smart_list.filters,
            "columns": smart_list.columns,
        },
    )
    return exports.csv_response(
        smart_lists.smart_list_csv_lines(org=org, smart_list=smart_list),
        filename=f"{filename}.csv",
    )


collection = SmartListViewSet.as_view({"get": "list", "post": "create"})
detail = SmartListViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
)
results = SmartListViewSet.as_view({"get": "results"})

urlpatterns = [
    path("", collection, name="smart-list-list"),
    path("<uuid:pk>/", detail, name="smart-list-detail"),
    path("<uuid:pk>/results/", results, name="smart-list-results"),
    path("<uuid:pk>/export.csv", SmartListExportAPI.as_view(), name="smart-list-export"),
]
