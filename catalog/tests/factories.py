from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from catalog.models import Product, ProductPrice


class ProductFactory(DjangoModelFactory):
    """A monthly product priced CHF 10.00 / EUR 9.00 unless told otherwise."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = Product.Category.HOSTING
    billing_period = Product.BillingPeriod.MONTHLY

    @factory.post_generation
    def prices(self, create, extracted, **kwargs):
        if create:
            for currency, amount in (extracted or {"CHF": "10.00", "EUR": "9.00"}).items():
                ProductPrice.objects.create(product=self, currency=currency, amount=Decimal(amount))
