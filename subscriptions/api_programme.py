"""API of the partner programme (SPEC §3), mounted at `programme/`: how far the
partner is towards qualifying, from `subscriptions.programme`."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from subscriptions.programme import programme_progress
from subscriptions.serializers import ProgrammeSerializer
from tenants.api_base import OrgAPIView
from tenants.models import Role, Tenant


class ProgrammeAPI(OrgAPIView):
    """The yearly value of the products the partner manages, per currency, against
    the programme's threshold in that currency (CHF 2,000, EUR 1,800; never
    converted); reaching either qualifies. Partner members; customers: 404."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    @extend_schema(operation_id="programme_retrieve", responses=ProgrammeSerializer)
    def get(self, request):
        return Response(ProgrammeSerializer(programme_progress(partner=self.org.tenant)).data)


urlpatterns = [path("", ProgrammeAPI.as_view(), name="programme")]
