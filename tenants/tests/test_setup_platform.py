"""`manage.py setup_platform` and a fresh install before it (SPEC §2 "Operator
set-up", issue 22): one provider, made once; until then a clear 409 or page."""

import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from core.exceptions import PlatformNotSetUp
from tenants.models import Membership, Role, Tenant, User
from tenants.selectors import provider_root
from tenants.tests.factories import ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db

SETUP = {"name": "Acme Cloud", "currency": "CHF", "admin_email": "Ops@Acme.test"}


def setup(**options) -> str:
    out = io.StringIO()
    call_command("setup_platform", stdout=out, **{**SETUP, **options})
    return out.getvalue()


def test_setup_platform_creates_the_provider_and_an_invited_first_admin(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        out = setup(
            legal_address="Bahnhofstrasse 1, 8001 Zürich", vat_number="CHE-123.456.788 MWST"
        )
    provider = provider_root()
    assert (provider.name, provider.currency, provider.parent) == ("Acme Cloud", "CHF", None)
    assert provider.address == "Bahnhofstrasse 1, 8001 Zürich"
    assert provider.vat_number == "CHE-123.456.788 MWST"
    admin = User.objects.get(email="ops@acme.test")
    assert admin.is_staff and admin.is_superuser and not admin.has_usable_password()
    membership = Membership.unscoped.get(user=admin)
    assert (membership.tenant, membership.role) == (provider, Role.OWNER)
    # the set-password link, printed and emailed (allauth's reset-from-key URL)
    link = next(
        line.strip() for line in out.splitlines() if "/accounts/password/reset/key/" in line
    )
    assert link.startswith("https://portal.example.test/accounts/password/reset/key/")
    (email,) = mail.outbox
    assert email.to == ["ops@acme.test"]
    assert "/accounts/password/reset/key/" in email.body
    # the printed link works: it opens allauth's set-password form
    page = Client().get(link.removeprefix("https://portal.example.test"), follow=True)
    assert page.status_code == 200 and b"password1" in page.content


def test_a_second_run_changes_nothing_and_says_so(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        setup()
    before = (list(Tenant.objects.values()), list(User.objects.values()))
    with django_capture_on_commit_callbacks(execute=True):
        out = setup()
    assert "Already set up" in out and "Nothing changed" in out
    assert (list(Tenant.objects.values()), list(User.objects.values())) == before
    assert len(mail.outbox) == 1  # no second invitation


@pytest.mark.parametrize(
    "options, message",
    [
        ({"name": "Other Cloud"}, "set up already, as “Acme Cloud”"),
        ({"currency": "EUR"}, "set up already, in CHF"),
        ({"admin_email": "someone@else.test"}, "another first admin"),
    ],
)
def test_a_run_with_other_values_is_refused_and_changes_nothing(options, message):
    setup()
    with pytest.raises(CommandError, match=message):
        setup(**options)
    assert Tenant.objects.count() == 1
    assert not User.objects.filter(email="someone@else.test").exists()


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError):
        setup(currency="USD")
    with pytest.raises(CommandError, match="valid email"):
        setup(admin_email="not-an-address")
    assert not Tenant.objects.exists() and not User.objects.exists()


def test_the_database_allows_one_provider():
    ProviderFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderFactory(name="A second root")


def test_an_existing_account_becomes_staff_and_keeps_its_password():
    UserFactory(email="ops@acme.test")
    out = setup()
    admin = User.objects.get(email="ops@acme.test")
    assert admin.is_staff and admin.has_usable_password()
    assert "/accounts/password/reset/key/" not in out and "/accounts/login/" in out


# --- a fresh install, before setup_platform: a clear error, never a 500 ---


def test_provider_root_raises_a_clear_error_before_setup():
    with pytest.raises(PlatformNotSetUp, match="setup_platform"):
        provider_root()


def test_the_api_answers_409_naming_the_command_before_setup(api):
    staff = UserFactory(is_staff=True, is_superuser=True)
    response = api(staff).post(
        "/api/v1/partners/", {"name": "Ticino Cloud", "owner_email": "boss@ticino.test"}
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert "setup_platform" in response.json()["detail"]
    assert not Tenant.objects.exists() and not User.objects.filter(email="boss@ticino.test")


def test_staff_in_the_browser_see_what_to_run_before_setup(client):
    client.force_login(UserFactory(is_staff=True))
    page = client.get(reverse("home"))
    assert page.status_code == 409
    assert b"setup_platform --name" in page.content


def test_after_setup_the_first_admin_creates_partners(api):
    setup()
    admin = User.objects.get(email="ops@acme.test")
    response = api(admin).post(
        "/api/v1/partners/", {"name": "Ticino Cloud", "owner_email": "boss@ticino.test"}
    )
    assert response.status_code == 201, response.content
    assert Tenant.objects.get(name="Ticino Cloud").parent == provider_root()
