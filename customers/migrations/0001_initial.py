"""Contracts, SLA policies, alert profiles, service profiles and import jobs,
moved from `partners` (issue 19): only Django's state changes. The tables stay
where they are, under their old names (`db_table`), rows and all."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("partners", "0009_tenders_app"),
        ('tenants', '0009_dashboard_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AlertProfile',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('name', models.CharField(max_length=100)),
                        ('cpu_percent', models.PositiveSmallIntegerField(default=90)),
                        ('memory_percent', models.PositiveSmallIntegerField(default=90)),
                        ('disk_percent', models.PositiveSmallIntegerField(default=90)),
                        ('offline_minutes', models.PositiveIntegerField(default=15)),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_profiles', to='tenants.tenant')),
                    ],
                    options={
                        'db_table': 'partners_alertprofile',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Contract',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('type', models.CharField(choices=[('retainer', 'Retainer / flat fee'), ('hourly', 'Hourly'), ('block_of_hours', 'Block of hours'), ('block_of_money', 'Block of money'), ('remote_monitoring', 'Remote monitoring'), ('online_backup', 'Online backup'), ('project_one_time', 'Project, one-time cost'), ('project_hourly', 'Project, hourly rate')], max_length=32)),
                        ('name', models.CharField(max_length=200)),
                        ('starts_on', models.DateField()),
                        ('ends_on', models.DateField(blank=True, null=True)),
                        ('fee', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='monthly fee')),
                        ('hourly_rate', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ('hours', models.DecimalField(blank=True, decimal_places=2, max_digits=8, null=True, verbose_name='hours in the block')),
                        ('amount', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contracts', to='tenants.tenant')),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
                    ],
                    options={
                        'db_table': 'partners_contract',
                        'ordering': ['-starts_on', 'name'],
                    },
                ),
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
                    },
                ),
                migrations.CreateModel(
                    name='SlaPolicy',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('name', models.CharField(max_length=100)),
                        ('first_response_minutes', models.PositiveIntegerField()),
                        ('resolution_minutes', models.PositiveIntegerField()),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sla_policies', to='tenants.tenant')),
                    ],
                    options={
                        'verbose_name': 'SLA policy',
                        'verbose_name_plural': 'SLA policies',
                        'db_table': 'partners_slapolicy',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ServiceProfile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('alert_profile', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.alertprofile')),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='service_profiles', to='tenants.tenant')),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
                        ('sla', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.slapolicy')),
                    ],
                    options={
                        'db_table': 'partners_serviceprofile',
                    },
                ),
                migrations.AddConstraint(
                    model_name='alertprofile',
                    constraint=models.UniqueConstraint(fields=('partner', 'name'), name='alert_profile_name_unique'),
                ),
                migrations.AddConstraint(
                    model_name='alertprofile',
                    constraint=models.CheckConstraint(condition=models.Q(('cpu_percent__lte', 100), ('disk_percent__lte', 100), ('memory_percent__lte', 100)), name='alert_profile_percentages'),
                ),
                migrations.AddIndex(
                    model_name='contract',
                    index=models.Index(fields=['partner', 'customer'], name='contract_partner_customer'),
                ),
                migrations.AddConstraint(
                    model_name='contract',
                    constraint=models.CheckConstraint(condition=models.Q(('ends_on__isnull', True), ('ends_on__gt', models.F('starts_on')), _connector='OR'), name='contract_ends_after_start'),
                ),
                migrations.AddIndex(
                    model_name='importjob',
                    index=models.Index(fields=['partner', 'created_at'], name='import_job_partner_created'),
                ),
                migrations.AddConstraint(
                    model_name='slapolicy',
                    constraint=models.UniqueConstraint(fields=('partner', 'name'), name='sla_policy_name_unique'),
                ),
                migrations.AddConstraint(
                    model_name='slapolicy',
                    constraint=models.CheckConstraint(condition=models.Q(('resolution_minutes__gte', models.F('first_response_minutes'))), name='sla_resolution_after_response'),
                ),
                migrations.AddConstraint(
                    model_name='serviceprofile',
                    constraint=models.UniqueConstraint(fields=('partner', 'customer'), name='service_profile_unique'),
                ),
            ],
            database_operations=[],
        ),
    ]
