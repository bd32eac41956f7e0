"""Contracts that bill, through the API (API.md `contracts/{id}/time-entries/`,
issue 26): who records time, what is refused (all at once, nothing written),
what is out of reach (404 like a missing id), a block's warning once per
crossing, top-ups, terms that change from the next month, and existing
contracts carried over by the migration."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import services
from customers.contract_billing import charges_for_period, contract_charges
from customers.models import Contract, ContractTerms, ContractTopUp, TimeEntry
from partners import services as partner_services
from partners.models import Partnership
from tenants.models import AuditEvent, OutboundEmail
from tenants.selectors import org_context_for
from tests.clock import on
from tests.isolation import missing_id

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(on(2026, 12, 15))]

day = datetime.date
D = Decimal
CONTRACTS = "/api/v1/contracts/"
DECEMBER = (day(2026, 12, 1), day(2026, 12, 31))
JANUARY = (day(2027, 1, 1), day(2027, 1, 31))


def org(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def entries_url(contract, entry=None) -> str:
    return f"{CONTRACTS}{contract}/time-entries/" + (f"{entry}/" if entry else "")


@pytest.fixture
def hotel(world):
    """A customer Alpine IT manages (unclaimed, full access)."""
    return services.customer_onboard(
        org=org(world.partner_owner, world.partner), name="Hotel Alpenblick"
    ).customer


def make(world, customer, **data) -> Contract:
    data = {"name": data.pop("name", "Support"), "starts_on": day(2026, 12, 1), **data}
    return services.contract_create(
        org=org(world.partner_owner, world.partner), customer=customer, data=data
    )


@pytest.mark.parametrize("who", ["partner_owner", "partner_admin", "collaborator"])
def test_allowed_partner_users_record_time_and_it_bills(world, api, hotel, who):
    partner_services.collaborators_set(
        org=org(world.partner_owner, world.partner),
        customer=hotel,
        user_ids=[world.collaborator.id],
    )
    hourly = make(world, hotel, type="hourly", hourly_rate=D("120"))
    client = api(getattr(world, who), world.partner)

    created = client.post(
        entries_url(hourly.id),
        {
            "date": "2026-12-14",
            "hours": "1.5",
            "description": "Printer",
            "technician": str(world.partner_admin.id),
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["date"], body["hours"], body["description"], body["technician"]) == (
        "2026-12-14",
        "1.50",
        "Printer",
        str(world.partner_admin.id),
    )
    client.post(entries_url(hourly.id), {"date": "2026-12-15", "hours": "2"})

    listed = client.get(entries_url(hourly.id)).json()
    assert listed["count"] == 2
    assert [e["date"] for e in listed["results"]] == ["2026-12-15", "2026-12-14"]
    assert [c.amount for c in contract_charges(hotel, world.partner, *DECEMBER)] == [D("420.00")]

    assert client.delete(entries_url(hourly.id, body["id"])).status_code == 204
    assert [c.amount for c in contract_charges(hotel, world.partner, *DECEMBER)] == [D("240.00")]


def test_bad_time_is_refused_all_at_once_and_nothing_is_written(world, api, hotel):
    hourly = make(world, hotel, type="hourly", hourly_rate=D("100"), ends_on=day(2027, 1, 31))
    client = api(world.partner_owner, world.partner)
    for payload, fields in (
        ({"date": "2026-11-30", "hours": "0"}, {"hours"}),  # the serializer's checks first
        ({"date": "2026-11-30", "hours": "1"}, {"date"}),  # before the start
        ({"date": "2027-02-01", "hours": "24.01"}, {"hours"}),
        ({"date": "2027-02-01", "hours": "24"}, {"date"}),  # after the end
        ({"hours": "1.234", "technician": missing_id()}, {"date", "hours", "technician"}),
        ({"date": "2026-12-01", "hours": "-1"}, {"hours"}),
    ):
        response = client.post(entries_url(hourly.id), payload)
        assert response.status_code == 400, payload
        assert set(response.json()) == fields, (payload, response.json())
    assert not TimeEntry.unscoped.exists()


def test_time_on_a_contract_that_does_not_bill_it_is_refused(world, api, hotel):
    care = make(world, hotel, type="retainer", fee=D("100"))
    response = api(world.partner_owner, world.partner).post(
        entries_url(care.id), {"date": "2026-12-14", "hours": "1"}
    )
    assert response.status_code == 400 and "contract" in response.json()
    assert not TimeEntry.unscoped.exists()


def test_a_technician_of_another_organization_reads_as_a_missing_one(world, api, hotel):
    hourly = make(world, hotel, type="hourly", hourly_rate=D("100"))
    client = api(world.partner_owner, world.partner)
    answers = set()
    for technician in (world.other_owner.id, world.customer_owner.id, missing_id()):
        response = client.post(
            entries_url(hourly.id),
            {"date": "2026-12-14", "hours": "1", "technician": str(technician)},
        )
        assert response.status_code == 400
        answers.add(response.json()["technician"][0].replace(str(technician), "<id>"))
    assert len(answers) == 1
    assert not TimeEntry.unscoped.exists()


def test_another_partners_contract_or_a_customer_no_longer_managed_is_a_404(world, api, hotel):
    mine = make(world, hotel, type="hourly", hourly_rate=D("100"))
    entry = services.time_entry_add(
        org=org(world.partner_owner, world.partner),
        contract=mine,
        date=day(2026, 12, 14),
        hours=D("1"),
    )
    theirs_customer = services.customer_onboard(
        org=org(world.other_owner, world.other_partner), name="Foreign GmbH"
    ).customer
    theirs = services.contract_create(
        org=org(world.other_owner, world.other_partner),
        customer=theirs_customer,
        data={"type": "hourly", "name": "X", "starts_on": day(2026, 12, 1), "hourly_rate": D("1")},
    )
    answers = set()

    def refused(client, url, method="get"):
        data = {"date": "2026-12-14", "hours": "1"} if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (url, method)
        answers.add(response.content)

    mine_client = api(world.partner_owner, world.partner)
    for contract_id in (theirs.id, missing_id(), "nonsense"):
        for method in ("get", "post"):
            refused(mine_client, entries_url(contract_id), method)
    # the other partner, and a collaborator not assigned to the customer
    refused(api(world.other_owner, world.other_partner), entries_url(mine.id, entry.id), "delete")
    refused(api(world.collaborator, world.partner), entries_url(mine.id))
    # a grant that ended yesterday: out of reach at once, before any job has run
    Partnership.unscoped.filter(partner=world.partner, customer=hotel).update(
        ends_on=day(2026, 12, 14)
    )
    refused(mine_client, entries_url(mine.id))
    refused(mine_client, entries_url(mine.id, entry.id), "delete")
    assert len(answers) == 1  # one answer for all of them: "No such contract."
    assert TimeEntry.unscoped.count() == 1


def test_a_missing_time_entry_of_my_contract_is_a_404(world, api, hotel):
    mine = make(world, hotel, type="hourly", hourly_rate=D("100"))
    client = api(world.partner_owner, world.partner)
    for entry_id in (missing_id(), "nonsense"):
        assert client.delete(entries_url(mine.id, entry_id)).status_code == 404


def test_a_customer_organization_has_no_time_entries_api(world, api):
    response = api(world.customer_owner, world.customer).get(entries_url(missing_id()))
    assert response.status_code == 404


def test_a_block_warns_the_partners_owners_and_admins_once_per_crossing(world, api, hotel):
    block = make(
        world,
        hotel,
        type="block_of_hours",
        hours=D("10"),
        amount=D("900"),
        warning_threshold=D("3"),
    )
    client = api(world.partner_owner, world.partner)

    def warnings():
        return (
            OutboundEmail.objects.filter(key__startswith="contract-block-low:").count(),
            AuditEvent.unscoped.filter(action=AuditEvent.Action.CONTRACT_BLOCK_LOW).count(),
        )

    def record(hours, date="2026-12-14"):
        response = client.post(entries_url(block.id), {"date": date, "hours": hours})
        assert response.status_code == 201, response.json()

    record("6")
    assert warnings() == (0, 0)
    record("2")  # 2 h left, below 3
    assert warnings() == (2, 1)  # the owner and the admin; one event
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == sorted(
        [world.partner_owner.email, world.partner_admin.email]
    )
    record("1")
    assert warnings() == (2, 1)  # still below: no second warning

    topped = client.post(
        f"{CONTRACTS}{block.id}/top-ups/", {"date": "2026-12-15", "hours": "5", "amount": "450"}
    )
    assert topped.status_code == 201, topped.json()
    block.refresh_from_db()
    assert not block.below_threshold  # 6 h: armed again
    # draws follow the days of the work: on the top-up's day, after it
    record("4", "2026-12-15")  # 2 h left: a new crossing
    assert warnings() == (4, 2)

    record("5", "2026-12-15")  # 3 h beyond the block: billed, the balance stays at zero
    contract = client.get(f"/api/v1/customers/{hotel.id}/contracts/").json()[0]
    assert contract["balance"] == "0.00"
    december = charges_for_period(Contract.unscoped.get(pk=block.pk), *DECEMBER)
    assert [(c.quantity, c.unit_price, c.amount) for c in december][-1] == (
        D("3.00"),
        D("90.00"),
        D("270.00"),
    )


def test_a_top_up_is_refused_for_other_types_and_in_closed_months(world, api, hotel):
    care = make(world, hotel, type="retainer", fee=D("100"))
    money = make(world, hotel, type="block_of_money", amount=D("500"), hourly_rate=D("100"))
    client = api(world.partner_owner, world.partner)
    for contract, payload, fields in (
        (care, {"date": "2026-12-15", "amount": "10"}, {"contract"}),
        (money, {"date": "2026-11-30", "amount": "10", "hours": "1"}, {"date", "hours"}),
        (money, {"date": "2026-12-15", "amount": "0"}, {"amount"}),
    ):
        response = client.post(f"{CONTRACTS}{contract.id}/top-ups/", payload)
        assert response.status_code == 400 and set(response.json()) == fields, response.json()
    assert not ContractTopUp.unscoped.exists()


def test_a_change_of_terms_applies_from_next_month_and_a_started_contract_keeps_its_type(
    world, api, hotel
):
    care = make(world, hotel, type="retainer", fee=D("100"))
    client = api(world.partner_owner, world.partner)
    url = f"/api/v1/customers/{hotel.id}/contracts/{care.id}/"

    changed = client.patch(url, {"fee": "150"})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["fee"] == "150.00"
    assert [(t["effective_from"], t["fee"]) for t in changed.json()["terms"]] == [
        ("2026-12-01", "100.00"),
        ("2027-01-01", "150.00"),
    ]
    client.patch(url, {"fee": "160"})  # the same month: the pending version is replaced
    assert ContractTerms.unscoped.filter(contract=care).count() == 2
    assert [c.amount for c in charges_for_period(care, *DECEMBER)] == [D("100.00")]
    assert [c.amount for c in charges_for_period(care, *JANUARY)] == [D("160.00")]
    event = AuditEvent.unscoped.filter(action=AuditEvent.Action.CONTRACT_TERMS_CHANGED).first()
    assert event is not None and event.details["effective_from"] == "2027-01-01"

    refused = client.patch(
        url,
        {"type": "hourly", "hourly_rate": "5", "starts_on": "2026-12-02", "ends_on": "2026-11-30"},
    )
    assert refused.status_code == 400
    assert {"type", "starts_on", "ends_on"} <= set(refused.json())
    care.refresh_from_db()
    assert (care.type, care.fee, care.starts_on) == ("retainer", D("160.00"), day(2026, 12, 1))


def test_a_contract_not_started_yet_changes_its_terms_from_its_start(world, api, hotel):
    later = make(world, hotel, type="retainer", fee=D("100"), starts_on=day(2027, 2, 1))
    client = api(world.partner_owner, world.partner)
    url = f"/api/v1/customers/{hotel.id}/contracts/{later.id}/"
    assert client.patch(url, {"type": "hourly", "hourly_rate": "90"}).status_code == 200
    assert list(
        ContractTerms.unscoped.filter(contract=later).values_list(
            "effective_from", "hourly_rate", "fee"
        )
    ) == [(day(2027, 2, 1), D("90.00"), None)]


def test_the_time_entries_list_reads_in_a_fixed_number_of_queries(world, api, hotel):
    hourly = make(world, hotel, type="hourly", hourly_rate=D("100"))
    client = api(world.partner_owner, world.partner)
    TimeEntry.unscoped.create(contract=hourly, date=day(2026, 12, 1), hours=D("1"))
    client.get(entries_url(hourly.id))  # the session, warm

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(entries_url(hourly.id)).status_code == 200
        return len(queries)

    few = count()
    for n in range(2, 17):
        TimeEntry.unscoped.create(
            contract=hourly, date=day(2026, 12, n), hours=D("1"), technician=world.partner_admin
        )
    assert count() == few  # the page's rows with their technicians: one query


@pytest.mark.migrations
@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_contracts_and_what_they_bill(world, hotel):
    """Migrate back before contracts billed, write contracts the way they were,
    migrate forward: the same contracts, the same monthly amounts."""
    executor = MigrationExecutor(connection)
    executor.migrate([("customers", "0003_scoped_managers")])
    executor.loader.build_graph()
    try:
        with connection.cursor() as cursor:
            for pk, kind, fields in (
                ("a" * 32, "remote_monitoring", {"fee": "75.00"}),
                ("b" * 32, "retainer", {"fee": "450.00"}),
                ("c" * 32, "project_one_time", {"amount": "5000.00"}),
                ("d" * 32, "block_of_hours", {"hours": "10.00", "amount": "900.00"}),
            ):
                columns = ", ".join(
                    [
                        "id",
                        "partner_id",
                        "customer_id",
                        "type",
                        "name",
                        "starts_on",
                        "created_at",
                        "updated_at",
                        *fields,
                    ]
                )
                values = [
                    pk,
                    world.partner.pk.hex,
                    hotel.pk.hex,
                    kind,
                    kind,
                    "2026-10-01",
                    "2026-10-01 00:00:00",
                    "2026-10-01 00:00:00",
                    *fields.values(),
                ]
                cursor.execute(
                    f"INSERT INTO partners_contract ({columns}) VALUES ({', '.join(['%s'] * len(values))})",
                    values,
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    contracts = {c.type: c for c in Contract.unscoped.filter(customer=hotel)}
    assert set(contracts) == {"remote_monitoring", "retainer", "project_one_time", "block_of_hours"}
    monitoring = contracts["remote_monitoring"]
    assert (monitoring.fee, monitoring.unit_price, monitoring.quantity) == (
        None,
        D("75.00"),
        D("1.00"),
    )
    assert contracts["project_one_time"].bills_on == day(2026, 10, 1)
    assert ContractTerms.unscoped.filter(contract__customer=hotel).count() == 4
    november = (day(2026, 11, 1), day(2026, 11, 30))
    assert {c.kind: c.amount for c in contract_charges(hotel, world.partner, *november)} == {
        "remote_monitoring": D("75.00"),
        "retainer": D("450.00"),
        "block_of_hours": D("0.00"),  # bought in October: the balance line only
    }
    october = contract_charges(hotel, world.partner, day(2026, 10, 1), day(2026, 10, 31))
    assert sum(c.amount for c in october) == D("75.00") + D("450.00") + D("5000.00") + D("900.00")


# --- the contract's page -------------------------------------------------------------------------


def page_url(customer, contract) -> str:
    return reverse("customer_contract", args=["alpine", customer.pk, contract.pk])


def test_the_contract_page_records_time_and_shows_every_error_at_once(world, browser, hotel):
    hourly = make(world, hotel, type="hourly", hourly_rate=D("100"), ends_on=day(2027, 1, 31))
    client = browser(world.partner_admin)
    url = page_url(hotel, hourly)

    bad = client.post(
        url,
        {
            "action": "time_entry_add",
            "entry-date": "2026-11-30",
            "entry-hours": "25",
            "entry-technician": str(world.other_owner.id),
        },
    )
    assert bad.status_code == 400
    assert set(bad.context["entry_form"].errors) == {"date", "hours", "technician"}
    assert not TimeEntry.unscoped.exists()

    good = client.post(
        url,
        {
            "action": "time_entry_add",
            "entry-date": "2026-12-14",
            "entry-hours": "2.5",
            "entry-description": "Server-Wartung 4410",
            "entry-technician": str(world.partner_owner.id),
        },
    )
    assert good.status_code == 302
    shown = client.get(url)
    assert "Server-Wartung 4410" in shown.content.decode()
    assert world.partner_owner.email in shown.content.decode()

    entry = TimeEntry.unscoped.get()
    # another contract's entry through this page: the answer of a missing one
    other = make(world, hotel, type="hourly", hourly_rate=D("1"), name="Other")
    assert (
        client.post(
            page_url(hotel, other), {"action": "time_entry_remove", "entry": str(entry.pk)}
        ).status_code
        == 404
    )
    assert (
        client.post(url, {"action": "time_entry_remove", "entry": str(entry.pk)}).status_code == 302
    )
    assert not TimeEntry.unscoped.exists()


def test_the_contract_page_tops_up_a_block_and_shows_its_balance(world, browser, hotel):
    block = make(world, hotel, type="block_of_money", amount=D("500"), hourly_rate=D("100"))
    client = browser(world.partner_owner)
    url = page_url(hotel, block)
    assert "Balance: CHF 500.00." in client.get(url).content.decode()

    refused = client.post(
        url, {"action": "top_up", "top-up-date": "2026-11-01", "top-up-amount": "0"}
    )
    assert refused.status_code == 400
    assert set(refused.context["top_up_form"].errors) == {"amount"}  # the form's own first
    topped = client.post(
        url, {"action": "top_up", "top-up-date": "2026-12-20", "top-up-amount": "250"}
    )
    assert topped.status_code == 302
    assert "Balance: CHF 750.00." in client.get(url).content.decode()


def test_the_contract_form_shows_only_the_fields_of_each_type_and_all_errors(world, browser, hotel):
    client = browser(world.partner_owner)
    response = client.post(
        reverse("customer_detail", args=["alpine", hotel.pk]),
        {
            "action": "contract_add",
            "new-contract-type": "remote_monitoring",
            "new-contract-name": "Monitoring",
            "new-contract-starts_on": "2026-12-01",
            "new-contract-ends_on": "2026-11-01",
            "new-contract-fee": "10",  # not this type's: dropped
        },
    )
    assert response.status_code == 400
    assert set(response.context["contract_form"].errors) == {"unit_price", "quantity", "ends_on"}
    assert 'data-types="remote_monitoring online_backup"' in response.content.decode()
    assert not Contract.unscoped.filter(customer=hotel).exists()
