"""The provider console (`/provider/`, SPEC §2 "Provider console"): the
provider's staff run the platform in the browser. The partners, listed with
their MRR, status and programme; a new partner made by inviting its owner by
email; a partner's page with its discount in %, its sub-partners and
customers; a partner suspended or reactivated; a partner moved in the tree
after a preview of what moves. The same services as the API
(`tenants.services.partner_create`, `partner_update`, `tenant_status_set`,
`partner_move`).

Who (tenants.selectors.provider_console_access, docs/operations.md "The
provider console"): platform staff and the provider organization's owners,
admins and collaborators read every page; a POST (every write) needs an owner,
an admin or platform staff (403 for a collaborator); anyone else gets a 404 on
every page here, and before `setup_platform` staff get the page naming it
(portal.setup_required)."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from core.exceptions import Conflict
from partners.selectors import customers_managed_now
from subscriptions.branch_move import branch_figures, partner_move_preview
from subscriptions.mrr import book_mrr
from tenants.forms import PercentField
from tenants.models import (
    DEFAULT_DISCOUNT_RATE,
    MAX_DISCOUNT_RATE,
    MAX_PAYMENT_TERMS_DAYS,
    Tenant,
)
from tenants.selectors import (
    ProviderStaff,
    partner_get,
    partner_seen_by_owners,
    partners_list,
    provider_console_access,
    tenant_descendants,
)
from tenants.services import (
    partner_create,
    partner_move,
    partner_update,
    payment_terms_set,
    tenant_status_set,
)
from tenants.web import form_add_service_errors
from tenders.selectors import programme_progress

PAGE_SIZE = 25


class ProviderConsoleMixin(LoginRequiredMixin):
    """The console's door: provider staff read (`provider_console_access`), and
    every POST is a write, for owners, admins and platform staff only."""

    provider: Tenant
    staff: ProviderStaff

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.staff = provider_console_access(user=request.user)
        self.provider = self.staff.provider
        request.provider_staff = self.staff  # the pages show write buttons to writers only
        if request.method not in ("GET", "HEAD", "OPTIONS") and not self.staff.can_write:
            raise PermissionDenied(
                _("The provider's collaborators read the console; owners and admins change it.")
            )
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


def _percent(rate: Decimal) -> str:
    """A stored rate (0.2250) as the percent people read and type (22.5)."""
    return f"{(rate * Decimal('100')).normalize():f}"


def _partner_row(partner: Tenant, user) -> dict:
    """One partner's figures: its book's MRR today (as its owners see it) and its
    programme progress, each cached until its branch changes."""
    book = book_mrr(org=partner_seen_by_owners(partner=partner, user=user), months=1)
    return {
        "partner": partner,
        "mrr": book["current_mrr"],
        "currency": book["currency"],
        "discount_percent": _percent(partner.discount_rate),
        "programme": programme_progress(partner=partner),
    }


def _partners_page(request, staff: ProviderStaff, status_code: int = 200):
    q = request.GET.get("q", "")
    status = request.GET.get("status", "")
    page = Paginator(partners_list(q=q, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_partner_row(partner, request.user) for partner in page]
    return render(
        request,
        "provider/partners.html",
        {
            "provider": staff.provider,
            "can_write": staff.can_write,
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
        return _partners_page(request, self.staff)


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
            if request.POST.get("back") == "partner":
                return _partner_page(request, self.staff, partner, status_code=400)
            return _partners_page(request, self.staff, status_code=400)
        if partner.status == Tenant.Status.SUSPENDED:
            text = _("%(partner)s is suspended.")
        else:
            text = _("%(partner)s is active again.")
        messages.success(request, text % {"partner": partner.name})
        if request.POST.get("back") == "partner":
            return redirect("provider_partner", partner_id=partner.pk)
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
            {"provider": self.provider, "can_write": self.staff.can_write, "form": form},
            status=status,
        )


class PartnerDiscountForm(forms.Form):
    discount_rate = PercentField(
        label=gettext_lazy("Discount (%)"),
        max_rate=MAX_DISCOUNT_RATE,
        help_text=gettext_lazy("Partner discount on public prices: 20 by default, at most 35."),
    )


class PaymentTermsForm(forms.Form):
    payment_terms_days = forms.IntegerField(
        min_value=0,
        max_value=MAX_PAYMENT_TERMS_DAYS,
        label=gettext_lazy("Payment terms (days)"),
        help_text=gettext_lazy(
            "Its invoices are due this many days after their date (30 by default)."
        ),
    )


def _partner_page(
    request,
    staff: ProviderStaff,
    partner: Tenant,
    form: PartnerDiscountForm | None = None,
    status_code: int = 200,
    terms_form: PaymentTermsForm | None = None,
):
    """A partner's page: its terms, its place in the tree, its sub-partners and
    customers, and its book's and branch's figures."""
    partner = partner_get(partner_id=partner.pk)  # as it is now, after a write or not
    sub_partners = tenant_descendants(tenant=partner, kind=Tenant.Kind.PARTNER)
    return render(
        request,
        "provider/partner.html",
        {
            "provider": staff.provider,
            "can_write": staff.can_write,
            "partner": partner,
            "row": _partner_row(partner, request.user),
            "children": [
                (child, _percent(child.discount_rate))
                for child in sub_partners.filter(parent=partner).order_by("name", "id")
            ],
            "sub_partners_count": sub_partners.count(),
            "customers_count": customers_managed_now(partner=partner).count(),
            "branch": branch_figures(partner=partner, user=request.user),
            "form": form or PartnerDiscountForm(initial={"discount_rate": partner.discount_rate}),
            "terms_form": terms_form
            or PaymentTermsForm(initial={"payment_terms_days": partner.payment_terms_days}),
        },
        status=status_code,
    )


class PartnerView(ProviderConsoleMixin, View):
    """One partner: status, discount in %, parent, sub-partners and customers."""

    def get(self, request, partner_id):
        return _partner_page(request, self.staff, partner_get(partner_id=partner_id))


class PartnerDiscountView(ProviderConsoleMixin, View):
    """A partner's discount, typed in % (`partner_update`, as `PATCH
    partners/{id}/` in the API; audited in the partner's log and the provider's)."""

    def post(self, request, partner_id):
        partner = partner_get(partner_id=partner_id)
        form = PartnerDiscountForm(request.POST)
        if form.is_valid():
            try:
                partner = partner_update(
                    actor=request.user,
                    partner=partner,
                    discount_rate=form.cleaned_data["discount_rate"],
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("The discount of %(partner)s is %(percent)s %%.")
                    % {
                        "partner": partner.name,
                        "percent": _percent(partner.discount_rate),
                    },
                )
                return redirect("provider_partner", partner_id=partner.pk)
        return _partner_page(request, self.staff, partner, form=form, status_code=400)


class PartnerPaymentTermsView(ProviderConsoleMixin, View):
    """The partner's payment terms in days (`payment_terms_set`, audited in its
    log and the provider's): the due date of its next invoices."""

    def post(self, request, partner_id):
        partner = partner_get(partner_id=partner_id)
        form = PaymentTermsForm(request.POST)
        if form.is_valid():
            try:
                partner = payment_terms_set(
                    actor=request.user, tenant=partner, days=form.cleaned_data["payment_terms_days"]
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Invoices to %(partner)s are due %(days)s days after their date.")
                    % {"partner": partner.name, "days": partner.payment_terms_days},
                )
                return redirect("provider_partner", partner_id=partner.pk)
        return _partner_page(request, self.staff, partner, status_code=400, terms_form=form)


class PartnerMoveForm(forms.Form):
    parent = forms.ModelChoiceField(
        queryset=Tenant.objects.none(),
        required=False,
        label=gettext_lazy("Move under"),
        empty_label=gettext_lazy("— directly under the provider —"),
    )

    def __init__(self, *args, partner: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        # Every other partner: the service says why one of them cannot be chosen
        # (its own sub-partner, a suspended one) rather than leaving it out unexplained.
        parent.queryset = partners_list().exclude(pk=partner.pk)
        parent.label_from_instance = _target_label


def _target_label(partner: Tenant) -> str:
    if partner.status == Tenant.Status.SUSPENDED:
        return _("%(partner)s (suspended)") % {"partner": partner.name}
    return partner.name


class PartnerMoveView(ProviderConsoleMixin, View):
    """Move a partner, with its whole branch, under another partner or directly
    under the provider: choose where (GET), see what moves (GET with `preview`:
    its sub-partners, customers, subscriptions and MRR, and who stops and starts
    counting them), then confirm (POST, `partner_move`, which commits only the
    branch the preview showed: a branch changed since is a 409 showing the new
    preview). A cycle or a suspended target is the form's error, nothing moved."""

    def get(self, request, partner_id):
        partner = partner_get(partner_id=partner_id)
        if "preview" not in request.GET:
            return self._render(request, partner, PartnerMoveForm(partner=partner))
        return self._preview(request, partner, PartnerMoveForm(request.GET, partner=partner))

    def post(self, request, partner_id):
        partner = partner_get(partner_id=partner_id)
        form = PartnerMoveForm(request.POST, partner=partner)
        if not form.is_valid():
            return self._render(request, partner, form, status_code=400)
        new_parent = form.cleaned_data["parent"] or self.provider
        try:
            partner_move(
                actor=request.user,
                partner=partner,
                new_parent=new_parent,
                expected=request.POST.get("expected", ""),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            return self._render(request, partner, form, status_code=400)
        except Conflict as exc:
            messages.error(request, exc.message)
            return self._preview(request, partner, form, status_code=409)
        messages.success(
            request,
            _("%(partner)s now hangs under %(parent)s, with its whole branch.")
            % {"partner": partner.name, "parent": new_parent.name},
        )
        return redirect("provider_partner", partner_id=partner.pk)

    def _preview(self, request, partner: Tenant, form: PartnerMoveForm, status_code: int = 200):
        if not form.is_valid():
            return self._render(request, partner, form, status_code=400)
        target = form.cleaned_data["parent"]
        try:
            preview = partner_move_preview(
                partner=partner, new_parent=target or self.provider, user=request.user
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            return self._render(request, partner, form, status_code=400)
        return self._render(request, partner, form, preview=preview, status_code=status_code)

    def _render(self, request, partner, form, preview=None, status_code=200):
        return render(
            request,
            "provider/partner_move.html",
            {
                "provider": self.provider,
                "can_write": self.staff.can_write,
                "partner": partner,
                "form": form,
                "preview": preview,
                "cancel_url": reverse("provider_partner", kwargs={"partner_id": partner.pk}),
            },
            status=status_code,
        )
