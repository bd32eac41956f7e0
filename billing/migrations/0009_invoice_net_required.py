"""The net of every invoice is known now (0008 filled the old ones): required,
and the database holds total = net + VAT. A migration of its own, so that
PostgreSQL alters the table after the backfill's transaction."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_invoice_vat_due_date"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invoice",
            name="net",
            field=models.DecimalField(
                decimal_places=2,
                help_text="Excl. VAT; negative on a credit note.",
                max_digits=14,
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                # total = net + VAT, to the cent (SQLite adds decimals as floats)
                condition=LessThan(
                    Abs(models.F("total") - models.F("net") - models.F("vat_amount")),
                    Decimal("0.005"),
                ),
                name="invoice_total_is_net_plus_vat",
            ),
        ),
    ]
