"""API of the customers a partner manages (API.md, SPEC §2): the list, a customer
and what the partner records about it, its SLA policies and alert profiles. Parse,
call a service or selector, render."""

import django_filters
from django.db.models import Prefetch, prefetch_related_objects
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from customers import selectors, services
from customers.filters import CustomerFilter
from customers.models import AlertProfile, Contract, ServiceProfile, SlaPolicy
from customers.serializers import (
    AlertProfileSerializer,
    ContactSerializer,
    ContractSerializer,
    ContractTopUpSerializer,
    CustomerCreatedSerializer,
    CustomerCreateSerializer,
    CustomerRowSerializer,
    CustomerSerializer,
    ServiceProfileSerializer,
    SlaPolicySerializer,
    TimeEntrySerializer,
)
from partners import selectors as partner_selectors
from partners import services as partner_services
from partners.api import partnership_response
from partners.serializers import (
    CollaboratorSerializer,
    CollaboratorsSetSerializer,
    OwnerInviteSerializer,
    PartnershipDetailSerializer,
)
from tenants.api_base import OrgViewSet
from tenants.api_sync import SyncFilterBackend
from tenants.models import Role, Tenant


class CustomerListFilter(CustomerFilter):
    """The customer list's one FilterSet (`partners.filters.CustomerFilter`: `q`,
    the filters, `ordering`), plus `search`, the name `q` had before, and a
    stable order for pagination: by name unless `ordering` says otherwise, then
    by id."""

    search = django_filters.CharFilter(
        method="search", label="The same as q (kept for existing integrations).", max_length=200
    )

    def filter_queryset(self, queryset):
        return self.ordered(super().filter_queryset(queryset))

    @staticmethod
    def ordered(queryset):
        ordering = queryset.query.order_by or ("name",)
        # The id breaks ties in the direction of the first key, so that `name`
        # and `-name` both walk the tenant_customer_name index (name, id).
        tie_break = "-pk" if ordering[0].startswith("-") else "pk"
        return queryset.order_by(*ordering, tie_break)


