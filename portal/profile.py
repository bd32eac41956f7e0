"""A person's own profile page: their name and language (docs/i18n.md),
their two-factor authentication (allauth's MFA pages, reached from here;
tenants.mfa) and their signed-in sessions, which they can end
(tenants.sessions)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from tenants.mfa import mfa_setup_due, user_factors
from tenants.services import user_profile_update
from tenants.sessions import user_session_end, user_sessions_end_others, user_sessions_list


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("As my browser asks")), *settings.LANGUAGES],
        help_text=_("Pages and emails are written in this language."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None, initial={"full_name": user.full_name, "language": user.language}
    )
    if request.method == "POST" and form.is_valid():
        user_profile_update(user=user, **form.cleaned_data)
        language = user.language or translation.get_language_from_request(request)
        translation.activate(language)
        messages.success(request, gettext("Your profile is saved."))
        response = redirect("profile")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "portal/profile.html",
        {
            "form": form,
            "factors": user_factors(user),
            "mfa_due": mfa_setup_due(request),
            "sessions": user_sessions_list(request),
        },
        status=status,
    )


@login_required
@require_http_methods(["POST"])
def session_end(request, session_ref: str):
    """End one of one's own sessions ("End" in "Your sessions"); the current
    one signs out. Another person's session is a 404."""
    if user_session_end(request, session_ref):
        return redirect(settings.LOGIN_URL)
    messages.success(request, gettext("The session is ended: that device is signed out."))
    return redirect(f"{reverse('profile')}#sessions")


@login_required
@require_http_methods(["POST"])
def sessions_end_others(request):
    ended = user_sessions_end_others(request)
    messages.success(
        request,
        ngettext("%(count)s other session is ended.", "%(count)s other sessions are ended.", ended)
        % {"count": ended},
    )
    return redirect(f"{reverse('profile')}#sessions")
