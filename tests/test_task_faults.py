"""Task faults (SPEC §10, STYLE.md "Background work"): every Celery task of the
project, run once, twice and three times, leaves the same state and sends each
email once; a transaction that rolls back enqueues nothing.

A broker redelivers a message whenever a worker dies before acknowledging it
(acks_late), and the sweepers enqueue again what looks lost, so any task may
run more than once. The table below covers every registered task: a new task
fails `test_every_task_is_in_the_table` until it is added. `scripts/chaos.py`
proves the same with a real worker killed mid-delivery (docs/reliability.md).
"""

import datetime
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from celery.app.task import Task
from django.apps import apps
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from billing.models import Renewal
from billing.tests.conftest import grant, org
from imports.jobs import import_submit
from imports.models import ImportJob
from offers import services as offer_services
from offers.models import Offer
from offers.tests.conftest import hosting, mailbox, template  # noqa: F401 (fixtures)
from partners import services as partner_services
from partners.models import Partnership, PendingShare
from portal.celery import app
from resale.models import PartnerInvoice
from resale.tests.conftest import ledger
from subscriptions.models import BookDayDelta, BookShare
from subscriptions.services import subscription_build, subscriptions_open
from tenants import emails
from tenants import services as tenant_services
from tenants.models import Membership, OutboundEmail, Role, Tenant
from tenants.tests.factories import CustomerFactory, MembershipFactory, UserFactory
from tenders.models import Tender
from tenders.services import tender_post
from tests.clock import on
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tests.test_webhooks import Receiver

PROJECT_APPS = (
    "tenants",
    "catalog",
    "subscriptions",
    "partners",
    "customers",
    "billing",
    "tenders",
    "imports",
    "offers",
    "upsell",
    "webhooks",
    "portal",
)
LONG_AGO = datetime.timedelta(hours=1)


def registered_tasks() -> set[str]:
    app.loader.import_default_modules()  # autodiscovery, as a worker starts
    return {name for name in app.tasks if not name.startswith("celery.")}


# --- the state a task leaves ------------------------------------------------------------


def database_state() -> dict[str, list[tuple]]:
    """Every row of every table of the project, in primary-key order."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for config in apps.get_app_configs()
        if config.label in PROJECT_APPS
        for model in config.get_models(include_auto_created=True)
    }


def sent_emails() -> list[tuple[str, str]]:
    return [(", ".join(message.to), message.subject) for message in mail.outbox]


def settle() -> None:
    """Deliver what the setup queued (as the worker would), so a run's emails are its own."""
    for email_id in OutboundEmail.objects.filter(status="pending").values_list("id", flat=True):
        emails.email_deliver(email_id=email_id)


def partner_ctx(world):
    return org(world.partner_owner, world.partner)


# --- the table: for each task, the state it acts on ----------------------------------------


@dataclass
class Given:
    """The task's arguments, what its first run must have done (true once it
    ran, and still after the reruns), and how many emails that run sends."""

    args: list = field(default_factory=list)
    effect: Callable[[], bool] = lambda: True
    emails: int = 0


def _offer_status(offer_id) -> str:
    return Offer.unscoped.get(pk=offer_id).status


def _waiting_offers(world, request, customers: int = 1) -> list[str]:
    """Alpine IT sent its template to `customers` customers; nothing delivered yet
    (the send's own enqueue never runs: its transaction does not commit here)."""
    offer_template = request.getfixturevalue("template")
    grant(world, access="full", payment="customer")
    targets = [world.customer]
    for n in range(customers - 1):
        extra = CustomerFactory(name=f"Kunde {n}", parent=world.partner)
        MembershipFactory(tenant=extra, role=Role.OWNER)
        Partnership.unscoped.create(
            partner=world.partner,
            customer=extra,
            access="full",
            payment="customer",
            status="active",
            initiated_by="partner",
            activated_at=timezone.now(),
        )
        targets.append(extra)
    batch = offer_services.offer_send(
        org=partner_ctx(world), template=offer_template, customer_ids=[c.pk for c in targets]
    )
    settle()
    return [str(pk) for pk in batch.offers.order_by("created_at").values_list("pk", flat=True)]


def _all_awaiting(ids) -> bool:
    return all(_offer_status(pk) == Offer.Status.AWAITING_CONFIRMATION for pk in ids)


