"""Browser pages of partnerships (SPEC §3, §9): who manages a customer (its
collaborators), the customer's partners, one partnership page both sides share,
and the public invitation landing. Thin: forms parse, services write, selectors read."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from core.dates import local_date
from core.exceptions import Conflict
from partners import selectors, services
from partners.forms import (
    CollaboratorsForm,
    DeclineForm,
    EndForm,
    ExtensionForm,
    GrantForm,
    OwnerInviteForm,
    PartnerInviteForm,
    grant_initial,
)
from partners.grants import grant_comparison, grant_text, grant_value, product_names
from partners.models import Partnership, Side
from tenants.models import Role, Tenant, User
from tenants.selectors import org_context_for
from tenants.services import user_set_first_password
from tenants.web import OrgViewMixin, form_add_service_errors, require_recent_reauthentication

DIRECTORY_LIMIT = 20
Status = Partnership.Status


def _describe_change(data: dict, names: dict[str, str]) -> str:
    if not data:
        return ""
    if "access" in data:
        return grant_text(data, names)
    parts = []
    for key, value in data.items():
        if key == "ends_on":
            parts.append(_("end date %(date)s") % {"date": grant_value("ends_on", data, names)})
        elif key == "expires_at" and value:
            moment = timezone.localtime(datetime.datetime.fromisoformat(value))
            parts.append(
                _("link valid until %(moment)s") % {"moment": local_date(moment, "j M Y H:i")}
            )
        else:
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def _history(partnership: Partnership) -> list[dict]:
    events = list(selectors.partnership_history(partnership=partnership))
    names = product_names(*(e.before for e in events), *(e.after for e in events))
    return [
        {
            "event": event,
            "before": _describe_change(event.before, names),
            "after": _describe_change(event.after, names),
        }
        for event in events
    ]


def _list_url(org, slug: str) -> str:
    name = "partner_customers" if org.tenant.is_partner else "customer_partners"
    return reverse(name, kwargs={"slug": slug})


# --- partner console ------------------------------------------------------------------


class CustomerCollaboratorsView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN

    def http_method_not_allowed(self, request, *args, **kwargs):
        """Another organization's id is a 404 whatever the method, like a missing one."""
        selectors.customer_get_for_partner(org=self.org, customer_id=kwargs["customer_id"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def render_page(self, request, customer, form, status=200):
        return render(
            request,
            "partners/collaborators.html",
            {"customer": customer, "form": form},
            status=status,
        )

    def get(self, request, slug, customer_id):
        customer = selectors.customer_get_for_partner(org=self.org, customer_id=customer_id)
        assigned = [
            a.user_id for a in selectors.assigned_collaborators(org=self.org, customer=customer)
        ]
        form = CollaboratorsForm(partner=self.org.tenant, initial={"users": assigned})
        return self.render_page(request, customer, form)

    def post(self, request, slug, customer_id):
        customer = selectors.customer_get_for_partner(org=self.org, customer_id=customer_id)
        form = CollaboratorsForm(request.POST, partner=self.org.tenant)
        if form.is_valid():
            try:
                assignments = services.collaborators_set(
                    org=self.org,
                    customer=customer,
                    user_ids=[user.pk for user in form.cleaned_data["users"]],
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                who = ", ".join(a.user.email for a in assignments) or _("no collaborator")
                messages.success(
                    request,
                    _("%(customer)s is now managed by %(who)s.")
                    % {"customer": customer.name, "who": who},
                )
                return redirect("customer_collaborators", slug=slug, customer_id=customer.pk)
        return self.render_page(request, customer, form, status=400)


# --- the partnership page (both sides) ------------------------------------------------


class PartnershipDetailView(OrgViewMixin, View):
    """One page for both sides; every action POSTs here with an `action` field
    and comes back with a message (PRG). The services decide who may do what;
    the page only offers what the viewer may do."""

    allowed_kinds = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
    ACTIONS = (
        "accept",
        "accept_changes",
        "decline",
        "resend",
        "cancel",
        "change",
        "end",
        "request_extension",
        "approve_extension",
        "invite_owner",
    )

    def http_method_not_allowed(self, request, *args, **kwargs):
        """Another organization's id is a 404 whatever the method, like a missing one."""
        selectors.partnership_get(org=self.org, partnership_id=kwargs["partnership_id"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def get(self, request, slug, partnership_id):
        partnership = selectors.partnership_get(org=self.org, partnership_id=partnership_id)
        return self.render_page(request, partnership)

    def post(self, request, slug, partnership_id):
        partnership = selectors.partnership_get(org=self.org, partnership_id=partnership_id)
        action = request.POST.get("action", "")
        if action not in self.ACTIONS:
            return HttpResponseBadRequest(_("Unknown action."))
        try:
            response = getattr(self, f"do_{action}")(request, partnership)
        except Conflict as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if response is not None:
                return response
        if request.POST.get("return_to") == "list":
            return redirect(_list_url(self.org, slug))
        return redirect("partnership_detail", slug=slug, partnership_id=partnership.pk)

    # Each action returns None (redirect back) or a page with the form's errors.

    def do_accept(self, request, partnership):
        accepted = services.partnership_accept(org=self.org, partnership=partnership)
        messages.success(request, self._accepted_text(accepted))

    def do_accept_changes(self, request, partnership):
        form = GrantForm(request.POST)
        if form.is_valid():
            try:
                accepted = services.partnership_accept(
                    org=self.org, partnership=partnership, **form.grant()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, self._accepted_text(accepted))
                return None
        return self.render_page(request, partnership, status=400, accept_form=form)

    def _accepted_text(self, partnership) -> str:
        granted = grant_text(services.grant_of(partnership))
        if partnership.side_of(self.org.tenant) == Side.PARTNER:
            return _("You now manage %(customer)s: %(granted)s.") % {
                "customer": partnership.customer.name,
                "granted": granted,
            }
        return _("You accepted. %(partner)s now manages your organization: %(granted)s.") % {
            "partner": partnership.partner.name,
            "granted": granted,
        }

    def do_decline(self, request, partnership):
        form = DeclineForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, partnership, status=400, decline_form=form)
        services.partnership_decline(
            org=self.org, partnership=partnership, reason=form.cleaned_data["reason"]
        )
        messages.success(
            request, _("You declined the invitation. The other side was told by email.")
        )

    def do_resend(self, request, partnership):
        resent = services.partnership_resend(org=self.org, partnership=partnership)
        to = resent.invitation_email if resent.initiated_by == Side.PARTNER else resent.partner.name
        messages.success(
            request,
            _("The invitation was sent again to %(to)s; the previous link no longer works.")
            % {"to": to},
        )

    def do_cancel(self, request, partnership):
        services.partnership_cancel(org=self.org, partnership=partnership)
        messages.success(request, _("The invitation was cancelled; its link no longer works."))

    def _form_action(self, request, partnership, form_class, form_name, apply):
        """Validate `form_class`; `apply(cleaned_data)` calls the service and says
        what happened. Errors come back inline on the page."""
        form = form_class(request.POST)
        if form.is_valid():
            try:
                messages.success(request, apply(form))
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return None
        return self.render_page(request, partnership, status=400, **{form_name: form})

    def do_change(self, request, partnership):
        def apply(form):
            payment = form.grant()["payment"]
            if payment and payment != partnership.payment:
                # sensitive (SPEC §1): who may, then the password, then the change
                selectors.partnership_check(org=self.org, partnership=partnership, action="change")
                require_recent_reauthentication(request)
            before = services.grant_of(partnership)
            changed = services.partnership_change(
                org=self.org, partnership=partnership, **form.grant()
            )
            after = services.grant_of(changed)
            if after == before:
                return _("Nothing changed.")
            return _(
                "Access changed: %(granted)s. It applies at once to orders "
                "from now on; %(partner)s was told by email."
            ) % {"granted": grant_text(after), "partner": changed.partner.name}

        return self._form_action(request, partnership, GrantForm, "change_form", apply)

    def do_end(self, request, partnership):
        def apply(form):
            # sensitive (SPEC §1): who may, then re-authentication (password or
            # second factor, allauth's page, which replays this POST), then the end
            selectors.partnership_check(org=self.org, partnership=partnership, action="end")
            require_recent_reauthentication(request)
            services.partnership_end_confirmed(org=self.org, partnership=partnership)
            return _(
                "The partnership was ended and access stopped at once. The other side was "
                "told by email; the history stays here."
            )

        return self._form_action(request, partnership, EndForm, "end_form", apply)

    def do_request_extension(self, request, partnership):
        def apply(form):
            until = form.cleaned_data["until"]
            services.partnership_request_extension(
                org=self.org, partnership=partnership, until=until
            )
            return _("You asked %(customer)s to keep your access until %(date)s.") % {
                "customer": partnership.customer.name,
                "date": local_date(until),
            }

        return self._form_action(request, partnership, ExtensionForm, "extension_form", apply)

    def do_invite_owner(self, request, partnership):
        def apply(form):
            services.customer_owner_invite(
                org=self.org, customer=partnership.customer, owner_email=form.cleaned_data["email"]
            )
            return _(
                "%(email)s was invited as the owner of %(customer)s, to review your access."
            ) % {"email": form.cleaned_data["email"], "customer": partnership.customer.name}

        return self._form_action(request, partnership, OwnerInviteForm, "owner_form", apply)

    def do_approve_extension(self, request, partnership):
        extended = services.partnership_approve_extension(org=self.org, partnership=partnership)
        messages.success(
            request,
            _("%(partner)s keeps access until %(date)s.")
            % {"partner": extended.partner.name, "date": local_date(extended.ends_on)},
        )

    # --- the page

    def permissions(self, partnership) -> dict[str, bool]:
        """What the page offers: the actions the rules allow this viewer now."""
        actions = set(selectors.partnership_actions(org=self.org, partnership=partnership))
        return {
            "answer": "accept" in actions,
            "answer_with_changes": "accept" in actions
            and partnership.invited_side == Side.CUSTOMER,
            "withdraw": "cancel" in actions,
            "resend": "resend" in actions,
            "invite_owner": "invite_owner" in actions,
            "change": "change" in actions,
            "end": "end" in actions,
            "request_extension": "request_extension" in actions,
            "approve_extension": "approve_extension" in actions,
        }

    def render_page(self, request, partnership, status=200, **forms):
        side = partnership.side_of(self.org.tenant)
        can = self.permissions(partnership)
        asked = partnership.requested or {}
        current = services.grant_of(partnership)
        answered = partnership.activated_at and partnership.status != Status.PENDING
        granted = current if answered else None
        inviting = (
            partnership.partner
            if partnership.initiated_by == Side.PARTNER
            else partnership.customer
        )
        invited = (
            partnership.customer
            if partnership.initiated_by == Side.PARTNER
            else partnership.partner
        )
        # Who invited whom, with the addresses involved: "Name (email)".
        inviting_who = inviting.name
        if partnership.invited_by:
            inviting_who = f"{inviting.name} ({partnership.invited_by.email})"
        invited_who = invited.name
        if partnership.invitation_email and partnership.initiated_by == Side.PARTNER:
            invited_who = f"{invited.name} ({partnership.invitation_email})"
        context = {
            "partnership": partnership,
            "side": side,
            "other": partnership.customer if side == Side.PARTNER else partnership.partner,
            "inviting": inviting,
            "invited": invited,
            "inviting_who": inviting_who,
            "invited_who": invited_who,
            "current": grant_text(current),
            "comparison": grant_comparison(asked, granted),
            "history": _history(partnership),
            "can": can,
            "list_url": _list_url(self.org, self.org.tenant.slug),
        }
        if can["answer_with_changes"]:
            context["accept_form"] = forms.get("accept_form") or GrantForm(
                initial=grant_initial(asked)
            )
        if can["answer"]:
            context["decline_form"] = forms.get("decline_form") or DeclineForm()
        if can["change"]:
            context["change_form"] = forms.get("change_form") or GrantForm(
                initial=grant_initial(current)
            )
        if can["invite_owner"]:
            context["owner_form"] = forms.get("owner_form") or OwnerInviteForm()
        if can["end"]:
            context["end_form"] = forms.get("end_form") or EndForm()
        if can["request_extension"]:
            context["extension_form"] = forms.get("extension_form") or ExtensionForm(
                initial={"until": partnership.extension_requested_until}
            )
        return render(request, "partners/partnership.html", context, status=status)


# --- customer portal ---------------------------------------------------------------------


class CustomerPartnersView(OrgViewMixin, View):
    allowed_kinds = (Tenant.Kind.CUSTOMER,)

    def get(self, request, slug):
        partnerships = list(selectors.partnerships_for(org=self.org).order_by("-created_at"))
        return render(
            request,
            "partners/partners.html",
            {
                "active": [p for p in partnerships if p.status == Status.ACTIVE],
                "pending": [p for p in partnerships if p.status == Status.PENDING],
                "history": [p for p in partnerships if p.status not in Partnership.LIVE_STATUSES],
            },
        )


class PartnerInviteView(OrgViewMixin, View):
    """Search the directory (htmx swaps the results in place), pick a partner and
    the access to offer."""

    allowed_kinds = (Tenant.Kind.CUSTOMER,)
    min_role = Role.OWNER

    def directory(self, query: str, chosen: Tenant | None = None) -> dict:
        results = list(selectors.partner_directory(query=query)[: DIRECTORY_LIMIT + 1])
        more = len(results) > DIRECTORY_LIMIT
        results = results[:DIRECTORY_LIMIT]
        if chosen is not None and chosen not in results:
            results.insert(0, chosen)
        return {
            "results": results,
            "more": more,
            "query": query,
            "chosen_id": str(chosen.pk) if chosen else "",
        }

    def render_page(self, request, form, query="", chosen=None, status=200):
        context = {"form": form, **self.directory(query, chosen)}
        return render(request, "partners/invite.html", context, status=status)

    def get(self, request, slug):
        query = request.GET.get("q", "").strip()[:200]
        if request.headers.get("HX-Request"):
            response = render(request, "partners/_directory_results.html", self.directory(query))
        else:
            response = self.render_page(request, PartnerInviteForm(), query=query)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def post(self, request, slug):
        form = PartnerInviteForm(request.POST)
        if form.is_valid():
            partner = form.cleaned_data["partner"]
            try:
                partnership = services.partnership_invite_partner(
                    org=self.org,
                    partner=partner,
                    message=form.cleaned_data["message"],
                    **form.grant(),
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(partner)s was invited; its owners got an email to accept or decline.")
                    % {"partner": partner.name},
                )
                return redirect("partnership_detail", slug=slug, partnership_id=partnership.pk)
        chosen = form.cleaned_data.get("partner")
        return self.render_page(request, form, chosen=chosen, status=400)


# --- the invitation landing (public) ------------------------------------------------------


def invitation_unusable() -> HttpResponseNotFound:
    """One answer for every link that does not work, whatever the reason, and the
    same bytes for everyone: rendered without the request (no user, no token)."""
    response = HttpResponseNotFound(render_to_string("partners/invitation_unusable.html"))
    response["Referrer-Policy"] = "no-referrer"
    return response


@method_decorator(never_cache, name="dispatch")
class InvitationView(View):
    """The link emailed to a customer's owner. Opening it changes nothing (mail
    scanners open links); only the buttons on the page do."""

    partnership: Partnership
    invitee: User

    def dispatch(self, request, token):
        user = request.user
        email = user.email if user.is_authenticated else None
        partnership = selectors.partnership_for_invitation(token=token, email=email)
        if partnership is None:
            return invitation_unusable()
        invitee = selectors.invitation_invitee(partnership)
        if invitee is None or not invitee.is_active:
            return invitation_unusable()
        self.partnership, self.invitee = partnership, invitee
        response = super().dispatch(request, token)
        # The token never leaves the site in a Referer. Not "no-referrer": with it,
        # browsers post this page's forms with "Origin: null", which CSRF refuses.
        response["Referrer-Policy"] = "same-origin"
        return response

    def get(self, request, token):
        if not request.user.is_authenticated:
            return self.render_anonymous(request)
        return self.render_answer(request)

    def post(self, request, token):
        if not request.user.is_authenticated:
            return self.set_password(request)
        action = request.POST.get("action")
        if action == "accept":
            return self.accept(request)
        if action == "decline":
            return self.decline(request)
        return HttpResponseBadRequest(_("Unknown action."))

    # --- not signed in: choose a password, or sign in

    def render_anonymous(self, request, form=None, status=200):
        context = {"partnership": self.partnership}
        if self.invitee.has_usable_password():
            context["mode"] = "sign_in"
            context["login_url"] = f"{reverse('account_login')}?{urlencode({'next': request.path})}"
        else:
            context["mode"] = "set_password"
            context["form"] = form or SetPasswordForm(self.invitee)
        return render(request, "partners/invitation.html", context, status=status)

    def set_password(self, request):
        if self.invitee.has_usable_password():
            return redirect(request.path)
        form = SetPasswordForm(self.invitee, request.POST)
        if not form.is_valid():
            return self.render_anonymous(request, form=form, status=400)
        try:
            user = user_set_first_password(
                user=self.invitee, password=form.cleaned_data["new_password1"]
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
            return self.render_anonymous(request, form=form, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Your password is set and you are signed in."))
        return redirect(request.path)

    # --- signed in as the invitee: answer

    def customer_org(self):
        try:
            return org_context_for(user=self.request.user, tenant_id=self.partnership.customer_id)
        except Http404:
            return None

    def render_answer(self, request, accept_form=None, decline_form=None, status=200):
        if self.customer_org() is None:
            return invitation_unusable()
        partnership = self.partnership
        asked = partnership.requested or {}
        context = {
            "mode": "answer",
            "partnership": partnership,
            "asked": grant_comparison(asked, None),
            "accept_form": accept_form or GrantForm(initial=grant_initial(asked)),
            "decline_form": decline_form or DeclineForm(),
        }
        return render(request, "partners/invitation.html", context, status=status)

    def _done(self, org, partnership):
        return redirect("partnership_detail", slug=org.tenant.slug, partnership_id=partnership.pk)

    def accept(self, request):
        org = self.customer_org()
        if org is None:
            return invitation_unusable()
        form = GrantForm(request.POST)
        if form.is_valid():
            try:
                partnership = services.partnership_accept(
                    org=org, partnership=self.partnership, **form.grant()
                )
            except Conflict as exc:
                messages.error(request, exc.message)
                return redirect(request.path)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                granted = services.grant_of(partnership)
                values = {"partner": partnership.partner.name, "granted": grant_text(granted)}
                if granted == partnership.requested:
                    text = (
                        _("You accepted. %(partner)s now manages your organization: %(granted)s.")
                        % values
                    )
                else:
                    text = (
                        _("You granted %(partner)s other access than asked: %(granted)s.") % values
                    )
                messages.success(request, text)
                return self._done(org, partnership)
        return self.render_answer(request, accept_form=form, status=400)

    def decline(self, request):
        org = self.customer_org()
        if org is None:
            return invitation_unusable()
        form = DeclineForm(request.POST)
        if not form.is_valid():
            return self.render_answer(request, decline_form=form, status=400)
        try:
            partnership = services.partnership_decline(
                org=org, partnership=self.partnership, reason=form.cleaned_data["reason"]
            )
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect(request.path)
        messages.success(
            request,
            _("You declined. %(partner)s was told by email.")
            % {"partner": partnership.partner.name},
        )
        return self._done(org, partnership)
