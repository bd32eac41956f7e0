"""Browser pages of a change to a billed subscription under /t/<slug>/: raise,
lower and end now (mounted by portal/urls.py; moved from billing, issue 19)."""

import abc
import uuid
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from amendments import services
from amendments.forms import SubscriptionEndForm, SubscriptionRaiseForm
from billing.models import Order
from billing.selectors import credits_placed_with
from billing.services.orders import PriceChanged
from billing.views import (
    BillingView,
    _buyer_refusal,
    _expected_total,
    _money,
    _quote_context,
)
from core.exceptions import Conflict
from subscriptions.selectors import subscription_get
from subscriptions.services import subscription_write_check
from tenants.models import Tenant
from tenants.selectors import OrgContext
from tenants.web import form_add_service_errors

# --- one page shape for every change: preview, then commit the previewed amount -----------


class SubscriptionChangeView(BillingView, abc.ABC):
    """A change to a billed subscription (SPEC §4, §7 rev. 2), reached at
    `subscriptions/<id>/<change>/` in the customer portal and
    `customers/<id>/subscriptions/<id>/<change>/` in the partner console.
    "Preview" shows the figures; the commit button places exactly the previewed
    total (a changed amount shows the new preview, 409). Who may not order gets
    the reason, 403. Subclasses say what the preview and the commit call."""

    template_name: str

    def resolve(self) -> None:
        customer_id = self.kwargs.get("customer_id")
        if self.partner_side != (customer_id is not None):
            raise Http404(_("No such page."))
        if not self.org.tenant.subscriptions_enabled:
            raise Http404(_("Subscriptions are switched off for this organization."))
        self.subscription = subscription_get(
            org=self.org, subscription_id=self.kwargs["subscription_id"]
        )
        expected_customer = customer_id or self.org.tenant.pk
        if str(self.subscription.customer_id) != str(expected_customer):
            raise Http404(_("No such subscription."))
        subscription_write_check(org=self.org, customer=self.subscription.customer)
        self.refusal = _buyer_refusal(self.org)

    # what a change says of itself
    def new_form(self, data: Any = None, initial: dict | None = None) -> SubscriptionRaiseForm:
        return SubscriptionRaiseForm(data, initial=initial)

    @abc.abstractmethod
    def initial_quantity(self) -> int: ...

    @abc.abstractmethod
    def previewed(self, quantity: int) -> Any: ...

    @abc.abstractmethod
    def preview_context(self, preview: Any) -> dict: ...

    @abc.abstractmethod
    def commit(self, quantity: int, expected: Decimal) -> Order: ...

    @abc.abstractmethod
    def committed_message(self, order: Order) -> str: ...

    def respond(
        self,
        request: HttpRequest,
        form: SubscriptionRaiseForm | None,
        status: int = 200,
        **context: Any,
    ) -> HttpResponse:
        context = {
            "form": form,
            "subscription": self.subscription,
            "customer": self.subscription.customer,
            "refusal": self.refusal,
            "list_url": self.list_url(),
            **context,
        }
        return self.render_page(request, self.template_name, context, status)

    def list_url(self) -> str:
        kwargs: dict[str, object] = {"slug": self.org.tenant.slug}
        if self.partner_side:
            kwargs["customer_id"] = self.subscription.customer_id
            return reverse("customer_subscriptions", kwargs=kwargs)
        return reverse("subscriptions", kwargs=kwargs)

    def get(
        self,
        request: HttpRequest,
        slug: str,
        subscription_id: uuid.UUID,
        customer_id: uuid.UUID | None = None,
    ) -> HttpResponse:
        if self.refusal:
            return self.respond(request, None, status=403)
        return self.respond(request, self.new_form(initial={"quantity": self.initial_quantity()}))

    def post(
        self,
        request: HttpRequest,
        slug: str,
        subscription_id: uuid.UUID,
        customer_id: uuid.UUID | None = None,
    ) -> HttpResponse:
        if self.refusal:
            return self.respond(request, None, status=403)
        form = self.new_form(request.POST)
        if not form.is_valid():
            return self.respond(request, form, status=400)
        quantity = form.cleaned_data.get("quantity", 0)
        expected = _expected_total(request.POST.get("expected_total"))
        try:
            if request.POST.get("action") == "place" and expected is not None:
                order = self.commit(quantity, expected)
                messages.success(request, self.committed_message(order))
                return redirect("order_detail", slug=slug, order_id=order.pk)
            preview = self.previewed(quantity)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            return self.respond(request, form, status=400)
        except PriceChanged as exc:
            return self.respond(
                request,
                form,
                status=409,
                price_changed=exc.message,
                **self.preview_context(self.previewed(quantity)),
            )
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect(self.list_url())
        return self.respond(request, form, **self.preview_context(preview))


def _payer_name_of(org: OrgContext, payer: Tenant) -> str:
    return _("You") if payer.pk == org.tenant.pk else payer.name


def _payer_name(org: OrgContext, order: Order) -> str:
    return _payer_name_of(org, order.payer_tenant)


