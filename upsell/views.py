"""Browser pages of upsell (SPEC §5, §9) under /t/<slug>/: the customer's
Services (features it has and, with upsell on, the ones a higher edition
unlocks, each opening a dialog with the viewer's action element), Buy now
(counted, then off to the shop) and Ask my partner; the partner's upsell page of
a customer (the switch, its history, what the customer looked at, its requests)
and its customers' requests, each turned into an offer in one click. Thin:
upsell.selectors read, upsell.services write. Mounted by portal/urls.py from
upsell/urls.py."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from core.exceptions import Conflict
from tenants.models import Tenant
from tenants.web import OrgViewMixin, ResolveFirstMixin
from upsell import selectors, services
from upsell.forms import UpsellSwitchForm
from upsell.models import UpgradeRequest

CUSTOMER_ONLY = (Tenant.Kind.CUSTOMER,)
PARTNER_ONLY = (Tenant.Kind.PARTNER,)
ANSWERED_SHOWN = 50  # answered requests listed below the open ones (newest first)
HISTORY_SHOWN = 50  # switch changes listed on a customer's upsell page


def _is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def _back(request, default: str):
    """Redirect to the page the form came from (`next`, a path on this site), else `default`."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


class UpsellView(OrgViewMixin, ResolveFirstMixin, View):
    def render_page(self, request, template: str, context: dict, status: int = 200):
        response = render(request, template, context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response


# --- the customer's Services ----------------------------------------------------------------


class ServicesView(UpsellView):
    allowed_kinds = CUSTOMER_ONLY

    def get(self, request, slug):
        lines = selectors.services_for(org=self.org)
        context = {
            "lines": lines,
            "any_locked": any(not f.available for line in lines for f in line.features),
        }
        return self.render_page(request, "upsell/services.html", context)


class LockedFeatureView(UpsellView):
    """A locked feature of one subscription (upsell on), named by the URL. The
    GET/POST handlers resolve it through the service that records what was
    done; any other method resolves it first, so another organization's id is
    the 404 of a missing one, never a 405."""

    allowed_kinds = CUSTOMER_ONLY

    def http_method_not_allowed(self, request, *args, **kwargs):
        selectors.locked_feature_get(
            org=self.org,
            subscription_id=kwargs["subscription_id"],
            feature_code=kwargs["feature_code"],
        )
        return super().http_method_not_allowed(request, *args, **kwargs)

    def services_url(self) -> str:
        return reverse("services", kwargs={"slug": self.org.tenant.slug})


class FeatureDialogView(LockedFeatureView):
    """The dialog recommending the edition that unlocks the feature (htmx: its
    content alone, loaded into the Services page's <dialog>); without JS, the
    same as a page. Opening it is recorded as "looked at" for the partner."""

    def get(self, request, slug, subscription_id, feature_code):
        line, feature_line = services.locked_feature_view(
            org=self.org, subscription_id=subscription_id, feature_code=feature_code
        )
        in_dialog = _is_htmx(request)
        context = {
            "line": line,
            "feature_line": feature_line,
            "in_dialog": in_dialog,
            "price": selectors.edition_price(
                customer=self.org.tenant, line=line, edition=feature_line.unlocked_by
            )
            if feature_line.unlocked_by is not None
            else None,
        }
        template = "upsell/_feature.html" if in_dialog else "upsell/feature.html"
        return self.render_page(request, template, context)


class BuyNowView(LockedFeatureView):
    """Buy now: the click is counted for the partner, then off to the effective
    Buy URL with its context. Anyone without Buy now: 404."""

    def get(self, request, slug, subscription_id, feature_code):
        url = services.buy_now_click(
            org=self.org, subscription_id=subscription_id, feature_code=feature_code
        )
        return HttpResponseRedirect(url)


class AskPartnerView(LockedFeatureView):
    """Ask my partner: the managing partner's owners and admins are emailed; back
    to Services with a confirmation."""

    def post(self, request, slug, subscription_id, feature_code):
        try:
            upgrade_request = services.upgrade_request_create(
                org=self.org, subscription_id=subscription_id, feature_code=feature_code
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("%(partner)s has been asked; they can send you an offer.")
                % {"partner": upgrade_request.partner.name},
            )
        return redirect(self.services_url())


# --- the partner's side -----------------------------------------------------------------------


class CustomerUpsellView(UpsellView):
    """A customer's upsell: the switch (owners and admins switch it; the service
    refuses anyone else with a 403), its history, what the customer's members
    looked at, clicked or asked, and their requests. `?view=compact` (htmx, the
    Configure section of the customer page) answers with the switch and the
    interest alone."""

    allowed_kinds = PARTNER_ONLY

    def resolve(self) -> None:
        self.customer = selectors.upsell_customer_get(
            org=self.org, customer_id=self.kwargs["customer_id"]
        )

    def get(self, request, slug, customer_id):
        if request.GET.get("view") == "compact":
            return self.render_page(request, "upsell/_configure.html", self.switch_context())
        return self.respond(request, UpsellSwitchForm())

    def post(self, request, slug, customer_id):
        form = UpsellSwitchForm(request.POST)
        if not form.is_valid():
            return self.respond(request, form, status=400)
        switch = services.upsell_switch(org=self.org, customer=self.customer, enabled=form.is_on())
        if switch.enabled:
            notice = _(
                "Upsell is on for %(customer)s: its members see the features "
                "of higher editions, tagged with the edition that unlocks them."
            ) % {"customer": self.customer.name}
        else:
            notice = _("Upsell is off for %(customer)s: missing features are not shown.") % {
                "customer": self.customer.name
            }
        messages.success(request, notice)
        return _back(request, self.page_url())

    def page_url(self) -> str:
        return reverse(
            "customer_upsell",
            kwargs={"slug": self.org.tenant.slug, "customer_id": self.customer.pk},
        )

    def switch_context(self) -> dict:
        history = list(selectors.upsell_history(customer=self.customer)[:HISTORY_SHOWN])
        return {
            "customer": self.customer,
            "enabled": selectors.upsell_enabled(customer=self.customer),
            "last_change": history[0] if history else None,
            "history": history,
            "interest": selectors.interest_for(org=self.org, customer=self.customer),
            "page_url": self.page_url(),
            "customer_url": reverse(
                "customer_detail",
                kwargs={"slug": self.org.tenant.slug, "customer_id": self.customer.pk},
            ),
        }

    def respond(self, request, form, status=200):
        requests = selectors.upgrade_requests_for(org=self.org).filter(customer=self.customer)
        context = {
            **self.switch_context(),
            "form": form,
            "requests": list(requests[:ANSWERED_SHOWN]),
            "next_url": request.get_full_path(),
        }
        return self.render_page(request, "upsell/customer_upsell.html", context, status)


class UpgradeRequestsView(UpsellView):
    """Customers' "Ask my partner" requests: the open ones first (each turned
    into an offer or dismissed in one click), then the latest answered."""

    allowed_kinds = PARTNER_ONLY

    def get(self, request, slug):
        requests = selectors.upgrade_requests_for(org=self.org)
        context = {
            "open_requests": list(requests.filter(status=UpgradeRequest.Status.OPEN)),
            "answered": list(
                requests.exclude(status=UpgradeRequest.Status.OPEN).order_by(
                    "-closed_at", "-created_at"
                )[:ANSWERED_SHOWN]
            ),
            "next_url": request.get_full_path(),
        }
        return self.render_page(request, "upsell/requests.html", context)


class UpgradeRequestView(UpsellView):
    """Answer one request (POST `action=offer|dismiss`); a request answered
    already is the service's 409, shown as a message."""

    allowed_kinds = PARTNER_ONLY
    ACTIONS = ("offer", "dismiss")

    def resolve(self) -> None:
        self.upgrade_request = selectors.upgrade_request_get(
            org=self.org, request_id=self.kwargs["request_id"]
        )

    def get(self, request, slug, request_id):
        return redirect(f"{self.list_url()}#request-{request_id}")

    def post(self, request, slug, request_id):
        action = request.POST.get("action", "")
        if action not in self.ACTIONS:
            return HttpResponseBadRequest(_("Unknown action."))
        try:
            if action == "offer":
                return self.do_offer(request)
            return self.do_dismiss(request)
        except Conflict as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return _back(request, self.list_url())

    def do_offer(self, request):
        answered = services.upgrade_request_to_offer(org=self.org, request=self.upgrade_request)
        messages.success(
            request,
            _("The offer “%(name)s” was created for %(customer)s; it is being delivered.")
            % {"name": answered.offer.template_name, "customer": answered.customer.name},
        )
        return redirect("offer_detail", slug=self.org.tenant.slug, offer_id=answered.offer_id)

    def do_dismiss(self, request):
        answered = services.upgrade_request_dismiss(org=self.org, request=self.upgrade_request)
        messages.success(
            request,
            _("The request of %(customer)s for %(edition)s was dismissed.")
            % {"customer": answered.customer.name, "edition": answered.recommended_product.name},
        )
        return _back(request, self.list_url())

    def list_url(self) -> str:
        return reverse("upgrade_requests", kwargs={"slug": self.org.tenant.slug})
