"""Figures cached per branch of the tenant tree until something in it changes.

A branch is a top-level partner and everything below it (the first two ids of
a tenant's `path`: the provider, then that partner). Each branch has a
generation in the cache; a cached figure's key carries the generation of its
branch, so moving the generation on retires every figure of the branch at once
and never touches another partner's.

`branch_changed` moves it on twice: at once, so that the rest of the
transaction (and a test, which never commits) reads fresh figures, and again
after the commit, so that a figure computed by another request from the data
before the commit, and stored under the first new generation, is never read.

A generation that is missing from the cache (evicted, or a new cache) starts
at the clock's nanoseconds, never at a number an older figure may carry.
"""

import hashlib
import time
from collections.abc import Callable, Hashable, Iterable

from django.core.cache import cache
from django.db import transaction

from tenants.models import PATH_SEPARATOR

# Figures also expire after this long, a bound on how long any write that
# bypasses the services (an operator's SQL) can leave a figure stale.
TIMEOUT = 600


def branch_of(path: str) -> str:
    """The branch of a tenant's path: its first two ids ("<provider>/<partner>")."""
    return PATH_SEPARATOR.join(path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:2])


def _generation_key(branch: str) -> str:
    return f"branch-generation:{branch}"


def _bump(branches: set[str]) -> None:
    for branch in branches:
        key = _generation_key(branch)
        try:
            cache.incr(key)
        except ValueError:  # not in the cache: a value no figure was stored under
            cache.set(key, time.time_ns(), timeout=None)


def branch_changed(*, paths: Iterable[str]) -> None:
    """Retire the cached figures of the branches of these tenant paths."""
    branches = {branch_of(path) for path in paths if path}
    if branches:
        _bump(branches)
        transaction.on_commit(lambda: _bump(branches))


def _generation(branch: str) -> int:
    key = _generation_key(branch)
    generation = cache.get(key)
    if generation is None:
        cache.add(key, time.time_ns(), timeout=None)
        generation = cache.get(key)
    return generation


def branch_cached(*, path: str, key: tuple[Hashable, ...], compute: Callable):
    """`compute()`, or its value cached for the branch of `path` under `key`
    (which says everything the value depends on besides the branch's data)."""
    branch = branch_of(path)
    digest = hashlib.sha256(repr((branch, _generation(branch), key)).encode()).hexdigest()
    cache_key = f"branch-figure:{digest}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, timeout=TIMEOUT)
    return value
