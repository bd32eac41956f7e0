"""Tenders and proposals, moved from `partners` (issue 19): only Django's state
changes. The tables stay where they are, under their old names (`db_table`), rows and all."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("partners", "0008_products_in_catalog"),
        ('tenants', '0009_dashboard_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Tender',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('title', models.CharField(max_length=200)),
                        ('description', models.TextField(max_length=5000)),
                        ('category', models.CharField(choices=[('hosting', 'Hosting'), ('email', 'Email'), ('backup', 'Backup'), ('domain', 'Domain'), ('security', 'Security'), ('other', 'Other')], max_length=32)),
                        ('contact_name', models.CharField(max_length=200)),
                        ('contact_email', models.EmailField(max_length=254)),
                        ('contact_phone', models.CharField(blank=True, max_length=40)),
                        ('valid_until', models.DateField(help_text='The last day partners see it.')),
                        ('status', models.CharField(choices=[('unconfirmed', 'Waiting for the email confirmation'), ('open', 'Open'), ('cancelled', 'Cancelled')], max_length=16)),
                        ('nonce', models.CharField(max_length=32)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('opened_at', models.DateTimeField(blank=True, null=True)),
                        ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                        ('customer', models.ForeignKey(blank=True, help_text='The customer that posted it; empty for a visitor.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='tenders', to='tenants.tenant')),
                        ('posted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'partners_tender',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='TenderProposal',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('message', models.TextField(max_length=5000)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tender_proposals', to='tenants.tenant')),
                        ('tender', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='proposals', to='tenders.tender')),
                    ],
                    options={
                        'db_table': 'partners_tenderproposal',
                        'ordering': ['created_at'],
                    },
                ),
                migrations.AddIndex(
                    model_name='tender',
                    index=models.Index(fields=['status', 'valid_until'], name='tender_status_valid'),
                ),
                migrations.AddIndex(
                    model_name='tender',
                    index=models.Index(fields=['customer', '-created_at'], name='tender_customer_created'),
                ),
                migrations.AddConstraint(
                    model_name='tenderproposal',
                    constraint=models.UniqueConstraint(fields=('tender', 'partner'), name='tender_one_proposal'),
                ),
            ],
            database_operations=[],
        ),
    ]
