"""Named screenshots of the busiest pages at 1280 and 375 px, for comparing a
layout before and after a change (docs/ux.md).

    SCREENSHOTS=before .venv/bin/python -m pytest -q -p no:cacheprovider e2e/test_screenshots.py

saves `tests/artifacts/screenshots/<label>/<page>-<width>.png` (the label from
$SCREENSHOTS, by default `latest`; the folder is CI's artefacts folder, e2e/README.md),
viewport only. `scripts/ux_screens.py <label>` copies them, compressed, to docs/ux/.
"""

import os

import pytest

from e2e.conftest import ROOT

WIDTHS = (1280, 375)
HEIGHTS = {1280: 800, 375: 812}
FOLDER = ROOT / "tests" / "artifacts" / "screenshots"


def _customer_page() -> str:
    from tenants.models import Tenant

    return f"/t/alpine-it/customers/{Tenant.objects.get(slug='baeckerei-mueller').pk}/"


def _offer_page() -> str:
    """The demo partner's offer with the most items: its price table is the widest."""
    from django.db.models import Count

    from offers.models import Offer

    offer = (
        Offer.unscoped.filter(partner__slug="alpine-it")
        .annotate(n=Count("items"))
        .order_by("-n", "created_at")
        .first()
    )
    return f"/t/alpine-it/offers/{offer.pk}/"


PARTNER, CUSTOMER = "partner.owner@demo.test", "customer.owner@demo.test"
# (name, signed in as, url, the part below the fold also shot as <name>-<width>-detail.png)
PAGES = [
    ("partner-dashboard", PARTNER, "/t/alpine-it/", ".mrr-chart"),
    ("customers", PARTNER, "/t/alpine-it/customers/", "table"),
    ("customer-page", PARTNER, _customer_page, ".mrr-chart"),
    ("offer", PARTNER, _offer_page, "table.waterfall"),
    ("mrr-movements", PARTNER, "/t/alpine-it/mrr/movements/", "table"),
    ("customer-overview", CUSTOMER, "/t/baeckerei-mueller/", ".mrr-chart"),
]


def label() -> str:
    return os.environ.get("SCREENSHOTS", "latest")


@pytest.mark.parametrize("width", WIDTHS)
def test_capture_busiest_pages(width, demo, new_tab, as_user, step):
    folder = FOLDER / label()
    folder.mkdir(parents=True, exist_ok=True)
    tab = new_tab(width=width, height=HEIGHTS[width])
    signed_in = None
    for name, email, url, detail in PAGES:
        with step(f"{name} at {width}", on=tab):
            if email != signed_in:
                as_user(email, tab)
                signed_in = email
            response = tab.goto(url() if callable(url) else url)
            assert response is not None and response.status == 200, (name, response)
            tab.wait_for_load_state("networkidle")  # htmx has loaded the page's parts
            path = folder / f"{name}-{width}.png"
            tab.screenshot(path=str(path))
            assert path.stat().st_size > 0
            part = tab.locator(detail).first
            part.scroll_into_view_if_needed()
            tab.evaluate("() => window.scrollBy(0, -80)")  # a little of what comes before
            tab.screenshot(path=str(folder / f"{name}-{width}-detail.png"))
