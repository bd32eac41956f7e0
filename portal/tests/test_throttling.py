"""The API throttle (portal.api.throttling.ApiRateThrottle): with Django's Redis
cache, DRF's sliding window as one Lua script; with another cache, DRF's own
code. Both must answer exactly as DRF's SimpleRateThrottle does: the same
requests allowed, the same Retry-After.

The script runs on fakeredis (with Lua) in every run, and on the real Redis
as well when REDIS_URL names one (CI): the backends are parametrized, never
skipped."""

import logging
import os
import time
from collections import Counter

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from fakeredis import FakeRedisConnection, FakeServer
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import UserRateThrottle

from core import redis_faults
from portal.api.throttling import ApiRateThrottle
from tenants.tests.factories import UserFactory
from tests.redis_outage import BlackHole, fake_redis_cache

RATE = "3/min"


def _fake_redis() -> RedisCache:
    server = FakeServer()
    return RedisCache(
        "redis://fake:6379/0",
        {"OPTIONS": {"connection_class": FakeRedisConnection, "server": server}},
    )


def _real_redis() -> RedisCache:
    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "throttle-test"})
    cache.clear()
    return cache


REDIS_BACKENDS = {"fakeredis": _fake_redis}
if os.environ.get("REDIS_URL"):
    REDIS_BACKENDS["redis"] = _real_redis


class Clock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _throttle(cls, cache, clock):
    class Throttle(cls):
        rate = RATE

    Throttle.cache = cache
    Throttle.timer = clock
    return Throttle()


def _answers(throttle, request, clock, times) -> list[tuple[bool, float | None]]:
    """At each time: allowed or not, and Retry-After when not."""
    answers = []
    for now in times:
        clock.now = now
        allowed = throttle.allow_request(request, None)
        answers.append((allowed, None if allowed else round(throttle.wait(), 6)))
    return answers


# Three in the first seconds, refused until the window moves past the first,
# then one more, refused again until the second leaves; long after, a fresh window.
TIMES = [1000.0, 1001.0, 1002.5, 1003.0, 1030.0, 1060.5, 1060.7, 1200.0, 1200.1]


@pytest.fixture
def request_as_user(db):
    request = APIRequestFactory().get("/api/v1/customers/")
    request.user = UserFactory()
    return request


@pytest.mark.parametrize("backend", list(REDIS_BACKENDS))
def test_the_redis_script_answers_as_drf_does(backend, request_as_user):
    drf_clock, clock = Clock(), Clock()
    drf = _throttle(UserRateThrottle, LocMemCache("drf", {}), drf_clock)
    ours = _throttle(ApiRateThrottle, REDIS_BACKENDS[backend](), clock)

    expected = _answers(drf, request_as_user, drf_clock, TIMES)
    answers = _answers(ours, request_as_user, clock, TIMES)

    assert answers == expected
    assert [allowed for allowed, _ in answers] == [
        True, True, True, False, False, True, False, True, True,
    ]  # fmt: skip
    assert answers[3] == (False, 57.0)  # the first leaves the window at 1060
    assert answers[6] == (False, 0.3)  # the second at 1061


@pytest.mark.parametrize("backend", list(REDIS_BACKENDS))
def test_the_redis_window_is_per_user(backend, request_as_user):
    clock = Clock()
    cache = REDIS_BACKENDS[backend]()
    ours = _throttle(ApiRateThrottle, cache, clock)
    other = APIRequestFactory().get("/api/v1/customers/")
    other.user = UserFactory()

    assert [ours.allow_request(request_as_user, None) for _ in range(4)] == [True] * 3 + [False]
    assert ours.allow_request(other, None) is True


def test_another_cache_keeps_drfs_own_code(request_as_user):
    drf_clock, clock = Clock(), Clock()
    drf = _throttle(UserRateThrottle, LocMemCache("drf", {}), drf_clock)
    ours = _throttle(ApiRateThrottle, LocMemCache("ours", {}), clock)

    assert _answers(ours, request_as_user, clock, TIMES) == _answers(
        drf, request_as_user, drf_clock, TIMES
    )
    assert ours.history  # DRF's history list, kept in the cache


def test_the_rate_is_read_for_each_request(request_as_user, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": None}}

    assert ApiRateThrottle().allow_request(request_as_user, None) is True


# Redis down or stalled (issue 28): the throttle fails open, counted and logged.


@pytest.fixture
def fresh_fault_log(monkeypatch):
    """No fault logged lately in this process: the next one is logged."""
    monkeypatch.setattr(redis_faults, "_logged_at", {})
    monkeypatch.setattr(redis_faults, "_unlogged", Counter())


def test_a_stalled_redis_lets_the_request_through_within_the_timeout(request_as_user):
    with BlackHole() as hole:
        cache = RedisCache(
            f"redis://127.0.0.1:{hole.port}/0",
            {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
        )
        throttle = _throttle(ApiRateThrottle, cache, Clock())
        before = redis_faults.redis_fault_counts().get("the API throttle", 0)
        started = time.monotonic()

        assert throttle.allow_request(request_as_user, None) is True

        assert time.monotonic() - started < 1.0  # the 0.2 s timeout, not redis-py's 5 s
    assert redis_faults.redis_fault_counts()["the API throttle"] == before + 1


def test_the_cache_client_has_short_timeouts(settings):
    """REDIS_CACHE_OPTIONS, the default cache's OPTIONS when REDIS_URL is set,
    reach the connections of the client the cache (and the throttle) use."""
    cache = RedisCache("redis://127.0.0.1:6379/0", {"OPTIONS": settings.REDIS_CACHE_OPTIONS})
    kwargs = cache._cache.get_client("key").connection_pool.connection_kwargs

    assert (settings.REDIS_CONNECT_TIMEOUT, settings.REDIS_SOCKET_TIMEOUT) == (0.5, 0.5)
    assert kwargs["socket_connect_timeout"] == 0.5
    assert kwargs["socket_timeout"] == 0.5


def test_api_requests_go_through_while_redis_is_down_counted_and_logged_once(
    world, api, settings, caplog, fresh_fault_log
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": RATE}}
    server = fake_redis_cache(settings)
    client = api(world.partner_owner, world.partner)
    before = redis_faults.redis_fault_counts().get("the API throttle", 0)

    server.connected = False
    with caplog.at_level(logging.WARNING, logger="core.redis_faults"):
        down = [client.get("/api/v1/organization/").status_code for _ in range(5)]
    server.connected = True
    back = [client.get("/api/v1/organization/").status_code for _ in range(4)]

    assert down == [200] * 5  # past the rate of 3 a minute: not limited without Redis
    assert redis_faults.redis_fault_counts()["the API throttle"] == before + 5
    throttle_lines = [r for r in caplog.records if "the API throttle" in r.getMessage()]
    assert len(throttle_lines) == 1  # one line for the five, not one each
    assert back == [200, 200, 200, 429]  # Redis back: the window counts again
