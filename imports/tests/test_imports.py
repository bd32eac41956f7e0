"""Bulk import of customers and contacts (SPEC §2, API.md): templates, the
validation report, matching on re-upload, dry runs, Excel's files, roles and
isolation, and large files written by a job."""

import csv
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.urls import reverse

import imports.urls
from core.db import BULK_WRITE_COPY_FROM
from imports import tasks
from imports.apply import import_apply
from imports.columns import KINDS, import_template
from imports.jobs import _Progress, import_jobs_to_retry
from imports.models import ImportJob
from imports.plan import import_plan
from partners import services as partner_services
from partners.models import Partnership, PartnershipEvent
from tenants.models import AuditEvent, Contact, Tenant
from tenants.selectors import org_context_for
from tests.isolation import assert_all_404, missing_id, org_page_urls
from tests.statistics import assert_analyzed_since, database_now

pytestmark = pytest.mark.django_db

IMPORT = "/api/v1/customers/import/"
TEMPLATE = "/api/v1/customers/import/template/"
PAGE = "/t/alpine/customers/import/"

CUSTOMERS_CSV = (
    "name,tax_id,city,country,email_domains,contact_first_name,contact_last_name,contact_email\n"
    "Muster AG,CHE-100,Bern,ch,muster.ch muster.com,Anna,Muster,anna@muster.ch\n"
    "Beispiel GmbH,,Zürich,CH,,,,\n"
)
CONTACTS_CSV = (
    "customer,first_name,last_name,email,phone,is_primary\n"
    "CHE-100,Bruno,Keller,bruno@muster.ch,+41 31 000 00 00,yes\n"
    "beispiel gmbh,Carla,Frei,carla@beispiel.ch,,\n"
    "Beispiel GmbH,Dora,Weber,,,no\n"
)


def ctx(user, tenant):
    return org_context_for(user=user, tenant_id=tenant.id)


