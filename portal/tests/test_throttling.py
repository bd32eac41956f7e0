"""The API throttle (portal.api.throttling.ApiRateThrottle): with Django's Redis
cache, DRF's sliding window as one Lua script; with another cache, DRF's own
code. Both must answer exactly as DRF's SimpleRateThrottle does: the same
requests allowed, the same Retry-After.

The script runs on fakeredis (with Lua) in every run, and on the real Redis
as well when REDIS_URL names one (CI): the backends are parametrized, never
skipped."""

import os

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from fakeredis import FakeRedisConnection, FakeServer
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import UserRateThrottle

from portal.api.throttling import ApiRateThrottle
from tenants.tests.factories import UserFactory

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
