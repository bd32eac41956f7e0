"""Re-authentication for sensitive actions (SPEC §1 rev. 2, issue 21): ending a
partnership, changing the payment mode or a member's role, creating an API
token.

Every password typed to confirm one goes through `password_confirm`, whatever
the way in: the API's `password` in the body (`tenants.api_base.require_password`,
and `partners` ending a partnership), the page that ends a partnership, and
allauth's re-authentication page, which the other pages send to
(`tenants.web.require_recent_reauthentication`, the adapter's `reauthenticate`).
So one person has one budget of wrong passwords, counted in the shared cache:

- a wrong password is a 400 ("That is not your password."), counted and
  recorded in the audit log (`reauth.failed`) of every organization the person
  belongs to, which names the attempt and whether it locked;
- after REAUTH_MAX_FAILURES (5) wrong passwords, each within
  REAUTH_LOCKOUT_SECONDS (15 minutes) of the last, every attempt is refused
  without looking at the password, the right one too (429 in the API, the
  form's error on a page), until REAUTH_LOCKOUT_SECONDS after the last wrong
  one; a refused attempt is not recorded (the fifth failure's event says the
  lock is on), so a locked attacker cannot fill the log;
- a right password is not counted.

Call it outside a transaction (the views do): the failure's event must stay
when the request fails.
"""

import contextlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tenants.audit import audit_record_shared
from tenants.exceptions import TooManyAttempts
from tenants.models import AuditEvent, Membership, Tenant, User


def _keys(user: User) -> tuple[str, str]:
    return f"reauth-failures:{user.pk}", f"reauth-last-failure:{user.pk}"


def _count_attempt(key: str, window: int) -> int:
    """This attempt's number among the person's recent ones (atomic in Redis)."""
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        return 1


def _retry_after(last_key: str, window: int) -> int:
    last = cache.get(last_key)
    if last is None:
        return window
    return max(1, math.ceil(last + window - time.time()))


def password_confirm(*, user: User, password: str | None, acting_in: Tenant | None = None) -> None:
    """Return when `password` is `user`'s own; else raise ValidationError (a
    wrong one, counted and audited) or TooManyAttempts (locked: not checked)."""
    limit, window = settings.REAUTH_MAX_FAILURES, settings.REAUTH_LOCKOUT_SECONDS
    key, last_key = _keys(user)
    last = cache.get(last_key)
    if last is not None and time.time() - last >= window:
        # The window is judged on the stored time of the last failure, not only
        # on the keys' expiry (the cache's own clock): a fresh budget.
        cache.delete_many([key, last_key])
    attempt = _count_attempt(key, window)
    if attempt > limit:
        retry_after = _retry_after(last_key, window)
        raise TooManyAttempts(
            _(
                "Too many wrong passwords: confirming is locked for %(minutes)s more "
                "minutes, even with the right password."
            )
            % {"minutes": math.ceil(retry_after / 60)},
            retry_after=retry_after,
        )
    if password and user.check_password(password):
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
            cache.decr(key)  # a right password is no failure
        return
    cache.touch(key, window)  # locked until `window` after the last failure
    cache.set(last_key, time.time(), window)
    _record_failure(user, acting_in, attempt=attempt, locked=attempt >= limit)
    raise ValidationError({"password": _("That is not your password.")})


def _record_failure(user: User, acting_in: Tenant | None, *, attempt: int, locked: bool) -> None:
    """One `reauth.failed` event in the log of each organization the person
    belongs to (and the one they acted in, for staff without a membership)."""
    tenants = {
        m.tenant_id: m.tenant
        for m in Membership.unscoped.filter(user=user).select_related("tenant")
    }
    if acting_in is not None:
        tenants.setdefault(acting_in.pk, acting_in)
    if not tenants:
        return
    audit_record_shared(
        parties=[(tenant, user.email) for tenant in tenants.values()],
        action=AuditEvent.Action.REAUTH_FAILED,
        actor=user,
        actor_tenant=acting_in,
        details={
            "attempt": attempt,
            "limit": settings.REAUTH_MAX_FAILURES,
            "locked": locked,
        },
    )
