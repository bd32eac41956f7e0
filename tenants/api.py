"""API of the tenancy core: parse, call a service or selector, render."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, parsers, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import selectors, services
from tenants.api_base import (
    OrgAPIView,
    OrgViewSet,
    require_password,
    resolve_org,
    secret_response,
)
from tenants.models import ApiToken, AuditEvent, Membership, Role
from tenants.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    AuditEventSerializer,
    BrandingLogoSerializer,
    BrandingSerializer,
    MemberInviteSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    MeSerializer,
    MeUpdateSerializer,
    OrganizationSerializer,
    OrganizationSettingsSerializer,
    PartnerCreateSerializer,
    PartnerSerializer,
    PartnerUpdateSerializer,
)


class MeAPI(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        memberships = list(selectors.user_memberships(user=request.user))
        try:
            current = resolve_org(request).tenant
        except (exceptions.ValidationError, Http404):  # none named, several to choose from
            current = None
        user = request.user
        data = {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "language": user.language,
            "memberships": memberships,
            "current_tenant": current,
        }
        return Response(MeSerializer(data).data)

    @extend_schema(request=MeUpdateSerializer, responses=MeSerializer)
    def patch(self, request):
        """Your own name and language (blank: Accept-Language decides)."""
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        services.user_profile_update(
            user=user,
            full_name=serializer.validated_data.get("full_name", user.full_name),
            language=serializer.validated_data.get("language", user.language),
        )
        return self.get(request)


class OrganizationAPI(OrgAPIView):
    min_role_by_action = {"patch": Role.ADMIN}

    @extend_schema(responses=OrganizationSerializer)
    def get(self, request):
        return Response(OrganizationSerializer(self.org.tenant).data)

    @extend_schema(request=OrganizationSerializer, responses=OrganizationSerializer)
    def patch(self, request):
        serializer = OrganizationSerializer(self.org.tenant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        tenant = services.organization_update(org=self.org, data=serializer.validated_data)
        return Response(OrganizationSerializer(tenant).data)


class OrganizationSettingsAPI(OrgAPIView):
    """The organization's switches: members read them, the owner changes them."""

    min_role_by_action = {"patch": Role.OWNER}

    @extend_schema(responses=OrganizationSettingsSerializer)
    def get(self, request):
        return Response(OrganizationSettingsSerializer(self.org.tenant).data)

    @extend_schema(request=OrganizationSettingsSerializer, responses=OrganizationSettingsSerializer)
    def patch(self, request):
        serializer = OrganizationSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        tenant = self.org.tenant
        if serializer.validated_data:  # a PATCH leaves what it does not name as it is
            tenant = services.organization_settings_update(
                org=self.org, **serializer.validated_data
            )
        return Response(OrganizationSettingsSerializer(tenant).data)


class BrandingAPI(OrgAPIView):
    min_role_by_action = {"put": Role.ADMIN}

    @staticmethod
    def render_for(org):
        branding = selectors.branding_own(tenant=org.tenant)
        branding.effective = selectors.branding_effective(tenant=org.tenant)
        return Response(BrandingSerializer(branding).data)

    def _render(self):
        return self.render_for(self.org)

    @extend_schema(responses=BrandingSerializer)
    def get(self, request):
        return self._render()

    @extend_schema(request=BrandingSerializer, responses=BrandingSerializer)
    def put(self, request):
        serializer = BrandingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.branding_update(org=self.org, data=serializer.validated_data)
        return self._render()


class BrandingLogoAPI(OrgAPIView):
    """The organization's own logo: PUT a file (multipart `logo`), DELETE to fall
    back to the logo inherited from above. Owners and admins."""

    min_role = Role.ADMIN
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(request=BrandingLogoSerializer, responses=BrandingSerializer)
    def put(self, request):
        serializer = BrandingLogoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["logo"]
        services.branding_logo_set(org=self.org, content=upload.read(services.LOGO_MAX_BYTES + 1))
        return BrandingAPI.render_for(self.org)

    @extend_schema(request=None, responses={200: BrandingSerializer})
    def delete(self, request):
        services.branding_logo_set(org=self.org, content=None)
        return BrandingAPI.render_for(self.org)


class MemberViewSet(mixins.ListModelMixin, OrgViewSet):
    serializer_class = MemberSerializer
    min_role = Role.ADMIN
    ordering_fields = ["created_at", "role"]
    search_fields = ["user__email"]
    filterset_fields = ["role", "buyer"]
    queryset = Membership.objects.none()

    def get_org_queryset(self):
        return selectors.members_list(org=self.org)

    @extend_schema(request=MemberInviteSerializer, responses={201: MemberSerializer})
    def create(self, request):
        serializer = MemberInviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_invite(org=self.org, **serializer.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        membership = selectors.member_get(org=self.org, membership_id=pk)
        serializer = MemberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.get("role", membership.role) != membership.role:
            # a change of role is sensitive (SPEC §1): who may (400, 403), then the password
            services.member_role_check(org=self.org, membership=membership, role=data["role"])
            require_password(self.org, data)
        data.pop("password", None)
        membership = services.member_update(org=self.org, membership=membership, **data)
        return Response(MemberSerializer(membership).data)

    def destroy(self, request, pk=None):
        membership = selectors.member_get(org=self.org, membership_id=pk)
        services.member_remove(org=self.org, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenViewSet(mixins.ListModelMixin, OrgViewSet):
    serializer_class = ApiTokenSerializer
    min_role = Role.ADMIN
    ordering_fields = ["created_at", "last_used_at"]
    search_fields = ["name"]
    queryset = ApiToken.objects.none()

    def get_org_queryset(self):
        return selectors.api_tokens_list(org=self.org)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        require_password(self.org, dict(serializer.validated_data))  # sensitive (SPEC §1)
        token, raw = services.api_token_create(org=self.org, name=serializer.validated_data["name"])
        token.token = raw
        return secret_response(
            Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED),
            "token",
        )

    def destroy(self, request, pk=None):
        token = selectors.api_token_get(org=self.org, token_id=pk)
        services.api_token_revoke(org=self.org, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PartnerCreateAPI(APIView):
    """Staff create a partner and its owner (the owner gets a set-password email)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=PartnerCreateSerializer, responses={201: PartnerSerializer})
    def post(self, request):
        serializer = PartnerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner = services.partner_create(actor=request.user, **serializer.validated_data)
        return Response(PartnerSerializer(partner).data, status=status.HTTP_201_CREATED)


class PartnerUpdateAPI(APIView):
    """Staff suspend or reinstate a partner, or change its discount rate (SPEC §2).
    Suspended, its members and API tokens get 403 at once; the change is
    audited in the partner's log and the provider's."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=PartnerUpdateSerializer, responses={200: PartnerSerializer})
    def patch(self, request, partner_id):
        partner = selectors.partner_get(partner_id=partner_id)
        serializer = PartnerUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner = services.partner_update(
            actor=request.user, partner=partner, **serializer.validated_data
        )
        return Response(PartnerSerializer(partner).data)


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgViewSet):
    """The organization's audit log, newest first (`?action=` filters): its owners
    read it; nothing writes, edits or deletes an event through the API."""

    serializer_class = AuditEventSerializer
    min_role = Role.OWNER
    queryset = AuditEvent.objects.none()
    filterset_fields = ["action"]
    ordering_fields = ["at"]
    search_fields = ["target", "actor_email"]

    def get_org_queryset(self):
        return selectors.audit_events_list(org=self.org)

    def get_object(self):
        return selectors.audit_event_get(org=self.org, event_id=self.kwargs["pk"])
