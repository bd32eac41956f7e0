"""The operator's journey of issue 22, in Chromium, on a fresh install with no
demo data: `setup_platform`, the first admin sets a password from the printed
link, opens the provider console and invites a partner, whose owner sets a
password from the emailed link and lands in the partner console; then the
admin sets the partner's discount in % on its page and moves it under another
partner, after a preview of what moves."""

import io
import re

from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import link_in, mail_to, sign_in
from tenants.models import Tenant, User

ADMIN = "ops@acme.test"
OWNER = "boss@ticino.test"
NEW_PASSWORD = "Kr4nz-und-Torte-2026"


def choose_password(tab, link: str) -> None:
    tab.goto(link)
    tab.get_by_label(re.compile(r"^New Password:?$")).fill(NEW_PASSWORD)
    tab.get_by_label(re.compile(r"^New Password \(again\):?$")).fill(NEW_PASSWORD)
    tab.get_by_role("button", name="Change Password").click()
    expect(tab.get_by_role("heading", level=1)).not_to_have_text("Change Password")


def sign_in_with_new_password(tab, email: str) -> None:
    """allauth may sign the person in after the change; if not, the login page."""
    tab.goto("/accounts/login/")
    if tab.get_by_role("heading", level=1).inner_text() == "Sign in":
        sign_in(tab, email, NEW_PASSWORD)


def test_operator_sets_up_the_platform_and_invites_a_partner(transactional_db, page, new_tab, step):
    with step("before setup_platform there is no account: the console asks to sign in"):
        page.goto("/provider/partners/")
        # anonymous: the sign-in page; there is no account yet at all
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        assert not User.objects.exists()

    with step("the operator runs setup_platform and opens the printed link"):
        out = io.StringIO()
        call_command(
            "setup_platform", name="Acme Cloud", currency="CHF", admin_email=ADMIN, stdout=out
        )
        link = next(
            line.strip() for line in out.getvalue().splitlines() if "/password/reset/key/" in line
        )
        assert link_in(mail_to(ADMIN)[0], "/accounts/password/reset/key/")
        choose_password(page, link)
        sign_in_with_new_password(page, ADMIN)

    with step("the first admin opens the provider console"):
        page.get_by_role("link", name="Provider console").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Partners")
        expect(page.get_by_role("table")).to_contain_text("No partner yet.")

    with step("the first admin invites a partner"):
        page.get_by_role("link", name="Invite a partner").click()
        page.get_by_label("Partner name").fill("Ticino Cloud")
        page.get_by_label("Owner's email").fill(OWNER)
        page.get_by_label("Currency").select_option("EUR")
        page.get_by_label("Discount (%)").fill("25")
        page.get_by_role("button", name="Create and invite").click()
        expect(page.get_by_role("status")).to_contain_text("Ticino Cloud was created")
        row = page.get_by_role("row").filter(has_text="Ticino Cloud")
        expect(row).to_contain_text("EUR 0.00")
        expect(row).to_contain_text("25 %")
        expect(row).to_contain_text("Active")

    owner = new_tab()
    with step("the partner's owner sets a password and lands in the partner console", on=owner):
        [invitation] = mail_to(OWNER)
        choose_password(owner, link_in(invitation, "/accounts/password/reset/key/"))
        sign_in_with_new_password(owner, OWNER)
        expect(owner.get_by_role("heading", level=1)).to_contain_text("Ticino Cloud")
        owner.goto("/provider/partners/")
        expect(owner.get_by_role("heading", level=1)).not_to_have_text("Partners")
    assert Tenant.objects.get(name="Ticino Cloud").parent.name == "Acme Cloud"

    with step("the admin sets Ticino Cloud's discount in % on its page"):
        page.goto("/provider/partners/")
        page.get_by_role("link", name="Ticino Cloud").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Ticino Cloud")
        page.get_by_label("Discount (%)").fill("27.5")
        page.get_by_role("button", name="Save the discount").click()
        expect(page.get_by_role("status")).to_contain_text("The discount of Ticino Cloud is 27.5 %")
        expect(page.get_by_role("definition").filter(has_text="27.5 %")).to_be_visible()

    with step("the admin invites a second partner, then previews moving Ticino Cloud under it"):
        page.goto("/provider/partners/new/")
        page.get_by_label("Partner name").fill("Bellinzona IT")
        page.get_by_label("Owner's email").fill("capo@bellinzona.test")
        page.get_by_role("button", name="Create and invite").click()
        page.get_by_role("link", name="Ticino Cloud").click()
        page.get_by_role("link", name="Move in the tree").click()
        page.get_by_label("Move under").select_option(label="Bellinzona IT")
        page.get_by_role("button", name="Preview the move").click()
        preview = page.get_by_role("region", name="Ticino Cloud: from Acme Cloud to Bellinzona IT")
        expect(preview).to_contain_text("Sub-partners that move with it")
        expect(preview).to_contain_text(
            "Start counting the branch in their sub-tree figures: Bellinzona IT"
        )
        assert Tenant.objects.get(name="Ticino Cloud").parent.name == "Acme Cloud"

    with step("the admin confirms the move"):
        page.get_by_role("button", name="Confirm the move").click()
        expect(page.get_by_role("status")).to_contain_text(
            "Ticino Cloud now hangs under Bellinzona IT"
        )
        expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text(
            "Sub-partner of Bellinzona IT"
        )
    assert Tenant.objects.get(name="Ticino Cloud").parent.name == "Bellinzona IT"
