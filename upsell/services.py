"""Every write of upsell (SPEC §5): the per-customer switch (recorded), what
customers look at and click, and "Ask my partner" turned into an offer."""

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from core.exceptions import Conflict
from offers.services import ItemSpec, offer_propose
from partners.selectors import customer_get_for_partner, managing_partnership
from partners.services import grant_holds
from tenants.audit import audit_record_shared
from tenants.emails import notify
from tenants.models import AuditEvent, Role, Tenant
from tenants.selectors import OrgContext, owners_and_admins
from upsell.models import FeatureInterest, UpgradeRequest, UpsellChange, UpsellSwitch
from upsell.selectors import FeatureLine, ServiceLine, locked_feature_get

UPGRADE_TERM_MONTHS = 12


def upsell_set(*, org: OrgContext, customer_id: uuid.UUID | str, enabled: bool) -> UpsellSwitch:
    """`upsell_switch` by the customer's id (the admin, scripts): the customer
    loaded once here, through the permission function for a partner user."""
    if org.tenant.is_partner:
        customer = customer_get_for_partner(org=org, customer_id=customer_id)
    elif org.is_staff:
        found = Tenant.objects.filter(pk=customer_id, kind=Tenant.Kind.CUSTOMER).first()
        if found is None:
            raise Http404(_("No such customer."))
        customer = found
    else:
        raise Http404(_("No such customer."))
    return upsell_switch(org=org, customer=customer, enabled=enabled)


@transaction.atomic
def upsell_switch(*, org: OrgContext, customer: Tenant, enabled: bool) -> UpsellSwitch:
    """Switch upsell for `customer`, which the caller loaded once (a partner
    user: through the permission function, upsell.selectors.upsell_customer_get):
    the owners and admins of a partner allowed on it, or platform staff. The
    switch's row is locked and the partner's grant checked again under the lock.
    Each change is recorded (who, when, for whom); a switch to the state it
    already has records nothing."""
    if org.tenant.is_partner:
        if not org.has_role(Role.ADMIN):
            raise PermissionDenied(_("Only the partner's owners and admins switch upsell."))
    elif not org.is_staff:
        raise Http404(_("No such customer."))
    switch, _created = UpsellSwitch.unscoped.select_for_update().get_or_create(customer=customer)
    if org.tenant.is_partner and not grant_holds(org=org, customer=customer):
        raise Http404(_("No such customer."))
    if switch.enabled == enabled:
        return switch
    switch.enabled = enabled
    switch.updated_at = timezone.now()
    switch.updated_by = org.user
    switch.save(update_fields=["enabled", "updated_at", "updated_by"])
    UpsellChange.unscoped.create(
        customer=customer,
        enabled=enabled,
        actor=org.user,
        acting_for=org.tenant if org.membership else None,
    )
    audit_record_shared(
        parties=[(org.tenant, customer.name), (customer, customer.name)],
        action=AuditEvent.Action.UPSELL_SWITCHED,
        actor=org.user,
        actor_tenant=org.tenant,
        details={"before": {"enabled": not enabled}, "after": {"enabled": enabled}},
    )
    return switch


def _interest(org: OrgContext, line: ServiceLine, feature_line: FeatureLine, kind: str) -> None:
    assert feature_line.unlocked_by is not None  # a locked feature names its edition
    FeatureInterest.unscoped.create(
        customer=org.tenant,
        partner=line.contact.partner if line.contact else None,
        user=org.user,
        kind=kind,
        feature=feature_line.feature,
        current_product=line.subscription.product,
        recommended_product=feature_line.unlocked_by,
    )


def locked_feature_view(
    *, org: OrgContext, subscription_id: object, feature_code: str
) -> tuple[ServiceLine, FeatureLine]:
    """A customer member opens the dialog of a locked feature: recorded as
    looked at, for the partner. Returns (service line, feature line)."""
    line, feature_line = locked_feature_get(
        org=org, subscription_id=subscription_id, feature_code=feature_code
    )
    _interest(org, line, feature_line, FeatureInterest.Kind.VIEWED)
    return line, feature_line


def buy_now_click(*, org: OrgContext, subscription_id: object, feature_code: str) -> str:
    """A buyer follows Buy now: the click is counted for the partner, and the
    Buy URL with its context is where to go. Anyone without Buy now: 404."""
    line, feature_line = locked_feature_get(
        org=org, subscription_id=subscription_id, feature_code=feature_code
    )
    action = feature_line.action
    assert action is not None  # a locked feature has its action element
    if action["kind"] != "buy_now":
        raise Http404(_("No such link."))
    _interest(org, line, feature_line, FeatureInterest.Kind.CLICKED)
    return action["url"]


