"""Browser pages of subscriptions (SPEC §4, §9): a customer's subscriptions with
the widget, add, edit and cancel — from the partner console
(`customers/<id>/subscriptions/…`) and from the customer portal
(`subscriptions/…`) — and the drill-down behind the partner dashboard's movement
figures. Thin: forms parse, subscriptions.services write (and check who may),
selectors read. With the organization's subscriptions switched off, every page is a 404."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from core.exceptions import Conflict, validation_detail
from subscriptions import mrr, selectors, services
from subscriptions.forms import SubscriptionForm
from subscriptions.models import Subscription
from tenants.models import Role, Tenant
from tenants.web import OrgViewMixin, form_add_service_errors

PAGE_SIZE = 50


class SubscriptionsOnMixin:
    """After OrgViewMixin in the bases: the organization must have subscriptions on."""

    def dispatch(self, request, *args, **kwargs):
        if not self.org.tenant.subscriptions_enabled:
            raise Http404(_("Subscriptions are switched off for this organization."))
        return super().dispatch(request, *args, **kwargs)


class CustomerSubscriptionsMixin(OrgViewMixin, SubscriptionsOnMixin):
    """The customer of the page: named by the URL on the partner side (404 unless
    this user may act on it), the organization itself in the customer portal."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)

    def http_method_not_allowed(self, request, *args, **kwargs):
        if "subscription_id" in kwargs:
            self.subscription(kwargs["subscription_id"])
        else:
            self.customer()
        return super().http_method_not_allowed(request, *args, **kwargs)

    @property
    def on_partner_side(self) -> bool:
        return self.org.tenant.is_partner

    def customer(self) -> Tenant:
        if not hasattr(self, "_customer"):
            customer_id = self.kwargs.get("customer_id")
            if self.on_partner_side != (customer_id is not None):
                raise Http404(_("No such page."))
            self._customer = selectors.subscription_customer_get(
                org=self.org, customer_id=customer_id or self.org.tenant.pk
            )
        return self._customer

    def subscription(self, subscription_id) -> Subscription:
        """The page's subscription, loaded once through the permission function
        (subscription_get), and with it the page's customer: not loaded again."""
        customer_id = self.kwargs.get("customer_id")
        if self.on_partner_side != (customer_id is not None):
            raise Http404(_("No such page."))
        subscription = selectors.subscription_get(org=self.org, subscription_id=subscription_id)
        if str(subscription.customer_id) != str(customer_id or self.org.tenant.pk):
            raise Http404(_("No such subscription."))
        if not hasattr(self, "_customer"):
            self._customer = subscription.customer if self.on_partner_side else self.org.tenant
        return subscription

    def can_write(self) -> bool:
        return self.on_partner_side or self.org.has_role(Role.ADMIN)

    def url(self, name: str, subscription: Subscription | None = None) -> str:
        kwargs = {"slug": self.org.tenant.slug}
        if self.on_partner_side:
            name = f"customer_{name}"
            kwargs["customer_id"] = self.customer().pk
        if subscription is not None:
            kwargs["subscription_id"] = subscription.pk
        return reverse(name, kwargs=kwargs)

    def to_list(self):
        return redirect(self.url("subscriptions"))

    def page_context(self, **extra) -> dict:
        return {
            "customer": self.customer(),
            "partner_side": self.on_partner_side,
            "list_url": self.url("subscriptions"),
            **extra,
        }


class SubscriptionListView(CustomerSubscriptionsMixin, View):
    """The widget, then every subscription this user may see, newest start first."""

    def get(self, request, slug, customer_id=None):
        customer = self.customer()
        today = timezone.localdate()
        rows = [
            {
                "subscription": s,
                "status": s.status_on(today),
                "edit_url": self.url("subscription_edit", s),
                "cancel_url": self.url("subscription_end", s),  # ends now, with its credit
            }
            for s in selectors.subscriptions_for(org=self.org)
            .filter(customer=customer)
            .order_by("-starts_on", "-created_at")
        ]
        context = self.page_context(
            rows=rows,
            can_write=self.can_write(),
            add_url=self.url("subscription_add"),
        )
        return render(request, "subscriptions/list.html", context)


