"""Customer records left for `customers` (issue 19): they leave this app's state
only; their tables stay, under the same names."""

from django.db import migrations


CUSTOMER_MODELS = ["contract", "slapolicy", "alertprofile", "serviceprofile", "importjob"]


def content_types_to_customers(apps, schema_editor):
    """The models' content types (and so the permissions granted on them) follow them."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in CUSTOMER_MODELS:
        if not ContentType.objects.filter(app_label="customers", model=model).exists():
            ContentType.objects.filter(app_label="partners", model=model).update(
                app_label="customers"
            )


def content_types_to_partners(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in CUSTOMER_MODELS:
        if not ContentType.objects.filter(app_label="partners", model=model).exists():
            ContentType.objects.filter(app_label="customers", model=model).update(
                app_label="partners"
            )


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0009_tenders_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='serviceprofile',
                    name='alert_profile',
                ),
                migrations.RemoveField(
                    model_name='contract',
                    name='customer',
                ),
                migrations.RemoveField(
                    model_name='contract',
                    name='partner',
                ),
                migrations.RemoveField(
                    model_name='importjob',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='importjob',
                    name='partner',
                ),
                migrations.RemoveField(
                    model_name='serviceprofile',
                    name='customer',
                ),
                migrations.RemoveField(
                    model_name='serviceprofile',
                    name='partner',
                ),
                migrations.RemoveField(
                    model_name='serviceprofile',
                    name='sla',
                ),
                migrations.RemoveField(
                    model_name='slapolicy',
                    name='partner',
                ),
                migrations.DeleteModel(
                    name='AlertProfile',
                ),
                migrations.DeleteModel(
                    name='Contract',
                ),
                migrations.DeleteModel(
                    name='ImportJob',
                ),
                migrations.DeleteModel(
                    name='ServiceProfile',
                ),
                migrations.DeleteModel(
                    name='SlaPolicy',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_customers, content_types_to_partners),
    ]
