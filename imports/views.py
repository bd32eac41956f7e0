"""Browser pages of the bulk import (SPEC §2): the upload page (templates, the
columns, a dry run by default, the error report), and a queued job's progress,
which polls itself with htmx. Mounted at customers/import/ by imports/urls.py.

"Import now" after a dry run posts the very file that was checked, without a
second upload: the dry-run page carries it in a hidden field, compressed and
signed (django.core.signing) for this partner and person, valid for an hour. The
import validates it again anyway; the signature only keeps the button from
importing anything but what the dry run showed.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from imports.columns import (
    CONTACTS,
    CUSTOMERS,
    KINDS,
    import_template,
    import_template_filename,
)
from imports.jobs import import_job_get, import_submit
from imports.parse import MAX_BYTES, MAX_ROWS, ImportInvalid
from tenants.models import Role, Tenant
from tenants.web import OrgViewMixin, form_add_service_errors

CONFIRM_MAX_AGE = 3600
PLAN_ROWS_SHOWN = 500
ERRORS_SHOWN = 1000


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind.name, kind.label) for kind in KINDS.values()],
        widget=forms.RadioSelect,
        initial=CUSTOMERS,
        label=gettext_lazy("The file holds"),
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Dry run: show what would be created and updated, write nothing"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Set per request: the numbers follow the reader's locale.
        self.fields["file"].help_text = _(
            "UTF-8, with or without BOM, columns separated by , or ; "
            "(as Excel saves “CSV UTF-8”); at most %(rows)s rows and %(megabytes)s MB."
        ) % {
            "rows": number_format(MAX_ROWS, force_grouping=True),
            "megabytes": MAX_BYTES // (1024 * 1024),
        }


def _confirm_salt(org) -> str:
    return f"partners.imports.confirm:{org.tenant.pk}:{org.user.pk}"


def confirm_token(org, kind: str, content: str) -> str:
    return signing.dumps({"kind": kind, "content": content}, salt=_confirm_salt(org), compress=True)


def confirm_payload(org, token: str) -> dict | None:
    try:
        return signing.loads(token, salt=_confirm_salt(org), max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None


def _fits_in_a_form(token: str) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or len(token) < limit - 10_000


class CustomerImportView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN

    def render_page(self, request, form, status=200, **context):
        context = {
            "form": form,
            "kinds": KINDS.values(),
            "plan_rows_shown": PLAN_ROWS_SHOWN,
            "errors_shown": ERRORS_SHOWN,
            **context,
        }
        return render(request, "imports/import.html", context, status=status)

    def get(self, request, slug):
        return self.render_page(request, ImportForm())

    def post(self, request, slug):
        if "confirm" in request.POST:
            return self.confirm(request)
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(request, form, status=400)
        data = form.cleaned_data
        return self.submit(request, form, data["kind"], data["file"], data["dry_run"])

    def confirm(self, request):
        """ "Import now" after a dry run: the file the dry run showed."""
        payload = confirm_payload(self.org, request.POST.get("confirm", ""))
        if payload is None:
            return self.render_page(
                request,
                ImportForm(),
                status=400,
                problems=[_("This dry run has expired. Upload the file again.")],
            )
        form = ImportForm(initial={"kind": payload["kind"], "dry_run": True})
        return self.submit(request, form, payload["kind"], payload["content"], dry_run=False)

    def submit(self, request, form, kind, file, dry_run):
        try:
            outcome = import_submit(org=self.org, kind=kind, file=file, dry_run=dry_run)
        except ImportInvalid as exc:
            return self.render_page(
                request,
                form,
                status=400,
                report=exc.errors,
                report_more=max(0, len(exc.errors) - ERRORS_SHOWN),
            )
        except ValidationError as exc:
            if form.is_bound:
                form_add_service_errors(form, exc)
                return self.render_page(request, form, status=400)
            return self.render_page(request, form, status=400, problems=exc.messages)
        if outcome.dry_run:
            plan = outcome.plan
            token = confirm_token(self.org, kind, plan.content)
            return self.render_page(
                request,
                form,
                plan=plan,
                plan_rows=[row.as_dict() for row in plan.rows[:PLAN_ROWS_SHOWN]],
                plan_kind=KINDS[kind],
                confirm=token if _fits_in_a_form(token) else None,
            )
        if outcome.job is not None:
            return redirect("customer_import_job", slug=self.org.tenant.slug, job_id=outcome.job.pk)
        result = outcome.result
        counts = {"created": result.created, "updated": result.updated}
        if kind == CONTACTS:
            text = _("Imported: %(created)s created, %(updated)s updated (contacts).") % counts
        elif kind == CUSTOMERS:
            text = _("Imported: %(created)s created, %(updated)s updated (customers).") % counts
        else:
            text = _("Imported: %(created)s created, %(updated)s updated (%(kind)s).") % {
                **counts,
                "kind": str(KINDS[kind].label).lower(),
            }
        messages.success(request, text)
        return redirect("partner_customers", slug=self.org.tenant.slug)


class CustomerImportTemplateView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN

    def get(self, request, slug):
        kind = request.GET.get("kind", "")
        if kind not in KINDS:
            return HttpResponse(_("Choose kind=customers or kind=contacts."), status=400)
        response = HttpResponse(import_template(kind=kind), content_type="text/csv; charset=utf-8")
        filename = import_template_filename(kind)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class CustomerImportJobView(OrgViewMixin, View):
    """A queued import's progress; while it runs, the progress part polls itself."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    def get(self, request, slug, job_id):
        job = import_job_get(org=self.org, job_id=job_id)
        htmx = bool(request.headers.get("HX-Request"))
        template = "imports/import_job_progress.html" if htmx else "imports/import_job.html"
        response = render(request, template, {"job": job})
        patch_vary_headers(response, ["HX-Request"])
        return response
