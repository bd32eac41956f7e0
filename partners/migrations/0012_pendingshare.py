"""The customers whose shares of the partners' books are to be counted
(subscriptions.books, issue 27): every customer there is, so that the books'
figures are built from the ledger by the fold (`manage.py fold_books`, or the
beat's `fold-book-shares`). Until a customer is counted, readers count it from
the ledger themselves: the figures are the same before and after."""

import django.utils.timezone
from django.db import migrations, models


def every_customer_pending(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    PendingShare = apps.get_model("partners", "PendingShare")
    customers = Tenant._base_manager.filter(kind="customer").values_list("pk", flat=True)
    PendingShare.objects.bulk_create(
        (PendingShare(customer_id=pk) for pk in customers.iterator()),
        batch_size=2000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("partners", "0011_scoped_managers"),
        ("tenants", "0025_audit_resale_actions"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingShare",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_id", models.UUIDField(db_index=True)),
                (
                    "since",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
        ),
        migrations.RunPython(every_customer_pending, migrations.RunPython.noop),
    ]
