"""How many API requests a caller may make: past the rate, 429 with Retry-After.

Redis is never a single point of failure (docs/reliability.md): when it cannot
be reached or does not answer within the cache client's timeouts
(REDIS_CONNECT_TIMEOUT, REDIS_SOCKET_TIMEOUT), the throttle lets the request
through, counts the fault and logs it (`core.redis_faults`): for the length
of an outage the API is not rate limited, rather than not answering.
"""

import uuid

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from core.redis_faults import REDIS_DOWN, redis_fault

# DRF's sliding window (SimpleRateThrottle.allow_request) as one Redis script, so
# one round trip and no history list to unpickle and pickle again on every
# request: forget the requests older than the window (score <= now - duration),
# refuse when `num_requests` remain, else record this one and keep the key for
# the window. Returns {allowed, requests in the window before this one, the
# oldest one's time or false}. ARGV: now, duration, num_requests, member.
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2] or false
if count >= tonumber(ARGV[3]) then
  return {0, count, oldest}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, count, oldest}
"""


def _redis(cache) -> RedisCache | None:
    """`cache` if it is Django's Redis cache (`cache` itself is a proxy)."""
    backend = caches[DEFAULT_CACHE_ALIAS] if cache is default_cache else cache
    return backend if isinstance(backend, RedisCache) else None


class ApiRateThrottle(UserRateThrottle):
    """DRF's per-user throttle (`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]`):
    an API token counts against its user, so the user's tokens and browser session
    share one budget and minting more tokens buys no more requests.

    DRF's own class reads the rates once, at import; this one reads them for each
    request, so a changed setting (an override in a test) takes effect.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view) -> bool:
        """DRF's rule; with the Redis cache (production), in one round trip
        (`SLIDING_WINDOW`, a sorted set of request times); with another cache
        (tests, `make run`), DRF's own history list. Without Redis, allowed."""
        redis = _redis(self.cache)
        if redis is None:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        key = redis.make_and_validate_key(f"{self.key}:window")
        try:
            allowed, self.count, oldest = redis._cache.get_client(key, write=True).eval(
                SLIDING_WINDOW,
                1,
                key,
                repr(self.now),
                self.duration,
                self.num_requests,
                f"{self.now!r}:{uuid.uuid4().hex}",
            )
        except REDIS_DOWN as exc:  # fail open: counted and logged
            redis_fault("the API throttle", exc)
            return True
        self.oldest = float(oldest) if oldest else None
        return bool(allowed)

    def wait(self) -> float | None:
        """DRF's Retry-After, from the window the script saw."""
        if _redis(self.cache) is None:
            return super().wait()
        remaining = self.duration - (self.now - self.oldest) if self.count else self.duration
        available = self.num_requests - self.count + 1
        if available <= 0:
            return None
        return remaining / float(available)
