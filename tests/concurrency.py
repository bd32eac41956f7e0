"""Run one callable from many threads released at the same instant, each on its
own database connection: the races of partnerships, orders and renewals.
Expected losers (a 409 Conflict, or SQLite's "database is locked") are
returned as outcomes, not raised."""

import threading

from django.db import OperationalError, connection

from core.exceptions import Conflict

THREADS = 20


def race(target, count=THREADS) -> list:
    barrier = threading.Barrier(count)
    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(target())
        except (Conflict, OperationalError) as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
