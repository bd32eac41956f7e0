"""The provider console's platform pages in Chromium, on the demo world: staff
read the platform's MRR and a month's movements by partner, withdraw a request
for offers with a reason (the partner no longer sees it, the poster is told
why), then find the withdrawal in the audit log and export it as CSV."""

from pathlib import Path

from playwright.sync_api import expect

from e2e.conftest import mail_to

TITLE = "Backup for 12 workstations and a NAS"
REASON = "Duplicate of a request already answered."


def test_staff_read_the_mrr_moderate_a_request_and_export_the_audit_log(
    demo, page, new_tab, as_user, step
):
    partner = new_tab()
    as_user("partner.owner@demo.test", partner)
    with step("the partner sees the open request", on=partner):
        partner.goto("/t/alpine-it/tenders/")
        expect(partner.get_by_role("main")).to_contain_text(TITLE)

    as_user("staff@demo.test", page)
    with step("staff read the platform's MRR and a month's movements by partner"):
        page.goto("/provider/partners/")
        page.get_by_role("link", name="Platform MRR").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Platform MRR")
        expect(page.get_by_role("heading", level=2).first).to_contain_text("CHF: MRR today")
        month = page.get_by_role("row").nth(2).get_by_role("link")
        label = month.inner_text()
        month.click()
        expect(page.get_by_role("heading", name=f"Movements by partner in {label}")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text="Alpine IT").first).to_be_visible()

    with step("staff withdraw the request with a reason"):
        page.get_by_role("link", name="Requests for offers").click()
        request = page.get_by_role("article").filter(has_text=TITLE)
        request.get_by_label("Reason, sent to the poster").fill(REASON)
        request.get_by_role("button", name=f"Withdraw “{TITLE}”").click()
        expect(page.get_by_role("status")).to_contain_text(f"“{TITLE}” was withdrawn.")
        expect(page.get_by_role("article").filter(has_text=TITLE)).to_contain_text(
            f"Withdrawn: {REASON}"
        )

    with step("the partner no longer sees it; the poster is told why", on=partner):
        partner.reload()
        expect(partner.get_by_role("main")).not_to_contain_text(TITLE)
        [told] = [m for m in mail_to("rossi.owner@demo.test") if "withdrawn" in m.subject]
        assert REASON in told.body

    with step("staff find the withdrawal in the audit log and export it"):
        page.get_by_role("link", name="Audit log").click()
        page.get_by_label("Action").select_option("tender.withdrawn")
        page.get_by_role("button", name="Filter").click()
        rows = page.get_by_role("row").filter(has_text="Request for offers withdrawn")
        expect(rows).to_have_count(2)  # the provider's log and Studio Rossi's
        with page.expect_download() as download:
            page.get_by_role("button", name="Export as CSV").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        lines = text.strip().splitlines()
        assert lines[0].startswith("at,organization,organization_id,action")
        assert len(lines) == 3 and all("tender.withdrawn" in line for line in lines[1:])
        assert all(TITLE in line and "staff@demo.test" in line for line in lines[1:])
