"""The calendar pass (`make calendar`, part of .ci/run): the date-sensitive apps'
tests run again at moments chosen to break date code, each in its own pytest
process travelling there before every test (`--travel-to`, conftest.py).

    python scripts/calendar_pass.py [--jobs N] [--apps a b …] [--at ISO …] [-- pytest args]

Tests with their own date (the time_machine marker) are left out (conftest.py);
those that migrate the schema back and forth (`migrations`) run at two moments.
Each process uses its own database: SQLite by default (one file per process), or
`<DATABASE_URL>_cal<N>` on PostgreSQL. Prints one line per moment and exits 1 if
any failed (with that run's output).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

# The moments, in the project's time zone (Europe/Zurich) unless an offset says otherwise.
MOMENTS = {
    "2027-03-01T08:00": "the first day of a month, after a short February",
    "2027-01-31T12:00": "the last day of a 31-day month (a month later is 28 February)",
    "2028-02-28T12:00": "the day before a leap day",
    "2028-02-29T12:00": "a leap day",
    "2026-12-31T23:30": "31 December 23:30 in Zurich (22:30 UTC): the year's last half hour",
    "2027-01-01T00:30": "1 January 00:30 in Zurich, still 31 December in UTC",
    "2027-03-28T01:30": "the night the clocks go forward, half an hour before 02:00 → 03:00",
    "2027-10-31T02:30+01:00": "the night the clocks go back: the second 02:30",
}
# The tests that migrate the schema back and forth (the `migrations` marker) are
# slow and read few dates: they run at these moments only.
MIGRATION_MOMENTS = {"2027-03-01T08:00", "2026-12-31T23:30"}
APPS = [
    "subscriptions",
    "billing",
    "amendments",
    "offers",
    "resale",
    "partners",
    "customers",
    "imports",
    "tenders",
]


def run(moment: str, index: int, apps: list[str], extra: list[str]) -> tuple[str, int, str, float]:
    env = dict(os.environ, PORTAL_TEST_NOW=moment)
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"{env['DATABASE_URL']}_cal{index}"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *apps, *extra]
    if moment not in MIGRATION_MOMENTS:
        command += ["-m", "not migrations"]
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        status = subprocess.call(  # noqa: S603 (our own interpreter and pytest)
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.seek(0)
        output = log.read()
    return moment, status, output, time.monotonic() - started


def summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return lines[-1].strip("= ") if lines else "no summary"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--apps", nargs="+", default=APPS)
    parser.add_argument("--at", nargs="+", default=list(MOMENTS), metavar="ISO")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    failed = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = [pool.submit(run, m, i, args.apps, extra) for i, m in enumerate(args.at)]
        for future in runs:
            moment, status, output, seconds = future.result()
            verdict = "ok" if status == 0 else "FAILED"
            why = MOMENTS.get(moment, "")
            print(
                f"calendar {moment:<24} {verdict:<6} {summary(output)} in {seconds:.0f} s  ({why})"
            )
            if status != 0:
                failed += 1
                print(output)
    print(f"calendar: {len(args.at) - failed} of {len(args.at)} moments ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
