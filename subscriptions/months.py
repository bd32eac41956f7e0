"""Months of MRR history: which day each month's figure is read on.

One rule for the customer's widget and the partner's book (docs/subscriptions.md):
a past month's MRR is the MRR on its last day; **the current month's is the MRR
as of today** (what ChartMogul shows), never a projection to the month's end,
which would count a subscription that starts later this month as if it had.
What is scheduled shows as the upcoming MRR instead.
"""

import datetime


def month_start(day: datetime.date, back: int = 0) -> datetime.date:
    """The first day of `day`'s month, or of the month `back` months before it."""
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_end(first: datetime.date) -> datetime.date:
    """The last day of the month that starts on `first`."""
    return month_start(first, back=-1) - datetime.timedelta(days=1)


def reading_days(today: datetime.date, months: int) -> list[datetime.date]:
    """The day each of the last `months` months is read on, oldest first: each
    past month's last day, then today for the current month."""
    firsts = [month_start(today, back=k) for k in range(months - 1, -1, -1)]
    return [month_end(first) for first in firsts[:-1]] + [today]
