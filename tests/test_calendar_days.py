"""Days in one time zone (docs/calendar.md): every "today" is the project's
(`timezone.localdate()`, Europe/Zurich), never the UTC date nor the machine's.

At 00:30 in Zurich on 1 January 2027 it is still 31 December 2026 in UTC: a
renewal, an expiry or a reminder that read the UTC date would land a day (and an
invoice a year) late. At 23:30 on 31 December it is 31 December in both, and
nothing of January may happen yet.
The beat jobs below are run exactly as beat runs them, at those moments.
"""

import datetime
import pathlib
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import tasks as billing_tasks
from billing.models import Invoice, Renewal
from billing.tests.conftest import grant
from catalog.tests.factories import ProductFactory
from partners import tasks as partner_tasks
from partners.models import Partnership
from subscriptions.services import subscription_build
from tenants.models import OutboundEmail
from tests.clock import on, travel_destination

LAST_EVENING = on(2026, 12, 31, 23, 30)  # 22:30 UTC, 31 December
FIRST_NIGHT = on(2027, 1, 1, 0, 30)  # 23:30 UTC, still 31 December in UTC


def test_the_moments_straddle_the_day_in_zurich_but_not_in_utc():
    assert LAST_EVENING.date() == datetime.date(2026, 12, 31)
    assert FIRST_NIGHT.date() == datetime.date(2027, 1, 1)
    assert FIRST_NIGHT.astimezone(datetime.UTC).date() == datetime.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("given", "local", "utc"),
    [
        # without an offset: a moment in Zurich
        ("2026-12-31T23:30", "2026-12-31 23:30 +0100", "2026-12-31 22:30"),
        ("2028-02-29", "2028-02-29 00:00 +0100", "2028-02-28 23:00"),
        # with one: that instant, shown in Zurich; the night the clocks go back has
        # two 02:30s, an hour apart
        ("2027-10-31T02:30+02:00", "2027-10-31 02:30 +0200", "2027-10-31 00:30"),
        ("2027-10-31T02:30+01:00", "2027-10-31 02:30 +0100", "2027-10-31 01:30"),
    ],
)
def test_the_calendar_pass_reads_its_moments_in_zurich(given, local, utc):
    moment = travel_destination(given)
    assert moment.strftime("%Y-%m-%d %H:%M %z") == local
    assert moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M") == utc


@pytest.fixture
def renewing(world, settings, time_machine):
    """A monthly subscription from 1 November 2026, paid by the customer."""
    settings.RENEWAL_CATCH_UP_DAYS = 3
    time_machine.move_to(on(2026, 11, 1, 9))
    grant(world, access="full", payment="customer")
    subscription = subscription_build(
        customer=world.customer,
        product=ProductFactory(code="web-hosting", prices={"CHF": "9.92", "EUR": "5.75"}),
        quantity=3,
        unit_price=Decimal("9.92"),
        starts_on=datetime.date(2026, 11, 1),
    )
    subscription.save()
    return subscription


def test_a_renewal_lands_on_the_first_of_the_month_in_zurich(renewing, time_machine):
    # 31 December, 23:30 in Zurich: January's period has not begun, December's
    # began longer ago than the catch-up window: nothing is due
    time_machine.move_to(LAST_EVENING)
    assert timezone.localdate() == datetime.date(2026, 12, 31)
    assert billing_tasks.place_renewals() == 0
    assert not Renewal.unscoped.exists()

    # An hour later it is 1 January 2027 in Zurich (31 December in UTC): January
    # is billed, on an invoice dated and numbered in 2027
    time_machine.move_to(FIRST_NIGHT)
    assert billing_tasks.place_renewals() == 1
    renewal = Renewal.unscoped.get(subscription=renewing)
    assert renewal.period_starts_on == datetime.date(2027, 1, 1)
    invoice = Invoice.unscoped.get(order=renewal.order, kind=Invoice.Kind.INVOICE)
    assert timezone.localdate(invoice.issued_at) == datetime.date(2027, 1, 1)
    assert invoice.number.startswith("INV-2027-")
    # and a rerun later that night bills nothing twice
    assert billing_tasks.place_renewals() == 0


@pytest.fixture
def ending(world, time_machine):
    """Alpine's full access to Müller, its last day of service 31 December 2026."""
    time_machine.move_to(on(2026, 12, 2, 9))
    partnership = grant(world, access="full", payment="customer")
    Partnership.unscoped.filter(pk=partnership.pk).update(ends_on=datetime.date(2026, 12, 31))
    return partnership


def test_access_expires_after_its_last_day_in_zurich(ending, time_machine):
    # 31 December 23:30: still the last day of service
    time_machine.move_to(LAST_EVENING)
    assert partner_tasks.expire_partnerships() == 0
    ending.refresh_from_db()
    assert ending.status == Partnership.Status.ACTIVE

    # 1 January 00:30 in Zurich (31 December in UTC): the access has ended
    time_machine.move_to(FIRST_NIGHT)
    assert partner_tasks.expire_partnerships() == 1
    ending.refresh_from_db()
    assert ending.status == Partnership.Status.EXPIRED


def test_the_seven_day_reminder_goes_out_on_the_right_day_in_zurich(world, time_machine):
    # Access whose last day of service is 8 January: 7 days before is 1 January
    time_machine.move_to(on(2026, 12, 2, 9))
    partnership = grant(world, access="full", payment="customer")
    Partnership.unscoped.filter(pk=partnership.pk).update(ends_on=datetime.date(2027, 1, 8))
    reminders = OutboundEmail.objects.filter(subject__contains="ends in 7 days")

    time_machine.move_to(LAST_EVENING)  # 8 days before
    assert partner_tasks.remind_partnerships_ending() == 0
    assert not reminders.exists()

    time_machine.move_to(FIRST_NIGHT)  # 7 days before in Zurich, 8 in UTC
    assert partner_tasks.remind_partnerships_ending() == 1
    assert reminders.count() == 3  # Alpine's owner and admin, Müller's owner
    partner_tasks.remind_partnerships_ending()  # later that night
    assert reminders.count() == 3  # once per side, ever


# Ways to get a day other than the project's today: the machine's local date, a
# naive now, or the UTC date of an aware now (ruff's DTZ rules catch the first
# ones in `make lint`; `timezone.now().date()` only this test does).
FOREIGN_TODAYS = re.compile(
    r"date\.today\(\)|datetime\.now\(\s*\)|utcnow\(|now\(\)\.date\(\)|fromtimestamp\("
)


def test_every_today_is_the_projects_timezone_localdate():
    root = pathlib.Path(__file__).resolve().parent.parent
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in root.rglob("*.py")
        if not {".venv", "node_modules", "migrations"} & set(path.relative_to(root).parts)
        and path != pathlib.Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FOREIGN_TODAYS.search(line)
    ]
    assert found == [], "use timezone.localdate() / timezone.now():\n" + "\n".join(found)
