"""API of partnerships (API.md, SPEC §2, §3): parse, call a service or selector,
render. Who may do what is decided in partners.services and partners.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from partners import selectors, services
from partners.models import Access, Partnership
from partners.serializers import (
    DeclineSerializer,
    DirectoryPartnerSerializer,
    EndSerializer,
    ExtensionRequestSerializer,
    GrantChangeSerializer,
    GrantInputSerializer,
    PartnershipDetailSerializer,
    PartnershipInviteSerializer,
    PartnershipSerializer,
)
from tenants.api_base import OrgViewSet, require_password
from tenants.models import Role, Tenant


def partnership_response(org, partnership_id, status_code=status.HTTP_200_OK) -> Response:
    """A partnership as the caller sees it: the grant, its history, and what the
    caller may do next."""
    partnership = selectors.partnership_get(org=org, partnership_id=partnership_id)
    partnership.history = list(selectors.partnership_history(partnership=partnership))
    partnership.actions = selectors.partnership_actions(org=org, partnership=partnership)
    return Response(PartnershipDetailSerializer(partnership).data, status=status_code)


def _action_schema(request=None):
    return extend_schema(request=request, responses=PartnershipDetailSerializer)


class PartnershipViewSet(mixins.ListModelMixin, OrgViewSet):
    """Partnerships of the caller's organization, from either side, with their
    history; the invitations, answers, changes and endings of SPEC §3."""

    serializer_class = PartnershipSerializer
    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    min_role_by_action = {
        "create": Role.OWNER,
        "partial_update": Role.OWNER,
        "accept": Role.OWNER,
        "decline": Role.OWNER,
        "resend": Role.OWNER,
        "cancel": Role.OWNER,
        "end": Role.OWNER,
        "request_extension": Role.ADMIN,
        "approve_extension": Role.OWNER,
    }
    filterset_fields = ["status", "access", "initiated_by"]
    search_fields = ["partner__name", "customer__name"]
    ordering_fields = ["created_at", "activated_at", "closed_at"]
    queryset = Partnership.objects.none()

    def get_org_queryset(self):
        return selectors.partnerships_for(org=self.org)

    def _get(self, pk) -> Partnership:
        return selectors.partnership_get(org=self.org, partnership_id=pk)

    def _render(self, pk, status_code=status.HTTP_200_OK) -> Response:
        return partnership_response(self.org, pk, status_code)

    @extend_schema(
        request=PartnershipInviteSerializer, responses={201: PartnershipDetailSerializer}
    )
    def create(self, request):
        serializer = PartnershipInviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partnership = services.partnership_invite_partner(org=self.org, **serializer.validated_data)
        return self._render(partnership.pk, status.HTTP_201_CREATED)

    @extend_schema(responses=PartnershipDetailSerializer)
    def retrieve(self, request, pk=None):
        return self._render(pk)

    def _act(self, request, pk, service, input_serializer=None) -> Response:
        """Parse the input (if any), run one transition service, render the result."""
        partnership = self._get(pk)
        data = {}
        if input_serializer is not None:
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        service(org=self.org, partnership=partnership, **data)
        return self._render(pk)

    @_action_schema(GrantChangeSerializer)
    def partial_update(self, request, pk=None):
        partnership = self._get(pk)
        serializer = GrantChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        payment = (
            data.get("payment") if data.get("access", partnership.access) == Access.FULL else ""
        )
        if payment and payment != partnership.payment:
            # a change of payment mode (SPEC §1): who may (403, 409), then the password
            selectors.partnership_check(org=self.org, partnership=partnership, action="change")
            require_password(self.org, data)
        data.pop("password", None)
        services.partnership_change(org=self.org, partnership=partnership, **data)
        return self._render(pk)

    @_action_schema(GrantInputSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(request, pk, services.partnership_accept, GrantInputSerializer)

    @_action_schema(DeclineSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(request, pk, services.partnership_decline, DeclineSerializer)

    @_action_schema()
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        return self._act(request, pk, services.partnership_resend)

    @_action_schema()
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(request, pk, services.partnership_cancel)

    @_action_schema(EndSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._act(request, pk, services.partnership_end, EndSerializer)

    @_action_schema(ExtensionRequestSerializer)
    @action(detail=True, methods=["post"], url_path="request-extension")
    def request_extension(self, request, pk=None):
        return self._act(
            request, pk, services.partnership_request_extension, ExtensionRequestSerializer
        )

    @_action_schema()
    @action(detail=True, methods=["post"], url_path="approve-extension")
    def approve_extension(self, request, pk=None):
        return self._act(request, pk, services.partnership_approve_extension)


class PartnerDirectoryAPI(generics.ListAPIView):
    """Partners listed in the directory, for anyone signed in (no organization needed)."""

    serializer_class = DirectoryPartnerSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = []
    queryset = Tenant.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.partner_directory(query=self.request.query_params.get("q", "")[:200])

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", OpenApiTypes.STR, description="Part of a name, or an owner's email."
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
