"""API of offers (API.md `offer-templates/`, `offers/`, `updates/`; SPEC §6):
parse, call offers.services or offers.selectors, render. Who may send, answer,
cancel or retry, and which offers an organization reads, are decided there."""

import django_filters
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response

from offers import selectors, services
from offers.effects import offer_effects
from offers.models import Offer, OfferTemplate
from offers.serializers import (
    OFFERS_LISTED_MAX,
    AcceptChangedSerializer,
    AcceptPreviewSerializer,
    OfferAcceptSerializer,
    OfferBatchSerializer,
    OfferDeclineSerializer,
    OfferSendSerializer,
    OfferSentSerializer,
    OfferSerializer,
    OfferTemplateItemCreateSerializer,
    OfferTemplateItemSerializer,
    OfferTemplateNameSerializer,
    OfferTemplateSerializer,
    UpdatesSerializer,
    accept_preview,
    viewer,
)
from tenants.api_base import OrgAPIView, OrgViewSet
from tenants.models import Role, Tenant


def _id_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


# --- templates --------------------------------------------------------------------------


class OfferTemplateViewSet(mixins.ListModelMixin, OrgViewSet):
    """The partner's offer templates, by name, each with its items; any member
    of the partner keeps them. PATCH renames; items are added and removed one by
    one, each saved at once."""

    serializer_class = OfferTemplateSerializer
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    filter_backends = [SearchFilter]
    search_fields = ["name"]
    queryset = OfferTemplate.objects.none()

    def get_org_queryset(self):
        return selectors.templates_for(org=self.org).order_by("name", "pk")

    def _get(self, pk) -> OfferTemplate:
        return selectors.template_get(org=self.org, template_id=pk)

    def _render(self, pk, status_code=status.HTTP_200_OK) -> Response:
        return Response(OfferTemplateSerializer(self._get(pk)).data, status=status_code)

    @extend_schema(request=OfferTemplateNameSerializer, responses={201: OfferTemplateSerializer})
    def create(self, request):
        serializer = OfferTemplateNameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.template_create(org=self.org, name=serializer.validated_data["name"])
        return self._render(template.pk, status.HTTP_201_CREATED)

    @extend_schema(responses=OfferTemplateSerializer)
    def retrieve(self, request, pk=None):
        return self._render(pk)

    @extend_schema(request=OfferTemplateNameSerializer, responses=OfferTemplateSerializer)
    def partial_update(self, request, pk=None):
        """Rename the template."""
        template = self._get(pk)
        serializer = OfferTemplateNameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.template_rename(
            org=self.org, template=template, name=serializer.validated_data["name"]
        )
        return self._render(pk)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Delete the template; offers sent from it keep their own copy of its items."""
        services.template_delete(org=self.org, template=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=OfferTemplateItemCreateSerializer, responses={201: OfferTemplateItemSerializer}
    )
    @action(detail=True, methods=["post"], url_path="items")
    def items(self, request, pk=None):
        """Add a line to the template, saved at once; each product once."""
        template = self._get(pk)
        serializer = OfferTemplateItemCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.template_item_add(
            org=self.org, template=template, **serializer.validated_data
        )
        return Response(OfferTemplateItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[_id_parameter("item_id", "A line of the template.")],
        responses={204: None},
    )
    @action(detail=True, methods=["delete"], url_path=r"items/(?P<item_id>[^/.]+)")
    def item_remove(self, request, pk=None, item_id=None):
        """Remove a line from the template."""
        item = selectors.template_item_get(template=self._get(pk), item_id=item_id)
        services.template_item_remove(org=self.org, item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- offers -----------------------------------------------------------------------------


class OfferFilter(django_filters.FilterSet):
    # Plain filters over the caller's offers: a foreign id gives an empty list.
    status = django_filters.ChoiceFilter(choices=Offer.Status.choices)
    customer = django_filters.UUIDFilter(
        field_name="customer_id", help_text="A customer's id (the partner's side)."
    )
    batch = django_filters.UUIDFilter(
        field_name="batch_id", help_text="A send's id (`batch` of `POST offers/`)."
    )

    class Meta:
        model = Offer
        fields = ["status", "customer", "batch"]


class OfferViewSet(mixins.ListModelMixin, OrgViewSet):
    """Offers sent (a partner; collaborators: to their assigned customers) or
    received (a customer: once delivered), newest first. Partner users allowed
    on the customers send them; the customer's owners and admins accept or
    decline; the sending partner cancels an open one or retries a failed one. A
    transition the offer's status forbids is a 409."""

    serializer_class = OfferSerializer
    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    min_role_by_action = {"accept": Role.ADMIN, "decline": Role.ADMIN}
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = OfferFilter
    ordering_fields = ["created_at", "delivered_at", "expires_at", "closed_at"]
    queryset = Offer.objects.none()

    def get_org_queryset(self):
        return selectors.offers_for(org=self.org).order_by("-created_at", "-pk")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "org": self.org}

    def _render(self, pk) -> Response:
        offer = selectors.offer_get(org=self.org, offer_id=pk)
        return Response(self.get_serializer(offer).data)

    def list(self, request, *args, **kwargs):
        """The offers of a page, each open one with its effect worked out for the
        whole page at once (a fixed number of queries however many)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the API always paginates
        context = {**self.get_serializer_context(), "effects": offer_effects(page)}
        data = OfferSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=OfferSendSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="OfferSendAnswer",
                serializers=[OfferSerializer, OfferSentSerializer],
                resource_type_field_name=None,
                many=False,
            )
        },
    )
    def create(self, request):
        """Send a template to one customer (`customer`: the answer is the offer,
        as `GET offers/{id}/` returns it) or many (`customers`: the answer is the
        send, `OfferSent`). Among many, the eligible ones are sent to, the others
        reported under `skipped` with the reason (with `all_or_nothing`, any of
        them refuses the whole send: a 400 naming each under `customers`); one
        customer left out is a 400 with the reason. An id the caller may not act
        on is a 400 naming it. Delivery follows in the background."""
        serializer = OfferSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = selectors.template_get(org=self.org, template_id=data["template"])
        result = services.offer_send_eligible(
            org=self.org,
            template=template,
            customer_ids=data["customer_ids"],
            message=data["message"],
            all_or_nothing=data["all_or_nothing"],
        )
        batch = result.batch
        assert batch is not None  # nobody eligible is a 400
        sent = selectors.offers_for(org=self.org).filter(batch=batch)
        if data["one"]:
            offer = sent.get()
            context = {**self.get_serializer_context(), "effects": offer_effects([offer])}
            return Response(
                OfferSerializer(offer, context=context).data, status=status.HTTP_201_CREATED
            )
        offers = list(sent.order_by("customer__name", "pk")[: OFFERS_LISTED_MAX + 1])
        count = len(offers)
        if count > OFFERS_LISTED_MAX:
            count, offers = batch.offers.count(), []
        body = {
            "batch": batch.pk,
            "count": count,
            "progress": request.build_absolute_uri(reverse("api:offer-batch", args=[batch.pk])),
            "offers": offers,
            "skipped": [{"customer": r.customer, "reason": r.reason} for r in result.skipped],
        }
        context = {**self.get_serializer_context(), "effects": offer_effects(offers)}
        return Response(
            OfferSentSerializer(body, context=context).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses=OfferSerializer)
    def retrieve(self, request, pk=None):
        return self._render(pk)

    def _act(self, request, pk, service, input_serializer=None) -> Response:
        """Parse the input (if any), run one transition service on the offer
        loaded once, render the offer as the service saved it."""
        offer = selectors.offer_get(org=self.org, offer_id=pk)
        data = {}
        if input_serializer is not None:
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        saved = service(org=self.org, offer=offer, **data)
        return Response(self.get_serializer(saved).data)

    @extend_schema(
        request=OfferAcceptSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="OfferAcceptAnswer",
                serializers=[OfferSerializer, AcceptPreviewSerializer],
                resource_type_field_name=None,
                many=False,
            ),
            409: AcceptChangedSerializer,
        },
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept: the offer's effect, worked out again now and priced by the
        rules for the payer, is carried out in one transaction (new products and
        increases one order, its id in `order`; each reduction an order with its
        credit note). An offer that `reduces` needs `confirm_reduction: true`
        (400 without, nothing changed). `dry_run: true` answers the preview and
        writes nothing; `expected_total` (the preview's `total`: what the
        customer is charged minus what it is credited, never its partner's
        figures) commits only that amount: another is a 409 with the new
        figures under `preview`."""
        offer = selectors.offer_get(org=self.org, offer_id=pk)
        serializer = OfferAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        side = viewer(self.org)
        if data["dry_run"]:
            effect = services.offer_accept_preview(org=self.org, offer=offer)
            return Response(accept_preview(offer, effect, side=side))
        try:
            saved = services.offer_accept(
                org=self.org,
                offer=offer,
                confirm_reduction=data["confirm_reduction"],
                expected_total=data.get("expected_total"),
            )
        except services.AcceptChanged as exc:
            body = {
                "detail": exc.message,
                "preview": accept_preview(offer, exc.effect, side=side),
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(saved).data)

    @extend_schema(request=OfferDeclineSerializer, responses=OfferSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(request, pk, services.offer_decline, OfferDeclineSerializer)

    @extend_schema(request=None, responses=OfferSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Withdraw an offer still `waiting` or `awaiting_confirmation`."""
        return self._act(request, pk, services.offer_cancel)

    @extend_schema(request=None, responses=OfferSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Send a `failed` offer again: it is `waiting` until delivered."""
        return self._act(request, pk, services.offer_retry)


class OfferBatchAPI(OrgAPIView):
    """How far the delivery of one send got: its offers counted by status.
    Partner members."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    @extend_schema(
        operation_id="offers_batches_retrieve",
        parameters=[_id_parameter("batch_id", "The send's id (`batch` of `POST offers/`).")],
        responses=OfferBatchSerializer,
    )
    def get(self, request, batch_id):
        batch = selectors.batch_get(org=self.org, batch_id=batch_id)
        body = {
            "id": batch.pk,
            "template_name": batch.template_name,
            "created_at": batch.created_at,
            "progress": selectors.batch_progress(org=self.org, batch=batch),
        }
        return Response(OfferBatchSerializer(body).data)


class UpdatesAPI(OrgAPIView):
    """What awaits the customer's answer, with the badge's `count`: offers
    (owners and admins) and partners' invitations (owners). Customer owners and
    admins."""

    allowed_kinds = (Tenant.Kind.CUSTOMER,)
    min_role = Role.ADMIN

    @extend_schema(operation_id="updates_retrieve", responses=UpdatesSerializer)
    def get(self, request):
        updates = selectors.updates_for(org=self.org)
        context = {"org": self.org, "effects": offer_effects(updates["offers"])}
        return Response(UpdatesSerializer(updates, context=context).data)
