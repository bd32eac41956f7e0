"""Invoices people can pay (docs/invoices.md): net, VAT (rate, amount, which
rule, whose country) and the due date on every invoice.

The invoices issued before keep their figures: their total stays, recorded as
net = total with VAT 0 and treatment "before_vat", and no due date
(billing/tests/test_invoice_documents.py proves it)."""

from django.db import migrations, models


def before_vat(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    Invoice._base_manager.filter(net__isnull=True).update(net=models.F("total"))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_vat_rates"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="net",
            field=models.DecimalField(
                decimal_places=2,
                max_digits=14,
                null=True,
                help_text="Excl. VAT; negative on a credit note.",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="vat_rate",
            field=models.DecimalField(
                decimal_places=4,
                default=0,
                help_text="A fraction: 0.0810 is 8.1 %.",
                max_digits=5,
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="vat_amount",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name="invoice",
            name="vat_treatment",
            field=models.CharField(
                choices=[
                    ("domestic", "Standard rate of the issuer's country"),
                    ("eu_consumer", "Standard rate of the consumer's EU country"),
                    ("reverse_charge", "Reverse charge (EU business)"),
                    ("outside_scope", "Outside the scope of VAT"),
                    ("before_vat", "Issued before VAT"),
                ],
                default="before_vat",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="invoice",
            name="vat_country",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The country whose rate applies, if any.",
                max_length=2,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="invoice",
            name="due_on",
            field=models.DateField(
                blank=True,
                null=True,
                help_text=(
                    "The invoice date plus the payer's payment terms; none on a credit note "
                    "or an invoice issued before due dates."
                ),
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="total",
            field=models.DecimalField(
                decimal_places=2,
                help_text="Net plus VAT: what is to pay; negative on a credit note.",
                max_digits=14,
            ),
        ),
        migrations.RunPython(before_vat, migrations.RunPython.noop),
    ]