def as_file(content, name="import.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def upload(client, content, kind="customers", query="", **fields):
    return client.post(
        IMPORT + query, {"file": as_file(content), "kind": kind, **fields}, format="multipart"
    )


def counts() -> tuple[int, int, int, int]:
    return (
        Tenant.objects.count(),
        Partnership.unscoped.count(),
        PartnershipEvent.unscoped.count(),
        Contact.unscoped.count(),
    )


def alpine_customers(world):
    return Tenant.objects.filter(partnerships_as_customer__partner=world.partner).order_by("name")


@pytest.fixture
def owner_api(world, api):
    return api(world.partner_owner, world.partner)


# --- templates ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["customers", "contacts"])
def test_templates_download_as_csv_with_the_columns_and_an_example_row(world, owner_api, kind):
    response = owner_api.get(TEMPLATE, {"kind": kind})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{kind}-import-template.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel then opens it as UTF-8
    header, example = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(header) == KINDS[kind].column_names
    assert example[header.index("first_name" if kind == "contacts" else "name")]


def test_a_template_is_itself_a_valid_file(world):
    """The same column definitions drive the template and the parser."""
    org = ctx(world.partner_owner, world.partner)
    import_apply(org=org, kind="customers", file=import_template(kind="customers"))
    plan = import_plan(org=org, kind="contacts", file=import_template(kind="contacts"))
    # Both examples name the same person: the customers file made her the primary contact.
    assert plan.errors == [] and [r.action for r in plan.rows] == ["update"]


def test_the_page_offers_both_templates_and_documents_every_column(world, browser):
    page = browser(world.partner_admin).get(PAGE)

    assert page.status_code == 200
    html = page.content.decode()
    for kind in KINDS.values():
        assert f"{PAGE}template/?kind={kind.name}" in html
        assert all(f"<code>{c.name}</code>" in html for c in kind.columns)
    download = browser(world.partner_admin).get(PAGE + "template/", {"kind": "contacts"})
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"
    assert browser(world.partner_admin).get(PAGE + "template/?kind=x").status_code == 400


# --- a valid file, and the same file again ------------------------------------------------


def test_a_valid_file_creates_unclaimed_customers_with_their_primary_contacts(world, owner_api):
    response = upload(owner_api, CUSTOMERS_CSV)

    assert response.status_code == 201 and response.json() == {"created": 2, "updated": 0}
    muster, beispiel = alpine_customers(world).exclude(pk=world.customer.pk).order_by("-name")
    assert (muster.name, muster.tax_id, muster.city, muster.country) == (
        "Muster AG",
        "CHE-100",
        "Bern",
        "CH",
    )
    assert muster.email_domains == ["muster.ch", "muster.com"]
    assert muster.parent == world.partner and muster.origin == world.partner
    assert muster.currency == world.partner.currency
    grant = Partnership.unscoped.get(customer=muster)
    assert (grant.status, grant.access, grant.payment) == ("active", "full", "partner")
    assert [e.kind for e in grant.events.all()] == ["created"]
    anna = Contact.unscoped.get(customer=muster)
    assert (anna.first_name, anna.email, anna.is_primary) == ("Anna", "anna@muster.ch", True)
    assert beispiel.name == "Beispiel GmbH" and not beispiel.contacts.exists()
    # The partner manages them at once: they are in its list.
    assert {c["name"] for c in owner_api.get("/api/v1/customers/").json()["results"]} >= {
        "Muster AG",
        "Beispiel GmbH",
    }


def test_uploading_the_same_file_again_creates_nothing_and_updates_every_row(world, owner_api):
    upload(owner_api, CUSTOMERS_CSV)
    before = counts()

    response = upload(owner_api, CUSTOMERS_CSV)

    assert response.status_code == 200 and response.json() == {"created": 0, "updated": 2}
    assert counts() == before
    upload(owner_api, CONTACTS_CSV, kind="contacts")
    before = counts()
    again = upload(owner_api, CONTACTS_CSV, kind="contacts")
    assert again.json() == {"created": 0, "updated": 3} and counts() == before


def test_customers_match_by_tax_id_else_by_name_and_update_only_filled_cells(world, owner_api):
    upload(owner_api, CUSTOMERS_CSV)
    changed = (
        "name,tax_id,city,phone\n"
        "Muster Holding AG,che-100,,+41 31 999 99 99\n"  # same tax id, new name; city kept
        "BEISPIEL  gmbh,CHE-200,Basel,\n"  # by name (no tax id yet): it gets one
    )

    dry = upload(owner_api, changed, query="?dry_run=1").json()
    response = upload(owner_api, changed)

    assert [r["changes"] for r in dry["rows"]] == [["name", "phone"], ["tax_id", "city"]]
    assert response.json() == {"created": 0, "updated": 2}
    muster = Tenant.objects.get(tax_id="CHE-100")  # case or spacing alone changes nothing
    assert (muster.name, muster.city, muster.phone) == (
        "Muster Holding AG",
        "Bern",
        "+41 31 999 99 99",
    )
    assert muster.email_domains == ["muster.ch", "muster.com"]
    beispiel = Tenant.objects.get(tax_id="CHE-200")
    assert (beispiel.name, beispiel.city) == ("Beispiel GmbH", "Basel")


def test_a_contacts_file_adds_updates_and_switches_the_primary_contact(world, owner_api):
    upload(owner_api, CUSTOMERS_CSV)

    response = upload(owner_api, CONTACTS_CSV, kind="contacts")

    assert response.status_code == 201 and response.json() == {"created": 3, "updated": 0}
    muster = Tenant.objects.get(name="Muster AG")
    assert list(muster.contacts.filter(is_primary=True).values_list("first_name", flat=True)) == [
        "Bruno"
    ]
    beispiel = Tenant.objects.get(name="Beispiel GmbH")
    # A customer's first contact becomes its primary one.
    assert [(c.first_name, c.is_primary) for c in beispiel.contacts.order_by("first_name")] == [
        ("Carla", True),
        ("Dora", False),
    ]
    # Matching by email (case-insensitive), and by name for a contact without one.
    update = (
        "customer;first_name;last_name;email;phone;is_primary\n"
        "Beispiel GmbH;Carla;Frei-Huber;CARLA@beispiel.ch;;\n"
        "Beispiel GmbH;dora;weber;;+41 61 000 00 00;yes\n"
    )
    assert upload(owner_api, update, kind="contacts").json() == {"created": 0, "updated": 2}
    carla, dora = beispiel.contacts.order_by("first_name")
    assert (dora.phone, dora.is_primary, carla.last_name, carla.is_primary) == (
        "+41 61 000 00 00",
        True,
        "Frei-Huber",
        False,
    )
    # A contact known without an email gets the one a later file gives.
    with_email = "customer,first_name,last_name,email\nBeispiel GmbH,Dora,Weber,dora@beispiel.ch\n"
    assert upload(owner_api, with_email, kind="contacts").json() == {"created": 0, "updated": 1}
    assert beispiel.contacts.get(first_name="Dora").email == "dora@beispiel.ch"
    assert beispiel.contacts.count() == 2


@pytest.mark.parametrize("batch", [1, BULK_WRITE_COPY_FROM])
def test_bulk_creation_makes_exactly_what_customer_add_makes(world, batch):
    """One customer (inserted) and the first of a batch large enough to be
    copied (core.db.bulk_write: COPY on PostgreSQL)."""
    org = ctx(world.partner_owner, world.partner)
    profile = {"city": "Bern", "tax_id": "CHE-1", "email_domains": ["a.ch"], "country": "CH"}
    one = partner_services.customer_add(org=org, name="Gleich AG", currency="EUR", **profile)
    other, *rest = partner_services.customers_add_unclaimed(
        org=org,
        customers=[
            {"name": "Gleich AG" if n == 0 else f"Gleich {n} AG", "currency": "EUR", **profile}
            for n in range(batch)
        ],
    )
    assert len(rest) == batch - 1

    def tenant(t):
        return {
            f.name: getattr(t, f.attname)
            for f in Tenant._meta.concrete_fields
            if f.name not in ("id", "slug", "path", "created_at", "updated_at")
        }

    def partnership(p):
        p = Partnership.unscoped.get(pk=p.pk)
        skip = ("id", "customer", "created_at", "updated_at", "activated_at")
        return {
            f.name: getattr(p, f.attname) for f in p._meta.concrete_fields if f.name not in skip
        }

    def events(p):
        return list(p.events.values("kind", "actor", "before", "after", "note"))

    assert tenant(Tenant.objects.get(pk=other.customer_id)) == tenant(one.customer)
    assert partnership(other) == partnership(one)
    assert events(other) == events(one) and list(other.products.all()) == []

    def audit(p):  # both organizations' logs, as customer_add writes them
        rows = AuditEvent.unscoped.filter(details__partnership=str(p.pk)).order_by("tenant__kind")
        return [
            (e.tenant_id == p.customer_id, e.action, e.actor_id, e.actor_tenant_id, e.target)
            for e in rows
        ]

    assert audit(other) == audit(one) and len(audit(one)) == 2
    slugs = Tenant.objects.filter(name="Gleich AG").values_list("slug", "path")
    assert len({s for s, _ in slugs}) == 2
    assert all(path.startswith(world.partner.path) for _, path in slugs)


# --- errors: the whole report, and nothing written ----------------------------------------


def test_a_file_with_errors_gives_the_whole_report_and_writes_nothing(world, owner_api):
    bad = (
        "name,tax_id,country,email_domains,contact_first_name,contact_email,currency\n"
        "Alpha AG,CHE-1,CH,alpha.ch,,,\n"
        ",CHE-9,CH,,,,\n"
        "Gamma AG,,Schweiz,info@gamma.ch,,,\n"
        "Delta AG,,CH,,Dora,not-an-email,USD\n"
    )
    before = counts()

    response = upload(owner_api, bad)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"row": 3, "column": "name", "message": "This field is required."},
            {
                "row": 4,
                "column": "email_domains",
                "message": "Give domains like example.com, without @.",
            },
            {
                "row": 4,
                "column": "country",
                "message": "Give the two-letter ISO country code (CH, DE, IT).",
            },
            {
                "row": 5,
                "column": "currency",
                "message": "Select a valid choice. USD is not one of the available choices.",
            },
            {
                "row": 5,
                "column": "contact_last_name",
                "message": "A contact needs a first and a last name.",
            },
            {"row": 5, "column": "contact_email", "message": "Enter a valid email address."},
        ]
    }
    assert counts() == before


