"""Tenders (SPEC §3, Infomaniak's partner programme): a customer or a visitor
posts a request; every partner that opted in is emailed an excerpt (one
idempotent task per partner) and sees it in full while it is valid; the poster
gets a cancel link and the partners' proposals.

A visitor's tender waits for the poster to confirm their email address (a
signed link); a customer's is open at once, and the poster's emails (the manage
link, proposals) go to the posting member's own verified address — the contact
address is for partners to read, and is sent nothing. Links are signed over
(tender id, nonce, purpose).

Platform staff moderate (the provider console): they withdraw a waiting or open
request with a reason, which the poster is told (`tender_withdraw`)."""

import datetime
import secrets
import uuid
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Product
from core.exceptions import Conflict
from core.jobs import enqueue_on_commit
from partners.notifications import long_date
from tenants.audit import audit_record_shared
from tenants.emails import absolute_url, email_queue, notify
from tenants.models import AuditEvent, Role, Tenant, User
from tenants.selectors import OrgContext, branding_effective, owners_and_admins, provider_root
from tenants.services import require_provider_writer
from tenders.models import Tender, TenderProposal

TENDER_SALT = "partners.tender"
CONFIRM_MAX_AGE = datetime.timedelta(days=2)
MAX_VALIDITY_DAYS = 365
Status = Tender.Status


def tender_token(tender: Tender, purpose: str) -> str:
    """The poster's signed link token: `confirm` (a visitor's address) or `manage`
    (see the proposals, cancel)."""
    return signing.dumps({"t": str(tender.pk), "n": tender.nonce, "p": purpose}, salt=TENDER_SALT)


def tender_clean(
    *,
    title: str,
    description: str,
    category: str,
    contact_email: str,
    valid_until: object,
    contact_name: str = "",
    contact_phone: str = "",
) -> dict:
    errors = {}
    title, description = (title or "").strip(), (description or "").strip()
    contact_name, contact_phone = (contact_name or "").strip(), (contact_phone or "").strip()
    if not title or len(title) > 200:
        errors["title"] = _("Give a title of at most 200 characters.")
    if not description or len(description) > 5000:
        errors["description"] = _("Describe what you need, in at most 5,000 characters.")
    if category not in Product.Category.values:
        errors["category"] = _("Choose a category.")
    if len(contact_name) > 200:
        errors["contact_name"] = _("At most 200 characters.")
    try:
        validate_email(contact_email or "")
    except ValidationError:
        errors["contact_email"] = _("Give a valid email address.")
    if len(contact_phone) > 40:
        errors["contact_phone"] = _("At most 40 characters.")
    today = timezone.localdate()
    if not isinstance(valid_until, datetime.date):
        errors["valid_until"] = _("Give the last day partners may answer.")
    elif not today <= valid_until <= today + datetime.timedelta(days=MAX_VALIDITY_DAYS):
        errors["valid_until"] = _("Choose a day from today to a year from now.")
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "description": description,
        "category": category,
        "contact_name": contact_name,
        "contact_email": contact_email.strip(),
        "contact_phone": contact_phone,
        "valid_until": valid_until,
    }


def _open(tender: Tender) -> None:
    """A tender just opened: the poster gets the manage (cancel) link, and the
    partners opted in are told, one task each, after commit."""
    email_queue(
        key=f"tender:{tender.pk}:opened",
        to=tender.poster_email,
        template="notification",
        context={
            "subject": format_lazy(
                gettext_lazy("Your request “{title}” is published"), title=tender.title
            ),
            "lines": [
                format_lazy(
                    gettext_lazy("Partners of the programme can answer until {date}."),
                    date=long_date(tender.valid_until),
                ),
                gettext_lazy(
                    "Their proposals reach you by email and on the request's page, where you can "
                    "also cancel the request at any time."
                ),
            ],
            "action_url": tender_manage_url(tender),
            "action_label": gettext_lazy("See or cancel your request"),
        },
    )
    enqueue_on_commit("partners.tasks.tell_partners_of_tender", str(tender.pk))


def tender_manage_url(tender: Tender) -> str:
    return absolute_url(reverse("tender_manage", kwargs={"token": tender_token(tender, "manage")}))


@transaction.atomic
def tender_post(*, org: OrgContext, **fields: Any) -> Tender:
    """A customer's owner or admin posts a tender: open at once."""
    if not org.tenant.is_customer:
        raise PermissionDenied(_("Tenders are posted by customers."))
    if not org.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only owners and admins post tenders."))
    tender = Tender.unscoped.create(
        **tender_clean(**fields),
        customer=org.tenant,
        posted_by=org.user,
        status=Status.OPEN,
        nonce=secrets.token_hex(16),
        opened_at=timezone.now(),
    )
    _open(tender)
    return tender


