"""How the bulk import scales: a 10,000-row customers file through import_plan
and import_apply, timed, and its peak memory (tracemalloc). Goal: under 200 MB.

Not a test: it prints figures.

    DJANGO_SETTINGS_MODULE=portal.settings.dev .venv/bin/python bench/import_customers.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
        .venv/bin/python bench/import_customers.py      # PostgreSQL, database portal_import_bench

On PostgreSQL the database `<name>_import_bench` is created afresh and dropped at
the end (unless --keep); on SQLite a temp file is used. Two partners get the same
file: the first run is timed, the second is measured with tracemalloc on (which
slows Python down, so its time is not the figure). Each partner then uploads the
file again (every row matches: updates, nothing written), and once more with
every city changed (every row updated through the services).
"""

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

from benchdb import bench_database

ROOT = Path(__file__).resolve().parent.parent
PEAK_GOAL_MB = 200


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="Rows in the file.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def customers_file(rows: int, city: str = "Bern") -> bytes:
    """Every column filled, as a partner's export would be; UTF-8 with a BOM and `;`."""
    from partners.imports import KINDS

    columns = KINDS["customers"].column_names
    lines = [";".join(columns)]
    for n in range(1, rows + 1):
        values = {
            "name": f"Kunde {n:05d} AG",
            "rank": "Gold" if n % 3 else "Silver",
            "email_domains": f"kunde{n}.ch",
            "tax_id": f"CHE-{n:09d}",
            "phone": "+41 31 123 45 67",
            "fax": "",
            "address": f"Bahnhofstrasse {n}",
            "city": city,
            "state": "BE",
            "postal_code": "3011",
            "country": "CH",
            "currency": "CHF",
            "contact_first_name": "Anna",
            "contact_last_name": f"Muster {n}",
            "contact_email": f"anna@kunde{n}.ch",
            "contact_phone": "+41 79 123 45 67",
        }
        lines.append(";".join(values[c] for c in columns))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def run_import(org, content: bytes, *, trace: bool) -> dict:
    """import_plan, then import_apply (which plans again inside its transaction)."""
    from django.db import connection

    from partners.imports import import_apply, import_plan

    counter = QueryCounter()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        plan = import_plan(org=org, kind="customers", file=content)
        planned = time.perf_counter()
        assert not plan.errors, plan.errors[:5]
        result = import_apply(org=org, kind="customers", file=content)
    finished = time.perf_counter()
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "plan_s": planned - started,
        "apply_s": finished - planned,
        "total_s": finished - started,
        "queries": counter.count,
        "created": result.created,
        "updated": result.updated,
        "peak_mb": peak / 1024 / 1024 if peak is not None else None,
    }


def main():
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    os.environ.setdefault("DEBUG", "false")  # as in production: no query log in memory
    url, remove = bench_database("import_bench")
    os.environ["DATABASE_URL"] = url
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from tenants.models import Membership, Role, Tenant, User
        from tenants.selectors import org_context_for
        from tenants.services import tenant_create

        call_command("migrate", verbosity=0)
        provider = tenant_create(kind=Tenant.Kind.PROVIDER, name="Provider", parent=None)
        orgs = []
        for name in ("Timed Partner", "Traced Partner"):
            partner = tenant_create(kind=Tenant.Kind.PARTNER, name=name, parent=provider)
            user = User.objects.create_user(email=f"owner@{partner.slug}.test", password=None)
            Membership.objects.create(user=user, tenant=partner, role=Role.OWNER)
            orgs.append(org_context_for(user=user, tenant_id=partner.pk))

        first = customers_file(args.rows)
        changed = customers_file(args.rows, city="Thun")
        print(f"database: {connection.vendor} · settings: {os.environ['DJANGO_SETTINGS_MODULE']}")
        print(f"file: {args.rows:,} rows, {len(first) / 1024 / 1024:.1f} MB (every column filled)")
        print()
        print(f"{'run':<34}{'plan s':>8}{'apply s':>9}{'total s':>9}{'queries':>9}{'peak MB':>9}")
        for label, content in (
            ("first upload (all created)", first),
            ("same file again (no change)", first),
            ("every city changed (all updated)", changed),
        ):
            timed = run_import(orgs[0], content, trace=False)
            traced = run_import(orgs[1], content, trace=True)
            assert (timed["created"], timed["updated"]) == (traced["created"], traced["updated"])
            print(
                f"{label:<34}{timed['plan_s']:>8.1f}{timed['apply_s']:>9.1f}"
                f"{timed['total_s']:>9.1f}{timed['queries']:>9,}{traced['peak_mb']:>9.1f}"
                f"   created {timed['created']:,}, updated {timed['updated']:,}"
            )
            if traced["peak_mb"] >= PEAK_GOAL_MB:
                print(f"  !! peak memory above the {PEAK_GOAL_MB} MB goal")
        customers = Tenant.objects.filter(kind=Tenant.Kind.CUSTOMER).count()
        print()
        print(f"customers in the database: {customers:,} (expected {2 * args.rows:,})")
        connection.close()
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            remove()


if __name__ == "__main__":
    main()