def test_unknown_and_missing_columns_are_errors_on_the_header_row(world, owner_api):
    response = upload(owner_api, "Company,City\nAlpha AG,Bern\n")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 1, "column": "name", "message": "This column is required."},
        {
            "row": 1,
            "column": "Company",
            "message": "Unknown column. The columns of a customers file are: "
            + ", ".join(KINDS["customers"].column_names)
            + ".",
        },
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty: the first row names the columns."),
        (b"name\n", "The file has no rows below the header."),
        (b"PK\x03\x04\x14\x00\x06\x00", "This is an Excel workbook, not a CSV file."),
        ("name\nBäckerei\n".encode("latin-1"), "The file is not UTF-8 text"),
        ("name\nA\n".encode("utf-16"), "This is not a CSV text file."),
    ],
)
def test_a_file_that_is_not_utf8_csv_gets_a_clear_error(world, owner_api, content, message):
    response = upload(owner_api, content)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["row"] is None and error["message"].startswith(message)


def test_too_big_or_too_long_a_file_is_refused(world, owner_api, monkeypatch):
    monkeypatch.setattr("imports.parse.MAX_ROWS", 3)
    long = upload(owner_api, "name\nA\nB\nC\nD\n")
    assert long.status_code == 400
    assert long.json()["errors"][0]["message"].startswith("The file has more than 3 rows")
    monkeypatch.setattr("imports.parse.MAX_BYTES", 100)
    big = upload(owner_api, "name\n" + "A\n" * 60)
    assert big.status_code == 400 and "larger than" in big.json()["errors"][0]["message"]
    assert Tenant.objects.filter(name="A").count() == 0


