"""Issue 21, reproductions 1, 3 and 4: "manages now" on every read path.

A partner sees a customer, and each of its products, only through a grant
that is active now: ended grants, grants past their `ends_on` (before the
expiry job has run) and the customer's place in the tenant tree give nothing,
in pages, the API, the book's figures, sub-tree figures, smart lists, the
programme and cached figures alike (SPEC §3, "Judged at request time")."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from partners import services as partner_services
from partners.models import Partnership
from partners.selectors import customers_visible_count
from subscriptions import smart_lists
from subscriptions.models import Subscription
from subscriptions.tests.ledger import open_ledger
from tenants.models import Membership, Tenant
from tenants.selectors import org_context_for
from tenders.selectors import programme_progress
from tests.clock import on

pytestmark = pytest.mark.django_db

BOOK = "/api/v1/mrr/"
MOVES = "/api/v1/mrr/movements/"
ORDERS = "/api/v1/orders/"
SUBSCRIPTIONS = "/api/v1/subscriptions/"
SMART_LISTS = "/api/v1/smart-lists/"
PASSWORD = "a-long-password-1"


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def customer_url(customer: Tenant) -> str:
    return f"/api/v1/customers/{customer.pk}/"


def buyer(user, tenant) -> None:
    Membership.unscoped.filter(user=user, tenant=tenant).update(buyer=True)


def order(client, customer, product, quantity):
    body = {
        "customer": str(customer.pk),
        "lines": [{"product": product.code, "quantity": quantity}],
    }
    return client.post(ORDERS, body, format="json")


def names(rows) -> list[str]:
    return [row["customer"]["name"] for row in rows]


_list_numbers = itertools.count()


def smart_list_names(org, filters) -> list[str]:
    name = f"List {next(_list_numbers)}"
    smart_list = smart_lists.smart_list_create(org=org, name=name, filters=filters)
    return [row["name"] for row in smart_lists.smart_list_rows(org=org, smart_list=smart_list)]


# --- reproduction 1: a former partner, and its parent, read nothing of the book ----------


@pytest.fixture
def rossi(world, api):
    """Lakeside (below Alpine) adds Studio Rossi, which accepts; Lakeside orders
    hosting x 2. Rossi ends the partnership, invites Rhein Cloud for backup only;
    Rhein orders backup x 7. Rossi still hangs under Lakeside in the tree."""
    hosting = ProductFactory(code="hosting-pro", prices={"CHF": "12.00", "EUR": "11.00"})
    backup = ProductFactory(
        code="backup-standard",
        category=Product.Category.BACKUP,
        prices={"CHF": "10.00", "EUR": "9.50"},
    )
    lakeside = ctx(world.sub_partner_owner, world.sub_partner)
    buyer(world.sub_partner_owner, world.sub_partner)
    invited = partner_services.customer_add(
        org=lakeside,
        name="Studio Rossi",
        currency="EUR",
        owner_email="rossi@example.test",
        access="full",
        payment="customer",
    )
    rossi = invited.customer
    rossi_owner = Membership.unscoped.get(tenant=rossi).user
    rossi_owner.set_password(PASSWORD)
    rossi_owner.save()
    owner = ctx(rossi_owner, rossi)
    partner_services.partnership_accept(org=owner, partnership=invited)
    assert (
        order(api(world.sub_partner_owner, world.sub_partner), rossi, hosting, 2).status_code == 201
    )

    partner_services.partnership_end(
        org=owner, partnership=Partnership.unscoped.get(pk=invited.pk), password=PASSWORD
    )
    rhein_grant = partner_services.partnership_invite_partner(
        org=owner, partner=world.other_partner, access="limited", products=[backup]
    )
    partner_services.partnership_accept(
        org=ctx(world.other_owner, world.other_partner), partnership=rhein_grant
    )
    buyer(world.other_owner, world.other_partner)
    assert order(api(world.other_owner, world.other_partner), rossi, backup, 7).status_code == 201
    rossi.refresh_from_db()
    assert rossi.parent_id == world.sub_partner.pk  # the tree still says Lakeside
    return {"customer": rossi, "hosting": hosting, "backup": backup}


@pytest.mark.time_machine(on(2026, 12, 6))
def test_a_former_partner_and_its_parent_read_nothing_of_the_customers_book(
    world, api, browser, rossi
):
    month = {"month": "2026-12", "currency": "EUR"}
    lakeside = api(world.sub_partner_owner, world.sub_partner)
    alpine = api(world.partner_owner, world.partner)

    for client in (lakeside, alpine):
        for subtree in (True, False):
            params = {**month, "subtree": subtree}
            moves = client.get(MOVES, params)
            book = client.get(BOOK, {"currency": "EUR", "subtree": subtree})
            assert moves.status_code == 200 and book.status_code == 200
            assert "Studio Rossi" not in names(moves.json()["results"])
            assert book.json()["current_mrr"] == "0.00"
            assert all(h["mrr"] == "0.00" for h in book.json()["history"])

    # the sub-tree in a smart list and on the dashboard: who manages now, not the tree
    alpine_owner = ctx(world.partner_owner, world.partner)
    assert smart_list_names(alpine_owner, {"sub_partner": str(world.sub_partner.pk)}) == []
    page = browser(world.partner_owner).get(reverse("org_dashboard", args=[world.partner.slug]))
    assert page.context["tree_customer_count"] == 0
    assert lakeside.get(customer_url(rossi["customer"])).status_code == 404


@pytest.mark.time_machine(on(2026, 12, 6))
def test_the_new_limited_partner_reads_only_its_product(world, api, rossi):
    rhein = api(world.other_owner, world.other_partner)

    for subtree in (True, False):
        moves = rhein.get(MOVES, {"month": "2026-12", "currency": "EUR", "subtree": subtree})
        [move] = moves.json()["results"]
        assert move["customer"]["name"] == "Studio Rossi"
        assert move["mrr_after"] == "66.50"  # 7 x 9.50: the hosting is not Rhein's
        assert [(s["product"], s["quantity"]) for s in move["subscriptions"]] == [
            ("backup-standard", 7)
        ]
        book = rhein.get(BOOK, {"currency": "EUR", "subtree": subtree}).json()
        assert book["current_mrr"] == "66.50"


# --- reproduction 3: a grant past its ends_on, before the expiry job has run -------------


@pytest.fixture
def until_the_10th(world, api):
    """Müller gives Alpine full access until 10 December 2026; Alpine orders 3 x 10.00."""
    hosting = ProductFactory(code="hosting-basic", prices={"CHF": "10.00", "EUR": "9.00"})
    grant = partner_services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="full",
        payment="customer",
        ends_on=datetime.date(2026, 12, 10),
    )
    partner_services.partnership_accept(
        org=ctx(world.partner_owner, world.partner), partnership=grant
    )
    assert (
        order(api(world.partner_owner, world.partner), world.customer, hosting, 3).status_code
        == 201
    )
    return {"grant": grant, "hosting": hosting}


def alpine_reads(world, api, browser) -> dict:
    """Everything Alpine's owner reads of Müller, through each read path."""
    client = api(world.partner_owner, world.partner)
    owner = ctx(world.partner_owner, world.partner)
    return {
        "customer": client.get(customer_url(world.customer)).status_code,
        "page": browser(world.partner_owner)
        .get(reverse("customer_detail", args=[world.partner.slug, world.customer.pk]))
        .status_code,
        "customer_mrr": client.get(f"{customer_url(world.customer)}mrr/").status_code,
        "list": [c["name"] for c in client.get("/api/v1/customers/").json()["results"]],
        "count": customers_visible_count(org=owner),
        "subscriptions": client.get(SUBSCRIPTIONS).json()["count"],
        "book": client.get(BOOK).json()["current_mrr"],
        "subtree": client.get(BOOK, {"subtree": True}).json()["current_mrr"],
        "moves": names(client.get(MOVES, {"month": "2026-11"}).json()["results"])
        + names(client.get(MOVES, {"month": "2026-12", "subtree": True}).json()["results"]),
        "programme": programme_progress(partner=world.partner)["currencies"][0]["yearly_value"],
        "smart_list": smart_list_names(owner, {}),
    }


