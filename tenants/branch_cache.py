"""Figures cached per branch of the tenant tree until something in it changes.

A branch is a top-level partner and everything below it (the first two ids of
a tenant's `path`: the provider, then that partner). Each branch has a
generation in the cache; a cached figure is stored with the generation of its
branch it was computed under and served only while that generation holds, so
moving the generation on retires every figure of the branch at once and never
touches another partner's. A read is one round trip to Redis (the generation
and the figure together).

`branch_changed` moves it on twice: at once, so that the rest of the
transaction (and a test, which never commits) reads fresh figures, and again
after the commit, so that a figure computed by another request from the data
before the commit, and stored under the first new generation, is never read.

A generation that is missing from the cache (evicted, or a new cache) starts
at the clock's nanoseconds, never at a number an older figure may carry.

Redis is a cache, never a single point of failure (docs/reliability.md, "When
Redis stalls"):

- a read that cannot reach Redis computes the figure from the database (and
  stores nothing);
- a retirement that cannot reach Redis moves the branch's generation in the
  database instead (`BranchGeneration`, a new random token): in the
  transaction when the bump at once fails, so it commits with the change;
  after the commit when the bump after it fails. A figure is stored with both
  generations, and every read looks the database's up (one primary-key
  lookup, no row for a branch that never met an outage), so a figure stored
  before the outage is never read after it, whatever the reader's process
  saw of the outage. The reasoning is in docs/reliability.md.
"""

import hashlib
import time
import uuid
from collections.abc import Callable, Hashable, Iterable

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone

from core.db import CompiledQuery
from core.redis_faults import REDIS_DOWN, redis_fault
from tenants.models import PATH_SEPARATOR, BranchGeneration

# Figures also expire after this long, a bound on how long any write that
# bypasses the services (an operator's SQL) can leave a figure stale.
TIMEOUT = 600


def branch_of(path: str) -> str:
    """The branch of a tenant's path: its first two ids ("<provider>/<partner>")."""
    return PATH_SEPARATOR.join(path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:2])


def _generation_key(branch: str) -> str:
    return f"branch-generation:{branch}"


def _bump(branches: Iterable[str]) -> set[str]:
    """Move the branches' generations on in the cache; the branches it could not
    reach (all those after the first fault: a stalled Redis is not asked again).
    On Redis, all of them in one round trip (a pipeline: each generation set to
    the clock's nanoseconds when missing, then incremented); a fault there
    counts every branch as not reached."""
    branches = sorted(branches)
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(_generation_key(branch)) for branch in branches]
        try:
            with backend._cache.get_client(write=True).pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, time.time_ns(), nx=True)
                    pipe.incr(key)
                pipe.execute()
        except REDIS_DOWN as exc:
            redis_fault("retiring cached figures", exc)
            return set(branches)
        return set()
    for done, branch in enumerate(branches):
        key = _generation_key(branch)
        try:
            try:
                cache.incr(key)
            except ValueError:  # not in the cache: a value no figure was stored under
                cache.set(key, time.time_ns(), timeout=None)
        except REDIS_DOWN as exc:
            redis_fault("retiring cached figures", exc)
            return set(branches[done:])
    return set()


def _bump_stored(branches: set[str]) -> None:
    """Move the branches' generations on in the database: a new token each."""
    now = timezone.now()
    BranchGeneration.objects.bulk_create(
        [
            BranchGeneration(branch=branch, token=uuid.uuid4(), changed_at=now)
            for branch in sorted(branches)
        ],
        update_conflicts=True,
        unique_fields=["branch"],
        update_fields=["token", "changed_at"],
    )


def branch_changed(*, paths: Iterable[str]) -> Callable[[], None] | None:
    """Retire the cached figures of the branches of these tenant paths. Returns
    the hook that retires them again after the commit (None: none was needed)."""
    branches = {branch_of(path) for path in paths if path}
    if not branches:
        return None
    missed = _bump(branches)
    if missed:
        # Committed with the change or not at all: nothing left to do after it.
        _bump_stored(missed)
    reached = branches - missed
    if not reached or not transaction.get_connection().in_atomic_block:
        return None  # outside a transaction the change is committed: the bump came after it

    def retire_after_commit() -> None:
        missed = _bump(reached)
        if missed:
            _bump_stored(missed)

    # robust: an error here is logged, never turns the committed write into
    # a 500, and never skips the hooks after this one (the emails, say)
    transaction.on_commit(retire_after_commit, robust=True)
    return retire_after_commit


def _generation(branch: str) -> int:
    """The branch's generation in the cache; a missing one starts now."""
    key = _generation_key(branch)
    cache.add(key, time.time_ns(), timeout=None)
    return cache.get(key)


# The database's generation of a branch: compiled once (core.db.CompiledQuery),
# since every cached read runs it (bench: the customer list API's count).
_STORED_GENERATION = CompiledQuery(
    lambda *, branch: BranchGeneration.objects.filter(pk=branch).values_list("token"), "branch"
)


def _stored_generation(branch: str) -> str:
    rows = _STORED_GENERATION.rows(branch=branch)
    return str(rows[0][0]) if rows else ""


def branch_cached(*, path: str, key: tuple[Hashable, ...], compute: Callable):
    """`compute()`, or its value cached for the branch of `path` under `key`
    (which says everything the value depends on besides the branch's data).
    Without Redis, `compute()`.

    The entry holds the value with the two generations it was computed under
    (the cache's and the database's); a read takes the cache's generation and
    the entry in one round trip and uses the value only when both still hold."""
    branch = branch_of(path)
    stored = _stored_generation(branch)
    generation_key = _generation_key(branch)
    digest = hashlib.sha256(repr((branch, key)).encode()).hexdigest()
    cache_key = f"branch-figure:{digest}"
    try:
        found = cache.get_many([generation_key, cache_key])
        generation = found.get(generation_key)
        if generation is None:
            generation = _generation(branch)
    except REDIS_DOWN as exc:
        redis_fault("reading cached figures", exc)
        return compute()
    generations = (generation, stored)
    entry = found.get(cache_key)
    if entry is not None and entry[0] == generations:
        return entry[1]
    value = compute()
    try:
        cache.set(cache_key, (generations, value), timeout=TIMEOUT)
    except REDIS_DOWN as exc:
        redis_fault("storing cached figures", exc)
    return value