def test_the_same_customer_twice_in_a_file_is_an_error(world, owner_api):
    twice = (
        "name,tax_id\n"
        "Alpha AG,CHE-1\n"
        "Beta AG,che-1\n"  # the same tax id
        "Gamma AG,\n"
        "gamma ag,\n"  # the same name
        "Delta AG,CHE-2\n"
        "Delta AG,CHE-3\n"  # two companies of one name: allowed
    )
    response = upload(owner_api, twice)

    assert response.json()["errors"] == [
        {"row": 3, "column": "tax_id", "message": "Row 2 already imports this customer."},
        {"row": 5, "column": "name", "message": "Row 4 already imports this customer."},
    ]


def test_a_contacts_file_checks_customers_duplicates_and_primaries(world, owner_api):
    upload(owner_api, CUSTOMERS_CSV)
    bad = (
        "customer,first_name,last_name,email,is_primary\n"
        "Muster AG,Bruno,Keller,bruno@muster.ch,yes\n"
        "Muster AG,Clara,Keller,clara@muster.ch,yes\n"  # a second primary
        "Nobody AG,Eva,Roth,eva@nobody.ch,\n"  # not a customer of Alpine
        "Bergmann,Fritz,Berg,fritz@bergmann.de,\n"  # Rhein Cloud's customer
        "Muster AG,Bruno,K.,BRUNO@muster.ch,\n"  # the same contact twice
        "Muster AG,Gina,Roth,gina@muster.ch,maybe\n"
    )
    before = counts()

    response = upload(owner_api, bad, kind="contacts")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "row": 3,
            "column": "is_primary",
            "message": "Row 2 already makes another contact the primary contact of “Muster AG”.",
        },
        {
            "row": 4,
            "column": "customer",
            "message": "No customer you manage has the name or tax id “Nobody AG”.",
        },
        {
            "row": 5,
            "column": "customer",
            "message": "No customer you manage has the name or tax id “Bergmann”.",
        },
        {
            "row": 6,
            "column": "email",
            "message": "Row 2 already has this contact of “Muster AG”.",
        },
        {"row": 7, "column": "is_primary", "message": "Write yes or no."},
    ]
    assert counts() == before


# --- files as Excel writes them -----------------------------------------------------------


def test_an_excel_file_with_bom_semicolons_and_crlf_imports(world, owner_api):
    excel = (
        "\ufeffName ; TAX_ID;City;Contact First Name;contact_last_name;Contact_Email\r\n"
        'Bäckerei Zürcher AG;CHE-300;Zürich;Jürg;Müller;"juerg@example.ch"\r\n'
        '"Café; Bar ""Zum Löwen""";;Luzern;;;\r\n'
        ";;;;;\r\n"  # Excel's empty line
    ).encode("utf-8")

    response = upload(owner_api, excel)

    assert response.status_code == 201 and response.json() == {"created": 2, "updated": 0}
    baeckerei = Tenant.objects.get(tax_id="CHE-300")
    assert (baeckerei.name, baeckerei.city) == ("Bäckerei Zürcher AG", "Zürich")
    assert baeckerei.contacts.get().last_name == "Müller"
    assert Tenant.objects.filter(name='Café; Bar "Zum Löwen"', city="Luzern").exists()
    # Without the BOM, and with commas: the same file matches.
    plain = "name,tax_id\nBäckerei Zürcher AG,CHE-300\n".encode()
    assert upload(owner_api, plain).json() == {"created": 0, "updated": 1}


