"""API of tenders (API.md `tenders/`; SPEC §3), mounted at `tenders/`: parse,
call `tenders.services` or `tenders.selectors`, render.

Who reads what is the selector's: a customer reads the tenders it posted, in
every status, with every proposal; a partner that opted in to tenders reads the
open ones still valid, in full, with its own proposal only; any other partner
reads none. A tender the caller may not read — another customer's, one a
partner no longer sees because it was cancelled or expired — is the 404 of a
missing id, for reading and for every action.

Each action belongs to one kind of organization, and the other kind gets the
404 this API gives an organization an endpoint is not for (`allowed_kinds`):
customers post and cancel, partners propose. Within the right kind, a role
that does not allow the action is a 403: posting and cancelling need a
customer's owner or admin."""

import django_filters
from django.db.models import prefetch_related_objects
from django.urls import path
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from catalog.models import Product
from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.models import Role, Tenant
from tenders.models import Tender
from tenders.selectors import programme_progress, tender_get, tenders_for
from tenders.serializers import (
    ProgrammeSerializer,
    TenderPostSerializer,
    TenderProposalSerializer,
    TenderProposeSerializer,
    TenderSerializer,
)
from tenders.services import tender_cancel, tender_post, tender_propose

BOTH_KINDS = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
KINDS_BY_ACTION = {
    "create": (Tenant.Kind.CUSTOMER,),
    "cancel": (Tenant.Kind.CUSTOMER,),
    "proposals": (Tenant.Kind.PARTNER,),
}


class TenderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Tender.Status.choices)
    category = django_filters.ChoiceFilter(choices=Product.Category.choices)

    class Meta:
        model = Tender
        fields = ["status", "category"]


class TenderViewSet(mixins.ListModelMixin, OrgViewSet):
    """Tenders: those the customer posted, or those open to the partner, newest first."""

    serializer_class = TenderSerializer
    min_role_by_action = {"create": Role.ADMIN, "cancel": Role.ADMIN}
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = TenderFilter
    ordering_fields = ["created_at", "valid_until"]
    queryset = Tender.objects.none()

    @property
    def allowed_kinds(self) -> tuple[str, ...]:
        return KINDS_BY_ACTION.get(getattr(self, "action", None), BOTH_KINDS)

    def get_org_queryset(self):
        return tenders_for(org=self.org).order_by("-created_at", "-pk")

    @staticmethod
    def _with_partners(tenders):
        """The partners of the proposals, in one query for a page (a partner's own
        proposals come from the selector without theirs)."""
        prefetch_related_objects(tenders, "proposals__partner")
        return tenders

    def _render(self, pk, status_code=status.HTTP_200_OK) -> Response:
        (tender,) = self._with_partners([tender_get(org=self.org, tender_id=pk)])
        return Response(self.get_serializer(tender).data, status=status_code)

    @extend_schema(
        description="A customer's members: the tenders it posted, in every status. A partner "
        "that opted in to tenders (`receives_tenders` of `organization/`): the open ones still "
        "valid, contact details included. Any other partner: an empty list.",
    )
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            self.get_serializer(self._with_partners(page), many=True).data
        )

    @extend_schema(responses=TenderSerializer)
    def retrieve(self, request, pk=None):
        """One tender, under the list's rules: another customer's, or one the partner
        no longer sees (cancelled, expired), is the 404 of a missing id."""
        return self._render(pk)

    @extend_schema(request=TenderPostSerializer, responses={201: TenderSerializer})
    def create(self, request):
        """Post a tender (a customer's owners and admins): open at once. Every partner
        that opted in to tenders is emailed an excerpt, and the contact the manage
        link, once the request is saved. Partners: 404."""
        serializer = TenderPostSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tender = tender_post(org=self.org, **serializer.validated_data)
        return self._render(tender.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TenderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel at once (the posting customer's owners and admins): partners stop
        seeing it. An already cancelled tender is a 409. Partners: 404."""
        tender_cancel(tender=tender_get(org=self.org, tender_id=pk), org=self.org)
        return self._render(pk)

    @extend_schema(request=TenderProposeSerializer, responses={201: TenderProposalSerializer})
    @action(detail=True, methods=["post"])
    def proposals(self, request, pk=None):
        """Answer a tender (a partner that opted in, any member): the message is
        emailed to the poster. One proposal per partner: a second is a 400 on
        `message`. A tender cancelled or past its `valid_until` is no longer
        visible: 404. Customers: 404."""
        tender = tender_get(org=self.org, tender_id=pk)
        serializer = TenderProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = tender_propose(
            org=self.org, tender=tender, message=serializer.validated_data["message"]
        )
        return Response(TenderProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)


router = SimpleRouter(trailing_slash=True)
router.register("", TenderViewSet, basename="tender")

urlpatterns = router.urls


# --- the partner programme (mounted at `programme/`) ------------------------------------


class ProgrammeAPI(OrgAPIView):
    """What was invoiced in the last 12 months for the products the partner sold
    and manages now, net of credit notes, per currency, against the programme's
    threshold in that currency (CHF 2,000, EUR 1,800; never converted); reaching
    either qualifies. Partner members; customers: 404."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    @extend_schema(operation_id="programme_retrieve", responses=ProgrammeSerializer)
    def get(self, request):
        return Response(ProgrammeSerializer(programme_progress(partner=self.org.tenant)).data)


programme_urlpatterns = [path("", ProgrammeAPI.as_view(), name="programme")]