class SubscriptionAddView(CustomerSubscriptionsMixin, View):
    """Adding a subscription is placing an order (SPEC §4 rev. 2): this page sends
    the person to the order page of the customer, with its preview and the buyer
    flag's rule; a product named in `?product=` is chosen there already."""

    def get(self, request, slug, customer_id=None):
        customer = self.customer()
        services.subscription_write_check(org=self.org, customer=customer)
        if self.on_partner_side:
            url = reverse("customer_order_place", kwargs={"slug": slug, "customer_id": customer.pk})
        else:
            url = reverse("order_place", kwargs={"slug": slug})
        product = request.GET.get("product")
        return redirect(f"{url}?product_0={product}&quantity_0=1" if product else url)


class SubscriptionEditView(CustomerSubscriptionsMixin, View):
    def render_form(self, request, subscription, form, status=200):
        context = self.page_context(
            form=form,
            subscription=subscription,
            title=_("Edit %(product)s") % {"product": subscription.product.name},
            submit=_("Save"),
            cancel_url=self.url("subscription_end", subscription),  # ends now, with its credit
            raise_url=self.url("subscription_raise", subscription),
            lower_url=self.url("subscription_lower", subscription),
        )
        return render(request, "subscriptions/form.html", context, status=status)

    def get(self, request, slug, subscription_id, customer_id=None):
        subscription = self.subscription(subscription_id)
        services.subscription_write_check(org=self.org, customer=subscription.customer)
        initial = {"ends_on": subscription.ends_on}
        return self.render_form(request, subscription, SubscriptionForm(initial=initial))

    def post(self, request, slug, subscription_id, customer_id=None):
        subscription = self.subscription(subscription_id)
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                services.subscription_last_day_set(
                    org=self.org, subscription=subscription, ends_on=form.cleaned_data["ends_on"]
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            except Conflict as exc:
                messages.error(request, exc.message)
                return self.to_list()
            else:
                messages.success(
                    request, _("%(product)s was saved.") % {"product": subscription.product.name}
                )
                return self.to_list()
        return self.render_form(request, subscription, form, status=400)


class SubscriptionCancelView(CustomerSubscriptionsMixin, View):
    """The older cancel page: ending a subscription now is a credit order (SPEC §7
    rev. 2), previewed on billing's "End now" page, where this one now leads."""

    def get(self, request, slug, subscription_id, customer_id=None):
        subscription = self.subscription(subscription_id)
        services.subscription_write_check(org=self.org, customer=subscription.customer)
        return redirect(self.url("subscription_end", subscription))

    def post(self, request, slug, subscription_id, customer_id=None):
        return self.get(request, slug, subscription_id, customer_id)


class MrrMovementsView(OrgViewMixin, SubscriptionsOnMixin, View):
    """The customers and subscription changes behind one movement figure of the
    partner dashboard (`?month=YYYY-MM&kind=new`); their changes add up to it."""

    allowed_kinds = (Tenant.Kind.PARTNER,)

    def get(self, request, slug):
        month = request.GET.get("month") or timezone.localdate().strftime("%Y-%m")
        kind = request.GET.get("kind") or None
        try:
            movements = mrr.book_movements(org=self.org, month=month, kind=kind)
        except ValidationError as exc:
            errors = [m for messages_ in validation_detail(exc).values() for m in messages_]
            return render(request, "subscriptions/movements.html", {"errors": errors}, status=400)
        first = mrr.parse_month(month)
        page = Paginator(movements.moves, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            "month": month,
            "month_start": first,
            "kind": kind,
            "kinds": mrr.KINDS,
            "page": page,
            "moves": movements.with_subscriptions(page.object_list),
            "total": movements.total,
            "currency": self.org.tenant.currency,
            "previous_month": (first - datetime.timedelta(days=1)).strftime("%Y-%m"),
        }
        return render(request, "subscriptions/movements.html", context)
