"""Django's Redis cache, with one `redis.Redis` client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` object for
every cache call (its pool is reused, the client object is not), and building
one copies redis-py's table of about 170 response callbacks: an order, whose
branch-cache retirements call the cache a few times, spent more CPU building
clients than talking to Redis (docs/performance.md, "Month-end writes").
A client holds no state of its own besides that table (the connections are the
pool's, which also checks the process id after a fork), so one per pool is
kept. Everything else, the timeouts included, is Django's backend as before."""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
