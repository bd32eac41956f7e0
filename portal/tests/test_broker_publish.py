"""A Redis stall cannot hold a write's thread for the whole stall (issue 28):
the broker's publish gives up within about a second with the project's Celery
settings (socket timeouts, one retry), and the write it follows has committed:
its emails stay `pending` for the sweeper (billing/tests/test_after_commit_faults.py
answers 201 with a publish that fails at once)."""

import time

import pytest
from celery import Celery
from kombu.exceptions import OperationalError

from portal.tests.test_health import silent_server  # noqa: F401  (the fixture)

# Two attempts of REDIS_SOCKET_TIMEOUT (0.5 s) each, and the slack of a shared machine.
BOUND_SECONDS = 2.0


def _app(broker_url: str) -> Celery:
    """A Celery app configured as the portal's (the CELERY_* settings), on another broker."""
    app = Celery("publish-bound", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=broker_url, task_always_eager=False)
    return app


def test_the_settings_bound_every_publish_attempt():
    from django.conf import settings

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.5
    policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    waits = sum(
        min(policy["interval_start"] + n * policy["interval_step"], policy["interval_max"])
        for n in range(policy["max_retries"])
    )
    attempts = 1 + policy["max_retries"]
    assert attempts * options["socket_timeout"] + waits <= 1.0 + 1e-9


@pytest.mark.parametrize("where", ["stalled", "refused"])
def test_a_publish_to_a_stalled_or_absent_redis_fails_within_the_bound(where, silent_server):  # noqa: F811
    """`stalled`: a server that accepts the connection and never answers (Redis
    under `kill -STOP`); `refused`: nothing listens."""
    port = silent_server if where == "stalled" else 1
    app = _app(f"redis://127.0.0.1:{port}/0")

    @app.task(name="publish-bound.noop")
    def noop() -> None:  # never runs: nothing consumes
        pass

    started = time.monotonic()
    with pytest.raises(OperationalError):
        noop.apply_async()
    elapsed = time.monotonic() - started
    assert elapsed < BOUND_SECONDS, elapsed
    app.close()
