"""Browser pages of tenders and the partner directory (SPEC §3, §9).

Public (no login): the partner directory, the visitor's request form, and the
poster's two signed links — confirm (publish) and manage (proposals, cancel).
Opening a link changes nothing (mail scanners open links); only the POST
buttons on the page do. Under /t/<slug>/: a customer's requests (post, cancel,
read the proposals) and, for a partner that opted in, the open requests and its
proposals. Thin: forms parse, tenders.services writes,
partners.selectors read, scoped to the organization."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django_ratelimit.core import is_ratelimited

from core.exceptions import Conflict
from partners.selectors import partner_directory
from tenants.models import Role, Tenant
from tenants.web import (
    OrgViewMixin,
    ResolveFirstMixin,
    attach_menu_org,
    form_add_service_errors,
)
from tenders.forms import (
    HONEYPOT_FIELD,
    STAMP_FIELD,
    DirectorySearchForm,
    ProposalForm,
    TenderForm,
    form_stamp,
    visitor_verdict,
)
from tenders.models import Tender
from tenders.selectors import tender_get, tender_proposals, tenders_for
from tenders.services import (
    tender_cancel,
    tender_confirm,
    tender_for_token,
    tender_manage_url,
    tender_post,
    tender_post_visitor,
    tender_propose,
)

PAGE_SIZE = 25
VISITOR_POSTS_RATE = "5/h"
RATE_WINDOW_SECONDS = 60 * 60
# A speciality is matched in the JSON text of the list; a query holding JSON's
# own punctuation would match across items (`", "`), so it searches names only.
JSON_PUNCTUATION = frozenset('"[],\\')
PARTNER_OR_CUSTOMER = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
Status = Tender.Status


# --- the public directory --------------------------------------------------------------------


def directory_search(partners: QuerySet[Tenant], query: str) -> QuerySet[Tenant]:
    """Narrow the listed partners to those whose name, city, country or one of
    the specialities contains `query`. The specialities are a JSON list, matched
    in its text: PostgreSQL's jsonb text holds the characters themselves, the
    SQLite text holds non-ASCII ones escaped (`\\u00e9`), so both spellings are
    asked for."""
    query = query.strip()
    if not query:
        return partners
    match = Q(name__icontains=query) | Q(city__icontains=query) | Q(country__iexact=query)
    if not JSON_PUNCTUATION & set(query):
        match |= Q(specialities__icontains=query)
        escaped = json.dumps(query)[1:-1]
        if escaped != query:
            match |= Q(specialities__icontains=escaped)
    return partners.filter(match)


class DirectoryView(View):
    """Partners that opted in to the directory, for anyone. The search does not
    reach the owners' email addresses (unlike the signed-in invite search)."""

    def get(self, request):
        form = DirectorySearchForm(request.GET)
        query = form.cleaned_data["q"] if form.is_valid() else ""
        attach_menu_org(request, request.GET.get("org"))
        partners = (
            directory_search(partner_directory(), query)
            .select_related("branding")
            .only(
                "id",
                "name",
                "website",
                "city",
                "country",
                "specialities",
                "branding__support_email",
                "branding__support_phone",
            )
        )
        page = Paginator(partners, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request, "partners/directory.html", {"form": form, "query": query, "page": page}
        )


# --- the visitor's request ---------------------------------------------------------------------


def visitor_post_allowed(request) -> bool:
    """At most VISITOR_POSTS_RATE posts of the form per client address
    (django-ratelimit, counted in the shared cache; behind a proxy, the proxy
    must pass the client's address on as REMOTE_ADDR)."""
    return not is_ratelimited(
        request,
        group="partners.tender-visitor",
        key="ip",
        rate=VISITOR_POSTS_RATE,
        method="POST",
        increment=True,
    )


