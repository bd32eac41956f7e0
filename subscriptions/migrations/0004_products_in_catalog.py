"""Products, prices, tiers and features left for `catalog` (issue 19): they leave
this app's state only; their tables stay, under the same names."""


import django.db.models.deletion
from django.db import migrations, models


CATALOG_MODELS = ["feature", "product", "productprice", "pricetier"]


def content_types_to_catalog(apps, schema_editor):
    """The models' content types (and so the permissions granted on them) follow them."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in CATALOG_MODELS:
        if not ContentType.objects.filter(app_label="catalog", model=model).exists():
            ContentType.objects.filter(app_label="subscriptions", model=model).update(
                app_label="catalog"
            )


def content_types_to_subscriptions(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in CATALOG_MODELS:
        if not ContentType.objects.filter(app_label="subscriptions", model=model).exists():
            ContentType.objects.filter(app_label="catalog", model=model).update(
                app_label="subscriptions"
            )


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ('billing', '0002_products_in_catalog'),
        ('catalog', '0001_initial'),
        ('offers', '0003_products_in_catalog'),
        ('partners', '0008_products_in_catalog'),
        ('subscriptions', '0003_smart_lists'),
        ('upsell', '0002_products_in_catalog'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='product',
                    name='features',
                ),
                migrations.RemoveField(
                    model_name='pricetier',
                    name='product',
                ),
                migrations.RemoveField(
                    model_name='productprice',
                    name='product',
                ),
                migrations.AlterField(
                    model_name='subscription',
                    name='product',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='subscriptions', to='catalog.product'),
                ),
                migrations.DeleteModel(
                    name='Feature',
                ),
                migrations.DeleteModel(
                    name='PriceTier',
                ),
                migrations.DeleteModel(
                    name='ProductPrice',
                ),
                migrations.DeleteModel(
                    name='Product',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_catalog, content_types_to_subscriptions),
    ]
