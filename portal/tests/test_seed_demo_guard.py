"""seed_demo beside a real install (issue 22): refused under production
settings; on an install `setup_platform` made, the demo hangs under its provider."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.demo import seed_demo
from tenants.models import Tenant, User
from tenants.selectors import provider_root

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_production_settings(settings):
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="production settings"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def test_seed_demo_hangs_the_demo_under_the_installs_provider():
    call_command(
        "setup_platform",
        name="Acme Cloud",
        currency="CHF",
        admin_email="ops@acme.test",
        stdout=io.StringIO(),
    )
    seed_demo()
    assert Tenant.objects.filter(kind=Tenant.Kind.PROVIDER).count() == 1
    assert Tenant.objects.get(slug="alpine-it").parent == provider_root()
