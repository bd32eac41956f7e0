"""The smart-list CSV export of 100,000 rows against PostgreSQL's `COPY … TO STDOUT`.

Not a test: it prints figures. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \\
        .venv/bin/python bench/export.py                    # database portal_bench_export

PostgreSQL only (COPY). The export has one row per customer the list shows, so
the demo partner Alpine IT is given --rows (100,000) visible customers: the demo
world's own customers plus scale customers (`seed_demo --customers N`, each
with 10 subscriptions, so about a million subscriptions). A smart list with no
filters and all columns is saved for partner.owner@demo.test; then:

- the export: `GET /t/alpine-it/smart-lists/<id>/export.csv` through Django's
  test Client (force_login), the StreamingHttpResponse consumed to the end,
  --runs times after --warmup; the median time. Then one more run under
  tracemalloc (its peak), with ru_maxrss before and after.
- COPY: `COPY (<the export's own SELECT, from smart_list_rows, with the MRR
  divided by 12 and rounded in SQL>) TO STDOUT WITH CSV HEADER` through
  psycopg 3's `cursor.copy()`, every block read; the median time.

It checks that both CSVs hold the same text (line endings aside) and prints the
ratio of the medians (goal <= 3) and the peak memory (goal < 150 MB).
`make bench` (bench/run.py) runs it on the shared scale data set (10,000
customers) with the others.
"""

import argparse
import os
import resource
import sys
import tracemalloc

from benchdb import (
    OWNER_EMAIL,
    PARTNER_SLUG,
    Figure,
    is_postgres,
    run_alone,
    seed,
    timed,
)

RATIO_GOAL = 3.0
MEMORY_GOAL_MB = 150


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="Rows of the export.")
    parser.add_argument("--runs", type=int, default=3, help="Measured exports per figure.")
    parser.add_argument("--warmup", type=int, default=1, help="Unmeasured exports first.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    return parser.parse_args()


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def export(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.streaming
    content = b"".join(response.streaming_content)
    response.close()
    return content


def export_size(client, url: str) -> tuple[int, int]:
    """Consume the stream without keeping it: bytes and lines."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return size, lines


def copy_sql(org, smart_list) -> str:
    """COPY of the export's SELECT: the same query smart_list_rows runs (the
    same customers, annotations and order), the values of the list's columns
    under their CSV labels, the MRR divided by 12 and rounded in SQL."""
    from django.db import connection
    from psycopg import ClientCursor

    from subscriptions import smart_lists

    connection.ensure_connection()
    rows = smart_lists.smart_list_rows(org=org, smart_list=smart_list)
    inner, params = rows.query.sql_with_params()
    inner = ClientCursor(connection.connection).mogrify(inner, params)
    # The inner SELECT's columns: the model's column names, the annotations' aliases.
    expressions = {
        "name": "name",
        "country": "country",
        "current_mrr": "ROUND(current_twelves / 12, 2)",
        "upcoming_mrr": "ROUND(upcoming_twelves / 12, 2)",
        "current_end_date": "current_end_date",
    }
    select = ", ".join(
        f'{expressions[c]} AS "{smart_lists.COLUMN_LABELS[c]}"' for c in smart_list.columns
    )
    # The inner ORDER BY is kept: a plain projection over it keeps its order.
    return f"COPY (SELECT {select} FROM ({inner}) AS export) TO STDOUT WITH CSV HEADER"  # noqa: S608 (the app's own query, mogrified)


def copy_out(statement: str) -> bytes:
    from django.db import connection

    connection.ensure_connection()
    blocks = []
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            blocks.append(bytes(block))
    return b"".join(blocks)


def run(*, runs: int, warmup: int, log=print) -> list[Figure]:
    """On a seeded database: a smart list with no filters and all columns (one row
    per customer the partner's owner sees), exported and `COPY`ed."""
    from django.test import Client
    from django.urls import reverse

    from subscriptions import smart_lists
    from subscriptions.models import SmartList
    from tenants.models import Tenant, User
    from tenants.selectors import org_context_for

    owner = User.objects.get(email=OWNER_EMAIL)
    partner = Tenant.objects.get(slug=PARTNER_SLUG)
    org = org_context_for(user=owner, tenant_id=partner.id)
    # the list of an earlier scale (`make bench --scales`), or a new one
    smart_list = SmartList.unscoped.filter(
        partner=partner, name="Bench: export"
    ).first() or smart_lists.smart_list_create(org=org, name="Bench: export", filters={})
    client = Client()
    client.force_login(owner)
    url = reverse("smart_list_export", args=[PARTNER_SLUG, smart_list.pk])
    rss_before = maxrss_mb()
    export_s, _, (size, lines) = timed(lambda: export_size(client, url), runs, warmup)
    rss_after = maxrss_mb()
    tracemalloc.start()
    export_size(client, url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = peak / 2**20

    statement = copy_sql(org, smart_list)
    copy_s, _, copied = timed(lambda: copy_out(statement), runs, warmup)
    exported = export(client, url)
    equal = exported.replace(b"\r\n", b"\n") == copied
    if not equal:
        for a, b in zip(
            exported.replace(b"\r\n", b"\n").splitlines(), copied.splitlines(), strict=False
        ):
            if a != b:
                log(f"  export: first difference: export {a!r} COPY {b!r}")
                break
    log(
        f"  export: {lines - 1} rows, {size / 2**20:.1f} MB (COPY {len(copied) / 2**20:.1f} MB), "
        f"columns {', '.join(smart_list.columns)}; median of {runs} after {warmup} warm-up; "
        f"ru_maxrss {rss_before:.0f} -> {rss_after:.0f} MB over the untraced exports"
    )
    return [
        # the rows in the log line: one name at every scale (`make bench --scales`)
        Figure("export csv, every customer: s", export_s, copy_s, f"<= {RATIO_GOAL:g}", digits=2),
        Figure(
            "export csv: peak memory MB",
            max(peak_mb, rss_after - rss_before),
            None,
            f"< {MEMORY_GOAL_MB}",
        ),
        Figure("export csv = COPY text", equal, None, "true"),
    ]


def main() -> int:
    args = parse_args()
    if not is_postgres(os.environ.get("DATABASE_URL", "")):
        sys.exit(
            "bench/export.py: PostgreSQL only (it compares with COPY … TO STDOUT); set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal"
        )

    def measure(_url: str) -> list[Figure]:
        from partners.selectors import customers_visible_to
        from tenants.models import Tenant, User
        from tenants.selectors import org_context_for

        seed(0)
        owner = User.objects.get(email=OWNER_EMAIL)
        partner = Tenant.objects.get(slug=PARTNER_SLUG)
        org = org_context_for(user=owner, tenant_id=partner.id)
        demo_customers = customers_visible_to(org=org).count()
        scale = args.rows - demo_customers
        print(
            f"seeded {scale} scale customers (+{demo_customers} demo customers) "
            f"in {seed(scale):.1f}s"
        )
        return run(runs=args.runs, warmup=args.warmup)

    return run_alone("bench_export", keep=args.keep, measure=measure)


if __name__ == "__main__":
    sys.exit(main())
