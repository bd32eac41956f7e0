"""Dates in tests: a test that depends on the calendar says which day it is
about and travels there (time-machine), rather than counting from the real today.

    @pytest.mark.time_machine(on(2026, 12, 6))
    def test_...():  # "on 6 December 2026 …"

`on()` is a moment in the project's time zone (Europe/Zurich), so the test's
`timezone.localdate()` is the day it names. The whole suite can also be run at
any moment (`pytest --travel-to=…`, see `travel_destination`); tests marked
with their own date are left out (they would run exactly as in the suite).
"""

import datetime
import zoneinfo

from django.conf import settings


def zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def on(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime.datetime:
    """A moment on that day in the project's time zone (noon unless told)."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=zone())


def travel_destination(value: str) -> datetime.datetime:
    """`--travel-to` / PORTAL_TEST_NOW: an ISO 8601 date or date and time. Without
    an offset it is read in the project's time zone; with one it is that instant,
    shown in the project's time zone (so `2027-10-31T02:30+01:00` is the second
    02:30 of the night the clocks go back)."""
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone())
    return moment.astimezone(zone())
