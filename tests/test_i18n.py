"""English, Italian and German (docs/i18n.md): complete catalogs, the language a
person sees and is written to, and the formats of each locale."""

import gettext
import re
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from tenants.emails import notify
from tenants.models import OutboundEmail, User
from tenants.tests.factories import UserFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOG_LANGUAGES = ("it", "de")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}|%[sd]")
TAG = re.compile(r"</?([a-zA-Z][\w-]*)")


def _catalog(language: str) -> polib.POFile:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"no catalog for {language}: run `make messages`"
    return polib.pofile(str(path))


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def _tags(text: str) -> list[str]:
    return sorted(TAG.findall(text))


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_every_string_is_translated(language):
    """An untranslated, fuzzy or obsolete entry fails here, named."""
    po = _catalog(language)
    assert len(po) > 500, "the catalog is missing most of the portal's strings"
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    obsolete = [e.msgid for e in po.obsolete_entries()]
    assert not untranslated, f"{language}: untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy[:20]}"
    assert not obsolete, f"{language}: obsolete: {obsolete[:20]}"


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_translations_keep_placeholders_and_markup(language):
    """A translation names the same placeholders and HTML tags as its msgid, so
    no value is lost and no `KeyError` waits in a rarely seen message."""
    wrong = []
    for entry in _catalog(language).translated_entries():
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            # a plural's "one" form may spell out the number instead of %(count)s
            if (
                set(_placeholders(text)) - set(_placeholders(source))
                or (not entry.msgid_plural and _placeholders(text) != _placeholders(source))
                or _tags(text) != _tags(source)
            ):
                wrong.append((entry.msgid, text))
    assert not wrong, f"{language}: placeholders or tags differ: {wrong[:10]}"


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_compiled_catalogs_match_their_sources(language):
    """The committed .mo says what the .po says (`make messages` compiles it)."""
    po = _catalog(language)
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as handle:
        mo = gettext.GNUTranslations(handle)
    stale = []
    for entry in po.translated_entries():
        if entry.msgid_plural:
            compiled = mo.ngettext(entry.msgid, entry.msgid_plural, 1)
            expected = entry.msgstr_plural[0]
        elif entry.msgctxt:
            compiled, expected = mo.pgettext(entry.msgctxt, entry.msgid), entry.msgstr
        else:
            compiled, expected = mo.gettext(entry.msgid), entry.msgstr
        if compiled != expected:
            stale.append(entry.msgid)
    assert not stale, f"{language}: the .mo is stale (run `make messages`): {stale[:10]}"


@pytest.mark.parametrize(
    ("language", "amount", "day"),
    [
        ("en", "1,234.50", "Nov. 22, 2026"),
        ("de", "1.234,50", "22. November 2026"),
        ("de-ch", "1'234.50", "22. November 2026"),
        ("it", "1.234,50", "22 Novembre 2026"),
        ("it-ch", "1'234.50", "22 Novembre 2026"),
    ],
)
def test_amounts_and_dates_follow_the_locale(language, amount, day):
    import datetime

    with translation.override(language):
        assert floatformat(Decimal("1234.5"), "2g") == amount
        assert date_filter(datetime.date(2026, 11, 22)) == day


def test_swiss_german_takes_the_german_texts():
    with translation.override("de-ch"):
        swiss = translation.gettext("Your profile")
    with translation.override("de"):
        german = translation.gettext("Your profile")
    assert swiss == german != "Your profile"


# --- the language a person sees ---------------------------------------------------------------


def _profile(client, **headers):
    return client.get(reverse("profile"), **headers)


@pytest.mark.django_db
def test_the_browser_decides_without_a_setting(client):
    user = UserFactory()
    client.force_login(user)
    page = _profile(client, HTTP_ACCEPT_LANGUAGE="it-CH,it;q=0.9,en;q=0.5")
    assert page.status_code == 200
    assert page.headers["Content-Language"] == "it-ch"
    with translation.override("it"):
        assert translation.gettext("Your profile") in page.text
    assert '<html lang="it-ch"' in page.text


@pytest.mark.django_db
def test_the_setting_wins_over_the_browser(client):
    user = UserFactory(language="de")
    client.force_login(user)
    page = _profile(client, HTTP_ACCEPT_LANGUAGE="it")
    assert page.headers["Content-Language"] == "de"
    with translation.override("de"):
        assert translation.gettext("Your profile") in page.text


@pytest.mark.django_db
def test_the_profile_saves_the_language(client):
    user = UserFactory()
    client.force_login(user)
    answer = client.post(reverse("profile"), {"full_name": "Anna Rossi", "language": "it"})
    assert answer.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.language) == ("Anna Rossi", "it")
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    assert _profile(client).headers["Content-Language"] == "it"