@transaction.atomic
def upgrade_request_create(
    *, org: OrgContext, subscription_id: object, feature_code: str
) -> UpgradeRequest:
    """ "Ask my partner": the managing partner's owners and admins are emailed and
    see the request in their console. Asking again while one is open returns it."""
    line, feature_line = locked_feature_get(
        org=org, subscription_id=subscription_id, feature_code=feature_code
    )
    assert feature_line.unlocked_by is not None  # a locked feature names its edition
    partner = line.contact.partner if line.contact else None
    if partner is None:
        raise ValidationError({"feature": _("No partner manages this product for you.")})
    existing = UpgradeRequest.unscoped.filter(
        customer=org.tenant,
        recommended_product=feature_line.unlocked_by,
        feature=feature_line.feature,
        status=UpgradeRequest.Status.OPEN,
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            request = UpgradeRequest.unscoped.create(
                customer=org.tenant,
                partner=partner,
                requested_by=org.user,
                feature=feature_line.feature,
                subscription=line.subscription,
                current_product=line.subscription.product,
                recommended_product=feature_line.unlocked_by,
                quantity=line.quantity,
            )
    except IntegrityError:  # the same request a moment earlier
        return UpgradeRequest.unscoped.get(
            customer=org.tenant,
            recommended_product=feature_line.unlocked_by,
            feature=feature_line.feature,
            status=UpgradeRequest.Status.OPEN,
        )
    _interest(org, line, feature_line, FeatureInterest.Kind.ASKED)
    notify(
        key=f"upgrade-request:{request.pk}",
        users=owners_and_admins(partner),
        subject=format_lazy(
            gettext_lazy("{customer} asks for {edition}"),
            customer=org.tenant.name,
            edition=request.recommended_product.name,
        ),
        lines=[
            format_lazy(
                ngettext_lazy(
                    "{email} at {customer} would like {feature}, which {edition} unlocks "
                    "(they have {current}, {quantity} unit).",
                    "{email} at {customer} would like {feature}, which {edition} unlocks "
                    "(they have {current}, {quantity} units).",
                    request.quantity,
                ),
                email=org.user.email,
                customer=org.tenant.name,
                feature=feature_line.feature.name,
                edition=request.recommended_product.name,
                current=request.current_product.name,
                quantity=request.quantity,
            ),
            gettext_lazy("Turn the request into an offer in one click from your console."),
        ],
        url=reverse("upgrade_requests", kwargs={"slug": partner.slug}),
        label=gettext_lazy("Open the requests"),
    )
    return request


def _close(request: UpgradeRequest, org: OrgContext, status: str, **fields: Any) -> UpgradeRequest:
    """The guarded UPDATE; then the caller's request (loaded once, through the
    selector) reads again what it changed, keeping what it had loaded with it."""
    changed = UpgradeRequest.unscoped.filter(
        pk=request.pk, status=UpgradeRequest.Status.OPEN
    ).update(status=status, closed_at=timezone.now(), closed_by=org.user, **fields)
    if changed != 1:
        raise Conflict(_("This request was already answered."))
    request.refresh_from_db(fields=["status", "closed_at", "closed_by", *fields])
    return request


@transaction.atomic
def upgrade_request_to_offer(*, org: OrgContext, request: UpgradeRequest) -> UpgradeRequest:
    """One click: an offer of the recommended edition for the customer's current
    quantity, for 12 months, replacing the current edition when accepted."""
    if request.partner_id != org.tenant.pk:
        raise Http404(_("No such request."))
    if request.status != UpgradeRequest.Status.OPEN:
        raise Conflict(_("This request was already answered."))
    if managing_partnership(customer=request.customer, product=request.current_product) is None:
        raise Conflict(_("You no longer manage this product for the customer."))
    offer = offer_propose(
        org=org,
        customer_id=request.customer_id,
        name=_("Upgrade to %(edition)s") % {"edition": request.recommended_product.name},
        items=[
            ItemSpec(
                product=request.recommended_product,
                quantity=request.quantity,
                license_mode="absolute",
                term_months=UPGRADE_TERM_MONTHS,
                replaces=request.current_product,
            )
        ],
        message=_(
            "You asked for %(feature)s: %(edition)s includes it and replaces your %(current)s."
        )
        % {
            "feature": request.feature.name,
            "edition": request.recommended_product.name,
            "current": request.current_product.name,
        },
    )
    return _close(request, org, UpgradeRequest.Status.OFFERED, offer=offer)


@transaction.atomic
def upgrade_request_dismiss(*, org: OrgContext, request: UpgradeRequest) -> UpgradeRequest:
    if request.partner_id != org.tenant.pk:
        raise Http404(_("No such request."))
    return _close(request, org, UpgradeRequest.Status.DISMISSED)
