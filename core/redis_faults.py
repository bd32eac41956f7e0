"""Redis is a cache and a broker, never a single point of failure for reads and
writes (docs/reliability.md, "When Redis stalls").

`REDIS_DOWN` are the errors of a Redis that cannot be reached or does not answer
within the client's timeouts (REDIS_CONNECT_TIMEOUT, REDIS_SOCKET_TIMEOUT). The
code that goes on without Redis on them (the API throttle, the cached figures)
reports each one with `redis_fault(what, exc)`: counted per `what` for the life
of the process (`redis_fault_counts()`), and logged at most once per
`LOG_EVERY_SECONDS` per `what`, with the number of faults since the last line,
so a stall under load writes a few lines, not one per request.
"""

import logging
import threading
import time
from collections import Counter

import redis

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
LOG_EVERY_SECONDS = 10.0

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_unlogged: Counter[str] = Counter()
_logged_at: dict[str, float] = {}


def redis_fault(what: str, exc: BaseException) -> None:
    """Count a fault of Redis met by `what`; log it unless one was logged lately."""
    with _lock:
        _counts[what] += 1
        _unlogged[what] += 1
        now = time.monotonic()
        last = _logged_at.get(what)
        if last is not None and now - last < LOG_EVERY_SECONDS:
            return
        _logged_at[what] = now
        faults, total = _unlogged.pop(what), _counts[what]
    logger.warning(
        "Redis unavailable for %s, going on without it: %s: %s "
        "(%d fault(s) since the last report, %d since the process started)",
        what,
        type(exc).__name__,
        exc,
        faults,
        total,
    )


def redis_fault_counts() -> dict[str, int]:
    """Faults met since the process started, per `what`."""
    with _lock:
        return dict(_counts)
