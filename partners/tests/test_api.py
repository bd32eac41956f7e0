"""The partnerships API: customers, collaborators, partnerships and their
actions, the partner directory (API.md, SPEC §3)."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import Product, ProductPrice
from partners import services
from partners.models import Access, CustomerAssignment, Partnership, PartnershipEvent, Payment
from tenants.models import Membership, Role, Tenant, User
from tenants.selectors import org_context_for
from tenants.tests.factories import PASSWORD, UserFactory
from tests.isolation import missing_id

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
PARTNERSHIPS = "/api/v1/partnerships/"
DIRECTORY = "/api/v1/partners/directory/"


# --- helpers ------------------------------------------------------------------------


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def product(code: str = "web-hosting", category: str = "hosting") -> Product:
    item = Product.objects.create(
        code=code, name=code.replace("-", " ").title(), category=category, billing_period="monthly"
    )
    ProductPrice.objects.bulk_create(
        [
            ProductPrice(product=item, currency="CHF", amount=Decimal("9.92")),
            ProductPrice(product=item, currency="EUR", amount=Decimal("5.75")),
        ]
    )
    return item


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def manage(world, *, access=Access.FULL, payment=Payment.CUSTOMER, products=None, ends_on=None):
    """An active partnership Alpine IT ↔ Bäckerei Müller: the customer invites,
    the partner accepts."""
    invited = services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access=access,
        payment=payment if access == Access.FULL else None,
        products=products,
        ends_on=ends_on,
    )
    return services.partnership_accept(
        org=org(world.partner_owner, world.partner), partnership=invited
    )


def unclaimed(world, name: str, *, owner=None, partner=None) -> Partnership:
    """A customer the partner manages without an owner (active full access at once)."""
    return services.customer_add(
        org=org(owner or world.partner_owner, partner or world.partner), name=name
    )


def foreign_partnership(world) -> Partnership:
    """A partnership between two organizations Alpine IT has nothing to do with."""
    return unclaimed(world, "Foreign GmbH", owner=world.other_owner, partner=world.other_partner)


def invite(world, **extra) -> Partnership:
    """A pending invitation from Bäckerei Müller to Alpine IT."""
    return services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.partner,
        access=extra.pop("access", Access.FULL),
        payment=extra.pop("payment", Payment.CUSTOMER),
        **extra,
    )


def counts() -> tuple[int, ...]:
    return (
        Tenant.objects.count(),
        Partnership.unscoped.count(),
        PartnershipEvent.unscoped.count(),
        User.objects.count(),
        CustomerAssignment.unscoped.count(),
    )


def kinds(body) -> list[str]:
    return [event["kind"] for event in body["history"]]


# --- customers: list -------------------------------------------------------------------


def test_the_customer_list_shows_what_the_caller_may_see_with_its_live_partnership(world, api):
    managed = manage(world)
    unclaimed(world, "Zürich Zahnarzt")
    foreign_partnership(world)

    body = api(world.partner_owner, world.partner).get(CUSTOMERS).json()

    assert body["count"] == 2 and {"next", "previous"} <= set(body)
    row = body["results"][0]
    assert set(row) == {
        "id",
        "name",
        "slug",
        "currency",
        "status",
        "rank",
        "city",
        "country",
        "partnership",
        "primary_contact",
        "updated_at",  # for whole-book syncs (?updated_since=, docs/api-changelog.md)
    }
    assert row["name"] == "Bäckerei Müller" and row["id"] == str(world.customer.id)
    assert row["partnership"] == {
        "id": str(managed.id),
        "access": "full",
        "payment": "customer",
        "status": "active",
    }
    assert body["results"][1]["partnership"]["payment"] == "partner"
    other = api(world.other_owner, world.other_partner).get(CUSTOMERS).json()
    assert [r["name"] for r in other["results"]] == ["Foreign GmbH"]


def test_the_customer_list_searches_by_name_and_orders_by_name_or_creation(world, api):
    for name in ("Chalet Blanc", "Alp Hütte", "Bergbahn"):
        unclaimed(world, name)
    client = api(world.partner_admin, world.partner)

    def names(query):
        return [r["name"] for r in client.get(f"{CUSTOMERS}{query}").json()["results"]]

    assert names("") == ["Alp Hütte", "Bergbahn", "Chalet Blanc"]
    assert names("?ordering=-name") == ["Chalet Blanc", "Bergbahn", "Alp Hütte"]
    assert names("?ordering=-created_at") == ["Bergbahn", "Alp Hütte", "Chalet Blanc"]
    assert names("?search=berg") == ["Bergbahn"]


def test_the_customer_list_takes_a_fixed_number_of_queries(
    world, api, django_assert_max_num_queries
):
    unclaimed(world, "First AG")
    client = api(world.partner_owner, world.partner)
    client.get(CUSTOMERS)  # warm the session
    with django_assert_max_num_queries(6):
        assert client.get(CUSTOMERS).json()["count"] == 1
    for n in range(15):
        unclaimed(world, f"Customer {n:02}")
    with django_assert_max_num_queries(6):
        body = client.get(f"{CUSTOMERS}?ordering=-created_at").json()
    assert body["count"] == 16
    assert all(row["partnership"]["status"] == "active" for row in body["results"])


def test_customers_are_for_partner_members_only(world, api):
    manage(world)
    assert api(world.customer_owner, world.customer).get(CUSTOMERS).status_code == 404
    assert api().get(CUSTOMERS).status_code in (401, 403)
    assert api(world.collaborator, world.partner).get(CUSTOMERS).json()["count"] == 0


# --- customers: create --------------------------------------------------------------------


def test_a_partner_owner_adds_a_customer_with_an_owner_who_is_invited(
    world, api, django_capture_on_commit_callbacks
):
    product("web-hosting")
    product("mail-pro", category="email")
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.partner_owner, world.partner).post(
            CUSTOMERS,
            {
                "name": "Hotel Alpenblick",
                "owner_email": "Chef@Alpenblick.test",
                "access": "limited",
                "products": ["web-hosting", "mail-pro"],
                "message": "As discussed on the phone.",
                "city": "Grindelwald",
                "country": "CH",
                "email_domains": ["alpenblick.test"],
            },
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Hotel Alpenblick" and body["city"] == "Grindelwald"
    assert body["currency"] == "CHF" and body["email_domains"] == ["alpenblick.test"]
    partnership = body["partnership"]
    assert partnership["status"] == "pending" and partnership["access"] == "limited"
    assert partnership["products"] == ["mail-pro", "web-hosting"]
    assert partnership["partner"] == {"id": str(world.partner.id), "name": "Alpine IT"}
    assert partnership["requested"]["products"] == ["mail-pro", "web-hosting"]
    assert partnership["invitation_expires_at"] is not None
    owner = User.objects.get(email="chef@alpenblick.test")
    assert Membership.unscoped.get(user=owner, tenant_id=body["id"]).role == Role.OWNER
    assert [m.to for m in mail.outbox] == [["chef@alpenblick.test"]]
    # pending: not managed yet, so not in the list
    assert api(world.partner_owner, world.partner).get(CUSTOMERS).json()["count"] == 0


def test_a_customer_without_an_owner_is_unclaimed_and_managed_at_once(world, api):
    response = api(world.partner_owner, world.partner).post(
        CUSTOMERS, {"name": "Schreinerei Holz", "currency": "EUR"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["currency"] == "EUR"
    assert body["partnership"]["status"] == "active"
    assert (body["partnership"]["access"], body["partnership"]["payment"]) == ("full", "partner")
    listed = api(world.partner_owner, world.partner).get(CUSTOMERS).json()["results"]
    assert [r["name"] for r in listed] == ["Schreinerei Holz"]
    assert len(mail.outbox) == 0


def test_collaborators_add_no_customers_and_admins_ask_no_owner_for_access(world, api):
    before = counts()
    response = api(world.collaborator, world.partner).post(CUSTOMERS, {"name": "Nope AG"})
    assert response.status_code == 403
    asking = api(world.partner_admin, world.partner).post(
        CUSTOMERS,
        {"name": "Nope AG", "owner_email": "o@nope.test", "access": "full", "payment": "customer"},
    )
    assert asking.status_code == 403
    assert counts() == before
    unclaimed = api(world.partner_admin, world.partner).post(CUSTOMERS, {"name": "Admin AG"})
    assert unclaimed.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"owner_email": "boss@new.test", "access": "limited", "products": ["nope"]}, "products"),
        ({"owner_email": "boss@new.test", "access": "limited"}, "products"),
        ({"owner_email": "boss@new.test", "access": "full"}, "payment"),
        (
            {
                "owner_email": "boss@new.test",
                "access": "limited",
                "payment": "partner",
                "products": ["web-hosting"],
            },
            "payment",
        ),
        ({"owner_email": "boss@new.test", "access": "everything"}, "access"),
        ({"owner_email": "not an email", "access": "full", "payment": "partner"}, "owner_email"),
        ({"access": "limited", "products": ["web-hosting"]}, "owner_email"),
        ({"country": "Switzerland"}, "country"),
        ({"currency": "USD"}, "currency"),
        ({"ends_on": "2001-01-01"}, "ends_on"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_customer_input_is_a_400_on_the_field_and_writes_nothing(world, api, payload, field):
    product("web-hosting")
    before = counts()
    response = api(world.partner_owner, world.partner).post(
        CUSTOMERS, {"name": "Hotel Alpenblick", **payload}
    )
    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before
    assert len(mail.outbox) == 0


# --- customers: detail, profile ----------------------------------------------------------


def test_allowed_partner_users_read_and_change_a_customer_profile(world, api):
    partnership = manage(world)
    services.collaborators_set(
        org=org(world.partner_owner, world.partner),
        customer=world.customer,
        user_ids=[world.collaborator.id],
    )
    url = f"{CUSTOMERS}{world.customer.id}/"
    for n, user in enumerate((world.partner_owner, world.partner_admin, world.collaborator)):
        client = api(user, world.partner)
        body = client.get(url).json()
        assert body["name"] == "Bäckerei Müller"
        assert body["partnership"]["id"] == str(partnership.id)
        changed = client.patch(url, {"city": f"Thun {n}", "email_domains": ["Mueller.TEST "]})
        assert changed.status_code == 200
        assert changed.json()["city"] == f"Thun {n}"
        assert changed.json()["email_domains"] == ["mueller.test"]
    world.customer.refresh_from_db()
    assert world.customer.city == "Thun 2"


def test_an_unassigned_collaborator_gets_404_for_a_managed_customer(world, api):
    manage(world)
    client = api(world.collaborator, world.partner)
    url = f"{CUSTOMERS}{world.customer.id}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"city": "Thun"}).status_code == 404
    world.customer.refresh_from_db()
    assert world.customer.city == ""


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"country": "Switzerland"}, "country"),
        ({"email_domains": ["me@example.ch"]}, "email_domains"),
        ({"email_domains": "example.ch"}, "email_domains"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_profile_input_is_a_400_on_the_field_and_writes_nothing(world, api, payload, field):
    manage(world)
    response = api(world.partner_admin, world.partner).patch(
        f"{CUSTOMERS}{world.customer.id}/", {**payload, "city": "Thun"}
    )
    assert response.status_code == 400 and field in response.json()
    world.customer.refresh_from_db()
    assert world.customer.city == "" and world.customer.name == "Bäckerei Müller"


def test_a_foreign_or_unmanaged_customer_is_the_same_404_as_a_missing_one(world, api):
    foreign = foreign_partnership(world).customer
    client = api(world.partner_owner, world.partner)
    answers = set()
    for customer_id in (foreign.id, world.customer.id, missing_id(), "not-a-uuid"):
        for method, suffix in (
            ("get", ""),
            ("patch", ""),
            ("get", "collaborators/"),
            ("put", "collaborators/"),
        ):
            response = getattr(client, method)(
                f"{CUSTOMERS}{customer_id}/{suffix}", {"city": "Thun", "users": []}
            )
            assert response.status_code == 404, (method, customer_id, suffix)
            answers.add(response.content)
    assert len(answers) == 1
    foreign.refresh_from_db()
    assert foreign.city == ""


# --- collaborators -----------------------------------------------------------------------


def test_assigning_a_collaborator_shows_the_customer_to_that_collaborator_only(world, api):
    manage(world)
    unclaimed(world, "Other Customer AG")
    second = Membership.unscoped.create(
        user=UserFactory(email="second@alpine.test"), tenant=world.partner, role=Role.COLLABORATOR
    ).user
    url = f"{CUSTOMERS}{world.customer.id}/collaborators/"

    response = api(world.partner_admin, world.partner).put(
        url, {"users": [str(world.collaborator.id)]}
    )

    assert response.status_code == 200
    assert response.json() == [
        {"user": str(world.collaborator.id), "email": world.collaborator.email}
    ]
    mine = api(world.collaborator, world.partner)
    assert [r["name"] for r in mine.get(CUSTOMERS).json()["results"]] == ["Bäckerei Müller"]
    assert mine.get(url).json() == response.json()
    assert [p["customer"]["name"] for p in mine.get(PARTNERSHIPS).json()["results"]] == [
        "Bäckerei Müller"
    ]
    theirs = api(second, world.partner)
    assert theirs.get(CUSTOMERS).json()["count"] == 0
    assert theirs.get(f"{CUSTOMERS}{world.customer.id}/").status_code == 404
    assert theirs.get(PARTNERSHIPS).json()["count"] == 0
    # the owner and admins see every managed customer
    assert api(world.partner_owner, world.partner).get(CUSTOMERS).json()["count"] == 2

    cleared = api(world.partner_owner, world.partner).put(url, {"users": []})
    assert cleared.status_code == 200 and cleared.json() == []
    assert mine.get(CUSTOMERS).json()["count"] == 0


def test_only_partner_owners_and_admins_assign_collaborators(world, api):
    manage(world)
    services.collaborators_set(
        org=org(world.partner_owner, world.partner),
        customer=world.customer,
        user_ids=[world.collaborator.id],
    )
    url = f"{CUSTOMERS}{world.customer.id}/collaborators/"
    refused = api(world.collaborator, world.partner).put(url, {"users": []})
    assert refused.status_code == 403
    assert CustomerAssignment.unscoped.filter(user=world.collaborator).exists()


@pytest.mark.parametrize("who", ["partner_admin", "other_owner", "missing", "garbage"])
def test_assigning_someone_not_a_collaborator_is_a_400_on_users(world, api, who):
    manage(world)
    user_id = {"missing": missing_id(), "garbage": "x"}.get(who) or str(getattr(world, who).id)
    response = api(world.partner_owner, world.partner).put(
        f"{CUSTOMERS}{world.customer.id}/collaborators/",
        {"users": [str(world.collaborator.id), user_id]},
    )
    assert response.status_code == 400 and set(response.json()) == {"users"}
    assert not CustomerAssignment.unscoped.exists()


# --- partnerships: list, invite, detail -------------------------------------------------------


def test_both_sides_list_their_partnerships_and_filter_by_status(world, api):
    active = manage(world)
    unclaimed(world, "Owner-less AG")
    pending = services.customer_add(
        org=org(world.partner_owner, world.partner),
        name="Hotel Alpenblick",
        owner_email="chef@alpenblick.test",
        access=Access.FULL,
        payment=Payment.PARTNER,
    )
    foreign_partnership(world)

    partner_side = api(world.partner_admin, world.partner)
    assert partner_side.get(PARTNERSHIPS).json()["count"] == 3
    only_pending = partner_side.get(f"{PARTNERSHIPS}?status=pending").json()["results"]
    assert [p["id"] for p in only_pending] == [str(pending.id)]
    assert partner_side.get(f"{PARTNERSHIPS}?status=nonsense").status_code == 400

    for user in (world.customer_owner, world.customer_admin, world.customer_user):
        mine = api(user, world.customer).get(PARTNERSHIPS).json()
        assert [p["id"] for p in mine["results"]] == [str(active.id)]
        assert mine["results"][0]["partner"] == {"id": str(world.partner.id), "name": "Alpine IT"}


def test_the_partnership_list_takes_a_fixed_number_of_queries(
    world, api, django_assert_max_num_queries
):
    hosting = product("web-hosting")
    unclaimed(world, "First AG")
    client = api(world.partner_owner, world.partner)
    client.get(PARTNERSHIPS)
    with django_assert_max_num_queries(6):
        assert client.get(PARTNERSHIPS).json()["count"] == 1
    for n in range(12):
        services.customer_add(
            org=org(world.partner_owner, world.partner),
            name=f"Customer {n}",
            owner_email=f"owner{n}@example.test",
            access=Access.LIMITED,
            products=[hosting],
        )
    with django_assert_max_num_queries(6):
        body = client.get(PARTNERSHIPS).json()
    assert body["count"] == 13 and body["results"][0]["products"] == ["web-hosting"]


def test_a_customer_owner_invites_a_partner_from_the_directory(
    world, api, django_capture_on_commit_callbacks
):
    world.partner.listed_in_directory = True
    world.partner.save(update_fields=["listed_in_directory"])
    product("web-hosting")
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.customer_owner, world.customer).post(
            PARTNERSHIPS,
            {
                "partner": str(world.partner.id),
                "access": "limited",
                "products": ["web-hosting"],
                "ends_on": in_days(90).isoformat(),
                "message": "Please look after our website.",
            },
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["initiated_by"] == "customer"
    assert body["customer"] == {"id": str(world.customer.id), "name": "Bäckerei Müller"}
    assert body["ends_on"] == in_days(90).isoformat()
    assert body["requested"] == {
        "access": "limited",
        "payment": "",
        "products": ["web-hosting"],
        "ends_on": in_days(90).isoformat(),
    }
    assert kinds(body) == ["created"]
    assert body["history"][0]["actor"] == world.customer_owner.email
    assert [m.to for m in mail.outbox] == [[world.partner_owner.email]]
    seen = api(world.partner_owner, world.partner).get(f"{PARTNERSHIPS}{body['id']}/")
    assert seen.status_code == 200 and seen.json()["message"] == "Please look after our website."


@pytest.mark.parametrize("user", ["customer_admin", "customer_user"])
def test_only_the_customer_owner_invites_partners(world, api, user):
    world.partner.listed_in_directory = True
    world.partner.save(update_fields=["listed_in_directory"])
    response = api(getattr(world, user), world.customer).post(
        PARTNERSHIPS, {"partner": str(world.partner.id), "access": "full", "payment": "customer"}
    )
    assert response.status_code == 403
    assert not Partnership.unscoped.exists()


def test_a_partner_cannot_invite_through_the_customer_endpoint(world, api):
    world.other_partner.listed_in_directory = True
    world.other_partner.save(update_fields=["listed_in_directory"])
    response = api(world.partner_owner, world.partner).post(
        PARTNERSHIPS,
        {"partner": str(world.other_partner.id), "access": "full", "payment": "customer"},
    )
    assert response.status_code == 403
    assert not Partnership.unscoped.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"partner": "unlisted"}, "partner"),
        ({"partner": "missing"}, "partner"),
        ({"partner": "not-a-uuid"}, "partner"),
        ({"partner": "customer"}, "partner"),
        ({"access": "limited", "payment": "", "products": ["nope"]}, "products"),
        ({"access": "limited", "payment": ""}, "products"),
        ({"payment": "someone"}, "payment"),
        ({"ends_on": "2001-01-01"}, "ends_on"),
    ],
)
def test_bad_invitation_input_is_a_400_on_the_field_and_writes_nothing(world, api, payload, field):
    Tenant.objects.filter(pk=world.other_partner.pk).update(listed_in_directory=False)
    partner_id = {
        "unlisted": str(world.other_partner.id),
        "missing": missing_id(),
        "not-a-uuid": "alpine",
        "customer": str(world.other_customer.id),
    }.get(payload.pop("partner", None), str(world.partner.id))
    data = {"partner": partner_id, "access": "full", "payment": "customer", **payload}
    if data["payment"] == "":
        del data["payment"]
    before = counts()
    response = api(world.customer_owner, world.customer).post(PARTNERSHIPS, data)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert counts() == before


def test_inviting_a_partner_twice_is_a_400_on_partner(world, api):
    world.partner.listed_in_directory = True
    world.partner.save(update_fields=["listed_in_directory"])
    invite(world)
    response = api(world.customer_owner, world.customer).post(
        PARTNERSHIPS, {"partner": str(world.partner.id), "access": "full", "payment": "partner"}
    )
    assert response.status_code == 400 and "partner" in response.json()
    assert Partnership.unscoped.count() == 1


def test_a_foreign_partnership_is_the_same_404_as_a_missing_one_everywhere(world, api):
    foreign = foreign_partnership(world)
    client = api(world.partner_owner, world.partner)
    actions = [
        ("get", ""),
        ("patch", ""),
        ("post", "accept/"),
        ("post", "decline/"),
        ("post", "resend/"),
        ("post", "cancel/"),
        ("post", "end/"),
        ("post", "request-extension/"),
        ("post", "approve-extension/"),
    ]
    answers = set()
    for partnership_id in (foreign.id, missing_id(), "not-a-uuid"):
        for method, suffix in actions:
            response = getattr(client, method)(
                f"{PARTNERSHIPS}{partnership_id}/{suffix}",
                {"password": PASSWORD, "until": in_days(400).isoformat(), "access": "full"},
            )
            assert response.status_code == 404, (method, suffix, partnership_id)
            answers.add(response.content)
    assert len(answers) == 1
    foreign.refresh_from_db()
    assert foreign.status == Partnership.Status.ACTIVE
    # a customer member cannot reach another customer's partnership either
    other = api(world.customer_owner, world.customer).get(f"{PARTNERSHIPS}{foreign.id}/")
    assert other.status_code == 404


# --- answering -----------------------------------------------------------------------------


def test_a_customer_accepts_limited_instead_of_full_and_the_partner_sees_what_was_granted(
    world, api, django_capture_on_commit_callbacks
):
    product("web-hosting")
    with django_capture_on_commit_callbacks(execute=True):
        created = api(world.partner_owner, world.partner).post(
            CUSTOMERS,
            {
                "name": "Hotel Alpenblick",
                "owner_email": "chef@alpenblick.test",
                "access": "full",
                "payment": "customer",
            },
        )
    assert created.status_code == 201
    partnership_id = created.json()["partnership"]["id"]
    customer = Tenant.objects.get(pk=created.json()["id"])
    customer_owner = User.objects.get(email="chef@alpenblick.test")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        accepted = api(customer_owner, customer).post(
            f"{PARTNERSHIPS}{partnership_id}/accept/",
            {"access": "limited", "products": ["web-hosting"]},
        )

    assert accepted.status_code == 200, accepted.json()
    seen = api(world.partner_admin, world.partner).get(f"{PARTNERSHIPS}{partnership_id}/").json()
    assert seen["status"] == "active" and seen["activated_at"] is not None
    assert (seen["access"], seen["payment"], seen["products"]) == ("limited", "", ["web-hosting"])
    assert seen["requested"]["access"] == "full"
    assert kinds(seen) == ["created", "accepted_with_changes"]
    answer = seen["history"][-1]
    assert answer["actor"] == "chef@alpenblick.test"
    assert answer["before"] == {
        "access": "full",
        "payment": "customer",
        "products": [],
        "ends_on": None,
    }
    assert answer["after"] == {
        "access": "limited",
        "payment": "",
        "products": ["web-hosting"],
        "ends_on": None,
    }
    assert {m.to[0] for m in mail.outbox} == {world.partner_owner.email, world.partner_admin.email}
    assert (
        "Access: asked Full (the whole organization), granted Limited (listed products)"
        in mail.outbox[0].body
    )
    rows = api(world.partner_owner, world.partner).get(CUSTOMERS).json()["results"]
    assert [(r["name"], r["partnership"]["access"]) for r in rows] == [
        ("Hotel Alpenblick", "limited")
    ]


def test_a_partner_owner_accepts_a_customers_invitation_as_it_is(
    world, api, django_capture_on_commit_callbacks
):
    pending = invite(world)
    url = f"{PARTNERSHIPS}{pending.id}/accept/"
    assert api(world.partner_admin, world.partner).post(url).status_code == 403
    with_changes = api(world.partner_owner, world.partner).post(url, {"payment": "partner"})
    assert with_changes.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api(world.partner_owner, world.partner).post(url)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "active" and kinds(accepted.json())[-1] == "accepted"
    assert world.customer_owner.email in {m.to[0] for m in mail.outbox}
    again = api(world.partner_owner, world.partner).post(url)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("user", "tenant"),
    [
        ("customer_admin", "customer"),
        ("customer_user", "customer"),
        ("partner_owner", "partner"),  # the inviting side does not answer its own invitation
    ],
)
def test_only_the_invited_sides_owner_answers(world, api, user, tenant):
    pending = services.customer_add(
        org=org(world.partner_owner, world.partner),
        name="Hotel Alpenblick",
        owner_email=world.customer_owner.email,
        access=Access.FULL,
        payment=Payment.PARTNER,
    )
    Membership.unscoped.create(user=world.customer_admin, tenant=pending.customer, role=Role.ADMIN)
    Membership.unscoped.create(user=world.customer_user, tenant=pending.customer, role=Role.USER)
    target = pending.customer if tenant == "customer" else world.partner
    client = api(getattr(world, user), target)
    for action in ("accept", "decline"):
        assert client.post(f"{PARTNERSHIPS}{pending.id}/{action}/").status_code == 403
    pending.refresh_from_db()
    assert pending.status == Partnership.Status.PENDING


def test_declining_keeps_the_reason_and_a_second_answer_is_a_409(
    world, api, django_capture_on_commit_callbacks
):
    pending = invite(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.partner_owner, world.partner).post(
            f"{PARTNERSHIPS}{pending.id}/decline/", {"reason": "We do not do bakeries."}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "declined" and body["close_reason"] == "We do not do bakeries."
    assert body["history"][-1]["note"] == "We do not do bakeries."
    assert world.customer_owner.email in {m.to[0] for m in mail.outbox}
    invited = api(world.partner_owner, world.partner)
    inviting = api(world.customer_owner, world.customer)
    for client, action in (
        (invited, "accept"),
        (invited, "decline"),
        (inviting, "resend"),
        (inviting, "cancel"),
    ):
        assert client.post(f"{PARTNERSHIPS}{pending.id}/{action}/").status_code == 409, action


def test_the_inviting_side_resends_and_cancels(world, api, django_capture_on_commit_callbacks):
    pending = services.customer_add(
        org=org(world.partner_owner, world.partner),
        name="Hotel Alpenblick",
        owner_email="chef@alpenblick.test",
        access=Access.FULL,
        payment=Payment.PARTNER,
    )
    nonce = pending.invitation_nonce
    owner_client = api(world.partner_owner, world.partner)
    invited = api(User.objects.get(email="chef@alpenblick.test"), pending.customer)
    assert invited.post(f"{PARTNERSHIPS}{pending.id}/resend/").status_code == 403
    assert invited.post(f"{PARTNERSHIPS}{pending.id}/cancel/").status_code == 403
    assert (
        api(world.partner_admin, world.partner)
        .post(f"{PARTNERSHIPS}{pending.id}/cancel/")
        .status_code
        == 403
    )

    with django_capture_on_commit_callbacks(execute=True):
        resent = owner_client.post(f"{PARTNERSHIPS}{pending.id}/resend/")
    assert resent.status_code == 200 and kinds(resent.json())[-1] == "resent"
    assert [m.to for m in mail.outbox] == [["chef@alpenblick.test"]]
    pending.refresh_from_db()
    assert pending.invitation_nonce != nonce

    cancelled = owner_client.post(f"{PARTNERSHIPS}{pending.id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["closed_at"]
    assert owner_client.post(f"{PARTNERSHIPS}{pending.id}/resend/").status_code == 409


# --- changing, ending, extending ------------------------------------------------------------


def test_the_customer_owner_changes_access_and_the_partner_is_told(
    world, api, django_capture_on_commit_callbacks
):
    product("web-hosting")
    active = manage(world)
    url = f"{PARTNERSHIPS}{active.id}/"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.customer_owner, world.customer).patch(
            url, {"access": "limited", "products": ["web-hosting"]}
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["access"], body["payment"], body["products"]) == ("limited", "", ["web-hosting"])
    assert body["history"][-1]["kind"] == "changed"
    assert body["history"][-1]["before"]["access"] == "full"
    assert {m.to[0] for m in mail.outbox} == {world.partner_owner.email, world.partner_admin.email}

    payment = api(world.customer_owner, world.customer).patch(
        url, {"access": "full", "payment": "partner", "password": PASSWORD}
    )
    assert payment.status_code == 200 and payment.json()["payment"] == "partner"


@pytest.mark.parametrize(
    ("user", "tenant"),
    [("customer_admin", "customer"), ("customer_user", "customer"), ("partner_owner", "partner")],
)
def test_only_the_customer_owner_changes_access(world, api, user, tenant):
    active = manage(world)
    response = api(getattr(world, user), getattr(world, tenant)).patch(
        f"{PARTNERSHIPS}{active.id}/", {"payment": "partner"}
    )
    assert response.status_code == 403
    active.refresh_from_db()
    assert active.payment == Payment.CUSTOMER


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"access": "limited", "products": ["nope"]}, "products"),
        ({"access": "limited", "products": []}, "products"),
        ({"access": "limited", "payment": "partner", "products": ["web-hosting"]}, "payment"),
        ({"access": "all"}, "access"),
        ({"ends_on": "2001-01-01"}, "ends_on"),
    ],
)
def test_bad_change_input_is_a_400_on_the_field_and_changes_nothing(world, api, payload, field):
    product("web-hosting")
    active = manage(world)
    events = PartnershipEvent.unscoped.count()
    response = api(world.customer_owner, world.customer).patch(
        f"{PARTNERSHIPS}{active.id}/", payload
    )
    assert response.status_code == 400 and field in response.json(), response.json()
    active.refresh_from_db()
    assert (active.access, active.payment) == ("full", "customer")
    assert PartnershipEvent.unscoped.count() == events


def test_changing_a_pending_partnership_is_a_409(world, api):
    pending = invite(world)
    response = api(world.customer_owner, world.customer).patch(
        f"{PARTNERSHIPS}{pending.id}/", {"payment": "partner"}
    )
    assert response.status_code == 409
    pending.refresh_from_db()
    assert pending.payment == Payment.CUSTOMER


@pytest.mark.parametrize("password", ["wrong", "", None])
def test_ending_needs_the_callers_password(world, api, password):
    active = manage(world)
    payload = {} if password is None else {"password": password}
    response = api(world.partner_owner, world.partner).post(
        f"{PARTNERSHIPS}{active.id}/end/", payload
    )
    assert response.status_code == 400 and set(response.json()) == {"password"}
    active.refresh_from_db()
    assert active.status == Partnership.Status.ACTIVE


@pytest.mark.parametrize(
    ("user", "tenant"),
    [
        ("partner_admin", "partner"),
        ("collaborator", "partner"),
        ("customer_admin", "customer"),
        ("customer_user", "customer"),
    ],
)
def test_only_owners_end_a_partnership(world, api, user, tenant):
    active = manage(world)
    response = api(getattr(world, user), getattr(world, tenant)).post(
        f"{PARTNERSHIPS}{active.id}/end/", {"password": PASSWORD}
    )
    assert response.status_code == 403
    active.refresh_from_db()
    assert active.status == Partnership.Status.ACTIVE


@pytest.mark.parametrize("side", ["partner", "customer"])
def test_an_owner_ends_a_partnership_and_access_stops_at_once(
    world, api, django_capture_on_commit_callbacks, side
):
    active = manage(world)
    owner = world.partner_owner if side == "partner" else world.customer_owner
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner, getattr(world, side)).post(
            f"{PARTNERSHIPS}{active.id}/end/", {"password": PASSWORD}
        )
    assert response.status_code == 200
    assert response.json()["status"] == "ended" and kinds(response.json())[-1] == "ended"
    told = world.customer_owner if side == "partner" else world.partner_owner
    assert told.email in {m.to[0] for m in mail.outbox}
    partner = api(world.partner_owner, world.partner)
    assert partner.get(CUSTOMERS).json()["count"] == 0
    assert partner.get(f"{CUSTOMERS}{world.customer.id}/").status_code == 404
    assert partner.get(f"{PARTNERSHIPS}{active.id}/").json()["status"] == "ended"  # history kept
    again = api(owner, getattr(world, side)).post(
        f"{PARTNERSHIPS}{active.id}/end/", {"password": PASSWORD}
    )
    assert again.status_code == 409


def test_the_partner_asks_for_an_extension_and_the_customer_approves(
    world, api, django_capture_on_commit_callbacks
):
    active = manage(world, ends_on=in_days(20))
    url = f"{PARTNERSHIPS}{active.id}/"
    too_early = api(world.partner_admin, world.partner).post(
        f"{url}request-extension/", {"until": in_days(10).isoformat()}
    )
    assert too_early.status_code == 400 and "until" in too_early.json()
    assert (
        api(world.partner_admin, world.partner).post(f"{url}request-extension/").status_code == 400
    )
    assert (
        api(world.collaborator, world.partner)
        .post(f"{url}request-extension/", {"until": in_days(60).isoformat()})
        .status_code
        == 403
    )
    assert (
        api(world.customer_owner, world.customer).post(f"{url}approve-extension/").status_code
        == 409
    )

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        asked = api(world.partner_admin, world.partner).post(
            f"{url}request-extension/", {"until": in_days(60).isoformat()}
        )
    assert asked.status_code == 200
    assert asked.json()["extension_requested_until"] == in_days(60).isoformat()
    assert [m.to for m in mail.outbox] == [[world.customer_owner.email]]
    assert (
        api(world.customer_admin, world.customer).post(f"{url}approve-extension/").status_code
        == 403
    )
    assert (
        api(world.partner_owner, world.partner).post(f"{url}approve-extension/").status_code == 403
    )

    approved = api(world.customer_owner, world.customer).post(f"{url}approve-extension/")
    assert approved.status_code == 200
    body = approved.json()
    assert body["ends_on"] == in_days(60).isoformat() and body["extension_requested_until"] is None
    assert kinds(body)[-2:] == ["extension_requested", "extended"]


def test_an_extension_without_an_end_date_is_a_409(world, api):
    active = manage(world)
    response = api(world.partner_owner, world.partner).post(
        f"{PARTNERSHIPS}{active.id}/request-extension/", {"until": in_days(60).isoformat()}
    )
    assert response.status_code == 409


# --- directory ----------------------------------------------------------------------------------


def test_the_directory_lists_opted_in_partners_to_anyone_signed_in(world, api):
    world.partner.listed_in_directory = True
    world.partner.website = "https://alpine.test"
    world.partner.city = "Bern"
    world.partner.country = "CH"
    world.partner.specialities = ["backup", "hosting"]
    world.partner.save()
    Tenant.objects.filter(pk=world.sub_partner.pk).update(listed_in_directory=True)
    Tenant.objects.filter(pk=world.other_partner.pk).update(listed_in_directory=False)

    nobody = UserFactory(email="visitor@example.test")  # no organization at all
    for client in (
        api(nobody),
        api(world.customer_user),
        api(world.other_owner, world.other_partner),
    ):
        body = client.get(DIRECTORY).json()
        assert body["count"] == 2 and {"next", "previous"} <= set(body)
        assert [p["name"] for p in body["results"]] == ["Alpine IT", "Lakeside"]
    assert body["results"][0] == {
        "id": str(world.partner.id),
        "name": "Alpine IT",
        "website": "https://alpine.test",
        "city": "Bern",
        "country": "CH",
        "specialities": ["backup", "hosting"],
    }
    by_name = api(nobody).get(f"{DIRECTORY}?q=alp").json()["results"]
    assert [p["name"] for p in by_name] == ["Alpine IT"]
    by_owner = api(nobody).get(f"{DIRECTORY}?q={world.sub_partner_owner.email.upper()}").json()
    assert [p["name"] for p in by_owner["results"]] == ["Lakeside"]
    assert api(nobody).get(f"{DIRECTORY}?q=rhein").json()["count"] == 0  # not listed
    assert api().get(DIRECTORY).status_code in (401, 403)


def test_a_partner_owner_invites_the_owner_of_an_unclaimed_customer(
    world, api, django_capture_on_commit_callbacks
):
    partnership = unclaimed(world, "Ohne Chef AG")
    url = f"/api/v1/customers/{partnership.customer_id}/invite-owner/"
    assert (
        api(world.partner_admin, world.partner).post(url, {"email": "c@o.test"}).status_code == 403
    )
    assert api(world.partner_owner, world.partner).post(url, {"email": "nope"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.partner_owner, world.partner).post(url, {"email": "chef@ohne.test"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "active" and "resend" in body["actions"]
    assert "invite_owner" not in body["actions"]
    assert [e["kind"] for e in body["history"]][-1] == "owner_invited"
    assert mail.outbox[-1].to == ["chef@ohne.test"]
    again = api(world.partner_owner, world.partner).post(url, {"email": "other@ohne.test"})
    assert again.status_code == 409
    foreign = api(world.other_owner, world.other_partner).post(url, {"email": "x@y.test"})
    assert foreign.status_code == 404
