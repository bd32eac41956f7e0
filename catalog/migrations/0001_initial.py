"""The catalog's models, moved from `subscriptions` (issue 19): only Django's state
changes. The tables stay where they are, under their old names (`db_table`), rows and all."""


import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import uuid
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("subscriptions", "0003_smart_lists"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Feature',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=64, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9._-]*$', "Lower-case letters, digits, '.', '_' and '-'.")])),
                        ('name', models.CharField(max_length=200)),
                    ],
                    options={
                        'db_table': 'subscriptions_feature',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Product',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('code', models.CharField(max_length=64, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9._-]*$', "Lower-case letters, digits, '.', '_' and '-'.")])),
                        ('name', models.CharField(max_length=200)),
                        ('category', models.CharField(choices=[('hosting', 'Hosting'), ('email', 'Email'), ('backup', 'Backup'), ('domain', 'Domain'), ('security', 'Security'), ('other', 'Other')], max_length=32)),
                        ('family', models.CharField(blank=True, help_text='Editions of one family are ranked.', max_length=64)),
                        ('edition_rank', models.PositiveSmallIntegerField(default=0, help_text='Higher is a better edition.')),
                        ('billing_period', models.CharField(choices=[('monthly', 'Monthly'), ('annual', 'Annual')], max_length=16)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('features', models.ManyToManyField(blank=True, related_name='products', to='catalog.feature')),
                    ],
                    options={
                        'db_table': 'subscriptions_product',
                        'ordering': ['category', 'family', 'edition_rank', 'name'],
                    },
                ),
                migrations.CreateModel(
                    name='PriceTier',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('min_quantity', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(2)])),
                        ('rate', models.DecimalField(decimal_places=4, max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('0.9'))])),
                        ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tiers', to='catalog.product')),
                    ],
                    options={
                        'db_table': 'subscriptions_pricetier',
                        'ordering': ['min_quantity'],
                    },
                ),
                migrations.CreateModel(
                    name='ProductPrice',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('currency', models.CharField(choices=[('CHF', 'CHF'), ('EUR', 'EUR')], max_length=3)),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0'))])),
                        ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='prices', to='catalog.product')),
                    ],
                    options={
                        'db_table': 'subscriptions_productprice',
                        'ordering': ['currency'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='product',
                    constraint=models.UniqueConstraint(condition=models.Q(('family', ''), _negated=True), fields=('family', 'edition_rank'), name='product_family_edition_rank_unique'),
                ),
                migrations.AddConstraint(
                    model_name='pricetier',
                    constraint=models.UniqueConstraint(fields=('product', 'min_quantity'), name='price_tier_quantity_unique'),
                ),
                migrations.AddConstraint(
                    model_name='pricetier',
                    constraint=models.CheckConstraint(condition=models.Q(('rate__gte', 0), ('rate__lt', 1)), name='price_tier_rate_range'),
                ),
                migrations.AddConstraint(
                    model_name='productprice',
                    constraint=models.UniqueConstraint(fields=('product', 'currency'), name='product_price_currency_unique'),
                ),
                migrations.AddConstraint(
                    model_name='productprice',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='product_price_non_negative'),
                ),
            ],
            database_operations=[],
        ),
    ]
