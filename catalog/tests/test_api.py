"""The catalog API: everyone signed in reads it, staff manage it (API.md)."""

import pytest

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from tests.isolation import missing_id

pytestmark = pytest.mark.django_db

BACKUP = {
    "code": "backup-standard",
    "name": "Backup Standard",
    "category": "backup",
    "family": "backup",
    "edition_rank": 1,
    "billing_period": "monthly",
    "prices": {"CHF": "5.50", "EUR": "5.00"},
    "tiers": [{"min_quantity": 35, "rate": "0.25"}],
    "features": [{"code": "file-backup", "name": "File backup"}],
}


def test_staff_create_a_product_and_anyone_signed_in_reads_it(world, api):
    created = api(world.staff).post("/api/v1/products/", BACKUP, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["prices"] == {"CHF": "5.50", "EUR": "5.00"}
    assert body["tiers"] == [{"min_quantity": 35, "rate": "0.2500"}]
    assert body["features"] == [{"code": "file-backup", "name": "File backup"}]

    by_code = api(world.customer_user).get("/api/v1/products/backup-standard/")
    by_id = api(world.customer_user).get(f"/api/v1/products/{body['id']}/")
    assert by_code.json() == by_id.json() == body
    assert api().get("/api/v1/products/").status_code in (401, 403)


def test_staff_change_a_product_by_its_code(world, api):
    api(world.staff).post("/api/v1/products/", BACKUP, format="json")
    response = api(world.staff).patch(
        "/api/v1/products/backup-standard/",
        {
            "prices": {"CHF": "6.00", "EUR": "5.40"},
            "tiers": [],
            "features": [
                {"code": "file-backup", "name": "File backup"},
                {"code": "cloud", "name": "Cloud storage"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    assert (
        response.json()["prices"] == {"CHF": "6.00", "EUR": "5.40"}
        and response.json()["tiers"] == []
    )
    assert len(response.json()["features"]) == 2
    assert (
        api(world.partner_owner)
        .patch("/api/v1/products/backup-standard/", {"name": "x"})
        .status_code
        == 403
    )
    assert (
        api(world.partner_owner).post("/api/v1/products/", BACKUP, format="json").status_code == 403
    )
    assert (
        api(world.staff).patch(f"/api/v1/products/{missing_id()}/", {"name": "x"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"prices": {"CHF": "5.50"}}, "prices"),
        ({"prices": {"CHF": "-1", "EUR": "5"}}, "prices"),
        ({"prices": {"CHF": "5", "EUR": "5", "USD": "5"}}, "prices"),
        ({"billing_period": "weekly"}, "billing_period"),
        ({"code": "Has Spaces"}, "code"),
        ({"tiers": [{"min_quantity": 0, "rate": "0.1"}]}, "tiers"),
        ({"tiers": [{"min_quantity": 10, "rate": "1.5"}]}, "tiers"),
        (
            {"tiers": [{"min_quantity": 10, "rate": "0.1"}, {"min_quantity": 10, "rate": "0.2"}]},
            "tiers",
        ),
    ],
)
def test_bad_products_are_refused_with_field_errors_and_nothing_is_written(
    world, api, change, field
):
    response = api(world.staff).post("/api/v1/products/", {**BACKUP, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Product.objects.exists()


def test_two_editions_of_a_family_cannot_share_a_rank(world, api):
    api(world.staff).post("/api/v1/products/", BACKUP, format="json")
    clash = api(world.staff).post(
        "/api/v1/products/", {**BACKUP, "code": "backup-2"}, format="json"
    )
    assert clash.status_code == 400 and "edition_rank" in clash.json()
    duplicate = api(world.staff).post(
        "/api/v1/products/", {**BACKUP, "edition_rank": 2}, format="json"
    )
    assert duplicate.status_code == 400 and "code" in duplicate.json()


def test_the_catalog_list_takes_a_fixed_number_of_queries(
    world, api, django_assert_max_num_queries
):
    client = api(world.customer_owner)
    for n in range(1, 4):
        client_staff = api(world.staff)
        client_staff.post(
            "/api/v1/products/", {**BACKUP, "code": f"p{n}", "edition_rank": n}, format="json"
        )
    with django_assert_max_num_queries(8):
        small = client.get("/api/v1/products/").json()
    for n in range(4, 15):
        api(world.staff).post(
            "/api/v1/products/", {**BACKUP, "code": f"p{n}", "edition_rank": n}, format="json"
        )
    with django_assert_max_num_queries(8):
        large = client.get("/api/v1/products/?category=backup&ordering=-edition_rank").json()
    assert small["count"] == 3 and large["count"] == 14
    assert large["results"][0]["edition_rank"] == 14


def test_the_api_refuses_to_sell_a_product_missing_a_currency(world, api):
    product = ProductFactory(code="domain-ch", prices={"CHF": "13.00"}, is_active=False)
    response = api(world.staff).patch(
        "/api/v1/products/domain-ch/", {"is_active": True}, format="json"
    )
    assert response.status_code == 400
    assert "missing: EUR" in response.json()["prices"][0]
    product.refresh_from_db()
    assert not product.is_active
