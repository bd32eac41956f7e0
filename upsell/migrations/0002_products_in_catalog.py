"""The foreign keys now name the products where they live (`catalog`); the
columns and constraints in the database stay as they are."""


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('upsell', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='featureinterest',
                    name='current_product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.product'),
                ),
                migrations.AlterField(
                    model_name='featureinterest',
                    name='feature',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.feature'),
                ),
                migrations.AlterField(
                    model_name='featureinterest',
                    name='recommended_product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.product'),
                ),
                migrations.AlterField(
                    model_name='upgraderequest',
                    name='current_product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product'),
                ),
                migrations.AlterField(
                    model_name='upgraderequest',
                    name='feature',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.feature'),
                ),
                migrations.AlterField(
                    model_name='upgraderequest',
                    name='recommended_product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product'),
                ),
            ],
            database_operations=[],
        ),
    ]