@pytest.mark.django_db
def test_the_profile_refuses_an_unknown_language_and_writes_nothing(client):
    user = UserFactory(full_name="Before", language="de")
    client.force_login(user)
    answer = client.post(reverse("profile"), {"full_name": "After", "language": "xx"})
    assert answer.status_code == 400
    assert "field-error" in answer.text
    user.refresh_from_db()
    assert (user.full_name, user.language) == ("Before", "de")


@pytest.mark.django_db
def test_the_language_picker_sets_the_cookie_and_the_setting(client):
    user = UserFactory()
    client.force_login(user)
    answer = client.post(reverse("set_language"), {"language": "de", "next": "/profile/"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/profile/"
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    user.refresh_from_db()
    assert user.language == "de"


@pytest.mark.django_db
def test_the_language_picker_works_before_sign_in(client):
    answer = client.post(reverse("set_language"), {"language": "it", "next": "/"})
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    page = client.get(reverse("account_login"))
    assert page.headers["Content-Language"] == "it"


@pytest.mark.django_db
def test_the_language_picker_refuses_an_outside_next(client):
    answer = client.post(
        reverse("set_language"), {"language": "it", "next": "https://evil.example/"}
    )
    assert answer.status_code == 302
    assert "evil.example" not in answer.headers["Location"]


# --- the API --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_me_sets_the_language(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("api:me")
    answer = client.patch(url, {"language": "it"}, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["language"] == "it"
    user.refresh_from_db()
    assert user.language == "it"


@pytest.mark.django_db
def test_api_me_refuses_an_unknown_language_and_writes_nothing(client):
    user = UserFactory(language="de")
    client.force_login(user)
    answer = client.patch(reverse("api:me"), {"language": "fr"}, content_type="application/json")
    assert answer.status_code == 400
    assert "language" in answer.json()
    user.refresh_from_db()
    assert user.language == "de"


@pytest.mark.django_db
def test_api_messages_follow_accept_language(client):
    """Error messages are for people: they follow the language; field names do not."""
    english = client.get(reverse("api:me"))
    german = client.get(reverse("api:me"), HTTP_ACCEPT_LANGUAGE="de")
    assert english.status_code == german.status_code == 401
    assert set(english.json()) == set(german.json()) == {"detail"}
    assert english.json()["detail"] != german.json()["detail"]
    assert german.headers["Content-Language"] == "de"


# --- emails ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notifications_are_written_in_each_recipients_language(django_capture_on_commit_callbacks):
    people = [UserFactory(language=""), UserFactory(language="de"), UserFactory(language="it")]
    subject = format_lazy(gettext_lazy("Your profile"))
    with django_capture_on_commit_callbacks(execute=True):
        notify(key="i18n-test", users=people, subject=subject, lines=[], url="/", label=subject)
    by_address = {e.to: e for e in OutboundEmail.objects.filter(key__startswith="i18n-test")}
    expected = {}
    for person, language in zip(people, ("en", "de", "it"), strict=True):
        with translation.override(language):
            expected[person.email] = translation.gettext("Your profile")
        assert expected[person.email] in by_address[person.email].subject
    assert len(set(expected.values())) == 3
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_an_email_without_a_setting_takes_the_senders_language():
    from tenants.emails import recipient_language

    person = User.objects.create_user("new@example.com")
    with translation.override("it"):
        assert recipient_language(person) == "it"
    person.language = "de"
    with translation.override("it"):
        assert recipient_language(person) == "de"


@pytest.mark.parametrize(("language", "amount"), [("de", "1.234,50"), ("de-ch", "1'234.50")])
def test_mrr_figures_are_grouped_in_the_persons_locale(world, client, language, amount):
    from catalog.tests.factories import ProductFactory
    from partners.services import customer_add
    from subscriptions.models import Subscription
    from subscriptions.tests.ledger import open_ledger
    from tenants.selectors import org_context_for

    owner = org_context_for(user=world.partner_owner, tenant_id=world.partner.pk)
    customer = customer_add(org=owner, name="Gross AG").customer
    open_ledger(  # MRR reads the ledger
        Subscription.unscoped.create(
            customer=customer,
            product=ProductFactory(),
            quantity=1,
            unit_price=Decimal("1234.50"),
            currency="CHF",
            billing_period="monthly",
            starts_on=timezone.localdate().replace(day=1),
        )
    )
    world.partner_owner.language = language
    world.partner_owner.save(update_fields=["language"])
    client.force_login(world.partner_owner)

    dashboard = client.get(reverse("org_dashboard", args=[world.partner.slug])).text
    widget = client.get(
        reverse("customer_subscriptions", args=[world.partner.slug, customer.pk])
    ).text

    assert f'data-figure="book-mrr">CHF {amount}' in dashboard
    assert f'data-figure="current-mrr">CHF {amount}' in widget
