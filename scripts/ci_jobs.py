"""The checks of .ci/run as a pool of independent jobs on every core.

    python scripts/ci_jobs.py [--slots N]

The suite, the fuzzing, each moment of the calendar pass, the browser journeys and
the linter need only their own database (and Redis database), so they run side by
side: whenever a slot frees, the next job starts, longest expected first. One line
per job as it finishes (status, seconds, its last summary line); the whole output of
every failed job at the end; the exit status is 1 if any failed.

Environment: DATABASE_URL and REDIS_URL name the suite's PostgreSQL database and
Redis database; the other jobs derive their own from them (the calendar pass runs on
SQLite with the local cache, as `make calendar` does).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calendar_pass import MOMENTS


@dataclass
class Job:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()


def redis_db(url: str, number: int) -> str:
    return f"{url.rsplit('/', 1)[0]}/{number}"


def jobs(python: str) -> list[Job]:
    """Longest expected first (the suite, the fuzzing, then the calendar moments)."""
    database = os.environ["DATABASE_URL"]
    redis = os.environ["REDIS_URL"]
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider"]
    found = [
        Job("test", [*pytest]),
        Job(
            "fuzz",
            [*pytest, "fuzz", "-q"],
            env={"DATABASE_URL": f"{database}_fuzz", "REDIS_URL": redis_db(redis, 13)},
        ),
    ]
    found += [
        Job(
            f"calendar {moment}",
            [python, "scripts/calendar_pass.py", "--jobs", "1", "--at", moment],
            unset=("DATABASE_URL", "REDIS_URL"),
        )
        for moment in MOMENTS
    ]
    found += [
        Job("e2e", [*pytest, "e2e"], env={"REDIS_URL": redis_db(redis, 12)}),
        Job("lint", ["make", "lint"]),
    ]
    return found


def summary(output: str) -> str:
    lines = [
        line
        for line in output.splitlines()
        if re.search(r"\d+ (passed|failed|error)|moments ok|Success|error", line)
    ]
    return lines[-1].strip("= ") if lines else ""


def run(job: Job) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if k not in job.unset}
    env.update(job.env)
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        status = subprocess.call(  # noqa: S603 (our own commands)
            job.command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.seek(0)
        return status, log.read(), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", nargs="+", help="run only the jobs whose name starts so")
    args = parser.parse_args()
    queue = jobs(sys.executable)
    if args.only:
        queue = [j for j in queue if any(j.name.startswith(o) for o in args.only)]
    lock = threading.Lock()
    failed: list[tuple[Job, str]] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop(0)
            status, output, seconds = run(job)
            with lock:
                verdict = "ok" if status == 0 else f"FAILED ({status})"
                print(f"ci: {job.name:<34} {verdict:<10} {seconds:5.0f} s  {summary(output)}")
                sys.stdout.flush()
                if status != 0:
                    failed.append((job, output))
                    for line in output.splitlines():  # what failed, now; the output at the end
                        if line.startswith(("FAILED ", "ERROR ")):
                            print(f"ci:   {line}")
                    sys.stdout.flush()

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.slots))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for job, output in failed:
        tail = "\n".join(output.splitlines()[-800:])
        print(f"\n===== {job.name} failed; the end of its output =====\n{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
