"""The provider console's platform pages (SPEC §2 "Provider console"), for
platform staff only (`ProviderConsoleMixin`: anyone else gets a 404):

- `/provider/mrr/`: the platform's MRR per currency over the months and each
  partner's movements of a month (`subscriptions.platform_mrr`, as `GET
  provider/mrr/`);
- `/provider/audit/`: every organization's audit log, filtered by organization,
  actor, action and days, and its CSV export (streamed, itself audited);
- `/provider/tenders/`: tender moderation, withdrawing a request with a reason
  (`tenders.services.tender_withdraw`);
- `/provider/invoicing/`: the provider's address, country and VAT number as
  its invoices print them (`tenants.services.provider_invoicing_update`), and
  the VAT rates in force (docs/invoices.md)."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from billing.vat import rates_in_force
from core.exceptions import Conflict
from core.exports import csv_lines, csv_response
from portal.provider import PAGE_SIZE, ProviderConsoleMixin
from subscriptions.mrr import KINDS, MONTHS_MAX
from subscriptions.platform_mrr import platform_mrr
from tenants.audit import audit_record
from tenants.models import AuditEvent
from tenants.selectors import audit_events_platform
from tenants.services import PROVIDER_INVOICING_FIELDS, provider_invoicing_update
from tenants.web import form_add_service_errors
from tenders.models import Tender
from tenders.selectors import tender_for_moderation, tenders_for_moderation
from tenders.services import WITHDRAWAL_REASON_MAX, tender_withdraw

AUDIT_PAGE_SIZE = 50


class PlatformMrrForm(forms.Form):
    months = forms.IntegerField(
        min_value=1, max_value=MONTHS_MAX, required=False, label=gettext_lazy("Months")
    )
    month = forms.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        label=gettext_lazy("Partners' month"),
        error_messages={"invalid": gettext_lazy("A month as YYYY-MM.")},
    )


class PlatformMrrView(ProviderConsoleMixin, View):
    """The platform's MRR per currency, month by month with its movements, and
    per partner the MRR and movements of one month, 25 partners a page."""

    def get(self, request):
        form = PlatformMrrForm(request.GET)
        figures, status = None, 200
        if form.is_valid():
            try:
                figures = platform_mrr(
                    months=form.cleaned_data["months"] or 12,
                    month=form.cleaned_data["month"] or None,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
        if figures is None:
            status = 400
        page = Paginator(figures["partners"] if figures else [], PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "provider/mrr.html",
            {
                "provider": self.provider,
                "form": form,
                "figures": figures,
                "page": page,
                "kinds": KINDS,
            },
            status=status,
        )


class AuditFilterForm(forms.Form):
    organization = forms.CharField(
        required=False,
        max_length=200,
        label=gettext_lazy("Organization"),
        help_text=gettext_lazy("Part of its name, or its slug."),
    )
    actor = forms.CharField(required=False, max_length=254, label=gettext_lazy("Actor's email"))
    action = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("All actions")), *AuditEvent.Action.choices],
        label=gettext_lazy("Action"),
    )
    since = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The last day comes on or after the first."))
        return data

    def events(self):
        return audit_events_platform(**self.cleaned_data)

    @property
    def filters(self) -> dict:
        """The filters given, for the export's own audit event."""
        return {k: str(v) for k, v in self.cleaned_data.items() if v not in ("", None)}


def _audit_page(request, provider, form, status=200):
    events = form.events() if form.is_valid() else AuditEvent.objects.none()
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "provider/audit.html",
        {"provider": provider, "form": form, "page": page},
        status=status if form.is_valid() else 400,
    )


class AuditLogView(ProviderConsoleMixin, View):
    """Every organization's audit log, newest first, 50 events a page."""

    def get(self, request):
        return _audit_page(request, self.provider, AuditFilterForm(request.GET))


AUDIT_CSV_HEADER = [
    "at",
    "organization",
    "organization_id",
    "action",
    "action_label",
    "actor_email",
    "actor_organization",
    "target",
    "ip",
    "details",
]


