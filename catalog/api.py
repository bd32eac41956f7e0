from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from catalog import selectors, services
from catalog.serializers import ProductSerializer


class ProductViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The catalog: anyone signed in reads it; staff create and change products.
    A product is addressed by its code (or its id)."""

    serializer_class = ProductSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["category", "family", "billing_period"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "edition_rank"]

    def get_permissions(self):
        if self.action in ("create", "partial_update"):
            return [permissions.IsAdminUser()]
        return [permissions.IsAuthenticated()]

    def get_queryset(self):
        return selectors.products_list(include_inactive=self.request.user.is_staff)

    def retrieve(self, request, code=None):
        product = selectors.product_get(code_or_id=code, include_inactive=request.user.is_staff)
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductSerializer, responses={201: ProductSerializer})
    def create(self, request):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(actor=request.user, **serializer.validated_data)
        product = selectors.product_get(code_or_id=product.code, include_inactive=True)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductSerializer, responses=ProductSerializer)
    def partial_update(self, request, code=None):
        product = selectors.product_get(code_or_id=code, include_inactive=True)
        serializer = ProductSerializer(product, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.product_update(actor=request.user, product=product, **serializer.validated_data)
        product = selectors.product_get(code_or_id=product.code, include_inactive=True)
        return Response(ProductSerializer(product).data)
