"""The foreign keys now name the products where they live (`catalog`); the
columns and constraints in the database stay as they are."""


from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0001_initial'),
        ('partners', '0007_dashboard_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='partnership',
                    name='products',
                    field=models.ManyToManyField(blank=True, related_name='+', to='catalog.product'),
                ),
            ],
            database_operations=[],
        ),
    ]
