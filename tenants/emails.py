"""The email pipeline every app uses: render from templates/email/, queue in the
outbox inside the caller's transaction, deliver from a Celery task after commit.

    email_queue(key="offer-sent:<id>", to=..., template="offers/offer_sent", context={...})

renders `email/<template>.subject.txt`, `.txt` and `.html` with `site_url` in
the context, so every link in an email is absolute. Each email is rendered in
its recipient's language (`recipient_language`, docs/i18n.md). A hot write
(an order) queues its notifications unrendered instead
(`notification_emails_deferred`: ids, a registered renderer's name and the
recipient's language), and `email_deliver` renders them before sending.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tenants.i18n import user_language
from tenants.jobs import enqueue_on_commit
from tenants.models import OutboundEmail, User

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def recipient_language(user: User | None) -> str:
    """The language an email to `user` is written in: their setting; else the
    language of the request sending it (a partner inviting in Italian invites in
    Italian); from a background task, the default."""
    return user_language(user) or translation.get_language() or settings.LANGUAGE_CODE


def _render(template: str, context: dict, language: str) -> dict:
    context = {**context, "site_url": settings.SITE_URL}
    with translation.override(language):
        subject = " ".join(render_to_string(f"email/{template}.subject.txt", context).split())
        return {
            "subject": f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            "body_text": render_to_string(f"email/{template}.txt", context),
            "body_html": render_to_string(f"email/{template}.html", context),
        }


def email_queue(*, key: str, to: str, template: str, context: dict) -> OutboundEmail:
    """Queue an email once per `key`; delivery is enqueued when the transaction commits."""
    existing = OutboundEmail.objects.filter(key=key).first()
    if existing is not None:  # queued before: not rendered again
        return existing
    language = recipient_language(User.objects.filter(email__iexact=to).first())
    email, created = OutboundEmail.objects.get_or_create(
        key=key, defaults={"to": to, **_render(template, context, language)}
    )
    if created:
        enqueue_on_commit("tenants.tasks.deliver_email", str(email.id))
    return email


def notify(
    *,
    key: str,
    users: Iterable[User],
    subject: "StrOrPromise",
    lines: "Sequence[StrOrPromise]",
    url: str,
    label: "StrOrPromise",
    enqueue: bool = True,
) -> list[str]:
    """The plain notification (email/notification.*) to each of `users` once:
    `lines` of text and one link, `url` a path inside the portal. The texts are
    lazy (`format_lazy(gettext_lazy(…))`), rendered once per language among the
    recipients and written in one statement; with `enqueue`, one delivery task
    takes them all after commit. Returns the ids of the pending emails (a caller
    that queues many notifications enqueues them itself, in chunks)."""
    ids = notifications_write(
        notification_emails(
            key=key, users=users, subject=subject, lines=lines, url=url, label=label
        )
    )
    if enqueue and ids:
        emails_enqueue(ids)
    return ids


def notification_emails(
    *,
    key: str,
    users: Iterable[User],
    subject: "StrOrPromise",
    lines: "Sequence[StrOrPromise]",
    url: str,
    label: "StrOrPromise",
) -> list[OutboundEmail]:
    """`notify`'s emails, rendered and not yet written: a caller that queues
    many notifications (a batch of renewals) writes them all at once with
    `notifications_write`."""
    users = list({u.pk: u for u in users}.values())
    context = {
        "subject": subject,
        "lines": lines,
        "action_url": absolute_url(url),
        "action_label": label,
    }
    rendered: dict[str, dict] = {}
    emails = []
    for user in users:
        language = recipient_language(user)
        if language not in rendered:
            rendered[language] = _render("notification", context, language)
        emails.append(OutboundEmail(key=f"{key}:{user.pk}", to=user.email, **rendered[language]))
    return emails


@dataclass(frozen=True)
class Notification:
    """What a notification says (`notify`'s subject, lines, link and label),
    as a renderer returns it at delivery."""

    subject: "StrOrPromise"
    lines: "Sequence[StrOrPromise]"
    url: str
    label: "StrOrPromise"


# name -> what the notification of these params says (loaded at delivery).
_RENDERERS: dict[str, Callable[[dict], Notification]] = {}


def notification_renderer(
    name: str,
) -> Callable[[Callable[[dict], Notification]], Callable[[dict], Notification]]:
    """Register the function that builds a notification from its row's `params`
    at delivery (`notification_emails_deferred`). The app registering it is
    imported by every process that delivers (its `ready()`)."""

    def register(function: Callable[[dict], Notification]) -> Callable[[dict], Notification]:
        _RENDERERS[name] = function
        return function

    return register


def notification_emails_deferred(
    *, key: str, users: Iterable[User], renderer: str, params: dict
) -> list[OutboundEmail]:
    """`notification_emails` rendered later: each row keeps the renderer's name,
    its params (ids) and the recipient's language, and the delivery renders it
    (`email_deliver`). For the emails of a hot write (an order): the
    transaction stores a few ids instead of rendering three templates."""
    if renderer not in _RENDERERS:
        raise LookupError(f"No email renderer {renderer!r}.")
    users = list({u.pk: u for u in users}.values())
    return [
        OutboundEmail(
            key=f"{key}:{user.pk}",
            to=user.email,
            renderer=renderer,
            params=params,
            language=recipient_language(user),
        )
        for user in users
    ]


def _render_deferred(email: OutboundEmail) -> None:
    """Fill in the texts of a row queued by `notification_emails_deferred`."""
    with translation.override(email.language or settings.LANGUAGE_CODE):
        message = _RENDERERS[email.renderer](email.params)
    context = {
        "subject": message.subject,
        "lines": message.lines,
        "action_url": absolute_url(message.url),
        "action_label": message.label,
    }
    rendered = _render("notification", context, email.language or settings.LANGUAGE_CODE)
    email.subject = rendered["subject"]
    email.body_text = rendered["body_text"]
    email.body_html = rendered["body_html"]


def notifications_write(emails: Sequence[OutboundEmail], *, new_keys: bool = False) -> list[str]:
    """Write rendered emails once per key (one insert), and return the ids of
    those still pending (one read): an email queued before is not queued again.
    With `new_keys` the caller vouches that no key can exist yet (they name rows
    of its own transaction, such as a new invoice): one insert, no read."""
    if not emails:
        return []
    if new_keys:
        OutboundEmail.objects.bulk_create(emails, batch_size=1000)
        return [str(email.id) for email in emails]
    keys = [email.key for email in emails]
    OutboundEmail.objects.bulk_create(emails, ignore_conflicts=True, batch_size=1000)
    return [
        str(pk)
        for pk in OutboundEmail.objects.filter(
            key__in=keys, status=OutboundEmail.Status.PENDING
        ).values_list("id", flat=True)
    ]


def emails_enqueue(email_ids: list[str]) -> None:
    """Deliver these queued emails from one task, once the transaction commits."""
    enqueue_on_commit("tenants.tasks.deliver_emails", list(email_ids))


def message_id(email: OutboundEmail) -> str:
    """The same Message-ID at every attempt. A worker killed after the mail server
    accepted the message but before `sent` was committed sends it again (the one
    crash window of the outbox, docs/reliability.md); the copy then carries the
    same Message-ID, by which mail stores (Gmail) and relays recognize it."""
    return f"<{email.id}@{urlsplit(settings.SITE_URL).hostname or 'partner-portal.local'}>"


def email_deliver(*, email_id: str) -> bool:
    """Send one queued email if it is still pending. True when this call sent it.

    The row is locked while sending, so two workers never send the same email;
    a failure leaves it pending for the retry (and the sweeper) until MAX_ATTEMPTS.
    """
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(id=email_id, status=OutboundEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return False
        email.attempts += 1
        rendered: list[str] = []
        try:
            if email.renderer and not email.subject:  # queued unrendered: render it now
                _render_deferred(email)
                rendered = ["subject", "body_text", "body_html"]
            message = EmailMultiAlternatives(
                email.subject,
                email.body_text,
                to=[email.to],
                headers={"Message-ID": message_id(email)},
            )
            if email.body_html:
                message.attach_alternative(email.body_html, "text/html")
            message.send()
        except Exception as exc:
            failure = exc
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
            email.save(update_fields=["attempts", "last_error", "status", *rendered])
        else:
            email.status = OutboundEmail.Status.SENT
            email.sent_at = timezone.now()
            email.save(update_fields=["attempts", "status", "sent_at", *rendered])
            return True
    # The failure is recorded (the block above committed); raising lets Celery retry.
    log.warning("email %s not sent (attempt %s): %s", email.id, email.attempts, failure)
    if email.status == OutboundEmail.Status.FAILED:
        return False
    raise failure


def email_pending_ids(*, older_than_seconds: int) -> list[str]:
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return [
        str(pk)
        for pk in OutboundEmail.objects.filter(
            status=OutboundEmail.Status.PENDING, created_at__lt=cutoff
        ).values_list("id", flat=True)[:1000]
    ]