def deliver_offer(world, request) -> Given:
    (offer_id,) = _waiting_offers(world, request)
    # The customer's owner and admin.
    return Given([offer_id], lambda: _all_awaiting([offer_id]), emails=2)


def deliver_offers(world, request) -> Given:
    ids = _waiting_offers(world, request, customers=3)
    return Given([ids], lambda: _all_awaiting(ids), emails=4)


def deliver_batch(world, request) -> Given:
    ids = _waiting_offers(world, request, customers=3)
    batch_id = str(Offer.unscoped.get(pk=ids[0]).batch_id)
    return Given([batch_id], lambda: _all_awaiting(ids), emails=4)


def sweep_waiting_offers(world, request) -> Given:
    ids = _waiting_offers(world, request, customers=2)
    Offer.unscoped.filter(pk__in=ids).update(created_at=timezone.now() - LONG_AGO)
    return Given([], lambda: _all_awaiting(ids), emails=3)


def expire_offers(world, request) -> Given:
    (offer_id,) = _waiting_offers(world, request)
    offer_services.offer_deliver(offer_id=offer_id)
    settle()
    Offer.unscoped.filter(pk=offer_id).update(expires_at=timezone.now() - LONG_AGO)
    # The partner's owner (who sent it) and admin.
    return Given([], lambda: _offer_status(offer_id) == Offer.Status.EXPIRED, emails=2)


def _renewing_subscription(world, request):
    """On 22 November 2026: a subscription whose second month began two days ago."""
    request.getfixturevalue("time_machine").move_to(on(2026, 11, 22))
    subscription = subscription_build(
        customer=world.customer,
        product=request.getfixturevalue("hosting"),
        quantity=35,
        unit_price=Decimal("7.44"),
        starts_on=datetime.date(2026, 10, 20),
    )
    subscription.save()
    return subscription


def _renewed(subscription) -> bool:
    periods = Renewal.unscoped.filter(subscription=subscription).values_list("period_starts_on")
    return list(periods) == [(datetime.date(2026, 11, 20),)]


def place_renewals(world, request) -> Given:
    subscription = _renewing_subscription(world, request)
    # The invoice to the customer's owner and admin.
    return Given([], lambda: _renewed(subscription), emails=2)


def renew_subscription(world, request) -> Given:
    subscription = _renewing_subscription(world, request)
    return Given([str(subscription.pk), "2026-11-20"], lambda: _renewed(subscription), emails=2)


def renew_batch(world, request) -> Given:
    subscription = _renewing_subscription(world, request)
    return Given([[[str(subscription.pk), "2026-11-20"]]], lambda: _renewed(subscription), emails=2)


def _partnership(world, **fields) -> Partnership:
    partnership = grant(world, access="full", payment="customer")
    settle()
    Partnership.unscoped.filter(pk=partnership.pk).update(**fields)
    return partnership


def expire_partnerships(world, request) -> Given:
    ended = _partnership(world, ends_on=timezone.localdate() - datetime.timedelta(days=1))
    unanswered = partner_services.partnership_invite_partner(
        org=org(world.customer_owner, world.customer),
        partner=world.other_partner,
        access="limited",
        payment=None,
        products=[request.getfixturevalue("hosting")],
    )
    settle()
    Partnership.unscoped.filter(pk=unanswered.pk).update(
        invitation_expires_at=timezone.now() - LONG_AGO
    )

    def effect():
        return set(
            Partnership.unscoped.filter(pk__in=[ended.pk, unanswered.pk]).values_list(
                "status", flat=True
            )
        ) == {"expired"}

    # The ended partnership: Alpine's owner and admin, the customer's owner.
    return Given([], effect, emails=3)


def remind_partnerships_ending(world, request) -> Given:
    _partnership(world, ends_on=timezone.localdate() + datetime.timedelta(days=7))

    def effect():
        return OutboundEmail.objects.filter(subject__contains="ends in 7 days").count() == 3

    return Given([], effect, emails=3)


