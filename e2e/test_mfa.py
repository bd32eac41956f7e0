"""Issue 24: two-factor authentication as a person goes through it in Chromium.

1. A partner owner whose organization requires MFA signs in, is held on their
   profile, sets up an authenticator app (the test computes the app's codes with
   allauth's own TOTP helper, as an app does from the secret), keeps the
   recovery codes, signs out, signs in with a code, then with a recovery code.
2. A passkey, with Chromium's virtual authenticator (DevTools' WebAuthn
   domain): added on the profile, then it alone signs in.
Both at 375 px wide as well: nothing on the pages is wider than the phone.
"""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from e2e.conftest import sign_in, sign_out
from e2e.test_accessibility import BLOCKING, axe_violations

PASSWORD = "demo-pass-2026"  # portal.demo.DEMO_PASSWORD
OWNER = "partner.owner@demo.test"


@pytest.fixture
def strict(settings):
    """The production policy (partners require MFA); a code of the next 30-second
    window is accepted too, so that the sign-in's code is never the one just
    used to activate the app (allauth refuses a code twice)."""
    settings.MFA_REQUIRED_FOR_PARTNERS = True
    settings.MFA_TOTP_TOLERANCE = 1


def code_of(secret: str, step: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step))


def confirm_password_if_asked(page: Page) -> None:
    """allauth asks for the password again before a factor is added."""
    if "/accounts/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()


def assert_fits(page: Page, width: int = 375) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"{page.url} is {overflow} px wide at {width} px"


def test_authenticator_app_enrolment_sign_in_with_a_code_then_a_recovery_code(
    demo, strict, new_tab
):
    page = new_tab(width=375, height=800)
    step = page.steps

    with step("the partner owner signs in and is held on the profile"):
        sign_in(page, OWNER, PASSWORD)
        page.wait_for_url("**/profile/#two-factor")
        expect(page.get_by_role("alert")).to_contain_text(
            "Your organization requires two-factor authentication"
        )
        page.goto("/t/alpine-it/customers/")
        assert page.url.endswith("/profile/#two-factor")  # nothing else opens
        assert_fits(page)

    with step("sets up an authenticator app"):
        page.get_by_role("button", name="Set up an authenticator app").click()
        confirm_password_if_asked(page)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Authenticator App")
        assert_fits(page)
        secret = page.locator("#authenticator_secret").input_value()
        page.get_by_label("Authenticator code").fill(code_of(secret))
        page.get_by_role("button", name="Activate").click()

    with step("keeps the recovery codes"):
        expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery Codes")
        codes = page.locator("#recovery_codes").input_value().split()
        assert len(codes) == 10
        assert_fits(page)
        page.goto("/t/alpine-it/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Alpine IT")

    with step("signs out and in again: the password, then the app's code"):
        sign_out(page)
        sign_in(page, OWNER, PASSWORD)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Two-factor authentication")
        page.get_by_placeholder("Code").fill("000000")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_text("Incorrect code.")).to_be_visible()
        page.get_by_placeholder("Code").fill(code_of(secret, step=1))
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Alpine IT")

    with step("signs in with a recovery code, which then is used up"):
        sign_out(page)
        sign_in(page, OWNER, PASSWORD)
        page.get_by_placeholder("Code").fill(codes[0])
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Alpine IT")
        page.goto("/profile/")
        expect(page.locator("#two-factor")).to_contain_text("9 unused recovery codes left")
        assert_fits(page)

    with step("the members page shows who has two-factor authentication"):
        page.goto("/t/alpine-it/members/")
        row = page.get_by_role("row").filter(has_text=OWNER)
        expect(row).to_contain_text("on")


def test_a_passkey_added_on_the_profile_signs_in_alone(demo, strict, new_tab):
    page = new_tab(width=375, height=800)
    step = page.steps
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )

    with step("the partner owner adds a passkey"):
        sign_in(page, OWNER, PASSWORD)
        page.wait_for_url("**/profile/#two-factor")
        page.get_by_role("button", name="Add a passkey").click()
        confirm_password_if_asked(page)
        assert_fits(page)
        page.get_by_label("Passwordless").check()
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery Codes")

    with step("the passkey is listed on the profile"):
        page.goto("/profile/")
        expect(page.locator("#two-factor")).to_contain_text("You have 1 passkey or security key.")
        expect(page.locator("#two-factor")).to_contain_text("(signs in without a password)")

    with step("signs out and in with the passkey alone"):
        sign_out(page)
        page.goto("/accounts/login/")
        page.get_by_role("button", name="Use a passkey").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Alpine IT")
        # the one credential on the authenticator is the one that signed in
        (credential,) = devtools.send(
            "WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]}
        )["credentials"]
        assert credential["isResidentCredential"] and credential["signCount"] >= 2


def test_the_two_factor_pages_pass_axe(demo, new_tab, as_user):
    tab = new_tab(bypass_csp=True)  # axe is added as an inline script
    as_user(OWNER, tab)
    tab.goto("/accounts/reauthenticate/")  # the factor pages ask for it first
    confirm_password_if_asked(tab)
    problems = []
    for url in (
        "/profile/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/2fa/webauthn/add/",
        "/t/alpine-it/members/",
        "/t/alpine-it/organization/",
    ):
        tab.goto(url)
        assert tab.url.endswith(url), tab.url
        problems += [
            f"{url}: {v['impact']} {v['id']} ({v['help']})"
            for v in axe_violations(tab)
            if v["impact"] in BLOCKING
        ]
    assert not problems, "\n".join(problems)
