"""Existing contracts keep billing what they said (docs/partner-billing.md,
"Contracts that bill"): remote monitoring and online backup had a monthly `fee`,
now a count times a unit price (1 times the fee, the same monthly amount); a one-time
project bills on its start; every contract gets its first terms version,
effective from its start. A block of money had no hourly rate: it keeps none
(its time entries are refused until one is set, never guessed)."""

from decimal import Decimal

from django.db import migrations

COUNTED = ("remote_monitoring", "online_backup")
TERMS = ("fee", "hourly_rate", "unit_price", "quantity", "amount")


def forwards(apps, schema_editor):
    Contract = apps.get_model("customers", "Contract")
    ContractTerms = apps.get_model("customers", "ContractTerms")
    terms = []
    for contract in Contract.unscoped.all().iterator():
        changed = []
        if contract.type in COUNTED and contract.fee is not None:
            contract.unit_price, contract.quantity, contract.fee = contract.fee, Decimal("1"), None
            changed += ["unit_price", "quantity", "fee"]
        if contract.type == "project_one_time" and contract.bills_on is None:
            contract.bills_on = contract.starts_on
            changed.append("bills_on")
        if changed:
            contract.save(update_fields=changed)
        terms.append(
            ContractTerms(
                contract=contract,
                effective_from=contract.starts_on,
                **{name: getattr(contract, name) for name in TERMS},
            )
        )
    ContractTerms.unscoped.bulk_create(terms, batch_size=1000)


def backwards(apps, schema_editor):
    Contract = apps.get_model("customers", "Contract")
    for contract in Contract.unscoped.filter(type__in=COUNTED).iterator():
        if contract.unit_price is not None:
            contract.fee = (contract.unit_price * (contract.quantity or 1)).quantize(Decimal("0.01"))
            contract.save(update_fields=["fee"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_contracts_that_bill")]

    operations = [migrations.RunPython(forwards, backwards)]