# --- dry run ----------------------------------------------------------------------------------


def test_a_dry_run_shows_what_would_happen_and_writes_nothing(world, owner_api):
    upload(owner_api, CUSTOMERS_CSV)
    before = counts()
    file = CUSTOMERS_CSV.replace("Bern", "Thun") + "Neu AG,,,,,,,\n"

    by_query = upload(owner_api, file, query="?dry_run=1")
    by_field = upload(owner_api, file, dry_run="true")

    assert by_query.status_code == 200 and by_query.json() == by_field.json()
    assert by_query.json() == {
        "dry_run": True,
        "created": 1,
        "updated": 2,
        "rows": [
            {
                "row": 2,
                "action": "update",
                "customer": "Muster AG",
                "changes": ["city"],
                "contact": {
                    "action": "update",
                    "name": "Anna Muster",
                    "email": "anna@muster.ch",
                    "primary": True,
                },
            },
            {
                "row": 3,
                "action": "update",
                "customer": "Beispiel GmbH",
                "changes": [],
                "contact": None,
            },
            {"row": 4, "action": "create", "customer": "Neu AG", "changes": [], "contact": None},
        ],
    }
    assert counts() == before
    assert Tenant.objects.get(tax_id="CHE-100").city == "Bern"


# --- roles and other partners ----------------------------------------------------------------


def test_only_partner_owners_and_admins_import(world, api, browser):
    for user in (world.partner_owner, world.partner_admin):
        assert upload(api(user, world.partner), "name\nA\n", query="?dry_run=1").status_code == 200
    collaborator = api(world.collaborator, world.partner)
    assert upload(collaborator, "name\nA\n").status_code == 403
    assert collaborator.get(TEMPLATE, {"kind": "customers"}).status_code == 403
    assert browser(world.collaborator).get(PAGE).status_code == 403
    assert browser(world.collaborator).post(PAGE, {"kind": "customers"}).status_code == 403
    # A customer organization has no import.
    customer = api(world.customer_owner, world.customer)
    assert upload(customer, "name\nA\n").status_code == 404
    assert browser(world.customer_owner).get("/t/mueller/customers/import/").status_code == 404
    assert not Tenant.objects.filter(name="A").exists()


def test_an_import_never_touches_a_customer_the_partner_does_not_manage(world, owner_api):
    """Bergmann is Rhein Cloud's; Bäckerei Müller hangs under Alpine but gives it
    no access. Same names or tax ids match nothing: new unclaimed customers."""
    Tenant.objects.filter(pk=world.other_customer.pk).update(tax_id="DE-1", city="Köln")
    file = "name,tax_id,city\nBergmann,DE-1,Bern\nBäckerei Müller,,Thun\n"

    response = upload(owner_api, file)

    assert response.json() == {"created": 2, "updated": 0}
    world.other_customer.refresh_from_db()
    world.customer.refresh_from_db()
    assert world.other_customer.city == "Köln" and world.customer.city == ""
    assert not Partnership.unscoped.filter(
        partner=world.partner, customer__in=[world.other_customer, world.customer]
    ).exists()
    assert Tenant.objects.filter(name="Bergmann", parent=world.partner, tax_id="DE-1").exists()


def test_a_collaborator_assignment_does_not_widen_what_an_import_matches(world):
    """The org context decides: customers_visible_to is the one scope."""
    org = ctx(world.partner_owner, world.partner)
    partner_services.customer_add(org=org, name="Nur Alpine AG")
    other = ctx(world.other_owner, world.other_partner)

    plan = import_plan(org=other, kind="customers", file="name\nNur Alpine AG\n")

    assert [r.action for r in plan.rows] == ["create"]


# --- the browser page -------------------------------------------------------------------------