def _queued_import(world, *, created_at=None) -> ImportJob:
    job = ImportJob.unscoped.create(
        partner=world.partner,
        kind="customers",
        content="name,city\nGross 1 AG,Bern\nGross 2 AG,Thun\n",
        total=2,
        created_by=world.partner_owner,
    )
    if created_at is not None:
        ImportJob.unscoped.filter(pk=job.pk).update(created_at=created_at)
    return job


def _imported(job) -> bool:
    job.refresh_from_db()
    created = Tenant.objects.filter(name__startswith="Gross ").count()
    return job.status == ImportJob.Status.DONE and created == 2


def run_import_job(world, request) -> Given:
    job = _queued_import(world)
    return Given([str(job.pk)], lambda: _imported(job))


def sweep_import_jobs(world, request) -> Given:
    job = _queued_import(world, created_at=timezone.now() - LONG_AGO)
    return Given([], lambda: _imported(job))


def _open_tender(world) -> Tender:
    world.partner.receives_tenders = True
    world.partner.save(update_fields=["receives_tenders"])
    tender = tender_post(
        org=org(world.customer_owner, world.customer),
        title="Ten mailboxes and a website",
        description="We are a bakery with 10 staff and need email and a simple website.",
        category="email",
        contact_name="Anna Müller",
        contact_email="anna@mueller.test",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )
    settle()  # the poster's manage link
    return tender


def _partners_told() -> bool:
    return OutboundEmail.objects.filter(subject__contains="New request").count() == 2


def tell_partners_of_tender(world, request) -> Given:
    tender = _open_tender(world)
    # Alpine's owner and admin; Rhein Cloud did not opt in.
    return Given([str(tender.pk)], _partners_told, emails=2)


def tell_partner_of_tender(world, request) -> Given:
    tender = _open_tender(world)
    return Given([str(tender.pk), str(world.partner.pk)], _partners_told, emails=2)


def ping(world, request) -> Given:
    cache.delete("ping:faults")
    return Given(["faults"], lambda: cache.get("ping:faults") == "pong")


def fold_book_shares(world, request) -> Given:
    partnership = _partnership(world)
    subscription = subscription_build(
        customer=world.customer,
        product=request.getfixturevalue("hosting"),
        quantity=2,
        unit_price=Decimal("10.00"),
        starts_on=timezone.localdate(),
    )
    subscriptions_open([subscription])
    assert PendingShare.objects.filter(customer_id=partnership.customer_id).exists()

    def effect():
        share = BookShare.unscoped.get(book__partner=world.partner, book__subtree=False)
        return (
            not PendingShare.objects.exists()
            and share.days == [[timezone.localdate().toordinal(), 2000]]
            and BookDayDelta.unscoped.filter(book=share.book).count() == 1
        )

    return Given([], effect)


def purge_idempotency_records(world, request) -> Given:
    record_model = apps.get_model("portal", "IdempotencyRecord")
    record_model.objects.create(
        scope="a" * 64, fingerprint="f" * 64, created_at=timezone.now() - datetime.timedelta(days=9)
    )
    fresh = record_model.objects.create(scope="b" * 64, fingerprint="f" * 64)

    def effect():
        return list(record_model.objects.values_list("pk", flat=True)) == [fresh.pk]

    return Given([], effect)


def _queued_email(n: int = 0) -> OutboundEmail:
    return emails.email_queue(
        key=f"faults:{n}",
        to=f"person-{n}@faults.test",
        template="notification",
        context={
            "subject": f"Hello {n}",
            "lines": ["Hi."],
            "action_url": "/",
            "action_label": "Go",
        },
    )


def _sent(*ids) -> bool:
    return OutboundEmail.objects.filter(pk__in=ids, status="sent").count() == len(ids)


def deliver_email(world, request) -> Given:
    email = _queued_email()
    return Given([str(email.pk)], lambda: _sent(email.pk), emails=1)


def deliver_emails(world, request) -> Given:
    ids = emails.notify(
        key="faults",
        users=[world.partner_owner, world.partner_admin, world.collaborator],
        subject="Three people",
        lines=["Hi."],
        url="/",
        label="Go",
        enqueue=False,
    )
    return Given([ids], lambda: _sent(*ids), emails=3)


def sweep_pending_emails(world, request) -> Given:
    lost, fresh = _queued_email(1), _queued_email(2)
    OutboundEmail.objects.filter(pk=lost.pk).update(created_at=timezone.now() - LONG_AGO)

    def effect():
        return _sent(lost.pk) and not _sent(fresh.pk)  # a fresh one still has its own task

    return Given([], effect, emails=1)


