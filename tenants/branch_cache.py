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

Patched, not recomputed, after a customer's write: a write that changes only
some customers' subscriptions or invoices says which (a `Change`), and each
generation it moves the branch on to is logged with it (for as long as a
figure is kept). A figure that can be brought up to date from its previous
value by recomputing those customers alone (`patch`: the book's MRR keeps each
customer's share, `subscriptions.mrr`) is patched when every generation since
its value's is logged, and computed afresh otherwise (a write that named no
customers, a log entry gone). The double bump keeps a patch exact: a patch
made from data before the commit is stored under the first new generation,
and the second, logged with the same change, patches it again.

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

import contextlib
import functools
import hashlib
import operator
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone
from redis.exceptions import WatchError

from core.db import CompiledQuery
from core.redis_faults import REDIS_DOWN, redis_fault
from tenants.models import PATH_SEPARATOR, BranchGeneration

# Figures also expire after this long, a bound on how long any write that
# bypasses the services (an operator's SQL) can leave a figure stale.
TIMEOUT = 600

# A figure is patched across at most this many generations (one log read);
# further behind, it is computed afresh.
PATCH_GENERATIONS_MAX = 64


@dataclass(frozen=True)
class Change:
    """What a write changed, when it was only some customers' subscriptions
    (and, with `invoices`, their invoices too): ids as text."""

    customers: frozenset[str]
    invoices: bool = False

    def __or__(self, other: "Change") -> "Change":
        return Change(self.customers | other.customers, self.invoices or other.invoices)


@dataclass
class Parted:
    """A value cached as a head and numbered parts (`compute` returns it;
    `branch_cached` serves the head): the parts are stored apart, so that a
    patch reads and writes only those it needs (`patch(head, change, load)`,
    `load(numbers)` -> {number: part}, returning the new head and the parts
    it changed), not the whole value (4.8 MB for the book of 100,000
    customers: 14 ms to read from Redis). A head and its parts are written
    together, under a token of the computation they come from; a patch is
    stored only if the head is still the one it started from (Redis's
    WATCH), so a head never meets parts of another patch."""

    head: Any
    parts: dict[int, Any]


class _PartsGone(Exception):
    """A part of a value is no longer in the cache: computed afresh."""


# `patch=KEEP`: a figure no customer's subscriptions or invoices change (the
# number of customers a partner manages): kept as it is across such writes.
KEEP: "Callable[[Any, Change], Any]" = lambda value, change: value  # noqa: E731


def branch_of(path: str) -> str:
    """The branch of a tenant's path: its first two ids ("<provider>/<partner>")."""
    return PATH_SEPARATOR.join(path.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:2])


def _generation_key(branch: str) -> str:
    return f"branch-generation:{branch}"


def _log_key(branch: str, generation: int) -> str:
    return f"branch-log:{branch}:{generation}"


