"""Staff's special prices (SPEC §4 rev. 2: "A price sent by a client is refused
(400), except from staff, whose special prices are recorded in the audit log").

Only platform staff may give an order line a unit price of its own, and only
with a reason. The special price replaces the public unit price of that line
(after the degressive tier: the tier does not apply on top of it); the rest
of SPEC §7 holds as for any order (the partner's discount for a partner that
pays, the cashback, the invoice to the payer). The order's lines keep the
reason (`OrderLine.price_reason`: the order and its invoice show the line as
a special price), and the audit log of the customer, and of the payer when
another organization pays, records per line the price the rules gave
(`before`), the special one (`after`) and the reason, in the order's
transaction. The price holds for that order: a renewal prices by the rules.
"""

from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.models import Order, OrderLine
from billing.pricing import waterfall
from billing.services.orders import LineRequest, order_place_for, with_catalog
from catalog.models import degressive_rate
from tenants.audit import audit_record_shared
from tenants.models import AuditEvent, Tenant
from tenants.selectors import OrgContext

REASON_MAX_LENGTH = 500


def special_prices_check(
    *, org: OrgContext, lines: Sequence[LineRequest], price_reason: str | None
) -> str:
    """The reason, cleaned, when the lines carry special prices: for staff only
    (403), with a reason (400); a reason without a special price is a 400 too."""
    return special_reason_clean(
        org=org,
        special=any(line.special_price is not None for line in lines),
        price_reason=price_reason,
    )


def special_reason_clean(*, org: OrgContext, special: bool, price_reason: str | None) -> str:
    """`special_prices_check`'s rule on the reason, given whether a line carries a
    special price (the order page runs it too while the lines have errors)."""
    reason = (price_reason or "").strip()
    if not special:
        if reason:
            raise ValidationError(
                {"price_reason": _("Give a reason only with a special unit price.")}
            )
        return ""
    if not org.is_staff:
        raise PermissionDenied(_("Only platform staff may set a special price."))
    if not reason:
        raise ValidationError({"price_reason": _("Say why this line has a special price.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"price_reason": _("At most %(max)s characters.") % {"max": REASON_MAX_LENGTH}}
        )
    return reason


def _rules_unit_price(line: LineRequest, currency: str) -> Decimal | None:
    """The public unit price the rules give `line` (after its tier), or None
    when the product has no price in this currency."""
    for price in line.product.prices.all():
        if price.currency == currency:
            rule = waterfall(
                unit_price=price.amount,
                quantity=line.quantity,
                tier_rate=degressive_rate(line.product.tiers.all(), line.quantity),
                discount_rate=Decimal("0"),
            )
            return rule.public_unit_price
    return None


@transaction.atomic
def order_place_special(
    *,
    org: OrgContext,
    customer: Tenant,
    lines: Sequence[LineRequest],
    price_reason: str,
    expected_total: Decimal | None = None,
) -> Order:
    """`order_place_for` with staff's special prices: checked
    (`special_prices_check`), placed, each special line marked with the reason
    and audited with the rules' price before and the special one after."""
    reason = special_prices_check(org=org, lines=lines, price_reason=price_reason)
    order = order_place_for(org=org, customer=customer, lines=lines, expected_total=expected_total)
    if not reason:  # no special price: an order like any other
        return order
    special = {
        line.product.pk: line for line in with_catalog(lines) if line.special_price is not None
    }
    if not special:
        return order
    OrderLine.unscoped.filter(order=order, product__in=list(special)).update(price_reason=reason)
    changes = [
        {
            "product": line.product.code,
            "quantity": line.quantity,
            "before": str(_rules_unit_price(line, customer.currency)),
            "after": str(line.special_price),
        }
        for line in special.values()
    ]
    target = f"{customer.name}: order {order.pk}"
    parties = {customer.pk: (customer, target), order.payer_tenant_id: (order.payer_tenant, target)}
    audit_record_shared(
        parties=list(parties.values()),
        action=AuditEvent.Action.ORDER_SPECIAL_PRICE,
        actor=org.user,
        actor_tenant=org.tenant,
        details={
            "order": str(order.pk),
            "currency": order.currency,
            "reason": reason,
            "lines": changes,
        },
    )
    return order