def test_the_page_dry_runs_by_default_then_imports_the_same_file(world, browser):
    client = browser(world.partner_admin)
    before = counts()

    dry = client.post(PAGE, {"kind": "customers", "file": as_file(CUSTOMERS_CSV), "dry_run": "on"})

    assert dry.status_code == 200 and counts() == before
    html = dry.content.decode()
    assert "Dry run: nothing was written yet" in html and "Muster AG" in html
    token = dry.context["confirm"]
    assert 'name="confirm"' in html and "Import now" in html

    done = client.post(PAGE, {"confirm": token})

    assert done.status_code == 302 and done["Location"] == "/t/alpine/customers/"
    assert Tenant.objects.filter(name__in=["Muster AG", "Beispiel GmbH"]).count() == 2
    assert "Imported: 2 created, 0 updated" in client.get(done["Location"]).content.decode()
    # A tampered or foreign confirmation imports nothing.
    assert client.post(PAGE, {"confirm": token + "x"}).status_code == 400
    other = browser(world.partner_owner).post(PAGE, {"confirm": token})
    assert other.status_code == 400 and b"expired" in other.content


def test_the_page_shows_the_error_report_with_status_400(world, browser):
    client = browser(world.partner_admin)
    before = counts()

    response = client.post(
        PAGE, {"kind": "customers", "file": as_file("name,country\n,CH\nAlpha,Swiss\n")}
    )

    assert response.status_code == 400 and counts() == before
    html = response.content.decode()
    assert "Nothing was imported: 2 errors" in html
    assert '<td data-label="Row">2</td><td data-label="Column"><code>name</code></td>' in html
    assert "Give the two-letter ISO country code" in html
    assert client.post(PAGE, {"kind": "customers"}).status_code == 400  # no file


def test_unticking_dry_run_imports_at_once(world, browser):
    response = browser(world.partner_owner).post(
        PAGE, {"kind": "customers", "file": as_file("name\nSofort AG\n")}
    )
    assert response.status_code == 302 and Tenant.objects.filter(name="Sofort AG").exists()


# --- large files: the job ------------------------------------------------------------------------


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr("imports.jobs.SYNC_ROWS_MAX", 3)
    monkeypatch.setattr("imports.apply.PROGRESS_EVERY", 2)
    reported = []
    original = _Progress.__call__

    def spy(self, processed):
        reported.append(processed)
        original(self, processed)

    monkeypatch.setattr(_Progress, "__call__", spy)
    return reported


FIVE = "name,city\n" + "".join(f"Gross {n} AG,Bern\n" for n in range(1, 6))