def _bump(branches: Iterable[str]) -> tuple[set[str], dict[str, int]]:
    """Move the branches' generations on in the cache: the branches it could not
    reach (all those after the first fault: a stalled Redis is not asked again)
    and the new generation of each it did.
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
                results = pipe.execute()
        except REDIS_DOWN as exc:
            redis_fault("retiring cached figures", exc)
            return set(branches), {}
        return set(), dict(zip(branches, results[1::2], strict=True))
    generations = {}
    for done, branch in enumerate(branches):
        key = _generation_key(branch)
        try:
            try:
                generations[branch] = cache.incr(key)
            except ValueError:  # not in the cache: a value no figure was stored under
                cache.set(key, time.time_ns(), timeout=None)
        except REDIS_DOWN as exc:
            redis_fault("retiring cached figures", exc)
            return set(branches[done:]), generations
    return set(), generations


def _log(generations: dict[str, int], change: Change | None) -> None:
    """Log the change that moved the branches on to `generations` (none
    logged: the figures are computed afresh). A log lost to a fault only
    costs a recomputation."""
    if change is None or not generations:
        return
    try:
        cache.set_many(
            {_log_key(branch, gen): change for branch, gen in generations.items()},
            timeout=TIMEOUT,
        )
    except REDIS_DOWN as exc:
        redis_fault("logging a change's customers", exc)


def _retire(branches: set[str], change: Change | None) -> set[str]:
    """Move the branches on, logged with `change`: those it could not reach."""
    missed, generations = _bump(branches)
    _log(generations, change)
    return missed


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


def branch_changed(
    *, paths: Iterable[str], change: Change | None = None
) -> Callable[[], None] | None:
    """Retire the cached figures of the branches of these tenant paths. With a
    `change` (the write changed those customers' subscriptions or invoices and
    nothing else), figures that can be patched are (see above). Returns the
    hook that retires them again after the commit (None: none was needed); its
    `change` may still grow before the commit (`grow`)."""
    branches = {branch_of(path) for path in paths if path}
    if not branches:
        return None
    missed = _retire(branches, change)
    if missed:
        # Committed with the change or not at all: nothing left to do after it.
        _bump_stored(missed)
    reached = branches - missed
    if not reached or not transaction.get_connection().in_atomic_block:
        return None  # outside a transaction the change is committed: the bump came after it

    def retire_after_commit() -> None:
        missed = _retire(reached, retire_after_commit.change)  # type: ignore[attr-defined]
        if missed:
            _bump_stored(missed)

    def grow(more: Change) -> None:
        """The transaction changed more than `change` (its invoices too): the
        branches retired again at once, logged with `more`, as the hook will
        after the commit."""
        retire_after_commit.change = more  # type: ignore[attr-defined]
        missed = _retire(reached, more)
        if missed:
            _bump_stored(missed)

    retire_after_commit.change = change  # type: ignore[attr-defined]
    retire_after_commit.grow = grow  # type: ignore[attr-defined]
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


def _logged_change(branch: str, since: int, until: int) -> Change | None:
    """The changes logged for the branch's generations after `since` up to
    `until`, together; None when one is not logged (a write that named no
    customers, an expired log) or there are too many to read."""
    if not 0 < until - since <= PATCH_GENERATIONS_MAX:
        return None
    keys = [_log_key(branch, gen) for gen in range(since + 1, until + 1)]
    found = cache.get_many(keys)
    if len(found) != len(keys):
        return None
    changes = iter(found.values())
    return functools.reduce(operator.or_, changes, next(changes))


def branch_cached(
    *,
    path: str,
    key: tuple[Hashable, ...],
    compute: Callable,
    patch: Callable[..., Any] | None = None,
    uncached: Callable | None = None,
):
    """`compute()`, or its value cached for the branch of `path` under `key`
    (which says everything the value depends on besides the branch's data).
    Without Redis, `compute()`.

    The entry holds the value with the two generations it was computed under
    (the cache's and the database's) and when it was computed; a read takes
    the cache's generation and the entry in one round trip and uses the value
    only when both still hold.
    With `patch`, an older entry whose generations since are all logged with
    a change (and the database's generation unchanged) becomes
    `patch(value, change)`: the value brought up to date by recomputing the
    change's customers alone; a patched value lives no longer than TIMEOUT after
    the computation it started from, so the bound on a write that bypasses
    the services holds. A `Parted` value (`compute` returns it) is patched
    as `patch(head, change, load)`, reading only the parts it loads.
    `uncached`: what to compute instead when Redis cannot be reached (default
    `compute`: one that reads other cached figures would meet the fault
    again)."""
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
        generations = (generation, stored)
        entry = found.get(cache_key)
        if entry is not None and entry[0] == generations:
            return entry[1].head if isinstance(entry[1], _PartedHead) else entry[1]
        change = None
        now = time.time()
        # a patch: from an entry of the same database generation, never past
        # the bound of the computation it started from
        patchable = entry is not None and entry[0][1] == stored and len(entry) > 2
        if patch is not None and patchable and now - entry[2] < TIMEOUT:
            change = _logged_change(branch, entry[0][0], generation)
    except REDIS_DOWN as exc:
        redis_fault("reading cached figures", exc)
        return (uncached or compute)()
    if change is not None and isinstance(entry[1], _PartedHead):
        try:
            return _patch_parted(cache_key, entry, generations, change, patch)
        except _PartsGone:
            change = None
    if change is None:
        value, computed_at = compute(), now
    else:
        value, computed_at = patch(entry[1], change), entry[2]
    try:
        timeout = max(1, round(TIMEOUT - (now - computed_at)))
        if isinstance(value, Parted):
            token = uuid.uuid4().hex
            head = _PartedHead(value.head, token)
            cache.set_many(
                {
                    **{_part_key(cache_key, token, n): part for n, part in value.parts.items()},
                    cache_key: (generations, head, computed_at),
                },
                timeout=timeout,
            )
            return value.head
        cache.set(cache_key, (generations, value, computed_at), timeout=timeout)
    except REDIS_DOWN as exc:
        redis_fault("storing cached figures", exc)
    return value.head if isinstance(value, Parted) else value


@dataclass(frozen=True)
class _PartedHead:
    """How a Parted value's head is stored: with the token of its parts."""

    head: Any
    token: str


def _part_key(cache_key: str, token: str, number: int) -> str:
    return f"{cache_key}:{token}:{number}"


def _patch_parted(
    cache_key: str, entry: tuple, generations: tuple, change: Change, patch: Callable
) -> Any:
    """Patch a Parted value: the parts it needs read, the new head and the
    changed parts stored together if the entry is still the one read (on
    Redis, under WATCH; else nothing stored: the value is right all the same)."""
    stored_head: _PartedHead = entry[1]
    computed_at = entry[2]

    def load(numbers: Iterable[int]) -> dict[int, Any]:
        keys = {n: _part_key(cache_key, stored_head.token, n) for n in set(numbers)}
        try:
            found = cache.get_many(list(keys.values()))
        except REDIS_DOWN as exc:
            redis_fault("reading cached figures", exc)
            raise _PartsGone from exc
        if len(found) != len(keys):
            raise _PartsGone
        return {n: found[key] for n, key in keys.items()}

    with _guarded(cache_key, entry) as store:
        value: Parted = patch(stored_head.head, change, load)
        timeout = max(1, round(TIMEOUT - (time.time() - computed_at)))
        store(
            {
                **{
                    _part_key(cache_key, stored_head.token, n): part
                    for n, part in value.parts.items()
                },
                cache_key: (generations, _PartedHead(value.head, stored_head.token), computed_at),
            },
            timeout,
        )
    return value.head


def _same_entry(found: tuple, entry: tuple) -> bool:
    """The same stored Parted value: its generations, parts and computation."""
    if len(found) < 3 or not isinstance(found[1], _PartedHead):
        return False
    return (found[0], found[1].token, found[2]) == (entry[0], entry[1].token, entry[2])


@contextlib.contextmanager
def _guarded(cache_key: str, entry: tuple) -> Iterator[Callable[[dict, int], None]]:
    """Yield `store(values, timeout)`, which writes `values` only if the entry
    at `cache_key` is still `entry` (Redis: WATCH, then MULTI; a Redis fault
    or a concurrent write stores nothing). Another backend (the tests'
    local memory): written as they are."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):

        def store_all(values: dict, timeout: int) -> None:
            cache.set_many(values, timeout=timeout)

        yield store_all
        return
    serializer = backend._cache._serializer
    watched = backend.make_and_validate_key(cache_key)
    try:
        pipe = backend._cache.get_client(watched, write=True).pipeline()
        pipe.watch(watched)
        current = pipe.get(watched)
        unchanged = current is not None and _same_entry(serializer.loads(current), entry)
    except REDIS_DOWN as exc:
        redis_fault("storing cached figures", exc)
        unchanged, pipe = False, None

    def store(values: dict, timeout: int) -> None:
        if not unchanged or pipe is None:
            return
        try:
            pipe.multi()
            for key, value in values.items():
                pipe.set(backend.make_and_validate_key(key), serializer.dumps(value), ex=timeout)
            pipe.execute()
        except WatchError:
            pass  # another reader stored its patch first
        except REDIS_DOWN as exc:
            redis_fault("storing cached figures", exc)

    try:
        yield store
    finally:
        if pipe is not None:
            pipe.reset()
