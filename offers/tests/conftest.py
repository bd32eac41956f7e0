"""Offers fixtures: the billing products and grants, and a template of Alpine IT."""

import pytest

from billing.tests.conftest import grant, hosting, mailbox, org  # noqa: F401 (fixtures)
from offers import services


@pytest.fixture
def template(world, hosting, mailbox):  # noqa: F811 (the fixtures imported above)
    """Alpine IT's "Starter pack": 35 hostings absolute, 5 mailboxes relative, 12 months."""
    ctx = org(world.partner_owner, world.partner)
    template = services.template_create(org=ctx, name="Starter pack")
    services.template_item_add(
        org=ctx,
        template=template,
        product=hosting,
        quantity=35,
        license_mode="absolute",
        term_months=12,
    )
    services.template_item_add(
        org=ctx,
        template=template,
        product=mailbox,
        quantity=5,
        license_mode="relative",
        term_months=12,
    )
    return template
