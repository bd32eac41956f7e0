"""A person's signed-in sessions (SPEC §1 rev. 2, issue 24; docs/security.md,
"Sessions").

allauth's `usersessions` keeps one `UserSession` row per browser session (IP,
user agent, created, last seen) and ends one by deleting it from the session
store. This module adds what the portal needs around it:

- `SessionActivityMiddleware` records activity at most once every
  `SESSION_ACTIVITY_PRECISION_SECONDS` per session (or at once when the IP or
  the browser changes), instead of allauth's write on every request;
- `user_sessions_list` / `user_session_end` / `user_sessions_end_others` behind
  "Your sessions" on "Your profile";
- `users_sessions_end`, which the services call when a membership ends, an
  organization is suspended or a password is changed or reset.

API tokens are not sessions: what happens to them is said where the sessions
are ended (tenants.services.member_remove revokes the person's tokens of that
organization; a suspended organization's tokens are refused with 403 and work
again when it is reinstated).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.usersessions import app_settings as usersessions_settings
from allauth.usersessions.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

ACTIVITY_KEY = "portal_session_seen"

_BROWSERS = (  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)
_SYSTEMS = (  # iOS and Android before macOS and Linux, which their agents also name
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
)


def user_agent_summary(user_agent: str) -> str:
    """ "Firefox on Windows", from a browser's User-Agent header; the header's
    first words when it names no browser we know (a script, a command-line
    client)."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, user_agent)), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser or system:
        return browser or system
    return user_agent[:40] or _("Unknown device")


def session_ref(session: UserSession) -> str:
    """A session's name in URLs: derived from its key, which it does not reveal,
    and meaningless for anyone but its owner (their sessions are the only ones
    searched)."""
    return salted_hmac("tenants.sessions.ref", session.session_key).hexdigest()[:32]


@dataclass(frozen=True)
class SessionRow:
    ref: str
    device: str
    user_agent: str
    ip: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


def user_sessions_list(request: HttpRequest) -> list[SessionRow]:
    """The signed-in person's live sessions, the current one first, then the
    most recently seen. Sessions that expired or signed out are dropped on the
    way (allauth's `purge_and_list`)."""
    current_key = request.session.session_key
    sessions = UserSession.objects.purge_and_list(request.user)
    rows = [
        SessionRow(
            ref=session_ref(s),
            device=user_agent_summary(s.user_agent),
            user_agent=s.user_agent,
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            current=s.session_key == current_key,
        )
        for s in sessions
    ]
    return sorted(rows, key=lambda r: (not r.current, -r.last_seen_at.timestamp()))


def user_session_end(request: HttpRequest, ref: str) -> bool:
    """End one of the person's own sessions; another person's is a 404 like a
    missing one. Ending the current session signs out. Returns whether it was
    the current one."""
    session = next(
        (
            s
            for s in UserSession.objects.filter(user_id=request.user.pk)
            if constant_time_compare(session_ref(s), ref)
        ),
        None,
    )
    if session is None:
        raise Http404
    current = session.session_key == request.session.session_key
    if current:
        get_account_adapter(request).logout(request)  # flushes and deletes its row
        UserSession.objects.filter(pk=session.pk).delete()
    else:
        get_adapter().end_sessions([session])
    return current


def user_sessions_end_others(request: HttpRequest) -> int:
    """End every session of the person but this one; how many ended."""
    others = UserSession.objects.filter(user_id=request.user.pk).exclude(
        session_key=request.session.session_key
    )
    return _end(others)


def users_sessions_end(*, user_ids: Iterable[object], keep_session_key: str | None = None) -> int:
    """End every session of these people (but `keep_session_key`, the request
    that asked for it); how many ended. Safe inside a transaction: the ending
    happens once it commits, so a rolled-back change signs nobody out."""
    user_ids = list(user_ids)
    if not user_ids:
        return 0
    sessions = UserSession.objects.filter(user_id__in=user_ids)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    # the sessions of now: one that starts later in this request (the sign-in
    # after a password reset) is not ended
    ending = list(sessions)
    transaction.on_commit(lambda: _end(ending))
    return len(ending)


def _end(sessions) -> int:
    sessions = list(sessions)
    get_adapter().end_sessions(sessions)
    return len(sessions)


SESSION_KEY_MAX_LENGTH = UserSession._meta.get_field("session_key").max_length or 40


class SessionActivityMiddleware:
    """Records a signed-in session's IP, browser and last activity (allauth's
    `UserSession`), at most once every SESSION_ACTIVITY_PRECISION_SECONDS unless
    the IP or browser changed: a page costs no write most of the time. Also
    lists sessions that began before this was installed (or by `force_login`)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if (
            usersessions_settings.TRACK_ACTIVITY
            and hasattr(request, "session")
            and request.session.session_key
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            self._track(request)
        return self.get_response(request)

    def _track(self, request: HttpRequest) -> None:
        if len(request.session.session_key or "") > SESSION_KEY_MAX_LENGTH:
            return  # a session engine whose keys allauth cannot store (signed cookies)
        now = timezone.now()
        ip = get_account_adapter(request).get_client_ip(request)
        agent = request.META.get("HTTP_USER_AGENT", "")
        seen = request.session.get(ACTIVITY_KEY)
        if (
            seen
            and seen.get("ip") == ip
            and seen.get("ua") == agent[:40]
            and now.timestamp() - seen.get("at", 0) < settings.SESSION_ACTIVITY_PRECISION_SECONDS
        ):
            return
        UserSession.objects.create_from_request(request)
        request.session[ACTIVITY_KEY] = {"ip": ip, "ua": agent[:40], "at": now.timestamp()}
