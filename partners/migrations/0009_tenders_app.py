"""Tenders and proposals left for `tenders` (issue 19): they leave this app's
state only; their tables stay, under the same names."""

from django.db import migrations


TENDER_MODELS = ["tender", "tenderproposal"]


def content_types_to_tenders(apps, schema_editor):
    """The models' content types (and so the permissions granted on them) follow them."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in TENDER_MODELS:
        if not ContentType.objects.filter(app_label="tenders", model=model).exists():
            ContentType.objects.filter(app_label="partners", model=model).update(
                app_label="tenders"
            )


def content_types_to_partners(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in TENDER_MODELS:
        if not ContentType.objects.filter(app_label="partners", model=model).exists():
            ContentType.objects.filter(app_label="tenders", model=model).update(
                app_label="partners"
            )


class Migration(migrations.Migration):

    dependencies = [
        ("tenders", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ('partners', '0008_products_in_catalog'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='tenderproposal',
                    name='tender',
                ),
                migrations.RemoveField(
                    model_name='tenderproposal',
                    name='author',
                ),
                migrations.RemoveField(
                    model_name='tenderproposal',
                    name='partner',
                ),
                migrations.DeleteModel(
                    name='Tender',
                ),
                migrations.DeleteModel(
                    name='TenderProposal',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_tenders, content_types_to_partners),
    ]