# --- a subscription raised mid-period --------------------------------------------------------


class SubscriptionRaiseView(SubscriptionChangeView):
    """Raise a subscription's quantity: the preview shows what is charged now for
    the rest of the period and what the next renewal bills."""

    template_name = "amendments/subscription_raise.html"

    def initial_quantity(self) -> int:
        return self.subscription.quantity + 1

    def previewed(self, quantity: int) -> services.Raise:
        return services.subscription_raise_preview(
            org=self.org, subscription=self.subscription, quantity=quantity
        )

    def preview_context(self, raised: services.Raise) -> dict:
        return {
            "raised": raised,
            **_quote_context(self.org, raised.quote),
            "renewal_charged": raised.renewal.charged,
        }

    def commit(self, quantity: int, expected: Decimal) -> Order:
        return services.subscription_raise(
            org=self.org,
            subscription=self.subscription,
            quantity=quantity,
            expected_total=expected,
        )

    def committed_message(self, order: Order) -> str:
        line = order.lines.get()
        return _(
            "%(product)s raised by %(added)s. %(payer)s is invoiced %(amount)s (excl. VAT) "
            "for the rest of the period."
        ) % {
            "product": line.product.name,
            "added": line.quantity,
            "payer": _payer_name(self.org, order),
            "amount": _money(order.currency, order.charged_amount),
        }


# --- a subscription lowered or ended now: a credit order --------------------------------------


class SubscriptionLowerView(SubscriptionChangeView):
    """Lower a subscription's quantity: the preview shows what is credited now for
    the removed units' unused paid days, to whom, the cashback taken back
    (partner side) and what the next renewal bills."""

    template_name = "amendments/subscription_lower.html"

    def initial_quantity(self) -> int:
        return max(self.subscription.quantity - 1, 1)

    def previewed(self, quantity: int) -> services.Credit:
        preview = services.subscription_lower(
            org=self.org, subscription=self.subscription, quantity=quantity, dry_run=True
        )
        assert isinstance(preview, services.Credit)
        return preview

    def preview_context(self, credit: services.Credit) -> dict:
        # the credit as this side reads it: a customer only its own lines, total and
        # `expected_total` (a partner's credit is its preferential price)
        seen = credit.seen_by(by_partner=self.partner_side)
        context = {"credit": credit, **_quote_context(self.org, seen)}
        context["credit_total"] = seen.credit
        context["credit_payers"] = [  # one credit note per payer (amendments.credits)
            (
                _payer_name_of(self.org, share.quote.payer_tenant),
                None
                if self.org.tenant.is_customer and share.quote.payer_tenant.pk != self.org.tenant.pk
                else share.quote.credit,
            )
            for share in credit.credited.shares
        ]
        context["clawback"] = credit.quote.clawback if self.partner_side else None
        context["renewal_charged"] = credit.renewal.charged if credit.renewal else None
        return context

    def commit(self, quantity: int, expected: Decimal) -> Order:
        order = services.subscription_lower(
            org=self.org, subscription=self.subscription, quantity=quantity, expected_total=expected
        )
        assert isinstance(order, Order)
        return order

    def committed_message(self, order: Order) -> str:
        """What was credited to whom: `order`'s payer, and each other payer of
        the units removed (a credit split between payers, amendments.credits)."""
        line = order.lines.get()
        text = _(
            "%(product)s changed. %(payer)s is credited %(amount)s (excl. VAT) for the unused days."
        ) % {
            "product": line.product.name,
            "payer": _payer_name(self.org, order),
            "amount": _money(order.currency, order.credited_amount),
        }
        for other in credits_placed_with(order=order):
            if self.org.tenant.is_customer and other.payer_tenant_id != self.org.tenant.pk:
                # a partner's credit is its preferential price: never shown to the customer
                text += " " + _("%(payer)s is credited for the unused days it paid.") % {
                    "payer": _payer_name(self.org, other)
                }
                continue
            text += " " + _(
                "%(payer)s is credited %(amount)s (excl. VAT) for the unused days it paid."
            ) % {
                "payer": _payer_name(self.org, other),
                "amount": _money(other.currency, other.credited_amount),
            }
        return text


class SubscriptionEndView(SubscriptionLowerView):
    """End a subscription now: the preview shows the credit of every unused paid
    day; "End now" commits exactly that credit."""

    template_name = "amendments/subscription_end.html"

    def new_form(self, data: Any = None, initial: dict | None = None) -> SubscriptionRaiseForm:
        return SubscriptionEndForm(data)

    def previewed(self, quantity: int) -> services.Credit:
        preview = services.subscription_end_now(
            org=self.org, subscription=self.subscription, dry_run=True
        )
        assert isinstance(preview, services.Credit)
        return preview

    def commit(self, quantity: int, expected: Decimal) -> Order:
        order = services.subscription_end_now(
            org=self.org, subscription=self.subscription, expected_total=expected
        )
        assert isinstance(order, Order)
        return order
