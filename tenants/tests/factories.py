import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from tenants.models import Contact, Membership, Role, Tenant, User
from tenants.services import tenant_build

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"primary": True, "verified": True}
            )


class TenantFactory(DjangoModelFactory):
    """Tenants are built by the service helper so the materialized path is right."""

    class Meta:
        model = Tenant

    kind = Tenant.Kind.CUSTOMER
    name = factory.Sequence(lambda n: f"Organization {n}")
    parent = None
    currency = "CHF"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = tenant_build(**kwargs)
        tenant.save(force_insert=True)
        return tenant


class ProviderFactory(TenantFactory):
    kind = Tenant.Kind.PROVIDER
    name = "Provider"


class PartnerFactory(TenantFactory):
    kind = Tenant.Kind.PARTNER
    name = factory.Sequence(lambda n: f"Partner {n}")


class CustomerFactory(TenantFactory):
    kind = Tenant.Kind.CUSTOMER
    name = factory.Sequence(lambda n: f"Customer {n}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(CustomerFactory)
    role = Role.OWNER
    buyer = False


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Contact{n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")