def send_membership_invitation(world, request) -> Given:
    membership = Membership.unscoped.create(
        user=UserFactory(email="newcomer@faults.test"),
        tenant=world.partner,
        role=Role.ADMIN,
        invited_by=world.partner_owner,
    )
    key = f"membership-invitation:{membership.pk}"
    return Given(
        [str(membership.pk)],
        lambda: OutboundEmail.objects.filter(key=key, status="sent").count() == 1,
        emails=1,
    )


def _hook(world, url: str = "http://127.0.0.1:9/closed"):
    """The customer's endpoint for customer.updated (nothing listens on port 9)."""
    endpoint, _secret = webhook_services.endpoint_create(
        org=org(world.customer_owner, world.customer), url=url, events=["customer.updated"]
    )
    return endpoint


def _hook_event(world, *, occurred_at=None) -> WebhookEvent:
    return WebhookEvent.objects.create(
        type="customer.updated",
        object_id=str(world.customer.pk),
        occurred_at=occurred_at or timezone.now(),
    )


def fan_out(world, request) -> Given:
    _hook(world)
    event = _hook_event(world)
    return Given([[str(event.pk)]], lambda: WebhookDelivery.unscoped.count() == 1)


def deliver(world, request) -> Given:
    receiver = Receiver()
    request.addfinalizer(receiver.close)
    endpoint = _hook(world, receiver.url)
    delivery = WebhookDelivery.unscoped.create(
        tenant=world.customer,
        endpoint=endpoint,
        event=_hook_event(world),
        type="customer.updated",
        body="{}",
    )

    def effect():
        delivery.refresh_from_db()
        return delivery.status == "delivered" and len(receiver.received) == 1

    return Given([str(delivery.pk)], effect)


def deliver_many(world, request) -> Given:
    """Two deliveries to a live receiver, one to a closed port (retried later)."""
    receiver = Receiver()
    request.addfinalizer(receiver.close)
    endpoint = _hook(world, receiver.url)
    closed = _hook(world)
    deliveries = [
        WebhookDelivery.unscoped.create(
            tenant=world.customer,
            endpoint=target,
            event=_hook_event(world),
            type="customer.updated",
            body="{}",
        )
        for target in (endpoint, endpoint, closed)
    ]

    def effect():
        states = [
            (d.status, d.attempts)
            for d in WebhookDelivery.unscoped.filter(pk__in=[d.pk for d in deliveries]).order_by(
                "created_at", "pk"
            )
        ]
        return (
            sorted(states) == [("delivered", 1), ("delivered", 1), ("pending", 1)]
            and len(receiver.received) == 2
        )

    return Given([[str(d.pk) for d in deliveries]], effect)


def sweep(world, request) -> Given:
    _hook(world)
    lost = _hook_event(world, occurred_at=timezone.now() - LONG_AGO)
    return Given([], lambda: WebhookDelivery.unscoped.filter(event=lost).count() == 1)


def purge(world, request) -> Given:
    old = _hook_event(world, occurred_at=timezone.now() - datetime.timedelta(days=40))
    WebhookEvent.objects.filter(pk=old.pk).update(fanned_out_at=timezone.now())
    fresh = _hook_event(world)
    return Given([], lambda: list(WebhookEvent.objects.values_list("pk", flat=True)) == [fresh.pk])


def _billed_last_month(world, request) -> tuple[Partnership, datetime.date]:
    """Alpine bills Müller (full access, Alpine pays) for 5 hosting units all last month."""
    partnership = grant(world, access="full", payment="partner")
    first = timezone.localdate().replace(day=1)
    last_month = (first - datetime.timedelta(days=1)).replace(day=1)
    ledger(world.customer, request.getfixturevalue("hosting"), [(last_month, 5)])
    return partnership, last_month


def _invoiced(world, month) -> bool:
    return list(PartnerInvoice.unscoped.values_list("customer", "month")) == [
        (world.customer.pk, month)
    ]