@pytest.mark.time_machine(on(2026, 11, 20))
def test_a_grant_past_its_end_date_gives_nothing_before_the_expiry_job(
    world, api, browser, until_the_10th, time_machine
):
    # The last day, minutes before midnight: still managed, and every figure now
    # sits in the cache (entries live 10 minutes: the date passes well within).
    time_machine.move_to(on(2026, 12, 10, 23, 57))
    seen = alpine_reads(world, api, browser)
    assert (seen["customer"], seen["page"], seen["customer_mrr"], seen["count"]) == (
        200,
        200,
        200,
        1,
    )
    assert seen["book"] == seen["subtree"] == "30.00"
    assert seen["moves"] == ["Bäckerei Müller"]  # new in November
    # the programme counts what was invoiced: the order of 3 x 10.00
    assert seen["programme"] == Decimal("30.00") and seen["smart_list"] == ["Bäckerei Müller"]

    time_machine.move_to(on(2026, 12, 11, 0, 1))  # no job, no write: only the date passed

    assert Partnership.unscoped.get(pk=until_the_10th["grant"].pk).status == "active"
    seen = alpine_reads(world, api, browser)
    assert (seen["customer"], seen["page"], seen["customer_mrr"]) == (404, 404, 404)
    assert seen["list"] == [] and seen["count"] == 0 and seen["subscriptions"] == 0
    assert seen["book"] == seen["subtree"] == "0.00"
    assert seen["moves"] == [] and seen["smart_list"] == []
    assert seen["programme"] == Decimal("0.00")
    refused = order(
        api(world.partner_owner, world.partner), world.customer, until_the_10th["hosting"], 1
    )
    assert refused.status_code == 404
    assert Subscription.unscoped.count() == 1


