"""Services enqueue Celery tasks by name, once the transaction commits.

A task takes ids, loads and calls one service (STYLE.md); a service enqueues a
task. Were the service to import the task's module, the two would import each
other (tasks -> services -> tasks), so a service names the task instead:
`enqueue_on_commit("tenants.tasks.deliver_email", str(email.id))`. The task is
the registered Celery task itself (retries, eager mode in tests, all as
before); every app with tasks imports its `tasks` module in `AppConfig.ready()`,
so the name is known in every process (web, worker, tests).
"""

from celery import current_app


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """`<task>.delay_on_commit(*args, **kwargs)` for the task registered as `task_name`."""
    current_app.tasks[task_name].delay_on_commit(*args, **kwargs)