def _audit_csv_rows(events):
    for event in events.iterator(chunk_size=2000):
        yield [
            event.at,
            event.tenant.name,
            event.tenant_id,
            event.action,
            event.get_action_display(),
            event.actor_email,
            event.actor_tenant.name if event.actor_tenant else "",
            event.target,
            event.ip,
            json.dumps(event.details, sort_keys=True, default=str) if event.details else "",
        ]


class AuditExportView(ProviderConsoleMixin, View):
    """The filtered events as CSV, streamed (core.exports); the export itself is
    recorded in the provider's log with its filters."""

    def get(self, request):
        form = AuditFilterForm(request.GET)
        if not form.is_valid():
            return _audit_page(request, self.provider, form)
        audit_record(
            tenant=self.provider,
            action=AuditEvent.Action.EXPORT_AUDIT,
            actor=request.user,
            actor_tenant=self.provider,
            details={"filters": form.filters},
            request=request,
        )
        return csv_response(
            csv_lines(AUDIT_CSV_HEADER, _audit_csv_rows(form.events())),
            filename="audit-log.csv",
        )


class TenderWithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=WITHDRAWAL_REASON_MAX,
        label=gettext_lazy("Reason, sent to the poster"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _tenders_page(request, provider, status_code=200, failed=None):
    status = request.GET.get("status", "")
    q = request.GET.get("q", "")
    page = Paginator(tenders_for_moderation(status=status, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "provider/tenders.html",
        {
            "provider": provider,
            "page": page,
            "q": q,
            "status": status,
            "statuses": Tender.Status.choices,
            "withdrawable": (Tender.Status.UNCONFIRMED, Tender.Status.OPEN),
            "failed": failed,
        },
        status=status_code,
    )


class TendersView(ProviderConsoleMixin, View):
    """Every request for offers, newest first, filtered by status and text,
    with the withdraw form of each waiting or open one."""

    def get(self, request):
        return _tenders_page(request, self.provider)


class TenderWithdrawView(ProviderConsoleMixin, View):
    """Withdraw one request with a reason (`tender_withdraw`): audited, the
    poster emailed. A bad reason is a 400 with the error on the page."""

    def post(self, request, tender_id):
        tender = tender_for_moderation(tender_id=tender_id)
        form = TenderWithdrawForm(request.POST)
        if form.is_valid():
            try:
                tender_withdraw(
                    actor=request.user, tender=tender, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                for error in exc.messages:
                    form.add_error("reason", error)
            except Conflict as exc:
                messages.error(request, str(exc.message))
                return _tenders_page(request, self.provider, status_code=409)
            else:
                messages.success(request, _("“%(title)s” was withdrawn.") % {"title": tender.title})
                return redirect("provider_tenders")
        return _tenders_page(
            request, self.provider, status_code=400, failed={"tender": tender, "form": form}
        )


class InvoicingForm(forms.Form):
    address = forms.CharField(required=False, max_length=255, label=gettext_lazy("Address"))
    postal_code = forms.CharField(required=False, max_length=20, label=gettext_lazy("Postal code"))
    city = forms.CharField(required=False, max_length=100, label=gettext_lazy("City"))
    country = forms.CharField(
        required=False,
        max_length=2,
        label=gettext_lazy("Country"),
        help_text=gettext_lazy(
            "ISO code, e.g. CH. It decides the VAT of every invoice; without one, "
            "invoices carry no VAT."
        ),
    )
    vat_number = forms.CharField(required=False, max_length=32, label=gettext_lazy("VAT number"))


class InvoicingView(ProviderConsoleMixin, View):
    """The issuer of the provider's invoices: its legal name (from
    `setup_platform`), address, country and VAT number; and the VAT rates in
    force today (staff change them in the Django admin)."""

    def get(self, request):
        initial = {name: getattr(self.provider, name) for name in PROVIDER_INVOICING_FIELDS}
        return self._render(request, InvoicingForm(initial=initial))

    def post(self, request):
        form = InvoicingForm(request.POST)
        if form.is_valid():
            try:
                provider_invoicing_update(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("New invoices print these details."))
                return redirect("provider_invoicing")
        return self._render(request, form, status=400)

    def _render(self, request, form, status=200):
        return render(
            request,
            "provider/invoicing.html",
            {
                "provider": self.provider,
                "form": form,
                "rates": rates_in_force(timezone.localdate()),
            },
            status=status,
        )
