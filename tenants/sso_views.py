"""Single sign-on pages: the login page's routing by email domain, and the
owner's page that connects the organization's provider (tenants.sso)."""

from allauth.account.views import LoginView
from allauth.socialaccount.providers.base.constants import AuthProcess
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from tenants import sso
from tenants.models import Role, SsoDomain
from tenants.web import OrgViewMixin, form_add_service_errors, require_recent_reauthentication


class IdentifierFirstLoginView(LoginView):
    """allauth's login page, email first: an email whose domain an organization
    connected to its provider goes there (no password asked); any other is asked
    for its password next. A POST with both (password managers, the tests'
    clients) signs in with the password at once, as before."""

    step = "identifier"

    def post(self, request, *args, **kwargs):
        email = request.POST.get("login", "").strip()
        if email and "password" not in request.POST:
            connection = sso.sso_connection_for_email(email)
            if connection is not None:
                provider = connection.app.get_provider(request)
                auth_params = {**provider.get_auth_params(), "login_hint": email}
                return provider.redirect(
                    request,
                    AuthProcess.LOGIN,
                    next_url=request.POST.get("next") or None,
                    auth_params=auth_params,
                )
            # No single sign-on for this domain: the same page asks the password
            # (whether the account exists is not told: ACCOUNT_PREVENT_ENUMERATION).
            self.step = "password"
            form = self.get_form_class()(request=request, initial={"login": email})
            return self.render_to_response(self.get_context_data(form=form))
        self.step = "password"
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["step"] = self.step
        return context


class SsoForm(forms.Form):
    issuer = forms.URLField(label=gettext_lazy("Issuer URL"), max_length=500, assume_scheme="https")
    client_id = forms.CharField(label=gettext_lazy("Client id"), max_length=191)
    secret = forms.CharField(
        label=gettext_lazy("Client secret"),
        max_length=191,
        required=False,
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Leave empty to keep the stored one."),
    )
    domains = forms.CharField(
        label=gettext_lazy("Email domains"),
        help_text=gettext_lazy("One a line; each the domain of an owner's verified email address."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SsoView(OrgViewMixin, View):
    """The organization's single sign-on: owners only; a change asks for
    re-authentication."""

    min_role = Role.OWNER

    def render_page(self, request, form=None, status=200):
        connection = sso.sso_connection_of(tenant=self.org.tenant)
        if form is None:
            initial = {}
            if connection is not None:
                initial = {
                    "issuer": connection.app.settings.get("server_url", ""),
                    "client_id": connection.app.client_id,
                    "domains": "\n".join(
                        SsoDomain.objects.for_org(self.org.tenant).values_list("domain", flat=True)
                    ),
                }
            form = SsoForm(initial=initial)
        callback = ""
        if connection is not None:
            callback = request.build_absolute_uri(
                reverse(
                    "openid_connect_callback", kwargs={"provider_id": connection.app.provider_id}
                )
            )
        return render(
            request,
            "tenants/sso.html",
            {
                "form": form,
                "connection": connection,
                "callback": callback,
                "allowed": sorted(sso.sso_domains_allowed(tenant=self.org.tenant)),
            },
            status=status,
        )

    def get(self, request, slug):
        return self.render_page(request)

    def post(self, request, slug):
        require_recent_reauthentication(request)
        if request.POST.get("remove"):
            sso.sso_connection_remove(org=self.org)
            messages.success(request, _("Single sign-on is off: members sign in with a password."))
            return redirect("sso", slug=slug)
        form = SsoForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sso.sso_connection_set(
                    org=self.org,
                    issuer=data["issuer"],
                    client_id=data["client_id"],
                    secret=data["secret"],
                    domains=data["domains"].split(),
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("Single sign-on saved."))
                return redirect("sso", slug=slug)
        return self.render_page(request, form=form, status=400)