@pytest.mark.time_machine(on(2026, 11, 20))
def test_the_customer_orders_alone_once_the_grant_has_passed(
    world, api, until_the_10th, time_machine
):
    """The customer's own order is no longer settled under the passed grant."""
    Partnership.unscoped.filter(pk=until_the_10th["grant"].pk).update(payment="partner")
    time_machine.move_to(on(2026, 12, 11))

    placed = order(api(world.customer_owner, world.customer), world.customer, ProductFactory(), 1)

    assert placed.status_code == 201, placed.json()
    assert placed.json()["partner"] is None


# --- reproduction 4: a limited grant's products, in smart lists and sub-tree figures -----


@pytest.fixture
def limited(world):
    """Müller gives Alpine backup only; it also has an email product of its own."""
    backup = ProductFactory(code="vault-basic", category=Product.Category.BACKUP)
    email = ProductFactory(
        code="secret-mail", category=Product.Category.EMAIL, prices={"CHF": "50.00"}
    )
    grant = partner_services.partnership_invite_partner(
        org=ctx(world.customer_owner, world.customer),
        partner=world.partner,
        access="limited",
        products=[backup],
    )
    partner_services.partnership_accept(
        org=ctx(world.partner_owner, world.partner), partnership=grant
    )
    for product, price in ((backup, "10.00"), (email, "50.00")):
        created = Subscription.unscoped.create(
            customer=world.customer,
            product=product,
            quantity=1,
            unit_price=Decimal(price),
            currency="CHF",
            starts_on=datetime.date(2026, 12, 1),
        )
        open_ledger(created)  # MRR reads the ledger
    return {"backup": backup, "email": email}


