"""Import jobs, moved from `customers` (issue 19): only Django's state changes.
The table stays where it is, under its old name (`db_table`), rows and all."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("customers", "0001_initial"),
        ("tenants", "0009_dashboard_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ImportJob',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('customers', 'Customers'), ('contacts', 'Contacts')], max_length=16)),
                        ('content', models.TextField(blank=True, help_text='The CSV as uploaded, decoded.')),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('total', models.PositiveIntegerField(default=0, help_text='Data rows in the file.')),
                        ('processed', models.PositiveIntegerField(default=0)),
                        ('created_count', models.PositiveIntegerField(default=0)),
                        ('updated_count', models.PositiveIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                        ('errors', models.JSONField(blank=True, default=list, help_text='The report [{row, column, message}] of a failed run.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='import_jobs', to='tenants.tenant')),
                    ],
                    options={
                        'db_table': 'partners_importjob',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['partner', 'created_at'], name='import_job_partner_created')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
