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
