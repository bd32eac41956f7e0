"""Services enqueue Celery tasks by name, once the transaction commits.

A task takes ids, loads and calls one service (STYLE.md); a service enqueues a
task. Were the service to import the task's module, the two would import each
other (tasks -> services -> tasks), so a service names the task instead:
`enqueue_on_commit("tenants.tasks.deliver_email", str(email.id))`. The task is
the registered Celery task itself (retries, eager mode in tests, all as
before); every app with tasks imports its `tasks` module in `AppConfig.ready()`,
so the name is known in every process (web, worker, tests).

The enqueueing is a robust after-commit hook (`on_commit(..., robust=True)`):
a broker that cannot be reached is logged, never turns the committed write
into an error, and never skips the hooks after it. The work is recorded in the
database (an email `pending`, an offer `waiting`, a job `queued`), so beat's
sweepers enqueue it again (docs/reliability.md).
"""

from collections.abc import Callable, Iterable

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """`<task>.delay(*args, **kwargs)` for the task registered as `task_name`, once
    the transaction commits (Celery's `delay_on_commit`, made robust)."""
    task = current_app.tasks[task_name]

    def enqueue() -> None:
        task.delay(*args, **kwargs)

    # Django logs a robust hook's error under its __qualname__ (which a partial lacks).
    enqueue.__qualname__ = f"enqueue_on_commit({task_name!r})"
    transaction.on_commit(enqueue, robust=True)


def on_commit_gathered(key: str, items: Iterable, run: Callable[[list], None]) -> None:
    """`run(items)` once the transaction commits (robust, as `enqueue_on_commit`),
    with the items of every call under the same `key` in this transaction
    gathered into one call: the first call registers the hook; a later one, while
    that hook is still pending at the same savepoint, adds its items to it and
    moves it to the end of the hooks (it runs once, after everything registered
    so far, as a hook of the later call would). A call inside a savepoint the
    first was not in registers a hook of its own, so a savepoint rolled back
    drops its items with its hook (Django's on_commit rule). Outside a
    transaction, `run(items)` at once. An order's three domain events make one
    fan-out message, not three (docs/performance.md)."""
    items = list(items)
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        run(items)
        return
    savepoints = set(connection.savepoint_ids)
    pending: dict[str, list] = connection.__dict__.setdefault("_gathered_on_commit", {})
    hooks = pending.setdefault(key, [])
    for index, entry in enumerate(connection.run_on_commit):
        if entry[0] == savepoints and any(entry[1] is hook for hook in hooks):
            entry[1].items += items  # type: ignore[attr-defined]
            connection.run_on_commit.append(connection.run_on_commit.pop(index))
            return

    def gathered() -> None:
        if gathered in hooks:
            hooks.remove(gathered)
        run(gathered.items)  # type: ignore[attr-defined]

    gathered.items = items  # type: ignore[attr-defined]
    # Django logs a robust hook's error under its __qualname__.
    gathered.__qualname__ = f"on_commit_gathered({key!r})"
    # The hooks of this key registered in the transaction (those of a rolled-back
    # savepoint or transaction are no longer in run_on_commit: never matched).
    hooks[:] = [hook for hook in hooks if any(e[1] is hook for e in connection.run_on_commit)]
    hooks.append(gathered)
    transaction.on_commit(gathered, robust=True)


def enqueue_gathered_on_commit(task_name: str, items: Iterable) -> None:
    """`<task>.delay(items)` once the transaction commits, with the items of
    every such call in the transaction in one message (`on_commit_gathered`):
    for a task that takes a list of ids."""
    task = current_app.tasks[task_name]
    on_commit_gathered(f"enqueue:{task_name}", items, lambda gathered: task.delay(gathered))
