"""The page-weight figures of `make bench` (bench/pages.py), pinned: the partner's
main pages cost the same queries whatever the size of the book, and these
counts. A page whose count changes fails here before the bench sees it. And the
customer list API as the throughput figure loads it (bench/throughput.py): its
queries and Redis round trips."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from fakeredis import FakeRedisConnection, FakeServer
from redis.connection import AbstractConnection
from rest_framework.test import APIClient

from portal.demo import seed_demo, seed_scale_customers, seed_scale_subscriptions
from subscriptions import smart_lists
from tenants.models import Tenant, User
from tenants.selectors import org_context_for
from tenants.services import api_token_create

OWNER = "partner.owner@demo.test"
SLUG = "alpine-it"

# name -> (url name, extra args, queries of one request signed in with a session)
PAGES = {
    "dashboard": ("org_dashboard", ()),
    "customers": ("partner_customers", ()),
    "customer detail": ("customer_detail", ("customer",)),
    "customer subscriptions": ("customer_subscriptions", ("customer",)),
    "mrr movements": ("mrr_movements", ()),
    "smart lists": ("smart_lists", ()),
    "smart list": ("smart_list", ("smart_list",)),
    "offers sent": ("offers_sent", ()),
    "offer templates": ("offer_templates", ()),
    "upsell requests": ("upgrade_requests", ()),
    "billing": ("billing", ()),
    "orders": ("billing_orders", ()),
    "invoices": ("invoices", ()),
}
# A warm request: the dashboard's book, programme and customer count and the month's
# movements come from the cache (subscriptions.book_cache) until the book changes;
# each cached figure costs the primary-key lookup of its branch's generation in
# the database (tenants.branch_cache, issue 28): 3 on the dashboard, 1 on movements.
# The dashboard's 15th: the latest months' margin from the invoices to customers
# (resale.selectors.margin_by_month, one aggregate; issue 26).
PINNED = {
    "dashboard": 15,  # the margin card (issue 26)
    "customers": 14,  # the workbench (issue 25): its views, templates, collaborators, products
    "customer detail": 15,
    "customer subscriptions": 8,
    "mrr movements": 7,
    "smart lists": 8,
    "smart list": 10,
    "offers sent": 9,
    "offer templates": 7,
    "upsell requests": 7,
    "billing": 8,
    "orders": 9,
    "invoices": 6,
}


def _grow(customers: int) -> None:
    seed_scale_customers(count=customers)
    seed_scale_subscriptions()


@pytest.fixture
def demo(db):
    seed_demo()
    _grow(3)
    owner = User.objects.get(email=OWNER)
    partner = Tenant.objects.get(slug=SLUG)
    org = org_context_for(user=owner, tenant_id=partner.pk)
    smart_list = smart_lists.smart_list_create(org=org, name="Everyone", filters={})
    return {
        "owner": owner,
        "customer": Tenant.objects.get(slug="scale-customer-00001").pk,
        "smart_list": smart_list.pk,
    }


def _queries(client, demo) -> dict[str, int]:
    counts = {}
    for name, (url_name, args) in PAGES.items():
        url = reverse(url_name, args=[SLUG, *(demo[a] for a in args)])
        assert client.get(url).status_code == 200, name  # warm: sessions, caches
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, name
        counts[name] = len(captured)
    return counts


def test_the_main_partner_pages_cost_the_same_queries_at_any_book_size(demo, client):
    client.force_login(demo["owner"])
    small = _queries(client, demo)

    _grow(25)
    large = _queries(client, demo)

    assert large == small
    assert small == PINNED


def test_the_sent_offers_filter_lists_the_customers_offered_not_the_whole_book(demo, client):
    client.force_login(demo["owner"])
    _grow(25)

    page = client.get(reverse("offers_sent", args=[SLUG])).content.decode()

    assert "Scale Customer 00001" not in page  # in the book, never sent an offer
    offered = Tenant.objects.filter(offers_received__partner__slug=SLUG).first()
    assert offered is not None and f'value="{offered.pk}"' in page


# The customer list API with a token, as bench/throughput.py loads it (issue 27
# point 3, docs/performance.md): a warm request is the token with its user, tenant
# and membership (one statement), the branch's generation (the count's cache) and
# the page; two Redis round trips, the throttle's window and the count with its
# generation (one MGET). The same at any size of the book.
API_QUERIES = 3
API_REDIS_ROUND_TRIPS = 2


class _RedisCommands:
    """Counts the commands sent to Redis (a pipeline or a script: one each)."""

    def __init__(self, monkeypatch):
        self.count = 0
        send = AbstractConnection.send_packed_command

        def counted(connection, command, check_health=True):
            self.count += 1
            return send(connection, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


def _api_costs(client, commands) -> tuple[int, int, int]:
    url = f"{reverse('api:customer-list')}?page_size=50"
    assert client.get(url).status_code == 200  # warm: the count's cache, the token's last use
    commands.count = 0
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), commands.count, response.json()["count"]


def test_the_customer_list_api_costs_the_same_queries_and_redis_round_trips_at_any_size(
    demo, settings, monkeypatch
):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://fake:6379/0",
            "OPTIONS": {"connection_class": FakeRedisConnection, "server": FakeServer()},
        }
    }
    commands = _RedisCommands(monkeypatch)
    partner = Tenant.objects.get(slug=SLUG)
    org = org_context_for(user=demo["owner"], tenant_id=partner.pk)
    _, raw = api_token_create(org=org, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    queries, round_trips, small_count = _api_costs(client, commands)
    _grow(25)
    assert _api_costs(client, commands)[:2] == (queries, round_trips)
    assert _api_costs(client, commands)[2] > small_count
    assert (queries, round_trips) == (API_QUERIES, API_REDIS_ROUND_TRIPS)
