"""Offer templates (SPEC §6): a partner's named lists of items, each saved as it
is added. Any member of the partner may keep templates; they belong to the
partner, so every lookup goes through `offers.selectors.template_get`."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.services.orders import MAX_QUANTITY
from catalog.models import Product
from offers.models import MAX_TERM_MONTHS, LicenseMode, OfferTemplate, TemplateItem
from tenants.selectors import OrgContext


def _require_partner(org: OrgContext, template: OfferTemplate | None = None) -> None:
    """A partner's own templates only: another's is the 404 of a missing one."""
    if not org.tenant.is_partner:
        raise PermissionDenied(_("Offer templates belong to partners."))
    if template is not None and template.partner_id != org.tenant.pk:
        raise Http404("No such template.")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the template a name.")})
    if len(name) > 200:
        raise ValidationError({"name": _("At most %(max)s characters.") % {"max": 200}})
    return name


def _save_name(template: OfferTemplate) -> None:
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("You already have a template with this name.")}) from exc


@transaction.atomic
def template_create(*, org: OrgContext, name: str) -> OfferTemplate:
    _require_partner(org)
    template = OfferTemplate(partner=org.tenant, name=_clean_name(name), created_by=org.user)
    _save_name(template)
    return template


@transaction.atomic
def template_rename(*, org: OrgContext, template: OfferTemplate, name: str) -> OfferTemplate:
    _require_partner(org, template)
    template.name = _clean_name(name)
    _save_name(template)
    return template


@transaction.atomic
def template_delete(*, org: OrgContext, template: OfferTemplate) -> None:
    """Delete a template; offers sent from it keep their own copy of its items."""
    _require_partner(org, template)
    template.delete()


def clean_item(
    *, product: Product | None, quantity: object, license_mode: object, term_months: object
) -> dict:
    errors = {}
    if product is None or not product.is_active:
        errors["product"] = _("Choose a product from the catalog.")
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        errors["quantity"] = _("Give a quantity from 1 to %(max)s.") % {"max": MAX_QUANTITY}
    if license_mode not in LicenseMode.values:
        errors["license_mode"] = _("Choose absolute or relative.")
    if not isinstance(term_months, int) or not 1 <= term_months <= MAX_TERM_MONTHS:
        errors["term_months"] = _("Give a term from 1 to %(max)s months.") % {
            "max": MAX_TERM_MONTHS
        }
    if errors:
        raise ValidationError(errors)
    return {
        "product": product,
        "quantity": quantity,
        "license_mode": license_mode,
        "term_months": term_months,
    }


@transaction.atomic
def template_item_add(
    *,
    org: OrgContext,
    template: OfferTemplate,
    product: Product | None,
    quantity: int,
    license_mode: str,
    term_months: int,
) -> TemplateItem:
    """Add a line, saved at once; one line per product."""
    _require_partner(org, template)
    fields = clean_item(
        product=product, quantity=quantity, license_mode=license_mode, term_months=term_months
    )
    assert product is not None  # clean_item refuses a missing product
    if template.items.filter(product=product).exists():
        raise ValidationError(
            {"product": _("%(product)s is already in this template.") % {"product": product.name}}
        )
    try:
        with transaction.atomic():
            item = TemplateItem.unscoped.create(template=template, **fields)
    except IntegrityError as exc:  # the same product added twice at once
        raise ValidationError(
            {"product": _("%(product)s is already in this template.") % {"product": product.name}}
        ) from exc
    OfferTemplate.unscoped.filter(pk=template.pk).update(updated_at=item.created_at)
    return item


@transaction.atomic
def template_item_remove(*, org: OrgContext, item: TemplateItem) -> None:
    _require_partner(org, item.template)
    item.delete()
    OfferTemplate.unscoped.filter(pk=item.template_id).update(updated_at=timezone.now())
