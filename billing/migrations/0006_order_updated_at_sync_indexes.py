"""Whole-book syncs (API.md rev. 2): orders get `updated_at`, filled for the
existing rows with their last change (refunded, else placed), and orders and
invoices an index on (change time, id) for the cursor walk."""

from django.db import migrations, models
from django.db.models.functions import Coalesce


def fill_updated_at(apps, schema_editor):
    Order = apps.get_model("billing", "Order")
    Order._default_manager.update(updated_at=Coalesce("refunded_at", "placed_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_orderline_price_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="updated_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill_updated_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True,
                help_text="Last change (placed, refunded): whole-book syncs walk by it.",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["issued_at", "id"], name="invoice_sync"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["updated_at", "id"], name="order_sync"),
        ),
    ]