def issue_partner_invoice(world, request) -> Given:
    """The invoice to Müller, emailed to its owners and admins (no primary contact)."""
    partnership, month = _billed_last_month(world, request)
    return Given(
        [str(partnership.pk), month.isoformat()], lambda: _invoiced(world, month), emails=2
    )


def issue_partner_invoices(world, request) -> Given:
    _partnership, month = _billed_last_month(world, request)
    return Given([], lambda: _invoiced(world, month), emails=2)


CASES: dict[str, Callable] = {
    "billing.tasks.place_renewals": place_renewals,
    "billing.tasks.renew_batch": renew_batch,
    "billing.tasks.renew_subscription": renew_subscription,
    "offers.tasks.deliver_batch": deliver_batch,
    "offers.tasks.deliver_offer": deliver_offer,
    "offers.tasks.deliver_offers": deliver_offers,
    "offers.tasks.expire_offers": expire_offers,
    "offers.tasks.sweep_waiting_offers": sweep_waiting_offers,
    "partners.tasks.expire_partnerships": expire_partnerships,
    "partners.tasks.remind_partnerships_ending": remind_partnerships_ending,
    "partners.tasks.run_import_job": run_import_job,
    "partners.tasks.sweep_import_jobs": sweep_import_jobs,
    "partners.tasks.tell_partner_of_tender": tell_partner_of_tender,
    "partners.tasks.tell_partners_of_tender": tell_partners_of_tender,
    "portal.tasks.ping": ping,
    "resale.tasks.issue_partner_invoice": issue_partner_invoice,
    "resale.tasks.issue_partner_invoices": issue_partner_invoices,
    "portal.tasks.purge_idempotency_records": purge_idempotency_records,
    "subscriptions.tasks.fold_book_shares": fold_book_shares,
    "tenants.tasks.deliver_email": deliver_email,
    "tenants.tasks.deliver_emails": deliver_emails,
    "tenants.tasks.send_membership_invitation": send_membership_invitation,
    "tenants.tasks.sweep_pending_emails": sweep_pending_emails,
    "webhooks.tasks.deliver": deliver,
    "webhooks.tasks.deliver_many": deliver_many,
    "webhooks.tasks.fan_out": fan_out,
    "webhooks.tasks.purge": purge,
    "webhooks.tasks.sweep": sweep,
}


def test_every_task_is_in_the_table():
    registered = registered_tasks()
    assert registered - CASES.keys() == set(), "add the new task to CASES with the state it acts on"
    assert CASES.keys() - registered == set(), "a task in CASES is no longer registered"


# --- run once, twice, three times ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_task_run_three_times_leaves_one_state_and_sends_each_email_once(
    name, world, request, django_capture_on_commit_callbacks
):
    registered_tasks()
    task = app.tasks[name]
    given = CASES[name](world, request)
    sent_before = len(mail.outbox)
    pending_before = set(OutboundEmail.objects.filter(status="pending").values_list("pk"))

    states = []
    for _ in range(3):
        # A real worker commits each task; here the callbacks it enqueues after
        # commit (deliveries, emails) run when the block ends.
        with django_capture_on_commit_callbacks(execute=True):
            task.apply(args=given.args, throw=True)
        states.append((database_state(), sent_emails()))
        assert given.effect(), f"{name}: the first run did not do its work"

    assert states[0] == states[1] == states[2]
    ours = sent_emails()[sent_before:]
    assert len(ours) == given.emails
    assert [m for m, n in Counter(sent_emails()).items() if n > 1] == []  # one per recipient
    # whatever the runs queued was sent
    assert set(OutboundEmail.objects.filter(status="pending").values_list("pk")) <= pending_before


# --- a rolled-back transaction enqueues nothing ---------------------------------------------


class Boom(Exception):
    pass


@pytest.fixture
def enqueued(monkeypatch) -> list[str]:
    """The names of the tasks sent to the broker (nothing runs)."""
    names = []

    def apply_async(self, args=None, kwargs=None, **options):
        names.append(self.name)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return names


def _one_offer(world, request):
    grant(world, access="full", payment="customer")
    batch = offer_services.offer_send(
        org=partner_ctx(world),
        template=request.getfixturevalue("template"),
        customer_ids=[world.customer.pk],
    )
    return batch.offers.get()


# Each prepares the state and returns the service call that enqueues (`when`).