def test_a_large_file_is_validated_at_once_then_written_by_a_job(
    world, owner_api, small_thresholds, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(owner_api, FIVE)
    assert response.status_code == 202 and len(callbacks) == 1  # the job, enqueued
    callbacks[0]()  # the commit: the job runs (eagerly)

    body = response.json()
    job = ImportJob.unscoped.get(pk=body["job"])
    assert body == {
        "job": str(job.pk),
        "status": "queued",
        "status_url": f"http://testserver/api/v1/customers/import/jobs/{job.pk}/",
    }
    assert (job.status, job.total, job.processed) == ("done", 5, 5)
    assert (job.created_count, job.updated_count, job.content) == (5, 0, "")
    assert small_thresholds == [2, 4, 5]  # progress every PROGRESS_EVERY rows, and at the end
    assert Tenant.objects.filter(name__startswith="Gross ").count() == 5
    progress = owner_api.get(body["status_url"]).json()
    assert {k: progress[k] for k in ("status", "total", "processed", "created", "updated")} == {
        "status": "done",
        "total": 5,
        "processed": 5,
        "created": 5,
        "updated": 0,
    }
    # Any member of the partner may follow it.
    assert api_get(world, world.collaborator, body["status_url"]).status_code == 200
    # A redelivered task changes nothing.
    assert tasks.run_import_job(str(job.pk)) == "skipped"
    assert Tenant.objects.filter(name__startswith="Gross ").count() == 5


@pytest.fixture
def analyzed(monkeypatch):
    """Each call of the imports' ANALYZE step: the tables it analyzed (none on
    SQLite) and the jobs' statuses at that moment. The real step runs."""
    from core.db import analyze

    calls = []

    def recording(models):
        statuses = list(ImportJob.unscoped.values_list("status", flat=True))
        calls.append((analyze(models), statuses))
        return calls[-1][0]

    monkeypatch.setattr("imports.jobs.analyze", recording)
    return calls


IMPORTED_TABLES = [
    "tenants_tenant",
    "partners_partnership",
    "partners_partnershipevent",
    "tenants_contact",
    "tenants_auditevent",
]


def test_a_job_refreshes_the_statistics_of_the_tables_it_wrote(
    world, owner_api, small_thresholds, analyzed, django_capture_on_commit_callbacks
):
    since = database_now() if connection.vendor == "postgresql" else None
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(owner_api, FIVE)
    assert response.status_code == 202 and analyzed == []  # not before the job runs
    callbacks[0]()
    if connection.vendor == "postgresql":
        assert analyzed == [(IMPORTED_TABLES, ["done"])]  # after the job's commit
        assert_analyzed_since(IMPORTED_TABLES, since)
    else:
        assert analyzed == [([], ["done"])]  # SQLite: nothing to refresh


def test_a_large_import_written_at_once_refreshes_the_statistics_a_small_one_does_not(
    world, owner_api, analyzed, monkeypatch
):
    monkeypatch.setattr("imports.jobs.ANALYZE_AFTER_ROWS", 3)
    assert upload(owner_api, CUSTOMERS_CSV).status_code == 201  # 2 rows
    assert analyzed == []
    since = database_now() if connection.vendor == "postgresql" else None
    assert upload(owner_api, FIVE).status_code == 201  # 5 rows, written during the request
    assert len(analyzed) == 1 and analyzed[0][1] == []  # no job
    if connection.vendor == "postgresql":
        assert analyzed[0][0] == IMPORTED_TABLES
        assert_analyzed_since(IMPORTED_TABLES, since)
    else:
        assert analyzed[0][0] == []


def api_get(world, user, url):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    client.credentials(HTTP_X_TENANT=str(world.partner.id))
    return client.get(url)


def test_a_large_file_with_errors_is_a_400_and_queues_nothing(world, owner_api, small_thresholds):
    response = upload(owner_api, FIVE + "Gross 1 AG,Thun\n")

    assert response.status_code == 400 and response.json()["errors"][0]["row"] == 7
    assert not ImportJob.unscoped.exists()


def test_a_job_whose_file_no_longer_fits_fails_and_writes_nothing(world):
    job = ImportJob.unscoped.create(
        partner=world.partner,
        kind="contacts",
        content="customer,first_name,last_name\nGone AG,Eva,Roth\n",
        total=1,
        created_by=world.partner_owner,
    )
    before = counts()

    assert tasks.run_import_job(str(job.pk)) == "failed"

    job.refresh_from_db()
    assert job.status == "failed" and job.error.endswith("1 error; nothing was written.")
    assert job.errors == [
        {
            "row": 2,
            "column": "customer",
            "message": "No customer you manage has the name or tax id “Gone AG”.",
        }
    ]
    assert counts() == before and job.content == ""


def test_the_page_sends_a_large_file_to_its_progress_page(
    world, browser, small_thresholds, django_capture_on_commit_callbacks
):
    client = browser(world.partner_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, {"kind": "customers", "file": as_file(FIVE)})

    job = ImportJob.unscoped.get()
    url = reverse("customer_import_job", kwargs={"slug": "alpine", "job_id": job.pk})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "Done: 5 created, 0 updated." in page
    assert "hx-get" not in page  # finished: no more polling


def test_the_progress_page_polls_itself_while_the_job_runs(world, browser):
    job = ImportJob.unscoped.create(
        partner=world.partner,
        kind="customers",
        total=1200,
        processed=500,
        status="running",
        created_by=world.partner_owner,
    )
    url = reverse("customer_import_job", kwargs={"slug": "alpine", "job_id": job.pk})
    client = browser(world.collaborator)

    page = client.get(url)
    partial = client.get(url, HTTP_HX_REQUEST="true")

    for response in (page, partial):
        html = response.content.decode()
        assert f'hx-get="{url}"' in html and 'hx-trigger="every 1s"' in html
        assert "500 of 1200 rows written" in html and 'value="500" max="1200"' in html
    assert "<html" in page.content.decode() and "<html" not in partial.content.decode()
    assert partial["Vary"] and "HX-Request" in partial["Vary"]


@pytest.mark.django_db(transaction=True)
def test_others_see_the_progress_of_a_running_job_but_no_customer_before_the_end(
    world, monkeypatch
):
    monkeypatch.setattr("imports.apply.PROGRESS_EVERY", 2)
    job = ImportJob.unscoped.create(
        partner=world.partner,
        kind="customers",
        content=FIVE,
        total=5,
        created_by=world.partner_owner,
    )
    seen = []
    original = _Progress.__call__

    def look_from_another_connection(self, processed):
        original(self, processed)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT processed, status FROM partners_importjob WHERE id = %s",
                    [job.pk if connection.vendor == "postgresql" else job.pk.hex],
                )
                progress = cursor.fetchone()
                cursor.execute(
                    "SELECT count(*) FROM tenants_tenant WHERE name LIKE %s", ["Gross %"]
                )
                seen.append((*progress, cursor.fetchone()[0]))
        finally:
            other.close()

    monkeypatch.setattr(_Progress, "__call__", look_from_another_connection)

    assert tasks.run_import_job(str(job.pk)) == "done"

    if connection.vendor == "postgresql":
        assert seen == [(2, "running", 0), (4, "running", 0), (5, "running", 0)]
    else:  # SQLite has one writer: the progress shows when the import commits
        assert seen == [(0, "running", 0)] * 3
    assert Tenant.objects.filter(name__startswith="Gross ").count() == 5
    assert ImportJob.unscoped.get(pk=job.pk).processed == 5


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_the_same_moment_create_each_customer_once(world):
    """The second one waits for the first (the partner row is locked) and then
    plans against what the first wrote: it updates."""
    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        try:
            org = ctx(world.partner_owner, world.partner)
            barrier.wait()
            outcomes.append(import_apply(org=org, kind="customers", file=CUSTOMERS_CSV))
        except Exception as exc:  # shown by the assertion below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted((o.created, o.updated) for o in outcomes) == [(0, 2), (2, 0)], outcomes
    assert Tenant.objects.filter(name__in=["Muster AG", "Beispiel GmbH"]).count() == 2
    assert Contact.unscoped.filter(email="anna@muster.ch").count() == 1


