"""The foreign keys now name the products where they live (`catalog`); the
columns and constraints in the database stay as they are."""


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('offers', '0002_offer_item_replaces'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='offeritem',
                    name='product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product'),
                ),
                migrations.AlterField(
                    model_name='offeritem',
                    name='replaces',
                    field=models.ForeignKey(blank=True, help_text='The edition this item upgrades: its subscription ends when the offer is accepted.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product'),
                ),
                migrations.AlterField(
                    model_name='templateitem',
                    name='product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product'),
                ),
            ],
            database_operations=[],
        ),
    ]
