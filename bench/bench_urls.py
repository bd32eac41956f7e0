"""The portal's URLs plus the floor of the API throughput figure, for the
bench's gunicorn only (`bench_settings.ROOT_URLCONF`); the product's URLs do not
have it.

The floor is the least Django can do to serve the customer list API's first
page: a plain view that reads the same 50 rows with the same selector and
order, `.values()`, as JSON. No authentication, no DRF, no count.
"""

from django.http import JsonResponse
from django.urls import path

from customers.selectors import CUSTOMER_ROW_FIELDS
from portal.urls import handler400, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns

OWNER_EMAIL = "partner.owner@demo.test"
PARTNER_SLUG = "alpine-it"
FIELDS = CUSTOMER_ROW_FIELDS  # the same rows the API list returns
_org = None


def _demo_org():
    """The demo partner owner's organization, resolved once per process."""
    global _org
    if _org is None:
        from tenants.models import Tenant, User
        from tenants.selectors import org_context_for

        partner = Tenant.objects.get(slug=PARTNER_SLUG)
        _org = org_context_for(user=User.objects.get(email=OWNER_EMAIL), tenant_id=partner.pk)
    return _org


def customers_floor(request):
    from customers.selectors import customer_list

    rows = customer_list(org=_demo_org()).order_by("name", "pk").values(*FIELDS)[:50]
    return JsonResponse({"results": list(rows)})


urlpatterns = [
    path("bench/customers-floor/", customers_floor, name="bench_customers_floor"),
    *portal_urlpatterns,
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