class CustomerListFilterBackend(DjangoFilterBackend):
    """django-filter's backend (the same FilterSet, schema and checks), except
    that a request naming none of the FilterSet's parameters (the plain list,
    `?page=`, `?page_size=`) gets the list in its default order without the
    FilterSet's form and validation, which would leave it as it is."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        names = filterset_class.base_filters if filterset_class else ()
        if filterset_class is CustomerListFilter and not any(
            key.startswith(name) for key in request.query_params for name in names
        ):
            view.unfiltered = True
            return CustomerListFilter.ordered(queryset)
        return super().filter_queryset(request, queryset, view)


def _id_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


class CustomerViewSet(mixins.ListModelMixin, OrgViewSet):
    """The customers the caller may see and act on (SPEC §3), with the caller's
    active grant and the primary contact; what the partner records about each
    (SPEC §2): contacts, contracts, service profile."""

    serializer_class = CustomerRowSerializer
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    min_role_by_action = {
        "create": Role.ADMIN,  # asking a customer's owner for access: owners (the service)
        "collaborators_update": Role.ADMIN,
        "invite_owner": Role.OWNER,
    }
    filter_backends = [CustomerListFilterBackend, SyncFilterBackend]
    filterset_class = CustomerListFilter
    queryset = Tenant.objects.none()
    unfiltered = False  # set by CustomerListFilterBackend: no search, filter or ordering

    def _live_partnerships(self) -> Prefetch:
        return selectors.live_partnerships_prefetch(org=self.org)

    def get_org_queryset(self):
        self.request.org = self.org  # CustomerFilter's collaborator filter reads it
        return selectors.customer_list(org=self.org)

    def _get_customer(self, pk) -> Tenant:
        """The customer, loaded once per request through the permission function
        (another organization's or a missing id: 404); the services take it from
        here and lock it (docs/architecture.md, "One load per request")."""
        return partner_selectors.customer_get_for_partner(org=self.org, customer_id=pk)

    def _with_partnerships(self, customer: Tenant) -> Tenant:
        """The customer with this partner's live partnerships (CustomerSerializer's `partnership`)."""
        prefetch_related_objects([customer], self._live_partnerships())
        return customer

    @extend_schema(
        description="`q` (or `search`) matches the name, an email domain, a contact's email "
        "or the company/tax id; `ordering` is name, created_at, city or country (`-` for "
        "descending), by name by default."
    )
    def list(self, request, *args, **kwargs):
        # the rows as plain values (selectors.customer_rows): no model instances
        rows = selectors.customer_rows(self.filter_queryset(self.get_queryset()))
        if self.unfiltered and self.paginator is not None:
            # every customer the caller sees: the same count, from the grants
            self.paginator.count = partner_selectors.customers_visible_count(org=self.org)
        page = self.paginate_queryset(rows)
        if page is None:
            return Response(self.get_serializer(rows, many=True).data)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CustomerCreateSerializer, responses={201: CustomerCreatedSerializer})
    def create(self, request):
        """Add a customer, and with it, all or nothing: the grant asked for (with
        `owner_email`) or an unclaimed customer managed at once, an optional
        first contract, service profile and primary contact."""
        serializer = CustomerCreateSerializer(data=request.data, context={"org": self.org})
        serializer.is_valid(raise_exception=True)
        partnership = services.customer_onboard(org=self.org, **serializer.onboarding())
        customer = partnership.customer
        customer.created_partnership = partner_selectors.partnership_get(
            org=self.org, partnership_id=partnership.pk
        )
        return Response(CustomerCreatedSerializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=CustomerSerializer)
    def retrieve(self, request, pk=None):
        return Response(CustomerSerializer(self._with_partnerships(self._get_customer(pk))).data)

    @extend_schema(request=CustomerSerializer, responses=CustomerSerializer)
    def partial_update(self, request, pk=None):
        customer = self._with_partnerships(self._get_customer(pk))
        serializer = CustomerSerializer(customer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        saved = partner_services.customer_profile_update(
            org=self.org, customer=customer, data=serializer.validated_data
        )
        saved.live_partnerships = customer.live_partnerships  # read in this request
        return Response(CustomerSerializer(saved).data)

    @extend_schema(responses=CollaboratorSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def collaborators(self, request, pk=None):
        customer = self._get_customer(pk)
        assigned = partner_selectors.assigned_collaborators(org=self.org, customer=customer)
        return Response(CollaboratorSerializer(assigned.order_by("user__email"), many=True).data)

    @extend_schema(request=CollaboratorsSetSerializer, responses=CollaboratorSerializer(many=True))
    @collaborators.mapping.put
    def collaborators_update(self, request, pk=None):
        customer = self._get_customer(pk)
        serializer = CollaboratorsSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner_services.collaborators_set(
            org=self.org, customer=customer, user_ids=serializer.validated_data["users"]
        )
        assigned = partner_selectors.assigned_collaborators(org=self.org, customer=customer)
        return Response(CollaboratorSerializer(assigned.order_by("user__email"), many=True).data)

    @extend_schema(request=OwnerInviteSerializer, responses=PartnershipDetailSerializer)
    @action(detail=True, methods=["post"], url_path="invite-owner")
    def invite_owner(self, request, pk=None):
        """Invite the owner of an unclaimed customer, who then reviews the grant."""
        customer = self._get_customer(pk)
        serializer = OwnerInviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partnership = partner_services.customer_owner_invite(
            org=self.org, customer=customer, owner_email=serializer.validated_data["email"]
        )
        return partnership_response(self.org, partnership.pk)

    # --- contacts -----------------------------------------------------------------------

    @extend_schema(responses=ContactSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def contacts(self, request, pk=None):
        customer = self._get_customer(pk)
        return Response(ContactSerializer(customer.contacts.all(), many=True).data)

    @extend_schema(request=ContactSerializer, responses={201: ContactSerializer})
    @contacts.mapping.post
    def contact_create(self, request, pk=None):
        """Add a contact; the first one, or one sent with `is_primary`, becomes the primary."""
        customer = self._get_customer(pk)
        serializer = ContactSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_add(org=self.org, customer=customer, **serializer.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def _get_contact(self, pk, contact_id):
        customer = self._get_customer(pk)
        return selectors.contact_get(org=self.org, customer=customer, contact_id=contact_id)

    @extend_schema(
        request=ContactSerializer,
        responses=ContactSerializer,
        parameters=[_id_parameter("contact_id", "A contact of this customer.")],
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"contacts/(?P<contact_id>[^/.]+)",
        pagination_class=None,
        filter_backends=[],
    )
    def contact(self, request, pk=None, contact_id=None):
        """Change a contact; `is_primary: true` makes it the primary (the previous
        primary stops being one), `false` on the primary is refused."""
        contact = self._get_contact(pk, contact_id)
        serializer = ContactSerializer(contact, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(
            org=self.org, contact=contact, data=dict(serializer.validated_data)
        )
        return Response(ContactSerializer(contact).data)

    @extend_schema(
        responses={204: None},
        parameters=[_id_parameter("contact_id", "A contact of this customer.")],
    )
    @contact.mapping.delete
    def contact_delete(self, request, pk=None, contact_id=None):
        """Remove a contact; the primary one only after another is made primary (400)."""
        services.contact_remove(org=self.org, contact=self._get_contact(pk, contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- contracts ----------------------------------------------------------------------

    def _contracts(self, customer: Tenant):
        return selectors.contracts_with_figures(
            selectors.contracts_list(org=self.org, customer=customer).select_related("customer")
        )

    @extend_schema(responses=ContractSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def contracts(self, request, pk=None):
        """This partner's contracts with the customer, the latest start first."""
        customer = self._get_customer(pk)
        return Response(ContractSerializer(self._contracts(customer), many=True).data)

    @extend_schema(request=ContractSerializer, responses={201: ContractSerializer})
    @contracts.mapping.post
    def contract_create(self, request, pk=None):
        customer = self._get_customer(pk)
        serializer = ContractSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contract = services.contract_create(
            org=self.org, customer=customer, data=dict(serializer.validated_data)
        )
        return Response(ContractSerializer(contract).data, status=status.HTTP_201_CREATED)

    def _get_contract(self, pk, contract_id):
        customer = self._get_customer(pk)
        return selectors.contract_get(org=self.org, customer=customer, contract_id=contract_id)

    @extend_schema(
        request=ContractSerializer,
        responses=ContractSerializer,
        parameters=[_id_parameter("contract_id", "One of your contracts with this customer.")],
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"contracts/(?P<contract_id>[^/.]+)",
        pagination_class=None,
        filter_backends=[],
    )
    def contract(self, request, pk=None, contract_id=None):
        """Change a contract; a new `type` starts from its own amounts (give them)."""
        contract = self._get_contract(pk, contract_id)
        serializer = ContractSerializer(contract, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contract = services.contract_update(
            org=self.org, contract=contract, data=dict(serializer.validated_data)
        )
        return Response(ContractSerializer(contract).data)

    @extend_schema(
        responses={204: None},
        parameters=[_id_parameter("contract_id", "One of your contracts with this customer.")],
    )
    @contract.mapping.delete
    def contract_delete(self, request, pk=None, contract_id=None):
        services.contract_delete(org=self.org, contract=self._get_contract(pk, contract_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- service profile ----------------------------------------------------------------

    def _service_profile(self, pk) -> ServiceProfile:
        customer = self._get_customer(pk)
        return selectors.service_profile_of(org=self.org, customer=customer) or ServiceProfile()

    @extend_schema(responses=ServiceProfileSerializer)
    @action(
        detail=True,
        methods=["get"],
        url_path="service-profile",
        pagination_class=None,
        filter_backends=[],
    )
    def service_profile(self, request, pk=None):
        """Your SLA policy and alert profile for this customer (null: none chosen)."""
        return Response(ServiceProfileSerializer(self._service_profile(pk)).data)

    @extend_schema(request=ServiceProfileSerializer, responses=ServiceProfileSerializer)
    @service_profile.mapping.put
    def service_profile_update(self, request, pk=None):
        customer = self._get_customer(pk)
        serializer = ServiceProfileSerializer(data=request.data, context={"org": self.org})
        serializer.is_valid(raise_exception=True)
        profile = services.service_profile_set(
            org=self.org, customer=customer, **serializer.validated_data
        )
        return Response(ServiceProfileSerializer(profile).data)


class PartnerListViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgViewSet):
    """A partner's own list (SLA policies, alert profiles): its members read it,
    owners and admins write it; another partner's entry is a 404 like a missing one.
    Subclasses name their `partner_list` (partners.services.PartnerList), which
    reads through the selectors and writes through the save service."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    min_role_by_action = {
        "create": Role.ADMIN,
        "partial_update": Role.ADMIN,
        "destroy": Role.ADMIN,
    }
    filter_backends = [OrderingFilter]
    ordering_fields = ["name"]
    ordering = ["name"]

    partner_list: services.PartnerList

    def get_org_queryset(self):
        return self.partner_list.entries(org=self.org)

    def get_entry(self, pk):
        return self.partner_list.entry(org=self.org, entry_id=pk)

    def save_entry(self, data: dict, entry=None):
        return self.partner_list.save(org=self.org, data=data, entry=entry)

    def get_object(self):
        return self.get_entry(self.kwargs["pk"])

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = self.save_entry(dict(serializer.validated_data))
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        entry = self.get_object()
        serializer = self.get_serializer(entry, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(
            self.get_serializer(self.save_entry(dict(serializer.validated_data), entry)).data
        )

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Remove it; service profiles that used it keep none."""
        services.partner_list_entry_delete(org=self.org, entry=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SlaPolicyViewSet(PartnerListViewSet):
    """Your SLA policies: first response and resolution targets, in minutes."""

    serializer_class = SlaPolicySerializer
    queryset = SlaPolicy.objects.none()
    partner_list = services.SLA_POLICIES


class AlertProfileViewSet(PartnerListViewSet):
    """Your alert-threshold profiles: CPU, memory and disk percentages, minutes offline."""

    serializer_class = AlertProfileSerializer
    queryset = AlertProfile.objects.none()
    partner_list = services.ALERT_PROFILES


class ContractViewSet(OrgViewSet):
    """What is recorded against one of your contracts, by its id: time entries
    (hourly, project hourly and block contracts) and a block's top-ups. Allowed
    partner users (owners, admins, collaborators assigned to the customer) read
    and write; another partner's contract, or one of a customer you no longer
    manage, is a 404 like a missing id."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR
    queryset = Contract.objects.none()
    serializer_class = TimeEntrySerializer
    filter_backends: list = []

    def get_org_queryset(self):
        return Contract.objects.none()

    def _contract(self, pk) -> Contract:
        return selectors.contract_get_for_partner(org=self.org, contract_id=pk)

    @extend_schema(responses=TimeEntrySerializer(many=True))
    @action(detail=True, methods=["get"], url_path="time-entries")
    def time_entries(self, request, pk=None):
        """The contract's time entries, the latest day first."""
        entries = selectors.time_entries_of(contract=self._contract(pk))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(TimeEntrySerializer(page, many=True).data)

    @extend_schema(request=TimeEntrySerializer, responses={201: TimeEntrySerializer})
    @time_entries.mapping.post
    def time_entry_create(self, request, pk=None):
        """Record time: on a block it draws from the balance, and what the balance
        lacks is billed at the hourly rate (docs/partner-billing.md)."""
        contract = self._contract(pk)
        serializer = TimeEntrySerializer(data=request.data, context={"org": self.org})
        serializer.is_valid(raise_exception=True)
        entry = services.time_entry_add(
            org=self.org, contract=contract, **serializer.validated_data
        )
        return Response(TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={204: None},
        parameters=[_id_parameter("entry_id", "A time entry of this contract.")],
    )
    @action(detail=True, methods=["delete"], url_path=r"time-entries/(?P<entry_id>[^/.]+)")
    def time_entry(self, request, pk=None, entry_id=None):
        """Remove a time entry of the current month or later (400 for a month
        already billed)."""
        entry = selectors.time_entry_get(contract=self._contract(pk), entry_id=entry_id)
        services.time_entry_delete(org=self.org, entry=entry)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=ContractTopUpSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="top-ups")
    def top_ups(self, request, pk=None):
        """A block's top-ups, the latest first."""
        page = self.paginate_queryset(selectors.top_ups_of(contract=self._contract(pk)))
        return self.get_paginated_response(ContractTopUpSerializer(page, many=True).data)

    @extend_schema(request=ContractTopUpSerializer, responses={201: ContractTopUpSerializer})
    @top_ups.mapping.post
    def top_up_create(self, request, pk=None):
        """Top up a block (billed in the month of its `date`)."""
        contract = self._contract(pk)
        serializer = ContractTopUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        top_up = services.contract_top_up(
            org=self.org, contract=contract, **serializer.validated_data
        )
        return Response(ContractTopUpSerializer(top_up).data, status=status.HTTP_201_CREATED)
