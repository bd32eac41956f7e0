"""The emails of contracts, queued in the outbox inside the write's transaction
(tenants.emails.notify), keyed so each leaves once."""

from decimal import Decimal

from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from customers.models import Contract
from tenants.emails import notify
from tenants.models import Tenant
from tenants.selectors import owners_and_admins


def block_low_notify(*, partner: Tenant, contract: Contract, balance: Decimal, key: str) -> None:
    """To the partner's owners and admins: a prepaid block fell below its
    warning threshold (once per crossing: `key` is the crossing's audit event)."""
    owners = owners_and_admins(partner)
    customer = contract.customer
    unit = "h" if contract.type == Contract.Type.BLOCK_OF_HOURS else customer.currency
    notify(
        key=f"contract-block-low:{key}",
        users=owners,
        subject=format_lazy(
            _("{customer}: the block “{contract}” is running low"),
            customer=customer.name,
            contract=contract.name,
        ),
        lines=[
            format_lazy(
                _(
                    "The balance of “{contract}” is {balance} {unit}, below your threshold of {threshold} {unit}."
                ),
                contract=contract.name,
                balance=balance,
                threshold=contract.warning_threshold,
                unit=unit,
            ),
            _("Top it up, or time beyond the block is billed at the hourly rate."),
        ],
        url=reverse(
            "customer_contract",
            kwargs={"slug": partner.slug, "customer_id": customer.pk, "contract_id": contract.pk},
        ),
        label=_("View the contract"),
    )
