"""Redis outages in tests (docs/reliability.md, "When Redis stalls").

`fake_redis_cache(settings)` makes Django's default cache a Redis cache on a
fakeredis server and returns the server: `server.connected = False` is Redis
gone (every command raises redis' ConnectionError, as a refused or timed-out
connection does), `True` is Redis back with the data it held.

`BlackHole` is a stalled Redis, as `kill -STOP` leaves it: a socket that accepts
connections and never answers. A client with the project's short timeouts gives
up on it after REDIS_SOCKET_TIMEOUT.
"""

import socket
import threading

from fakeredis import FakeRedisConnection, FakeServer


def fake_redis_cache(settings) -> FakeServer:
    server = FakeServer()
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://fake:6379/0",
            "OPTIONS": {"connection_class": FakeRedisConnection, "server": server},
        }
    }
    return server


def stalled_redis_cache(settings, hole: "BlackHole", timeout: float = 0.2) -> None:
    """The default cache: a Redis cache on the black hole, with short timeouts."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{hole.port}/0",
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }


class BlackHole:
    """A local port that accepts connections and never answers (closed on exit)."""

    def __enter__(self) -> "BlackHole":
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._accepted.append(connection)

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._thread.join(timeout=1)
        self._listener.close()
        for connection in self._accepted:
            connection.close()
