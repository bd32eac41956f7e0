"""Forms of the tender pages and the directory's search. They parse; the tender
services validate (`tender_clean`) and the views show their errors inline.

The visitor's form is public, so it also carries two bot traps that need no
third-party service: a honeypot field people never see, and a signed stamp of
when the form was served (a person takes more than a few seconds to fill it
in; a stamp older than a day is refused as stale)."""

import datetime
import time

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DEFAULT_VALIDITY_DAYS = 30

HONEYPOT_FIELD = "homepage"
STAMP_FIELD = "stamp"
STAMP_SALT = "partners.tender.visitor-form"
STAMP_MIN_SECONDS = 3
STAMP_MAX_SECONDS = 24 * 60 * 60


class TenderForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(
        max_length=5000,
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What you need, for how many people, by when. At most 5,000 characters."),
    )
    category = forms.ChoiceField(choices=Product.Category.choices, label=_("Category"))
    contact_name = forms.CharField(label=_("Contact name"), max_length=200, required=False)
    contact_email = forms.EmailField(label=_("Contact email"))
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    valid_until = forms.DateField(
        label=_("Valid until"),
        widget=DATE_INPUT,
        help_text=_("The last day partners see the request and may answer it."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault(
            "valid_until", timezone.localdate() + datetime.timedelta(days=DEFAULT_VALIDITY_DAYS)
        )
        super().__init__(*args, **kwargs)


class ProposalForm(forms.Form):
    message = forms.CharField(
        label=_("Your proposal"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "What you offer, at what price, and how to reach you. It is emailed to the "
            "poster; you can answer once."
        ),
    )


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search partners"),
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, city or speciality")}
        ),
    )


# --- the visitor's bot traps ----------------------------------------------------------------


def form_stamp(issued_at: float | None = None) -> str:
    """The signed moment the visitor's form was served (now unless given)."""
    return signing.dumps(time.time() if issued_at is None else issued_at, salt=STAMP_SALT)


def visitor_verdict(data) -> str:
    """`human`, `bot` (answered as if all went well, nothing is written) or
    `stale` (a stamp older than a day: the form is shown again, freshly stamped).
    A filled honeypot, a missing or forged stamp and a form sent back within
    three seconds are bots."""
    if data.get(HONEYPOT_FIELD, ""):
        return "bot"
    try:
        issued_at = float(signing.loads(data.get(STAMP_FIELD, ""), salt=STAMP_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return "bot"
    age = time.time() - issued_at
    if age < STAMP_MIN_SECONDS:
        return "bot"
    if age > STAMP_MAX_SECONDS:
        return "stale"
    return "human"