@pytest.mark.time_machine(on(2026, 12, 6))
def test_smart_list_filters_and_choices_reveal_no_product_outside_a_limited_grant(
    world, api, browser, limited
):
    owner = ctx(world.partner_owner, world.partner)

    assert smart_list_names(owner, {"product": "vault-basic"}) == ["Bäckerei Müller"]
    assert smart_list_names(owner, {"category": "backup"}) == ["Bäckerei Müller"]
    assert smart_list_names(owner, {"category": "email"}) == []
    created = api(world.partner_owner, world.partner).post(
        SMART_LISTS, {"name": "Mail", "filters": {"product": "secret-mail"}}, format="json"
    )
    assert created.status_code == 400 and "product" in created.json()
    page = browser(world.partner_owner).get(reverse("smart_lists", args=[world.partner.slug]))
    choices = [code for code, _label in page.context["form"].fields["product"].choices]
    assert choices == ["", "vault-basic"]


@pytest.mark.time_machine(on(2026, 12, 6))
def test_sub_tree_figures_count_only_a_limited_grants_products(world, api, limited):
    client = api(world.partner_owner, world.partner)

    book = client.get(BOOK, {"subtree": True}).json()
    [move] = client.get(MOVES, {"month": "2026-12", "subtree": True}).json()["results"]

    assert book["current_mrr"] == "10.00"
    assert move["mrr_after"] == "10.00"
    assert [s["product"] for s in move["subscriptions"]] == ["vault-basic"]


# --- the write paths judge the grant now too ---------------------------------------------


@pytest.mark.time_machine(on(2026, 11, 20))
def test_a_grant_past_its_end_date_is_expired_for_every_step_before_the_job(
    world, api, until_the_10th, time_machine
):
    """Past `ends_on`, before the job: the grant reads as expired and no step of an
    active grant applies to it (change, extension, end), on either side."""
    time_machine.move_to(on(2026, 12, 11, 0, 1))
    grant = until_the_10th["grant"]
    url = f"/api/v1/partnerships/{grant.pk}/"
    customer = api(world.customer_owner, world.customer)

    assert customer.get(url).json()["status"] == "expired"
    refused = [
        customer.patch(url, {"access": "limited", "products": ["hosting-basic"]}, format="json"),
        customer.post(f"{url}end/", {"password": PASSWORD}, format="json"),
        api(world.partner_owner, world.partner).post(
            f"{url}request-extension/", {"until": "2027-06-30"}, format="json"
        ),
    ]
    assert [r.status_code for r in refused] == [409, 409, 409]
    assert all("expired" in r.json()["detail"] for r in refused)
    grant.refresh_from_db()
    assert (grant.status, grant.access, grant.events.count()) == ("active", "full", 2)


@pytest.mark.time_machine(on(2026, 11, 20))
def test_a_grant_past_its_end_date_blocks_no_new_grant(world, api, until_the_10th, time_machine):
    """The customer gives full access to another partner, and the same partner is
    invited again, the morning after the end date, before the job: the passed grant
    is expired on the spot (its event and email once), then the new one is made."""
    time_machine.move_to(on(2026, 12, 11, 8, 0))
    old = until_the_10th["grant"]
    owner = ctx(world.customer_owner, world.customer)

    again = partner_services.partnership_invite_partner(
        org=owner, partner=world.partner, access="full", payment="customer"
    )
    other = partner_services.partnership_invite_partner(
        org=owner, partner=world.other_partner, access="full", payment="customer"
    )
    partner_services.partnership_accept(
        org=ctx(world.other_owner, world.other_partner), partnership=other
    )

    old.refresh_from_db()
    assert old.status == "expired" and old.events.filter(kind="expired").count() == 1
    assert partner_services.partnership_expire(partnership_id=old.pk) is False  # the job: nothing
    assert Partnership.unscoped.get(pk=again.pk).status == "pending"
    assert Partnership.unscoped.get(pk=other.pk).status == "active"