@transaction.atomic
def tender_post_visitor(**fields: Any) -> Tender:
    """A visitor posts a tender: it waits until they confirm the address."""
    tender = Tender.unscoped.create(
        **tender_clean(**fields), status=Status.UNCONFIRMED, nonce=secrets.token_hex(16)
    )
    email_queue(
        key=f"tender:{tender.pk}:confirm",
        to=tender.contact_email,
        template="notification",
        context={
            "subject": format_lazy(
                gettext_lazy("Confirm your request “{title}”"), title=tender.title
            ),
            "lines": [
                gettext_lazy("Confirm your email address to publish your request to the partners."),
                gettext_lazy("If you did not post it, ignore this email: nothing is published."),
            ],
            "action_url": absolute_url(
                reverse("tender_confirm", kwargs={"token": tender_token(tender, "confirm")})
            ),
            "action_label": gettext_lazy("Confirm and publish"),
        },
    )
    return tender


def tender_for_token(*, token: str, purpose: str) -> Tender | None:
    """The tender of a poster's link, or None when it is tampered with, for
    another purpose, outdated (a confirm link after two days) or unknown."""
    max_age = CONFIRM_MAX_AGE if purpose == "confirm" else None
    try:
        data = signing.loads(token, salt=TENDER_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != purpose:
        return None
    tender_pk = data.get("t")
    tender = Tender.unscoped.filter(pk=tender_pk).first() if tender_pk else None
    if tender is None or not secrets.compare_digest(tender.nonce, str(data.get("n"))):
        return None
    return tender


@transaction.atomic
def tender_confirm(*, tender: Tender) -> Tender:
    """The visitor confirmed: published once (a second click changes nothing).
    A request whose last day has passed is not published."""
    if tender.status == Status.UNCONFIRMED and tender.valid_until < timezone.localdate():
        raise Conflict(_("This request's last day has passed: post it again with a later one."))
    opened = Tender.unscoped.filter(pk=tender.pk, status=Status.UNCONFIRMED).update(
        status=Status.OPEN, opened_at=timezone.now()
    )
    tender.refresh_from_db()
    if opened:
        _open(tender)
    elif tender.status == Status.CANCELLED:
        raise Conflict(_("This request was cancelled."))
    elif tender.status == Status.WITHDRAWN:
        raise Conflict(_("This request was withdrawn by the platform."))
    return tender


@transaction.atomic
def tender_cancel(*, tender: Tender, org: OrgContext | None = None) -> Tender:
    """Cancel at once — from the poster's link (`org` None) or by the posting
    customer's owners and admins. Partners stop seeing it immediately."""
    if org is not None and (tender.customer_id != org.tenant.pk or not org.has_role(Role.ADMIN)):
        raise PermissionDenied(_("Only the customer that posted it may cancel it."))
    cancelled = Tender.unscoped.filter(
        pk=tender.pk, status__in=(Status.UNCONFIRMED, Status.OPEN)
    ).update(status=Status.CANCELLED, cancelled_at=timezone.now())
    if not cancelled:
        tender.refresh_from_db()
        if tender.status == Status.WITHDRAWN:
            raise Conflict(_("This request was withdrawn by the platform."))
        raise Conflict(_("This request is already cancelled."))
    tender.refresh_from_db()
    return tender


WITHDRAWAL_REASON_MAX = 1000


@transaction.atomic
def tender_withdraw(*, actor: User, tender: Tender, reason: str) -> Tender:
    """Tender moderation (SPEC §2, the provider console): platform staff withdraw
    a request that is waiting or open, giving the reason. Partners stop seeing
    it at once; the poster is emailed the reason (a visitor only once their
    address was confirmed: an unconfirmed one is sent nothing); the provider's
    log and the posting customer's record it. A second withdrawal, or one of a
    cancelled request, is a 409."""
    require_provider_writer(actor, _("Only the provider's owners and admins moderate requests."))
    reason = (reason or "").strip()
    if not reason or len(reason) > WITHDRAWAL_REASON_MAX:
        raise ValidationError(
            {
                "reason": _("Say why, in at most %(max)s characters.")
                % {"max": WITHDRAWAL_REASON_MAX}
            }
        )
    before = Tender.unscoped.select_for_update().get(pk=tender.pk)
    withdrawn = Tender.unscoped.filter(
        pk=tender.pk, status__in=(Status.UNCONFIRMED, Status.OPEN)
    ).update(status=Status.WITHDRAWN, withdrawn_at=timezone.now(), withdrawal_reason=reason)
    if not withdrawn:
        raise Conflict(_("This request is no longer waiting or open."))
    tender = Tender.unscoped.select_related("customer", "posted_by").get(pk=tender.pk)
    details = {"tender": str(tender.pk), "status_before": before.status, "reason": reason}
    parties = [(provider_root(), tender.title)]
    if tender.customer is not None:
        parties.append((tender.customer, tender.title))
    audit_record_shared(
        parties=parties,
        action=AuditEvent.Action.TENDER_WITHDRAWN,
        actor=actor,
        actor_tenant=parties[0][0],
        details=details,
    )
    if before.status == Status.OPEN:
        email_queue(
            key=f"tender:{tender.pk}:withdrawn",
            to=tender.poster_email,
            template="notification",
            context={
                "subject": format_lazy(
                    gettext_lazy("Your request “{title}” was withdrawn"), title=tender.title
                ),
                "lines": [
                    gettext_lazy(
                        "The platform withdrew your request: partners no longer see it "
                        "and cannot answer it."
                    ),
                    format_lazy(gettext_lazy("The reason given: {reason}"), reason=reason),
                ],
                "action_url": tender_manage_url(tender),
                "action_label": gettext_lazy("See your request"),
            },
        )
    return tender


def partners_receiving_tenders() -> QuerySet[Tenant]:
    return Tenant.objects.filter(
        kind=Tenant.Kind.PARTNER, receives_tenders=True, status=Tenant.Status.ACTIVE
    )


def tender_tell_partner(*, tender_id: uuid.UUID | str, partner_id: uuid.UUID | str) -> int:
    """Email one partner's owners and admins an excerpt of an open tender; keyed
    per tender, partner and person, so a rerun sends nothing twice."""
    tender = Tender.unscoped.filter(
        pk=tender_id, status=Status.OPEN, valid_until__gte=timezone.localdate()
    ).first()
    partner = partners_receiving_tenders().filter(pk=partner_id).first()
    if tender is None or partner is None:
        return 0
    users = owners_and_admins(partner)
    return len(
        notify(
            key=f"tender:{tender.pk}:partner:{partner.pk}",
            users=users,
            subject=format_lazy(gettext_lazy("New request: {title}"), title=tender.title),
            lines=[
                format_lazy(
                    gettext_lazy("Category: {category}. Open until {date}."),
                    # the label itself (lazy), not get_category_display()'s string
                    category=dict(Product.Category.choices).get(tender.category, tender.category),
                    date=long_date(tender.valid_until),
                ),
                tender.excerpt,
                gettext_lazy("The whole request and the contact details are in your console."),
            ],
            url=reverse("tender_detail", kwargs={"slug": partner.slug, "tender_id": tender.pk}),
            label=gettext_lazy("Read the request"),
        )
    )


@transaction.atomic
def tender_propose(*, org: OrgContext, tender: Tender, message: str) -> TenderProposal:
    """A partner that receives tenders answers an open, valid one; the poster is
    emailed the message and how to reach the partner. One proposal per partner."""
    if not (
        org.tenant.is_partner
        and org.tenant.receives_tenders
        and org.tenant.status == Tenant.Status.ACTIVE
    ):
        raise PermissionDenied(_("Opt in to tenders on your organization page first."))
    message = (message or "").strip()
    if not message or len(message) > 5000:
        raise ValidationError({"message": _("Write your proposal, in at most 5,000 characters.")})
    tender = Tender.unscoped.select_for_update().get(pk=tender.pk)
    if tender.status != Status.OPEN or tender.valid_until < timezone.localdate():
        raise Conflict(_("This request is no longer open."))
    try:
        with transaction.atomic():
            proposal = TenderProposal.unscoped.create(
                tender=tender, partner=org.tenant, author=org.user, message=message
            )
    except IntegrityError as exc:
        raise ValidationError({"message": _("You already answered this request.")}) from exc
    branding = branding_effective(tenant=org.tenant)
    reach = ", ".join(
        filter(None, [branding["support_email"] or org.user.email, branding["support_phone"]])
    )
    email_queue(
        key=f"tender-proposal:{proposal.pk}",
        to=tender.poster_email,
        template="notification",
        context={
            "subject": format_lazy(
                gettext_lazy("{partner} answered your request “{title}”"),
                partner=org.tenant.name,
                title=tender.title,
            ),
            "lines": [
                format_lazy(gettext_lazy("{partner} writes:"), partner=org.tenant.name),
                message,
                format_lazy(
                    gettext_lazy("Reach them at {reach} or visit {website}."),
                    reach=reach,
                    website=org.tenant.website,
                )
                if org.tenant.website
                else format_lazy(gettext_lazy("Reach them at {reach}."), reach=reach),
            ],
            "action_url": tender_manage_url(tender),
            "action_label": gettext_lazy("See all proposals"),
        },
    )
    return proposal
