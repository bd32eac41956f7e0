"""core.cache.RedisCache: Django's Redis cache, one redis-py client per pool
(issue 27 point 3: Django builds a client, and its callback table, per command)."""

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from fakeredis import FakeRedisConnection, FakeServer
from redis.exceptions import ConnectionError as RedisConnectionError

from core.cache import RedisCache


def _cache(server: FakeServer) -> RedisCache:
    return RedisCache(
        "redis://fake:6379/0",
        {"OPTIONS": {"connection_class": FakeRedisConnection, "server": server}},
    )


def test_it_is_djangos_cache_with_one_client_for_every_command():
    cache = _cache(FakeServer())
    assert isinstance(cache, DjangoRedisCache)  # the throttle's check (portal.api.throttling)

    cache.set("a", {"n": 1})
    assert cache.add("b", 2) and not cache.add("b", 3)
    assert cache.incr("b") == 3
    assert cache.get_many(["a", "b", "c"]) == {"a": {"n": 1}, "b": 3}
    assert cache._cache.get_client(write=True) is cache._cache.get_client()


def test_redis_gone_raises_as_djangos_does():
    server = FakeServer()
    cache = _cache(server)
    cache.set("a", 1)
    server.connected = False
    with pytest.raises(RedisConnectionError):
        cache.get("a")
    server.connected = True
    assert cache.get("a") == 1
