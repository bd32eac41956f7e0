"""Issue 24, item 5: "Your sessions" as a person uses it in Chromium.

The partner owner signs in on a phone (375 px) and on a laptop; the phone's
profile lists both, this one marked; "End" on the laptop's row signs the laptop
out, which lands on the sign-in page at its next click; the page fits the phone.
"""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import sign_in
from e2e.test_mfa import OWNER, PASSWORD, assert_fits

PHONE_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def sessions_tracked(settings):
    """The test settings leave session activity untracked (a page's pinned
    statement count would include its first write); these tests track it, as
    production does (base.py)."""
    settings.USERSESSIONS_TRACK_ACTIVITY = True


def test_ending_the_laptops_session_from_the_phone_signs_the_laptop_out(demo, new_tab):
    laptop = new_tab()
    phone = new_tab(width=375, height=800)
    phone.context.set_extra_http_headers({"User-Agent": PHONE_AGENT})
    step = phone.steps

    with step("the partner owner signs in on the laptop and on the phone"):
        sign_in(laptop, OWNER, PASSWORD)
        laptop.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))
        laptop.goto("/profile/")
        sign_in(phone, OWNER, PASSWORD)
        phone.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))
        phone.goto("/profile/#sessions")

    with step("the phone lists both sessions, this one first"):
        sessions = phone.locator("#sessions")
        expect(sessions.get_by_role("heading", name="Your sessions")).to_be_visible()
        rows = sessions.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Safari on iOS")
        expect(rows.first).to_contain_text("this session")
        expect(rows.nth(1)).to_contain_text("Chrome on Linux")
        assert_fits(phone)

    with step("the phone ends the laptop's session"):
        rows.nth(1).get_by_role("button", name="End").click()
        expect(phone.get_by_text("The session is ended")).to_be_visible()
        expect(phone.locator("#sessions tbody tr")).to_have_count(1)
        assert_fits(phone)

    with step("the laptop is signed out"):
        laptop.reload()
        expect(laptop).to_have_url(re.compile(r".*/accounts/login/.*"))