def when_offer_send(world, request):
    offer_template = request.getfixturevalue("template")
    grant(world, access="full", payment="customer")
    return lambda: offer_services.offer_send(
        org=partner_ctx(world), template=offer_template, customer_ids=[world.customer.pk]
    )


def when_offer_retry(world, request):
    offer = _one_offer(world, request)
    Offer.unscoped.filter(pk=offer.pk).update(status=Offer.Status.FAILED)
    offer.refresh_from_db()
    return lambda: offer_services.offer_retry(org=partner_ctx(world), offer=offer)


def when_offer_deliver(world, request):
    """The delivery inside a caller's transaction that then fails."""
    offer = _one_offer(world, request)
    return lambda: offer_services.offer_deliver(offer_id=offer.pk)


def when_import_submit(world, request):
    request.getfixturevalue("monkeypatch").setattr("imports.jobs.SYNC_ROWS_MAX", 1)
    return lambda: import_submit(
        org=partner_ctx(world), kind="customers", file=b"name\nGross 1 AG\nGross 2 AG\n"
    )


def when_member_invite(world, request):
    return lambda: tenant_services.member_invite(
        org=partner_ctx(world), email="newcomer@faults.test", role=Role.ADMIN
    )


def when_tender_post(world, request):
    world.partner.receives_tenders = True
    world.partner.save(update_fields=["receives_tenders"])
    return lambda: tender_post(
        org=org(world.customer_owner, world.customer),
        title="A website",
        description="We need a simple website.",
        category="email",
        contact_name="Anna Müller",
        contact_email="anna@mueller.test",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )


def when_email_queue(world, request):
    return _queued_email


def when_notify(world, request):
    return lambda: emails.notify(
        key="faults", users=[world.partner_owner], subject="Hi", lines=["Hi."], url="/", label="Go"
    )


# The services that enqueue after commit: how to call one, and what it enqueues.
ENQUEUERS = {
    "offer_send": (when_offer_send, ["offers.tasks.deliver_offer"]),
    "offer_retry": (when_offer_retry, ["offers.tasks.deliver_offer"]),
    # the emails, and the outbox's fan-out of the offer.delivered event
    "offer_deliver": (
        when_offer_deliver,
        ["tenants.tasks.deliver_emails", "webhooks.tasks.fan_out"],
    ),
    "import_submit (a job)": (when_import_submit, ["partners.tasks.run_import_job"]),
    "member_invite": (when_member_invite, ["tenants.tasks.send_membership_invitation"]),
    "tender_post": (
        when_tender_post,
        ["tenants.tasks.deliver_email", "partners.tasks.tell_partners_of_tender"],
    ),
    "email_queue": (when_email_queue, ["tenants.tasks.deliver_email"]),
    "notify": (when_notify, ["tenants.tasks.deliver_emails"]),
}


@pytest.mark.parametrize("name", list(ENQUEUERS))
def test_a_rolled_back_transaction_enqueues_and_sends_nothing(
    name, world, request, enqueued, django_capture_on_commit_callbacks
):
    service = ENQUEUERS[name][0](world, request)
    enqueued.clear()
    mail.outbox.clear()
    before = database_state()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        service()
        raise Boom

    assert (callbacks, enqueued, mail.outbox) == ([], [], [])
    assert database_state() == before


@pytest.mark.parametrize("name", list(ENQUEUERS))
def test_the_same_transaction_committed_enqueues_its_tasks(
    name, world, request, enqueued, django_capture_on_commit_callbacks
):
    service = ENQUEUERS[name][0](world, request)
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            service()
        assert enqueued == []  # not before the commit

    assert sorted(enqueued) == sorted(ENQUEUERS[name][1])


# --- the one window of the outbox ------------------------------------------------------------


def test_an_email_sent_again_after_its_sent_commit_was_lost_has_the_same_message_id(db):
    email = _queued_email()
    emails.email_deliver(email_id=email.pk)
    # The worker died after the mail server took the message, before `sent` committed.
    OutboundEmail.objects.filter(pk=email.pk).update(status="pending", sent_at=None)
    emails.email_deliver(email_id=email.pk)

    first, again = (message.message()["Message-ID"] for message in mail.outbox)
    assert first == again == f"<{email.pk}@portal.example.test>"
