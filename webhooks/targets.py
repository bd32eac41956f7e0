"""Where a webhook may be sent (SSRF, docs/webhooks.md "Targets"): `https` to a
public address only, judged at registration (`target_check`) and again at
delivery, after the name is resolved (`target_resolve`), for every connection
opened, and the request then goes to the very address that was judged (`post`,
`Session.post`: no second lookup a DNS rebinding could answer differently; a
`Session` reuses a kept-alive connection, to that judged address, for the
POSTs of one `deliver_many` message). No redirect is followed; the connection
has 3 s, each exchange 10 s (however slowly the receiver drips its answer);
at most RESPONSE_CAP bytes of the answer are read.

`WEBHOOKS_ALLOW_PRIVATE_TARGETS` (off by default; on in the test and dev
settings) allows plain `http` and loopback or private addresses, for a
receiver on the developer's own machine.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 10.0
RESPONSE_CAP = 64 * 1024


class TargetRefused(ValidationError):
    """A URL the portal will not send to (the message says why)."""


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False))


def address_is_public(address: str) -> bool:
    """Not loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
    (169.254/16, fe80::/10), unspecified (0.0.0.0, ::), multicast, reserved or
    shared (100.64/10); an IPv4-mapped IPv6 address is judged as its IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if _allow_private() else ("https",)
    if scheme not in allowed:
        raise TargetRefused({"url": _("The URL must start with https://.")})
    if not parts.hostname:
        raise TargetRefused({"url": _("The URL names no host.")})
    if parts.username or parts.password:
        raise TargetRefused({"url": _("The URL must not carry a user name or password.")})
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TargetRefused({"url": _("The URL's port is not a number.")}) from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port, path


def target_resolve(url: str) -> tuple[str, list[str]]:
    """The host of `url` and the addresses it resolves to now, all of them
    public (unless the setting allows private ones); else TargetRefused."""
    _scheme, host, port, _path = _split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused({"url": _("The host name does not resolve.")}) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused({"url": _("The host name does not resolve.")})
    if not _allow_private() and not all(address_is_public(a) for a in addresses):
        # one private answer is enough to refuse: the request must not be able
        # to reach inside, whichever answer a later lookup would pick
        raise TargetRefused(
            {"url": _("The URL leads to a private, loopback or link-local address.")}
        )
    return host, addresses


def target_check(url: str) -> None:
    """Registration's check: the form, the scheme and (after resolving) the addresses."""
    target_resolve(url)


@dataclass
class Answer:
    status: int
    body: str
    duration_ms: int


class _Pinned(http.client.HTTPConnection):
    """A connection to the address judged, not to a second lookup of the name."""

    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, timeout=CONNECT_TIMEOUT)
        self._address = address
        self.deadline = time.monotonic() + TOTAL_TIMEOUT  # the current request's

    def _socket(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout=CONNECT_TIMEOUT)
        # http.client sends the headers and the body apart: without this, a reused
        # connection waits for the receiver's delayed ACK (Nagle), ~40 ms a request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(max(0.1, self.deadline - time.monotonic()))
        return sock

    def connect(self) -> None:
        self.sock = self._socket()


class _PinnedTLS(_Pinned):
    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, address)
        self._context = ssl.create_default_context()

    def connect(self) -> None:
        # the certificate is checked against the name in the URL (SNI and hostname)
        self.sock = self._context.wrap_socket(self._socket(), server_hostname=self.host)


class Session:
    """Keep-alive POSTs for one run of deliveries (a `deliver_many` message):
    one connection per (scheme, host, port), opened to an address judged by
    `target_resolve` when it is opened, and reused for the next request to the
    same host while the receiver keeps it open. A connection the receiver
    closed, or one whose answer was not read to its end, is not reused: the
    next request resolves the name and judges the address again. Each request
    has its own deadline (TOTAL_TIMEOUT)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str, int], _Pinned] = {}

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        scheme, host, port, path = _split(url)
        key = (scheme, host, port)
        connection = self._open.pop(key, None)
        if connection is not None and connection.sock is not None:
            try:
                answer, reusable = _exchange(connection, path, body, headers)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                # the receiver closed the idle connection as the request left:
                # once more on a new connection (the same webhook-id, if it had come)
                connection.close()
            else:
                self._keep(key, connection, reusable)
                return answer
        _host, addresses = target_resolve(url)
        connection_class = _PinnedTLS if scheme == "https" else _Pinned
        connection = connection_class(host, port, addresses[0])
        answer, reusable = _exchange(connection, path, body, headers)
        self._keep(key, connection, reusable)
        return answer

    def _keep(self, key: tuple[str, str, int], connection: "_Pinned", reusable: bool) -> None:
        if reusable and connection.sock is not None:
            self._open[key] = connection
        else:
            connection.close()

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` after `target_resolve`; the answer's status and the
    first RESPONSE_CAP bytes of its body. A redirect is an answer like any other
    3xx (not followed). Raises TargetRefused, or OSError on a network failure
    or a timeout. (One request on its own connection: `Session.post` for several.)"""
    with Session() as session:
        return session.post(url, body=body, headers=headers)


def _exchange(
    connection: "_Pinned", path: str, body: bytes, headers: dict[str, str]
) -> tuple[Answer, bool]:
    """One request on `connection` (opened now if it is not) and its answer;
    whether the connection may carry another request (the answer read to its
    end, the receiver keeping it open).

    TOTAL_TIMEOUT bounds the whole exchange, however the receiver paces it: a
    socket timeout only bounds each wait, so a receiver dripping a byte at a
    time could hold the worker for ever; a timer shuts the socket at the
    deadline, which ends any read then under way (TimeoutError)."""
    started = time.monotonic()
    deadline = started + TOTAL_TIMEOUT
    connection.deadline = deadline
    if connection.sock is not None:  # reused: this request's own deadline
        connection.sock.settimeout(max(0.1, deadline - started))
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(TOTAL_TIMEOUT, expire)
    timer.daemon = True
    timer.start()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        chunks, size = [], 0
        while size < RESPONSE_CAP:
            if time.monotonic() > deadline:
                raise TimeoutError(_("The receiver took longer than 10 seconds."))
            chunk = response.read1(min(8192, RESPONSE_CAP - size))  # what has come
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if expired.is_set():
            raise TimeoutError(_("The receiver took longer than 10 seconds."))
        text = b"".join(chunks).decode("utf-8", errors="replace")
        answer = Answer(response.status, text, int((time.monotonic() - started) * 1000))
        if response.length == 0:  # read to its end (read1 leaves an empty body open)
            response.close()
        return answer, response.isclosed() and not response.will_close
    except (OSError, ValueError, http.client.HTTPException):
        connection.close()
        if expired.is_set():
            raise TimeoutError(_("The receiver took longer than 10 seconds.")) from None
        raise
    finally:
        timer.cancel()
