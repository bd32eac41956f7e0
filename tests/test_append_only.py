"""One AppendOnly (tenants.models) for every record of what happened: a row is
written once, and neither one by one nor in bulk can it be edited or deleted."""

import pytest
from django.apps import apps

from tenants.models import AppendOnly

APPEND_ONLY = {
    "tenants.AuditEvent",
    "partners.PartnershipEvent",
    "billing.Invoice",
    "billing.CashbackEntry",
    "upsell.UpsellChange",
    "subscriptions.SubscriptionChange",
    "resale.PartnerInvoice",
    "resale.PartnerInvoiceLine",
}


def append_only_models():
    return [m for m in apps.get_models() if issubclass(m, AppendOnly)]


def test_every_record_of_what_happened_is_append_only_through_the_one_class():
    assert {m._meta.label for m in append_only_models()} == APPEND_ONLY


@pytest.mark.parametrize("label", sorted(APPEND_ONLY))
def test_no_bulk_path_edits_or_deletes_a_row(label):
    model = apps.get_model(label)
    with pytest.raises(ValueError, match="cannot be edited"):
        model._default_manager.all().update(pk=None)
    with pytest.raises(ValueError, match="cannot be deleted"):
        model._default_manager.all().delete()


@pytest.mark.parametrize("label", sorted(APPEND_ONLY))
def test_a_saved_row_cannot_be_saved_again_or_deleted(label):
    row = apps.get_model(label)()
    row._state.adding = False  # as if loaded from the database
    with pytest.raises(ValueError, match="cannot be edited"):
        row.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        row.delete()
