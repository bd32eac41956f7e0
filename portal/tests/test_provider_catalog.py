"""The provider console's catalog (`/provider/catalog/`, issue 22): staff list
the products, add and change them with their prices, tiers, features and
edition, and stop or resume selling them; everyone else gets a 404."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.services import renewals
from billing.services.orders import LineRequest, order_place
from catalog.models import Feature, PriceTier, Product
from catalog.services import product_create
from catalog.tests.factories import ProductFactory
from subscriptions.services import subscription_build
from tenants.models import AuditEvent, Role
from tenants.selectors import org_context_for
from tenants.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = "/provider/catalog/new/"


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def product_form(**change) -> dict:
    """The form as staff fill it in: a backup product in both currencies, two
    tiers (one row left empty), an existing feature ticked and a new one."""
    data = {
        "name": "Backup Standard",
        "code": "backup-standard",
        "description": "Nightly backups, kept 30 days.",
        "category": "backup",
        "billing_period": "monthly",
        "family": "backup",
        "edition_rank": "1",
        "is_active": "on",
        "price-CHF": "5.50",
        "price-EUR": "5.00",
        **management("tiers", 3),
        "tiers-0-min_quantity": "35",
        "tiers-0-rate": "25",
        "tiers-1-min_quantity": "10",
        "tiers-1-rate": "10",
        "tiers-2-min_quantity": "",
        "tiers-2-rate": "",
        **management("newfeature", 2),
        "newfeature-0-code": "file-backup",
        "newfeature-0-name": "File backup",
    }
    data.update(change)
    return {k: v for k, v in data.items() if v is not None}


def test_staff_add_a_product_with_prices_tiers_and_features(world, browser):
    vault = Feature.objects.create(code="vault", name="Vault")
    client = browser(world.staff)
    page = client.get(NEW)
    assert page.status_code == 200
    assert (
        'name="price-CHF"' in page.content.decode() and 'type="checkbox"' in page.content.decode()
    )

    response = client.post(NEW, product_form(features=[str(vault.pk)]))
    assert response.status_code == 302 and response["Location"] == "/provider/catalog/"
    product = Product.objects.get(code="backup-standard")
    assert (product.family, product.edition_rank, product.is_active) == ("backup", 1, True)
    assert product.description == "Nightly backups, kept 30 days."
    assert {p.currency: p.amount for p in product.prices.all()} == {
        "CHF": Decimal("5.50"),
        "EUR": Decimal("5.00"),
    }
    assert list(product.tiers.values_list("min_quantity", "rate")) == [
        (10, Decimal("0.1000")),
        (35, Decimal("0.2500")),
    ]
    assert set(product.features.values_list("code", flat=True)) == {"vault", "file-backup"}
    event = AuditEvent.unscoped.get(tenant=world.provider)
    assert (event.action, event.actor) == (AuditEvent.Action.PRODUCT_CREATED, world.staff)

    listed = client.get("/provider/catalog/")
    html = listed.content.decode()
    assert "Backup Standard was added to the catalog." in html
    assert "CHF 5.50 · EUR 5.00" in html
    assert "from 10: 10 % off · from 35: 25 % off" in html


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"price-EUR": ""}, "EUR", "missing: EUR"),
        ({"price-CHF": "", "price-EUR": ""}, "CHF", "missing: CHF, EUR"),
        ({"price-CHF": "0"}, "CHF", "A price is more than 0."),
    ],
)
def test_an_active_product_without_a_price_in_every_currency_is_refused_on_the_price(
    world, browser, change, field, message
):
    response = browser(world.staff).post(NEW, product_form(**change))
    assert response.status_code == 400
    prices_form = response.context["prices_form"]
    assert any(message in error for error in prices_form.errors[field])
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Product.objects.exists() and not AuditEvent.unscoped.exists()


def test_an_inactive_product_may_be_added_before_its_prices(world, browser):
    response = browser(world.staff).post(NEW, product_form(**{"price-EUR": "", "is_active": None}))
    assert response.status_code == 302
    assert not Product.objects.get(code="backup-standard").is_active


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tiers-1-rate": "30"}, "A tier from more units gives a larger discount"),
        ({"tiers-1-min_quantity": "1"}, "A tier starts from 2 units"),
        ({"tiers-1-min_quantity": "35"}, "Each tier needs its own min_quantity."),
        ({"tiers-1-rate": "95"}, "at most 90 %"),
    ],
)
def test_bad_tiers_are_refused_above_the_tiers(world, browser, change, message):
    response = browser(world.staff).post(NEW, product_form(**change))
    assert response.status_code == 400
    assert any(message in error for error in response.context["tier_errors"])
    assert message in response.content.decode()
    assert not Product.objects.exists()


def test_a_half_filled_tier_row_and_a_known_feature_code_are_refused(world, browser):
    Feature.objects.create(code="file-backup", name="File backup")
    response = browser(world.staff).post(NEW, product_form(**{"tiers-2-min_quantity": "100"}))
    assert response.status_code == 400
    tiers = response.context["tiers"]
    assert tiers.forms[2].non_field_errors() == [
        "Give both the quantity and the discount, or neither."
    ]
    new_features = response.context["new_features"]
    assert new_features.forms[0].errors["code"] == ["This feature exists: tick it in the list."]
    assert not Product.objects.exists()


def test_a_code_or_edition_rank_taken_is_refused_on_its_field(world, browser):
    ProductFactory(code="backup-standard", family="backup", edition_rank=2)
    client = browser(world.staff)
    taken = client.post(NEW, product_form())
    assert taken.status_code == 400 and "code" in taken.context["form"].errors
    rank = client.post(NEW, product_form(code="backup-pro", edition_rank="2"))
    assert rank.status_code == 400
    assert rank.context["form"].errors["edition_rank"] == [
        "Another edition of this family has this rank."
    ]
    assert Product.objects.count() == 1


def test_staff_change_a_product(world, browser):
    product = ProductFactory(code="mailbox", name="Mailbox", family="mail", edition_rank=1)
    PriceTier.objects.create(product=product, min_quantity=10, rate=Decimal("0.10"))
    PriceTier.objects.create(product=product, min_quantity=50, rate=Decimal("0.20"))
    client = browser(world.staff)
    url = f"/provider/catalog/{product.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    tiers = page.context["tiers"]
    assert [f.initial for f in tiers.forms[:2]] == [
        {"min_quantity": 10, "rate": Decimal("0.1000")},
        {"min_quantity": 50, "rate": Decimal("0.2000")},
    ]
    assert len(tiers.forms) == 4  # two empty rows to add more
    assert 'value="10.00"' in page.content.decode()  # the CHF price, as stored

    response = client.post(
        url,
        {
            "name": "Mailbox Pro",
            "code": "mailbox",
            "category": "email",
            "billing_period": "annual",
            "family": "mail",
            "edition_rank": "2",
            "is_active": "on",
            "price-CHF": "12.00",
            "price-EUR": "11.00",
            **management("tiers", 2, initial=2),
            "tiers-0-min_quantity": "10",
            "tiers-0-rate": "12.5",
            **management("newfeature", 0),
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.category, product.billing_period, product.edition_rank) == (
        "Mailbox Pro",
        "email",
        "annual",
        2,
    )
    assert list(product.tiers.values_list("min_quantity", "rate")) == [(10, Decimal("0.1250"))]
    assert {p.currency: str(p.amount) for p in product.prices.all()} == {
        "CHF": "12.00",
        "EUR": "11.00",
    }
    event = AuditEvent.unscoped.get(tenant=world.provider)
    assert event.action == AuditEvent.Action.PRODUCT_CHANGED
    assert set(event.details["after"]) == {
        "name",
        "category",
        "billing_period",
        "edition_rank",
        "prices",
        "tiers",
    }


def test_the_list_filters_by_status_and_family_and_pages(
    world, browser, django_assert_max_num_queries
):
    hosting = ProductFactory(name="Hosting S", family="hosting", edition_rank=1)
    ProductFactory(name="Hosting M", family="hosting", edition_rank=2, is_active=False)
    ProductFactory(name="Domain", family="")
    client = browser(world.staff)

    def names(**query):
        return [
            row["product"].name for row in client.get("/provider/catalog/", query).context["rows"]
        ]

    assert names() == ["Domain", "Hosting S", "Hosting M"]
    assert names(status="inactive") == ["Hosting M"]
    assert names(status="active", family="hosting") == ["Hosting S"]
    assert names(family="-") == ["Domain"]
    page = client.get("/provider/catalog/")
    assert page.context["families"] == ["hosting"]
    assert f"/provider/catalog/{hosting.pk}/status/" in page.content.decode()

    for n in range(30):
        product = ProductFactory(name=f"Extra {n:02}")
        PriceTier.objects.create(product=product, min_quantity=10, rate=Decimal("0.1"))
    with django_assert_max_num_queries(12):
        first = client.get("/provider/catalog/")
    assert len(first.context["rows"]) == 25 and first.context["page"].paginator.count == 33
    second = client.get("/provider/catalog/", {"page": 2})
    assert len(second.context["rows"]) == 8


def test_a_deactivated_product_keeps_its_subscriptions_but_takes_no_new_order(
    world, browser, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 11, 22, 9, tzinfo=datetime.UTC))
    product = ProductFactory(code="web-hosting", name="Web hosting")
    subscription = subscription_build(
        customer=world.customer,
        product=product,
        quantity=3,
        unit_price=Decimal("10.00"),
        starts_on=datetime.date(2026, 10, 20),
    )
    subscription.save()
    client = browser(world.staff)
    response = client.post(f"/provider/catalog/{product.pk}/status/", {"status": "inactive"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert not product.is_active
    assert (
        "Web hosting is no longer sold; its subscriptions keep running."
        in client.get("/provider/catalog/").content.decode()
    )

    renewal = renewals.subscription_renew(
        subscription_id=subscription.pk, period_starts_on=datetime.date(2026, 11, 20)
    )
    assert renewal is not None  # the subscription renews at its price
    org = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)
    with pytest.raises(ValidationError) as caught:
        order_place(
            org=org,
            customer_id=world.customer.id,
            lines=[LineRequest(product=product, quantity=1)],
        )
    assert "Web hosting is no longer sold." in caught.value.messages

    assert (
        client.post(f"/provider/catalog/{product.pk}/status/", {"status": "active"}).status_code
        == 302
    )
    product.refresh_from_db()
    assert product.is_active
    actions = AuditEvent.unscoped.filter(tenant=world.provider).values_list("action", flat=True)
    assert set(actions) == {
        AuditEvent.Action.PRODUCT_DEACTIVATED,
        AuditEvent.Action.PRODUCT_REACTIVATED,
    }


def test_a_product_missing_a_price_cannot_be_sold_again(world, browser):
    product = ProductFactory(name="Domain", prices={"CHF": "15.00"}, is_active=False)
    client = browser(world.staff)
    response = client.post(f"/provider/catalog/{product.pk}/status/", {"status": "active"})
    assert response.status_code == 400
    assert "missing: EUR" in response.content.decode()
    product.refresh_from_db()
    assert not product.is_active
    bad = client.post(f"/provider/catalog/{product.pk}/status/", {"status": "retired"})
    assert bad.status_code == 400 and "Choose active or inactive." in bad.content.decode()


def test_partners_and_customers_get_404_and_change_nothing(world, client):
    product = ProductFactory(name="Web hosting")
    pages = [
        "/provider/catalog/",
        NEW,
        f"/provider/catalog/{product.pk}/",
        f"/provider/catalog/{product.pk}/status/",
        f"/provider/catalog/{uuid.uuid4()}/",
    ]
    for user in (
        world.partner_owner,
        world.sub_partner_owner,
        world.customer_owner,
        world.customer_user,
    ):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 404, (user, url)
            body = product_form(name="Hacked", status="inactive")
            assert client.post(url, body).status_code == 404, (user, url)
    product.refresh_from_db()
    assert product.is_active and product.name == "Web hosting"
    assert Product.objects.count() == 1 and not AuditEvent.unscoped.exists()
    client.force_login(world.staff)
    assert client.get(f"/provider/catalog/{uuid.uuid4()}/").status_code == 404  # a missing id


def test_provider_collaborators_read_the_catalog_and_owners_change_it(world, client):
    """The console's one rule (tenants.selectors.provider_staff_of): the provider's
    collaborators read, its owners and admins write, like platform staff."""
    product = ProductFactory(name="Web hosting")
    collaborator, owner = UserFactory(), UserFactory()
    MembershipFactory(user=collaborator, tenant=world.provider, role=Role.COLLABORATOR)
    MembershipFactory(user=owner, tenant=world.provider, role=Role.OWNER)
    client.force_login(collaborator)
    assert client.get("/provider/catalog/").status_code == 200
    assert client.post(NEW, product_form()).status_code == 403
    status_url = f"/provider/catalog/{product.pk}/status/"
    assert client.post(status_url, {"status": "inactive"}).status_code == 403
    product.refresh_from_db()
    assert product.is_active and Product.objects.count() == 1
    client.force_login(owner)
    assert client.post(NEW, product_form()).status_code == 302
    assert Product.objects.filter(code="backup-standard", is_active=True).exists()


@pytest.mark.parametrize("language", ["it", "de"])
def test_the_catalog_speaks_italian_and_german(world, browser, language):
    ProductFactory(name="Web hosting")
    client = browser(world.staff)
    listed = client.get("/provider/catalog/", headers={"accept-language": language})
    form = client.get(NEW, headers={"accept-language": language})
    expected = {
        "it": ("Catalogo", "Prezzo pubblico per unità e periodo di fatturazione"),
        "de": ("Katalog", "Öffentlicher Preis pro Einheit und Abrechnungsperiode"),
    }[language]
    assert expected[0] in listed.content.decode()
    assert expected[1] in form.content.decode()


def test_every_error_of_the_product_page_shows_at_once(world, browser):
    """Issue 25: a missing name, a tier from -3 units and a price of -5 came one
    submit after another (the forms were validated one after the other)."""
    response = browser(world.staff).post(
        NEW, product_form(**{"name": "", "tiers-1-min_quantity": "-3", "price-CHF": "-5"})
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in page  # the name
    assert "Ensure this value is greater than or equal to 1." in page  # the tier
    assert "A price is more than 0." in page  # the catalog's rule, at once
    assert not Product.objects.exists()


def test_the_catalog_service_names_every_problem_at_once(world):
    with pytest.raises(ValidationError) as refused:
        product_create(
            actor=world.staff,
            name="",
            code="backup-standard",
            category="backup",
            billing_period="monthly",
            is_active=True,
            prices={"CHF": Decimal("-5")},
            tiers=[{"min_quantity": 1, "rate": Decimal("0.1")}],
        )

    errors = refused.value.message_dict
    assert "A price is more than 0." in errors["prices"]
    assert any("A tier starts from 2 units" in m for m in errors["tiers"])
    assert "name" in errors
