"""The ledger states the end of every subscription that has a last day of service.

Migration 0005 opened the ledger with each subscription's opening change (and its
renewals and cancel), but not the end its `ends_on` schedules. MRR is now read
from the ledger (`subscriptions.selectors.ledger_states`): a subscription's state
on a day is the one after its last change effective on or before that day, so
its end is a `cancel` change effective the day after its last day, which this
migration appends (no order: nothing was billed or credited). A subscription
whose ledger already ends it on that day (an offer's upgrade, recorded as
`upgrade`/`downgrade` to nothing) gets none. No subscription is touched, and
every MRR figure stays what it was (`subscriptions/tests/test_ledger_mrr.py`).
"""

import datetime

from django.db import migrations

CHUNK = 2000


def record_the_ends(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    Change = apps.get_model("subscriptions", "SubscriptionChange")
    ended = set(
        Change._default_manager.filter(quantity_after=0)
        .values_list("subscription_id", "effective_on")
        .iterator(chunk_size=CHUNK)
    )
    rows = []
    fields = ("id", "quantity", "unit_price", "ends_on")
    subscriptions = Subscription._default_manager.filter(ends_on__isnull=False).order_by("pk")
    for pk, quantity, price, ends_on in subscriptions.values_list(*fields).iterator(
        chunk_size=CHUNK
    ):
        first_day_without = ends_on + datetime.timedelta(days=1)
        if (pk, first_day_without) in ended:
            continue
        rows.append(
            Change(
                subscription_id=pk,
                kind="cancel",
                quantity_before=quantity,
                quantity_after=0,
                unit_price_before=price,
                unit_price_after=0,
                effective_on=first_day_without,
            )
        )
        if len(rows) >= CHUNK:
            Change._default_manager.bulk_create(rows)
            rows = []
    Change._default_manager.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0006_scoped_managers"),
    ]

    operations = [
        migrations.RunPython(record_the_ends, migrations.RunPython.noop, elidable=False),
    ]