@method_decorator(never_cache, name="dispatch")
class VisitorTenderView(View):
    """Anyone may post a request; it is published once the address is confirmed.
    A caught bot sees the same answer as a person, and nothing is written."""

    def render_form(self, request, form, status=200):
        context = {
            "form": form,
            "stamp": form_stamp(),
            "honeypot_field": HONEYPOT_FIELD,
            "stamp_field": STAMP_FIELD,
        }
        return render(request, "tenders/visitor_form.html", context, status=status)

    def sent(self, request):
        return render(request, "tenders/visitor_sent.html")

    def get(self, request):
        return self.render_form(request, TenderForm())

    def post(self, request):
        if not visitor_post_allowed(request):
            response = render(request, "tenders/too_many.html", status=429)
            response["Retry-After"] = str(RATE_WINDOW_SECONDS)
            return response
        verdict = visitor_verdict(request.POST)
        if verdict == "bot":
            return self.sent(request)
        form = TenderForm(request.POST)
        if verdict == "stale":
            form.add_error(
                None,
                _("This form was open for more than a day. Check your request and send it again."),
            )
            return self.render_form(request, form, status=400)
        if form.is_valid():
            try:
                tender_post_visitor(**form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return self.sent(request)
        return self.render_form(request, form, status=400)


# --- the poster's links ----------------------------------------------------------------------


def tender_link_unusable() -> HttpResponseNotFound:
    """One answer for every poster's link that does not work, whatever the
    reason, rendered without the request: the same bytes for everyone."""
    response = HttpResponseNotFound(render_to_string("tenders/link_unusable.html"))
    response["Referrer-Policy"] = "no-referrer"
    return response


@method_decorator(never_cache, name="dispatch")
class TenderLinkView(View):
    """A signed link of the poster: `purpose` names which one."""

    purpose: str
    template: str
    tender: Tender

    def dispatch(self, request, token):
        tender = tender_for_token(token=token, purpose=self.purpose)
        if tender is None:
            return tender_link_unusable()
        self.tender = tender
        response = super().dispatch(request, token)
        # The token never leaves the site in a Referer. Not "no-referrer": with it,
        # browsers post this page's forms with "Origin: null", which CSRF refuses.
        response["Referrer-Policy"] = "same-origin"
        return response

    def render_page(self, request, **context):
        return render(request, self.template, {"tender": self.tender, **context})


class TenderConfirmView(TenderLinkView):
    """The link emailed to a visitor: the request and a button that publishes it."""

    purpose = "confirm"
    template = "tenders/confirm.html"

    def get(self, request, token):
        context = {}
        if self.tender.status == Status.OPEN:
            context["manage_url"] = tender_manage_url(self.tender)
        return self.render_page(request, **context)

    def post(self, request, token):
        try:
            tender_confirm(tender=self.tender)
        except Conflict as exc:
            messages.error(request, exc.message)
        return redirect(request.path)


class TenderManageView(TenderLinkView):
    """The poster's page: the request, the proposals received, and Cancel."""

    purpose = "manage"
    template = "tenders/manage.html"

    def get(self, request, token):
        return self.render_page(
            request,
            proposals=tender_proposals(tender=self.tender),
            can_cancel=self.tender.status in (Status.UNCONFIRMED, Status.OPEN),
        )

    def post(self, request, token):
        if request.POST.get("action") != "cancel":
            return HttpResponseBadRequest(_("Unknown action."))
        try:
            tender_cancel(tender=self.tender)
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your request was cancelled: partners no longer see it."))
        return redirect(request.path)


# --- inside an organization ----------------------------------------------------------------


class TendersView(OrgViewMixin, View):
    """A customer's own requests; a partner's open requests (when it opted in)."""

    allowed_kinds = PARTNER_OR_CUSTOMER

    def get(self, request, slug):
        tenant = self.org.tenant
        context = {"receives": tenant.is_customer or tenant.receives_tenders}
        if context["receives"]:
            tenders = tenders_for(org=self.org)
            if tenant.is_partner:
                tenders = tenders.order_by("valid_until", "-opened_at")
            context["page"] = Paginator(tenders, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "tenders/list.html", context)


class TenderPostView(OrgViewMixin, View):
    """A customer's owner or admin posts a request: open at once."""

    allowed_kinds = (Tenant.Kind.CUSTOMER,)
    min_role = Role.ADMIN

    def render_page(self, request, form, status=200):
        return render(request, "tenders/form.html", {"form": form}, status=status)

    def get(self, request, slug):
        user = request.user
        return self.render_page(
            request,
            TenderForm(initial={"contact_name": user.full_name, "contact_email": user.email}),
        )

    def post(self, request, slug):
        form = TenderForm(request.POST)
        if form.is_valid():
            try:
                tender = tender_post(org=self.org, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Your request is published: the partners of the programme were told, and "
                        "their proposals reach you here and by email."
                    ),
                )
                return redirect("tender_detail", slug=slug, tender_id=tender.pk)
        return self.render_page(request, form, status=400)


class TenderDetailView(OrgViewMixin, ResolveFirstMixin, View):
    """The customer's request with its proposals and Cancel; for a partner that
    opted in, the whole request with the contact and its proposal (or the form)."""

    allowed_kinds = PARTNER_OR_CUSTOMER
    tender: Tender

    def resolve(self) -> None:
        self.tender = tender_get(org=self.org, tender_id=self.kwargs["tender_id"])

    def get(self, request, slug, tender_id):
        return self.render_page(request)

    def post(self, request, slug, tender_id):
        action = request.POST.get("action", "")
        if self.org.tenant.is_customer and action == "cancel":
            return self.cancel(request)
        if self.org.tenant.is_partner and action == "propose":
            return self.propose(request)
        return HttpResponseBadRequest(_("Unknown action."))

    def cancel(self, request):
        try:
            tender_cancel(tender=self.tender, org=self.org)
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your request was cancelled: partners no longer see it."))
        return redirect("tender_detail", slug=self.org.tenant.slug, tender_id=self.tender.pk)

    def propose(self, request):
        if self.tender.proposals.all():  # prefetched by the selector: this partner's own
            messages.error(request, _("You already answered this request."))
            return redirect("tender_detail", slug=self.org.tenant.slug, tender_id=self.tender.pk)
        form = ProposalForm(request.POST)
        if form.is_valid():
            try:
                tender_propose(
                    org=self.org, tender=self.tender, message=form.cleaned_data["message"]
                )
            except Conflict as exc:
                messages.error(request, exc.message)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
                return self.render_page(request, proposal_form=form, status=400)
            else:
                messages.success(
                    request,
                    _("Your proposal was emailed to %(name)s.")
                    % {"name": self.tender.contact_name or self.tender.contact_email},
                )
            return redirect("tender_detail", slug=self.org.tenant.slug, tender_id=self.tender.pk)
        return self.render_page(request, proposal_form=form, status=400)

    def render_page(self, request, proposal_form=None, status=200):
        tender = self.tender
        context = {"tender": tender}
        if self.org.tenant.is_customer:
            context.update(
                proposals=tender_proposals(tender=tender),
                can_cancel=self.org.is_admin and tender.status in (Status.UNCONFIRMED, Status.OPEN),
            )
        else:
            own = list(tender.proposals.all())  # the selector prefetched this partner's only
            context["own_proposal"] = own[0] if own else None
            if not own:
                context["proposal_form"] = proposal_form or ProposalForm()
        return render(request, "tenders/detail.html", context, status=status)
