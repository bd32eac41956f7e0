"""The portal's Redis cache backend: Django's own, keeping one redis-py client
per connection pool.

Django's `RedisCacheClient.get_client` makes a new `redis.Redis` for every
command, and each one builds redis-py's table of response callbacks (169
entries): about 0.1 ms of CPU per cache call, more than the round trip to a
local Redis (bench/api_profile.py, docs/performance.md, issue 27 point 3; an
order's branch-cache retirements paid the same, "Month-end writes"). A
redis-py client is safe to share between threads (each command takes a
connection from the pool and gives it back), so one per pool is enough.
Everything else, including the errors raised when Redis cannot be reached, is
Django's.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ClientPerPool(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ClientPerPool
