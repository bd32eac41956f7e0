"""The provider console (`/provider/`, SPEC §2 "Provider console"): platform
staff run the platform in the browser. Built so far: the partners, listed with
their MRR, status and programme; a new partner made by inviting its owner by
email; a partner suspended or reactivated. The same services as the API
(`tenants.services.partner_create`, `tenant_status_set`);
anyone but staff gets a 404 on every page here (tenants.selectors.
provider_console_user), and before `setup_platform` staff get the page naming
it (portal.setup_required)."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from subscriptions.mrr import book_mrr
from tenants.forms import PercentField
from tenants.models import DEFAULT_DISCOUNT_RATE, MAX_DISCOUNT_RATE, Tenant
from tenants.selectors import OrgContext, partner_get, partners_list, provider_console_user
from tenants.services import partner_create, tenant_status_set
from tenants.web import form_add_service_errors
from tenders.selectors import programme_progress

PAGE_SIZE = 25


class ProviderConsoleMixin(LoginRequiredMixin):
    provider: Tenant

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.provider = provider_console_user(user=request.user)
        return super().dispatch(request, *args, **kwargs)


class PartnerInviteForm(forms.Form):
    name = forms.CharField(max_length=200, label=gettext_lazy("Partner name"))
    owner_email = forms.EmailField(
        max_length=254,
        label=gettext_lazy("Owner's email"),
        help_text=gettext_lazy("They get an email to set their password and sign in."),
    )
    currency = forms.ChoiceField(choices=Tenant.Currency.choices, label=gettext_lazy("Currency"))
    parent = forms.ModelChoiceField(
        queryset=Tenant.objects.none(),
        required=False,
        label=gettext_lazy("Under the partner"),
        empty_label=gettext_lazy("— directly under the provider —"),
    )
    discount_rate = PercentField(
        label=gettext_lazy("Discount (%)"),
        max_rate=MAX_DISCOUNT_RATE,
        initial=DEFAULT_DISCOUNT_RATE,
        help_text=gettext_lazy("Partner discount on public prices: 20 by default, at most 35."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        parent.queryset = partners_list(status=Tenant.Status.ACTIVE)


def _partner_row(partner: Tenant, user) -> dict:
    """One partner's figures: its book's MRR today (as its owners see it) and its
    programme progress, each cached until its branch changes."""
    org = OrgContext(tenant=partner, user=user, membership=None)
    book = book_mrr(org=org, months=1)
    return {
        "partner": partner,
        "mrr": book["current_mrr"],
        "currency": book["currency"],
        "discount_percent": (partner.discount_rate * Decimal("100")).normalize(),
        "programme": programme_progress(partner=partner),
    }


def _partners_page(request, provider: Tenant, status_code: int = 200):
    q = request.GET.get("q", "")
    status = request.GET.get("status", "")
    page = Paginator(partners_list(q=q, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_partner_row(partner, request.user) for partner in page]
    return render(
        request,
        "provider/partners.html",
        {
            "provider": provider,
            "page": page,
            "rows": rows,
            "q": q,
            "status": status,
            "statuses": Tenant.Status.choices,
        },
        status=status_code,
    )


class PartnersView(ProviderConsoleMixin, View):
    """Every partner, 25 a page, searchable by name and filtered by status."""

    def get(self, request):
        return _partners_page(request, self.provider)


class PartnerStatusView(ProviderConsoleMixin, View):
    """Suspend a partner or reactivate it (`tenant_status_set`, as `PATCH
    partners/{id}/` in the API): suspended, its members and API tokens get 403
    at once, its customers keep their own access; audited in the partner's log
    and the provider's."""

    def post(self, request, partner_id):
        partner = partner_get(partner_id=partner_id)
        try:
            partner = tenant_status_set(
                actor=request.user, tenant=partner, status=request.POST.get("status", "")
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return _partners_page(request, self.provider, status_code=400)
        if partner.status == Tenant.Status.SUSPENDED:
            text = _("%(partner)s is suspended.")
        else:
            text = _("%(partner)s is active again.")
        messages.success(request, text % {"partner": partner.name})
        return redirect("provider_partners")


class PartnerInviteView(ProviderConsoleMixin, View):
    """A new partner and its owner's invitation (`partner_create`, as `POST
    partners/` in the API): the owner gets an email to set a password."""

    def get(self, request):
        return self._render(request, PartnerInviteForm())

    def post(self, request):
        form = PartnerInviteForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                partner = partner_create(
                    actor=request.user,
                    name=data["name"],
                    owner_email=data["owner_email"],
                    currency=data["currency"],
                    parent=data["parent"],
                    discount_rate=data["discount_rate"],
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(partner)s was created; %(email)s got an invitation by email.")
                    % {"partner": partner.name, "email": data["owner_email"].strip().lower()},
                )
                return redirect("provider_partners")
        return self._render(request, form, status=400)

    def _render(self, request, form, status=200):
        return render(
            request,
            "provider/partner_new.html",
            {"provider": self.provider, "form": form},
            status=status,
        )
