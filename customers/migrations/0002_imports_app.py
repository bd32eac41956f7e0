"""Import jobs left for `imports` (issue 19): they leave this app's state only;
their table stays, under the same name (`partners_importjob`)."""

from django.db import migrations


def content_types_to_imports(apps, schema_editor):
    """The model's content type (and so the permissions granted on it) follows it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="imports", model="importjob").exists():
        ContentType.objects.filter(app_label="customers", model="importjob").update(
            app_label="imports"
        )


def content_types_to_customers(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="customers", model="importjob").exists():
        ContentType.objects.filter(app_label="imports", model="importjob").update(
            app_label="customers"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0001_initial"),
        ("imports", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='importjob',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='importjob',
                    name='partner',
                ),
                migrations.DeleteModel(
                    name='ImportJob',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_imports, content_types_to_customers),
    ]