# --- isolation --------------------------------------------------------------------------------


def test_another_organizations_job_is_a_404_on_the_page_and_the_api(world, api, browser):
    theirs = ImportJob.unscoped.create(
        partner=world.other_partner, kind="customers", created_by=world.other_owner
    )
    ours = ImportJob.unscoped.create(
        partner=world.partner, kind="customers", created_by=world.partner_owner
    )

    def job_api(job_id):
        return f"{IMPORT}jobs/{job_id}/"

    def job_page(slug, job_id):
        return reverse("customer_import_job", kwargs={"slug": slug, "job_id": job_id})

    alpine = api(world.partner_owner, world.partner)
    assert alpine.get(job_api(ours.pk)).status_code == 200
    assert alpine.get(job_api(theirs.pk)).status_code == 404
    assert alpine.get(job_api(missing_id())).status_code == 404
    assert api(world.other_owner, world.other_partner).get(job_api(ours.pk)).status_code == 404
    assert api(world.customer_owner, world.customer).get(job_api(ours.pk)).status_code == 404
    assert_all_404(browser(world.partner_owner), [job_page("alpine", theirs.pk)], ["get"])
    assert_all_404(browser(world.other_owner), [job_page("rhein", ours.pk)], ["get"])
    # Every page of the import under another organization's slug.
    for slug in ("rhein", "bergmann", "no-such-org"):
        assert_all_404(
            browser(world.partner_owner),
            org_page_urls(imports.urls, slug=slug, job_id=ours.pk),
        )


def test_anonymous_visitors_are_sent_to_sign_in(world, client):
    for url in org_page_urls(imports.urls, slug="alpine", job_id=missing_id()):
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_job_whose_worker_died_is_claimed_again_and_lost_ones_are_swept(world, monkeypatch):
    import datetime

    from django.utils import timezone

    long_ago = timezone.now() - datetime.timedelta(hours=2)
    stale = ImportJob.unscoped.create(
        partner=world.partner,
        kind="customers",
        content=FIVE,
        total=5,
        created_by=world.partner_owner,
        status="running",
        started_at=long_ago,
    )
    live = ImportJob.unscoped.create(
        partner=world.partner,
        kind="customers",
        content=FIVE,
        total=5,
        created_by=world.partner_owner,
        status="running",
        started_at=timezone.now(),
    )
    assert tasks.run_import_job(str(live.pk)) == "skipped"  # a live worker has it

    assert import_jobs_to_retry(now=timezone.now()) == [stale.pk]
    assert tasks.sweep_import_jobs.run() == 1  # eager: re-run at once
    stale.refresh_from_db()
    assert stale.status == "done" and stale.created_count == 5
    assert tasks.sweep_import_jobs.run() == 0
