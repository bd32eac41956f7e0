"""The billing API (API.md `quotes/`, `orders/`, `invoices/`, `cashback/`,
`billing/export.csv`; SPEC §7): quotes, the six rows of who pays and who earns,
what each side may see, and the 400/403/404 of API.md."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import yaml
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import CashbackEntry, Invoice, Order
from billing.selectors import BILLING_EXPORT_COLUMNS
from billing.services.orders import LineRequest, order_place, order_refund
from billing.services.renewals import subscription_renew
from billing.tests.conftest import grant, org
from subscriptions.models import Subscription
from tenants.models import Membership, Tenant
from tests.isolation import missing_id

pytestmark = pytest.mark.django_db

QUOTES = "/api/v1/quotes/"
ORDERS = "/api/v1/orders/"
INVOICES = "/api/v1/invoices/"
CASHBACK = "/api/v1/cashback/"
EXPORT = "/api/v1/billing/export.csv"

PARTNER_ONLY_LINE = ("after_partner_discount", "preferential_amount", "cashback", "discount")
PARTNER_ONLY_TOTALS = ("preferential_amount", "cashback", "discount")


# --- helpers ------------------------------------------------------------------------------


def order_body(customer, *lines) -> dict:
    customer_id = customer if isinstance(customer, str) else str(customer.pk)
    return {
        "customer": customer_id,
        "lines": [{"product": product.code, "quantity": quantity} for product, quantity in lines],
    }


def place(api, user, tenant, customer, *lines) -> dict:
    response = api(user, tenant).post(ORDERS, order_body(customer, *lines), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def nothing_written() -> bool:
    return not (
        Order.unscoped.exists()
        or Invoice.unscoped.exists()
        or CashbackEntry.unscoped.exists()
        or Subscription.unscoped.exists()
    )


# --- quotes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("CHF", ("347.20", "277.76", "208.32", "260.40", "52.08")),
        ("EUR", ("201.25", "161.00", "120.75", "150.94", "30.19")),
    ],
)
def test_the_worked_example_quoted_by_the_partner(world, api, hosting, currency, expected):
    # given a full partnership, the customer paying, in the customer's currency
    world.customer.currency = currency
    world.customer.save()
    grant(world, access="full", payment="customer")
    list_amount, after_discount, preferential, public, cashback = expected

    # when the partner quotes 35 web hostings
    response = api(world.partner_owner, world.partner).post(
        QUOTES, order_body(world.customer, (hosting, 35)), format="json"
    )

    # then it reads every step of the waterfall, and nothing is written
    assert response.status_code == 200, response.json()
    quote = response.json()
    assert quote["customer"] == str(world.customer.pk)
    assert quote["partner"] == str(world.partner.pk)
    assert (quote["currency"], quote["payer"], quote["price_basis"], quote["earning"]) == (
        currency,
        "customer",
        "public",
        "cashback",
    )
    [line] = quote["lines"]
    assert line["product"] == "web-hosting" and line["quantity"] == 35
    assert line["tier_rate"] == "0.2500"
    assert line["list_amount"] == list_amount
    assert line["after_partner_discount"] == after_discount
    assert line["preferential_amount"] == preferential
    assert line["public_amount"] == public
    assert (line["payer"], line["charged"], line["cashback"]) == ("customer", public, cashback)
    assert line["discount"] == "0.00"
    assert quote["totals"] == {
        "list_amount": list_amount,
        "public_amount": public,
        "preferential_amount": preferential,
        "charged": public,
        "credit": "0.00",
        "net": public,
        "cashback": cashback,
        "discount": "0.00",
    }
    assert nothing_written()


def test_a_partner_paying_is_quoted_the_preferential_price_and_the_discount(world, api, hosting):
    grant(world, access="full", payment="partner")

    quote = (
        api(world.partner_owner, world.partner)
        .post(QUOTES, order_body(world.customer, (hosting, 35)), format="json")
        .json()
    )

    assert (quote["payer"], quote["price_basis"], quote["earning"]) == (
        "partner",
        "preferential",
        "discount",
    )
    assert quote["totals"]["charged"] == "208.32"
    assert quote["totals"]["discount"] == "52.08" and quote["totals"]["cashback"] == "0.00"


def test_the_customer_quote_hides_the_partner_margin(world, api, hosting):
    # given a full partnership; any member of the customer may ask for a quote
    grant(world, access="full", payment="customer")

    # when a plain user of the customer quotes for its own organization (customer omitted)
    response = api(world.customer_user, world.customer).post(
        QUOTES, {"lines": [{"product": "web-hosting", "quantity": 35}]}, format="json"
    )

    # then it sees the public price it would pay, never the partner's figures
    assert response.status_code == 200, response.json()
    quote = response.json()
    assert quote["customer"] == str(world.customer.pk)
    [line] = quote["lines"]
    assert (line["list_amount"], line["public_amount"], line["charged"]) == (
        "347.20",
        "260.40",
        "260.40",
    )
    assert all(line[field] is None for field in PARTNER_ONLY_LINE)
    assert all(quote["totals"][field] is None for field in PARTNER_ONLY_TOTALS)
    assert "208.32" not in response.content.decode() and "277.76" not in response.content.decode()
    assert nothing_written()


# --- orders: SPEC §7's table --------------------------------------------------------------

PUBLIC, PREFERENTIAL, MARGIN = "260.40", "208.32", "52.08"

SIX_ROWS = [
    # (partnership, ordered by, payer, price basis, earning, charged, cashback, discount)
    ("limited", "customer", "customer", "public", "cashback", PUBLIC, MARGIN, "0.00"),
    ("full-customer", "customer", "customer", "public", "cashback", PUBLIC, MARGIN, "0.00"),
    ("full-customer", "partner", "customer", "public", "cashback", PUBLIC, MARGIN, "0.00"),
    ("full-partner", "customer", "customer", "public", "cashback", PUBLIC, MARGIN, "0.00"),
    (
        "full-partner",
        "partner",
        "partner",
        "preferential",
        "discount",
        PREFERENTIAL,
        "0.00",
        MARGIN,
    ),
    ("none", "customer", "customer", "public", "nothing", PUBLIC, "0.00", "0.00"),
    ("limited-other-product", "customer", "customer", "public", "nothing", PUBLIC, "0.00", "0.00"),
]


def _partnership(world, kind, hosting, mailbox) -> None:
    if kind == "limited":
        grant(world, access="limited", products=[hosting])
    elif kind == "limited-other-product":
        grant(world, access="limited", products=[mailbox])
    elif kind.startswith("full-"):
        grant(world, access="full", payment=kind.removeprefix("full-"))


@pytest.mark.parametrize(
    (
        "partnership",
        "ordered_by",
        "payer",
        "price_basis",
        "earning",
        "charged",
        "cashback",
        "discount",
    ),
    SIX_ROWS,
)
def test_each_row_of_the_table_through_post_orders(
    world,
    api,
    hosting,
    mailbox,
    partnership,
    ordered_by,
    payer,
    price_basis,
    earning,
    charged,
    cashback,
    discount,
):
    # given the partnership of this row
    _partnership(world, partnership, hosting, mailbox)
    buyer, tenant = (
        (world.partner_owner, world.partner)
        if ordered_by == "partner"
        else (world.customer_owner, world.customer)
    )

    # when this side orders 35 web hostings
    order = place(api, buyer, tenant, world.customer, (hosting, 35))

    # then the order is settled by the row
    managed = earning != "nothing"
    assert (order["ordered_by"], order["payer"], order["price_basis"], order["earning"]) == (
        ordered_by,
        payer,
        price_basis,
        earning,
    )
    assert order["kind"] == "order" and order["status"] == "placed"
    assert order["customer"] == str(world.customer.pk)
    assert order["partner"] == (str(world.partner.pk) if managed else None)
    assert (order["currency"], order["list_amount"], order["public_amount"]) == (
        "CHF",
        "347.20",
        PUBLIC,
    )
    [line] = order["lines"]
    assert line["product"] == "web-hosting" and line["quantity"] == 35
    assert line["period_starts_on"] == timezone.localdate().isoformat()
    assert Subscription.unscoped.get(pk=line["subscription"]).customer_id == world.customer.pk

    # the invoice goes to the payer, the cashback to the partner's account
    payer_tenant = world.partner if payer == "partner" else world.customer
    invoice = Invoice.unscoped.get(order_id=order["id"])
    assert invoice.payer_id == payer_tenant.pk and invoice.total == Decimal(charged)
    credits = CashbackEntry.unscoped.filter(order_id=order["id"])
    assert [c.amount for c in credits] == ([Decimal(MARGIN)] if cashback != "0.00" else [])

    # the partner reads every figure of the order (when it managed it at all)
    seen_by_partner = api(world.partner_owner, world.partner).get(f"{ORDERS}{order['id']}/")
    if not managed:
        assert seen_by_partner.status_code == 404
    else:
        full = seen_by_partner.json()
        assert (full["charged"], full["cashback"], full["discount_amount"]) == (
            charged,
            cashback,
            discount,
        )
        assert full["preferential_amount"] == PREFERENTIAL
        assert full["lines"][0]["after_partner_discount"] == "277.76"
        assert full["invoice"] == (str(invoice.pk) if payer == "partner" else None)

    # the customer never reads the partner's figures, nor what its partner paid
    seen_by_customer = api(world.customer_owner, world.customer).get(f"{ORDERS}{order['id']}/")
    mine = seen_by_customer.json()
    assert mine["preferential_amount"] is None
    assert mine["cashback"] is None and mine["discount_amount"] is None
    assert mine["cashback_amount"] is None and mine["lines"][0]["cashback"] is None
    assert mine["lines"][0]["preferential_amount"] is None
    assert mine["lines"][0]["after_partner_discount"] is None
    assert mine["charged"] == mine["charged_amount"] == (None if payer == "partner" else charged)
    assert mine["lines"][0]["charged"] == mine["lines"][0]["charged_amount"]
    assert mine["invoice"] == (None if payer == "partner" else str(invoice.pk))
    assert mine["public_amount"] == PUBLIC


def test_an_order_of_several_products_totals_its_lines(world, api, hosting, mailbox):
    grant(world, access="full", payment="customer")

    order = place(
        api, world.partner_owner, world.partner, world.customer, (hosting, 35), (mailbox, 10)
    )

    # mailbox: 10 x 4.00 = 40.00, no tier -> public 40.00, preferential 32.00
    assert [line["product"] for line in order["lines"]] == ["web-hosting", "mailbox"]
    assert (order["list_amount"], order["public_amount"], order["preferential_amount"]) == (
        "387.20",
        "300.40",
        "240.32",
    )
    assert (order["charged"], order["cashback"]) == ("300.40", "60.08")
    # rev. 1's names stay, deprecated, during v1 (docs/api-changelog.md)
    assert (order["charged_amount"], order["cashback_amount"]) == ("300.40", "60.08")
    assert [(li["charged"], li["cashback"]) for li in order["lines"]] == [
        (li["charged_amount"], li["cashback_amount"]) for li in order["lines"]
    ]


# --- orders: listing ----------------------------------------------------------------------


def test_both_sides_list_their_orders_and_filter_them(world, api, hosting, mailbox):
    # given an order, and a renewal of its subscription
    grant(world, access="full", payment="customer")
    first = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))
    next_month = timezone.localdate() + relativedelta(months=1)
    renewal = subscription_renew(
        subscription_id=first["lines"][0]["subscription"], period_starts_on=next_month
    )
    assert renewal is not None

    for user, tenant in [
        (world.customer_owner, world.customer),
        (world.partner_owner, world.partner),
    ]:
        client = api(user, tenant)
        listed = client.get(ORDERS).json()
        assert listed["count"] == 2
        assert {row["id"] for row in listed["results"]} == {first["id"], str(renewal.pk)}
        renewals = client.get(f"{ORDERS}?kind=renewal").json()["results"]
        assert [row["id"] for row in renewals] == [str(renewal.pk)]
        assert renewals[0]["kind"] == "renewal" and renewals[0]["ordered_by"] == "partner"
        assert client.get(f"{ORDERS}?kind=order").json()["count"] == 1
        assert client.get(f"{ORDERS}?customer={world.customer.pk}").json()["count"] == 2
        assert client.get(f"{ORDERS}?customer={world.other_customer.pk}").json()["count"] == 0
        assert client.get(f"{ORDERS}?kind=refund").status_code == 400

    # the other tree, and a collaborator not assigned to the customer, see none of it
    assert api(world.other_owner, world.other_partner).get(ORDERS).json()["count"] == 0
    assert api(world.collaborator, world.partner).get(ORDERS).json()["count"] == 0


def _list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("side", ["customer", "partner"])
def test_the_order_list_takes_the_same_queries_for_1_or_20_orders(
    world, api, hosting, mailbox, django_assert_max_num_queries, side
):
    grant(world, access="full", payment="partner")
    buyer = org(world.partner_owner, world.partner)

    def add(count: int) -> None:
        for _ in range(count):
            order_place(
                org=buyer,
                customer_id=world.customer.pk,
                lines=[LineRequest(hosting, 35), LineRequest(mailbox, 2)],
            )

    user, tenant = (
        (world.customer_owner, world.customer)
        if side == "customer"
        else (world.partner_owner, world.partner)
    )
    client = api(user, tenant)
    add(1)
    client.get(ORDERS)  # warm the session
    one = _list_queries(client, ORDERS)
    assert one <= 8  # session, user, membership, count, orders, their lines, invoices
    add(19)
    with django_assert_max_num_queries(one):
        body = client.get(ORDERS).json()
    assert body["count"] == 20 and len(body["results"]) == 20
    assert all(len(row["lines"]) == 2 for row in body["results"])


# --- invoices -----------------------------------------------------------------------------


def test_the_customer_paid_invoice_is_the_customers_only(world, api, hosting):
    grant(world, access="full", payment="customer")
    order = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))
    invoice_id = order["invoice"]

    mine = api(world.customer_user, world.customer).get(f"{INVOICES}{invoice_id}/")
    assert mine.status_code == 200
    invoice = mine.json()
    assert invoice["order"] == order["id"] and invoice["payer"] == str(world.customer.pk)
    assert invoice["kind"] == "invoice" and invoice["number"].startswith("INV-")
    assert (invoice["currency"], invoice["total"]) == ("CHF", "260.40")
    assert invoice["bill_to"]["name"] == "Bäckerei Müller"
    assert invoice["lines"] == [
        {
            "product": "web-hosting",
            "description": "Web hosting",
            "quantity": 35,
            "unit_price": "9.92",
            "period_starts_on": order["lines"][0]["period_starts_on"],
            "period_ends_on": order["lines"][0]["period_ends_on"],
            "amount": "260.40",
        }
    ]
    listed = api(world.customer_owner, world.customer).get(INVOICES).json()
    assert [row["id"] for row in listed["results"]] == [invoice_id]

    # the partner, on the other side of the order, gets the 404 of a missing id
    partner = api(world.partner_owner, world.partner)
    theirs = partner.get(f"{INVOICES}{invoice_id}/")
    missing = partner.get(f"{INVOICES}{missing_id()}/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert partner.get(INVOICES).json()["count"] == 0


def test_the_partner_paid_invoice_is_the_partners_only(world, api, hosting):
    grant(world, access="full", payment="partner")
    order = place(api, world.partner_owner, world.partner, world.customer, (hosting, 35))
    invoice_id = order["invoice"]

    invoice = api(world.partner_admin, world.partner).get(f"{INVOICES}{invoice_id}/").json()
    assert invoice["payer"] == str(world.partner.pk) and invoice["total"] == "208.32"
    assert invoice["bill_to"]["name"] == "Alpine IT"

    customer = api(world.customer_owner, world.customer)
    theirs = customer.get(f"{INVOICES}{invoice_id}/")
    missing = customer.get(f"{INVOICES}{missing_id()}/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert customer.get(INVOICES).json()["count"] == 0
    assert customer.get(f"{ORDERS}{order['id']}/").json()["invoice"] is None


def test_invoices_are_for_the_two_sides_only(world, api, hosting):
    grant(world, access="full", payment="customer")
    order = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))

    other = api(world.other_customer_owner, world.other_customer)
    theirs = other.get(f"{INVOICES}{order['invoice']}/")
    assert theirs.status_code == 404
    assert theirs.json() == other.get(f"{INVOICES}{missing_id()}/").json()
    assert api(world.staff, world.provider).get(INVOICES).status_code == 404


# --- cashback -----------------------------------------------------------------------------


def test_the_cashback_ledger_and_its_balance(world, api, hosting, mailbox):
    # given two customer-paid orders under a full partnership
    grant(world, access="full", payment="customer")
    first = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))
    second = place(api, world.customer_owner, world.customer, world.customer, (mailbox, 10))

    # when the partner reads its prepaid account
    body = api(world.partner_admin, world.partner).get(CASHBACK).json()

    # then each order is a credit, newest first, and the balance is their sum
    assert body["balance"] == [{"currency": "CHF", "amount": "60.08"}]
    assert body["count"] == 2 and body["next"] is None
    assert [(e["order"], e["amount"]) for e in body["results"]] == [
        (second["id"], "8.00"),
        (first["id"], "52.08"),
    ]
    entry = body["results"][1]
    assert entry["kind"] == "credit" and entry["currency"] == "CHF"
    assert entry["customer"] == str(world.customer.pk) and "Bäckerei Müller" in entry["note"]

    # a page holds fewer entries, the balance stays the whole account's
    paged = api(world.partner_owner, world.partner).get(f"{CASHBACK}?page_size=1").json()
    assert len(paged["results"]) == 1 and paged["next"] is not None
    assert paged["balance"] == [{"currency": "CHF", "amount": "60.08"}]


def test_cashback_is_for_partner_owners_and_admins(world, api):
    assert api(world.collaborator, world.partner).get(CASHBACK).status_code == 403
    assert api(world.customer_owner, world.customer).get(CASHBACK).status_code == 404
    empty = api(world.other_owner, world.other_partner).get(CASHBACK).json()
    assert empty["balance"] == [] and empty["count"] == 0


# --- export -------------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    content = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == list(BILLING_EXPORT_COLUMNS)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_the_billing_export_holds_what_the_partner_may_see(world, api, hosting, mailbox):
    # given a customer-paid and a partner-paid order under a full partner-pays grant
    grant(world, access="full", payment="partner")
    paid_by_customer = place(
        api, world.customer_owner, world.customer, world.customer, (hosting, 35)
    )
    paid_by_partner = place(api, world.partner_owner, world.partner, world.customer, (mailbox, 10))
    Membership.unscoped.filter(user=world.other_customer_owner).update(buyer=True)
    place(api, world.other_customer_owner, world.other_customer, world.other_customer, (hosting, 1))

    # when the partner's admin exports
    response = api(world.partner_admin, world.partner).get(EXPORT)

    # then it streams one row per order line of its customers, oldest first
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert [row["order_id"] for row in rows] == [paid_by_customer["id"], paid_by_partner["id"]]
    first, second = rows
    assert first["customer"] == "Bäckerei Müller" and first["customer_id"] == str(world.customer.pk)
    assert (first["product_code"], first["quantity"], first["payer"]) == (
        "web-hosting",
        "35",
        "customer",
    )
    assert (first["charged_amount"], first["cashback_amount"], first["earning"]) == (
        "260.40",
        "52.08",
        "cashback",
    )
    assert first["invoice_number"] == ""  # the customer's invoice is not the partner's
    assert (second["payer"], second["charged_amount"], second["discount_amount"]) == (
        "partner",
        "32.00",
        "8.00",
    )
    assert second["invoice_number"] == Invoice.unscoped.get(order_id=paid_by_partner["id"]).number
    assert first["placed_on"] == timezone.localdate().isoformat()


def test_the_export_quotes_text_a_spreadsheet_would_run(world, api, hosting):
    grant(world, access="full", payment="customer")
    place(api, world.customer_owner, world.customer, world.customer, (hosting, 1))
    Tenant.objects.filter(pk=world.customer.pk).update(name='=HYPERLINK("http://x.test")')

    [row] = _csv(api(world.partner_owner, world.partner).get(EXPORT))

    assert row["customer"] == '\'=HYPERLINK("http://x.test")'


def test_the_export_is_for_partner_owners_and_admins(world, api):
    assert api(world.collaborator, world.partner).get(EXPORT).status_code == 403
    assert api(world.customer_owner, world.customer).get(EXPORT).status_code == 404
    assert _csv(api(world.other_owner, world.other_partner).get(EXPORT)) == []


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [QUOTES, ORDERS])
@pytest.mark.parametrize(
    ("lines", "customer", "field"),
    [
        ([{"product": "no-such-product", "quantity": 1}], None, "lines"),
        ([{"product": "web-hosting", "quantity": 0}], None, "lines"),
        ([{"product": "web-hosting", "quantity": 100_001}], None, "lines"),
        ([{"product": "web-hosting", "quantity": "many"}], None, "lines"),
        ([{"product": "web-hosting", "quantity": 1}] * 2, None, "lines"),
        ([], None, "lines"),
        ([{"product": f"p-{n}", "quantity": 1} for n in range(51)], None, "lines"),
        ([{"product": "web-hosting", "quantity": 1}], "not-a-uuid", "customer"),
    ],
    ids=[
        "unknown-product",
        "quantity-0",
        "quantity-too-big",
        "quantity-not-a-number",
        "duplicated-product",
        "empty-lines",
        "too-many-lines",
        "malformed-customer",
    ],
)
def test_bad_input_is_a_400_on_the_field_and_writes_nothing(
    world, api, hosting, url, lines, customer, field
):
    grant(world, access="full", payment="customer")

    response = api(world.partner_owner, world.partner).post(
        url, {"customer": customer or str(world.customer.pk), "lines": lines}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert nothing_written()


def test_a_partner_must_name_the_customer(world, api, hosting):
    grant(world, access="full", payment="customer")

    response = api(world.partner_owner, world.partner).post(
        ORDERS, {"lines": [{"product": "web-hosting", "quantity": 1}]}, format="json"
    )

    assert response.status_code == 400 and "customer" in response.json()
    assert nothing_written()


def test_products_of_two_partners_are_refused_in_one_order(world, api, hosting, mailbox):
    grant(world, access="limited", products=[hosting])
    grant(world, access="limited", products=[mailbox], partner=world.other_partner)

    response = api(world.customer_owner, world.customer).post(
        ORDERS, order_body(world.customer, (hosting, 1), (mailbox, 1)), format="json"
    )

    assert response.status_code == 400 and "different partners" in response.json()["lines"][0]
    assert nothing_written()


@pytest.mark.parametrize("who", ["partner_admin", "customer_user"])
def test_only_buyers_order(world, api, hosting, who):
    # given a partner admin without the buyer flag, or a customer's plain user
    grant(world, access="full", payment="customer")
    user = getattr(world, who)
    tenant = world.partner if who.startswith("partner") else world.customer

    response = api(user, tenant).post(
        ORDERS, order_body(world.customer, (hosting, 1)), format="json"
    )

    assert response.status_code == 403
    assert nothing_written()


def test_a_customer_admin_who_is_a_buyer_orders(world, api, hosting):
    order = place(api, world.customer_admin, world.customer, world.customer, (hosting, 1))

    assert order["partner"] is None and order["charged"] == "9.92"


@pytest.mark.parametrize("url", [QUOTES, ORDERS])
@pytest.mark.parametrize("who", ["partner_owner", "customer_owner"])
def test_another_organizations_customer_is_a_404_like_a_missing_one(world, api, hosting, url, who):
    grant(world, access="full", payment="customer")
    tenant = world.partner if who == "partner_owner" else world.customer
    client = api(getattr(world, who), tenant)

    foreign = client.post(url, order_body(world.other_customer, (hosting, 1)), format="json")
    missing = client.post(url, order_body(missing_id(), (hosting, 1)), format="json")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert nothing_written()


def test_a_product_outside_a_limited_grant_is_a_400_naming_it(world, api, hosting, mailbox):
    # the partnership lists the mailbox only: the web hosting is not the partner's to sell
    grant(world, access="limited", products=[mailbox])

    response = api(world.partner_owner, world.partner).post(
        ORDERS, order_body(world.customer, (hosting, 1)), format="json"
    )

    assert response.status_code == 400
    assert "does not include Web hosting" in response.json()["lines"][0]
    assert nothing_written()


def test_another_organizations_order_is_a_404_like_a_missing_one(world, api, hosting):
    grant(world, access="full", payment="customer")
    order = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))

    for user, tenant in [
        (world.other_owner, world.other_partner),
        (world.other_customer_owner, world.other_customer),
        (world.collaborator, world.partner),  # not assigned to the customer
    ]:
        client = api(user, tenant)
        theirs = client.get(f"{ORDERS}{order['id']}/")
        missing = client.get(f"{ORDERS}{missing_id()}/")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
    assert api(world.customer_owner, world.customer).get(f"{ORDERS}not-an-id/").status_code == 404


# --- schema -------------------------------------------------------------------------------


def test_the_schema_validates_without_warnings(tmp_path):
    path = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))

    schema = yaml.safe_load(path.read_text())
    paths = schema["paths"]
    for url in (QUOTES, ORDERS, f"{ORDERS}{{id}}/", INVOICES, f"{INVOICES}{{id}}/", CASHBACK):
        assert url in paths, url
    assert EXPORT in paths
    cashback = paths[CASHBACK]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][cashback["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"balance", "results", "count", "next", "previous"} <= set(page["properties"])
    line = schema["components"]["schemas"]["QuoteLine"]["properties"]
    assert line["preferential_amount"]["nullable"] is True
    assert "null for the customer" in line["preferential_amount"]["description"]


def test_period_dates_follow_the_billing_period(world, api, hosting):
    order = place(api, world.customer_owner, world.customer, world.customer, (hosting, 1))

    [line] = order["lines"]
    starts = datetime.date.fromisoformat(line["period_starts_on"])
    ends = datetime.date.fromisoformat(line["period_ends_on"])
    assert ends == starts + relativedelta(months=1) - datetime.timedelta(days=1)


def test_a_refund_adds_a_credit_note_with_negative_lines_and_keeps_the_invoice(world, api, hosting):
    grant(world, access="full", payment="customer")
    order = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))
    order_refund(actor=world.staff, order_id=order["id"])
    client = api(world.customer_owner, world.customer)

    # the order still names its invoice, not the credit note
    again = client.get(f"{ORDERS}{order['id']}/").json()
    assert again["invoice"] == order["invoice"]
    assert again["status"] == "refunded"
    # the credit note's lines add up to its negative total
    notes = [row for row in client.get(INVOICES).json()["results"] if row["kind"] == "credit_note"]
    assert [(n["total"], [line["amount"] for line in n["lines"]]) for n in notes] == [
        ("-260.40", ["-260.40"])
    ]


def test_credit_notes_have_their_own_endpoint_for_the_payer_only(world, api, hosting):
    """API.md rev. 2 `credit-notes/`: the payer's credit notes, the same documents
    as `invoices/?kind=credit_note`; an invoice's id there, or another
    organization's credit note, is the 404 of a missing id."""
    grant(world, access="full", payment="customer")
    order = place(api, world.customer_owner, world.customer, world.customer, (hosting, 35))
    order_refund(actor=world.staff, order_id=order["id"])
    client = api(world.customer_owner, world.customer)

    listed = client.get("/api/v1/credit-notes/").json()["results"]
    filtered = client.get(f"{INVOICES}?kind=credit_note").json()["results"]
    assert [row["id"] for row in listed] == [row["id"] for row in filtered]
    assert [(row["kind"], row["total"]) for row in listed] == [("credit_note", "-260.40")]
    note = listed[0]["id"]
    assert client.get(f"/api/v1/credit-notes/{note}/").json()["total"] == "-260.40"
    pdf = client.get(f"/api/v1/credit-notes/{note}/pdf/", HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # an invoice is not a credit note; the partner does not pay this one
    assert client.get(f"/api/v1/credit-notes/{order['invoice']}/").status_code == 404
    partner = api(world.partner_owner, world.partner)
    assert partner.get(f"/api/v1/credit-notes/{note}/").status_code == 404
    assert partner.get(f"/api/v1/credit-notes/{note}/pdf/").status_code == 404
    assert partner.get("/api/v1/credit-notes/").json()["results"] == []
