"""Invoices for the programme's tests: orders placed through the billing
services (the programme counts only what was invoiced, SPEC §7 rev. 2)."""

from billing.models import Order
from billing.services.orders import LineRequest, order_place
from tenants.selectors import org_context_for


def invoiced(world, product, quantity, *, by=None, tenant=None) -> Order:
    """An order of `quantity` x `product` for world.customer, placed now by the
    partner's owner (or `by` in `tenant`), invoiced to its payer."""
    org = org_context_for(user=by or world.partner_owner, tenant_id=(tenant or world.partner).pk)
    return order_place(
        org=org, customer_id=world.customer.pk, lines=[LineRequest(product, quantity)]
    )
