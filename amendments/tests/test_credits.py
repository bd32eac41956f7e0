"""Lowering, ending now and replacing an edition mid-period: a credit order gives
the unused paid days back to whoever paid them, at the price paid, with its
credit note and the partner's partial clawback (SPEC §4, §7 rev. 2;
amendments.services and credits, docs/billing.md).

Web hosting at CHF 9.92 a month, 10 % off from 10 units and 25 % from 30;
Alpine has 20 % off. A monthly subscription from 1 April 2026 (30 days); on
16 April, 15 of them remain."""

import datetime
import threading
from decimal import Decimal
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from amendments import services as changes
from billing import tasks as billing_tasks
from billing.models import CashbackEntry, Invoice, Order, OrderLine
from billing.pricing import waterfall
from billing.proration import state_value
from billing.selectors import billing_summary
from billing.services.orders import LineRequest, order_place, order_refund
from billing.tests.conftest import grant
from catalog.tests.factories import ProductFactory
from core.exceptions import Conflict
from subscriptions.models import Subscription, SubscriptionChange
from tenants import emails as emails_module
from tenants.models import Membership, OutboundEmail
from tenants.selectors import org_context_for
from tenants.tests.factories import UserFactory
from tests.clock import on
from tests.concurrency import race

LIST = "/api/v1/subscriptions/"
APRIL_16 = on(2026, 4, 16)


def url(subscription) -> str:
    return f"{LIST}{subscription.pk}/"


def open_35(world, api, time_machine, *, payment="customer", by_partner=True):
    """On 1 April, 35 web hostings for Müller (by Alpine, or by Müller itself)."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment=payment)
    client = (
        api(world.partner_owner, world.partner)
        if by_partner
        else api(world.customer_owner, world.customer)
    )
    response = client.post(
        LIST, {"customer": str(world.customer.id), "product": "web-hosting", "quantity": 35}
    )
    assert response.status_code == 201, response.json()
    time_machine.move_to(APRIL_16)
    return Subscription.unscoped.get(pk=response.json()["subscription"]["id"])


def written() -> tuple:
    return (
        Order.unscoped.count(),
        Invoice.unscoped.count(),
        CashbackEntry.unscoped.count(),
        SubscriptionChange.unscoped.count(),
    )


@pytest.fixture
def subscribed(world, api, hosting, time_machine):
    return open_35(world, api, time_machine)


def test_lowering_credits_the_removed_units_unused_days_at_the_price_paid(
    world, api, subscribed, time_machine
):
    client = api(world.partner_owner, world.partner)

    preview = client.patch(url(subscribed), {"quantity": 30, "dry_run": True})
    response = client.patch(url(subscribed), {"quantity": 30, "expected_total": "-18.60"})

    # 35 at 7.44 = 260.40 a month, 30 = 223.20 (the same 25 % tier): for 15 of 30
    # days, 130.20 - 111.60 = 18.60 credited to Müller; preferential 104.16 - 89.28,
    # so 3.72 of Alpine's cashback is taken back
    assert preview.status_code == 200, preview.json()
    line = preview.json()["lines"][0]
    assert (line["current_quantity"], line["new_quantity"]) == (35, 30)
    assert (line["charged"], line["credit"], line["cashback"]) == ("0.00", "18.60", "-3.72")
    assert (line["period_starts_on"], line["period_ends_on"]) == ("2026-04-16", "2026-04-30")
    assert (line["next_renewal_on"], line["renewal_amount"]) == ("2026-05-01", "223.20")
    assert line["new_unit_price"] == "7.44" and line["payer"] == "customer"
    assert preview.json()["totals"]["net"] == "-18.60"
    assert response.status_code == 200, response.json()
    body = response.json()["order"]
    assert (body["kind"], body["credited_amount"], body["clawback_amount"]) == (
        "credit",
        "18.60",
        "3.72",
    )
    order = Order.unscoped.get(pk=body["id"])
    assert order.kind == "credit" and order.payer_tenant == world.customer
    assert (order.charged_amount, order.credited_amount, order.clawback_amount) == (
        Decimal("0.00"),
        Decimal("18.60"),
        Decimal("3.72"),
    )
    note = Invoice.unscoped.get(order=order)
    assert (note.kind, note.number, note.total) == (
        "credit_note",
        "CN-2026-000001",
        Decimal("-18.60"),
    )
    april = Order.unscoped.get(kind="order")
    reversal = CashbackEntry.unscoped.get(kind="reversal")
    assert (reversal.amount, reversal.reverses.order, reversal.order) == (
        Decimal("-3.72"),
        april,
        order,
    )
    line = OrderLine.unscoped.get(order=order)
    assert (line.quantity, line.period_starts_on, line.period_ends_on) == (
        5,
        datetime.date(2026, 4, 16),
        datetime.date(2026, 4, 30),
    )
    change = SubscriptionChange.unscoped.get(kind="decrease")
    assert (change.quantity_before, change.quantity_after, change.order) == (35, 30, order)
    subscribed.refresh_from_db()
    assert (subscribed.quantity, subscribed.unit_price) == (30, Decimal("7.44"))
    # the payer is emailed its credit note
    emails = OutboundEmail.objects.filter(key__startswith=f"invoice:{note.pk}")
    assert {e.to for e in emails} == {world.customer_owner.email, world.customer_admin.email}
    for email in emails:  # queued as ids (issue 28): the delivery renders the credit note
        assert emails_module.email_deliver(email_id=str(email.pk)) is True
        email.refresh_from_db()
        assert "Credit note CN-2026-000001: CHF -18.60" in email.subject
        assert "Credited: CHF 18.60." in email.body_text


def test_the_customer_sees_its_credit_but_never_the_clawback(world, api, subscribed):
    client = api(world.customer_owner, world.customer)
    preview = client.patch(url(subscribed), {"quantity": 30, "dry_run": True})
    placed = client.patch(url(subscribed), {"quantity": 30, "expected_total": "-18.60"})

    line = preview.json()["lines"][0]
    assert (line["credit"], line["cashback"]) == ("18.60", None)
    order = placed.json()["order"]
    assert (order["credited_amount"], order["clawback_amount"]) == ("18.60", None)
    # the partner's month: April's volume less the credit, its cashback less the clawback
    summary = billing_summary(
        org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    )
    (month,) = summary["orders"]
    assert (month["public"], month["cashback"]) == (Decimal("241.80"), Decimal("48.36"))


def test_a_stale_preview_is_a_409_with_the_new_figures_and_nothing_written(world, api, subscribed):
    before = written()

    response = api(world.partner_owner, world.partner).patch(
        url(subscribed), {"quantity": 30, "expected_total": "-20.00"}
    )

    assert response.status_code == 409
    assert response.json()["quote"]["totals"]["credit"] == "18.60"
    assert written() == before
    subscribed.refresh_from_db()
    assert subscribed.quantity == 35


@pytest.mark.parametrize("quantity", [0, -3, 35, "many"])
def test_what_a_lowering_refuses_writes_nothing(world, api, subscribed, quantity):
    before = written()

    response = api(world.partner_owner, world.partner).patch(
        url(subscribed), {"quantity": quantity}
    )

    assert response.status_code == 400
    assert "quantity" in response.json()
    assert written() == before


def test_who_may_lower_and_end(world, api, subscribed):
    Membership.unscoped.filter(tenant=world.partner, user=world.partner_admin).update(buyer=False)
    clients = {
        "partner admin, not a buyer": api(world.partner_admin, world.partner),
        "customer user": api(world.customer_user, world.customer),
        "another partner": api(world.other_owner, world.other_partner),
    }
    before = written()

    codes = {
        who: (
            client.patch(url(subscribed), {"quantity": 30}).status_code,
            client.delete(url(subscribed)).status_code,
        )
        for who, client in clients.items()
    }

    assert codes == {
        "partner admin, not a buyer": (403, 403),
        "customer user": (403, 403),
        "another partner": (404, 404),
    }
    assert written() == before


def test_ending_now_credits_every_unused_day_and_no_renewal_follows(
    world, api, subscribed, time_machine
):
    client = api(world.customer_owner, world.customer)

    preview = client.delete(url(subscribed) + "?dry_run=true")
    stale = client.delete(url(subscribed) + "?expected_total=-1.00")
    ended = client.delete(url(subscribed) + "?expected_total=-130.20")
    again = client.delete(url(subscribed))

    assert preview.status_code == 200
    line = preview.json()["lines"][0]
    assert (line["new_quantity"], line["credit"], line["next_renewal_on"]) == (0, "130.20", None)
    assert stale.status_code == 409
    assert ended.status_code == 200, ended.json()
    assert ended.json()["subscription"]["status"] == "cancelled"
    order = Order.unscoped.get(pk=ended.json()["order"]["id"])
    # 260.40 for 15 of 30 days; half of April's 52.08 cashback is taken back
    assert (order.credited_amount, order.clawback_amount) == (
        Decimal("130.20"),
        Decimal("26.04"),
    )
    assert Invoice.unscoped.get(order=order).total == Decimal("-130.20")
    assert SubscriptionChange.unscoped.get(kind="cancel").order == order
    assert again.status_code == 409
    time_machine.move_to(on(2026, 5, 1, 6))
    assert billing_tasks.place_renewals() == 0


def test_ending_at_the_period_end_still_credits_nothing(world, api, subscribed):
    response = api(world.customer_owner, world.customer).delete(url(subscribed) + "?at=period_end")

    assert response.status_code == 200
    assert response.json()["subscription"]["ends_on"] == "2026-04-30"
    assert not Order.unscoped.filter(kind="credit").exists()


def test_a_partner_who_paid_is_credited_its_preferential_price(world, api, hosting, time_machine):
    subscription = open_35(world, api, time_machine, payment="partner")

    response = api(world.partner_owner, world.partner).patch(url(subscription), {"quantity": 30})

    order = Order.unscoped.get(pk=response.json()["order"]["id"])
    assert order.payer_tenant == world.partner
    assert (order.credited_amount, order.clawback_amount) == (Decimal("14.88"), Decimal("0.00"))
    assert Invoice.unscoped.get(order=order).payer == world.partner
    assert not CashbackEntry.unscoped.exists()


def test_a_lowering_after_a_raise_takes_back_no_more_than_was_credited(world, api, subscribed):
    client = api(world.partner_owner, world.partner)
    assert client.patch(url(subscribed), {"quantity": 40}).status_code == 200

    client.patch(url(subscribed), {"quantity": 35})
    client.patch(url(subscribed), {"quantity": 30})
    response = client.delete(url(subscribed))

    assert response.status_code == 200, response.json()
    # the same tier throughout: the half month is paid 130.20 + 18.60 and credited
    # 18.60 + 18.60 + 111.60, exactly; the cashback 26.04 + 3.72 taken back to 0
    charged = sum(o.charged_amount for o in Order.unscoped.all())
    credited = sum(o.credited_amount for o in Order.unscoped.all())
    assert (charged, credited) == (Decimal("279.00"), Decimal("148.80"))
    assert charged - credited == Decimal("130.20")  # 35 units for 1-15 April
    balance = sum(e.amount for e in CashbackEntry.unscoped.all())
    assert balance == Decimal("26.04")  # April's other half month: 52.08 / 2
    for credit in CashbackEntry.unscoped.filter(kind="credit"):
        taken = -sum(r.amount for r in credit.reversed_by.all())
        assert taken <= credit.amount


def test_a_refund_after_a_clawback_reverses_only_what_is_left(world, api, subscribed, admin_user):
    api(world.partner_owner, world.partner).patch(url(subscribed), {"quantity": 30})
    april = Order.unscoped.get(kind="order")
    credit = Order.unscoped.get(kind="credit")

    order_refund(actor=admin_user, order_id=april.pk)
    with pytest.raises(Conflict):
        order_refund(actor=admin_user, order_id=credit.pk)

    assert sum(e.amount for e in CashbackEntry.unscoped.all()) == Decimal("0.00")


def test_the_degressive_tier_counts_every_live_subscription_of_the_product(
    world, api, hosting, time_machine
):
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    client = api(world.customer_owner, world.customer)
    first = client.post(LIST, {"product": "web-hosting", "quantity": 20}).json()
    assert first["order"]["charged"] == "178.56"  # 20 x 9.92, 10 % off

    second = client.post(LIST, {"product": "web-hosting", "quantity": 15, "dry_run": True})
    placed = client.post(LIST, {"product": "web-hosting", "quantity": 15})
    time_machine.move_to(APRIL_16)
    raised = api(world.customer_owner, world.customer).patch(
        f"{LIST}{first['subscription']['id']}/", {"quantity": 25}
    )

    # 20 + 15 = 35 units: the 25 % tier, so 15 x 9.92 x 0.75 = 111.60
    assert second.json()["lines"][0]["tier_rate"] == "0.2500"
    assert placed.json()["order"]["charged"] == "111.60"
    assert placed.json()["subscription"]["unit_price"] == "7.44"
    # 25 + 15 = 40 units: 25 % on the raise too, (186.00 - 148.80) for half the month
    assert raised.json()["order"]["charged"] == "18.60"


def test_a_raise_charges_only_to_the_last_day_of_service(world, api, subscribed):
    client = api(world.customer_owner, world.customer)
    assert client.patch(url(subscribed), {"ends_on": "2026-04-20"}).status_code == 200

    response = client.patch(url(subscribed), {"quantity": 40})

    # 16-20 April: value(40) = 297.60 x 15/30 - 297.60 x 10/30 = 49.60, value(35) =
    # 130.20 - 86.80 = 43.40, so 6.20 (to 30 April it would be 18.60)
    order = Order.unscoped.get(pk=response.json()["order"]["id"])
    assert order.charged_amount == Decimal("6.20")
    line = order.lines.get()
    assert line.period_ends_on == datetime.date(2026, 4, 20)


# --- the services the offers call ------------------------------------------------------


def test_lower_confirmed_and_a_replaced_edition_credit_inside_the_callers_transaction(
    world, api, subscribed
):
    partner_user = UserFactory()
    with transaction.atomic():
        locked = (
            Subscription.unscoped.select_for_update()
            .select_related("customer", "product")
            .get(pk=subscribed.pk)
        )
        (lowered,) = changes.subscription_lower_confirmed(
            subscription=locked, quantity=30, placed_by=partner_user, partner=world.partner
        )
    assert (lowered.kind, lowered.credited_amount, lowered.ordered_by) == (
        "credit",
        Decimal("18.60"),
        "partner",
    )

    with pytest.raises(ValidationError), transaction.atomic():
        changes.subscription_lower_confirmed(
            subscription=Subscription.unscoped.select_for_update().get(pk=subscribed.pk),
            quantity=31,
            placed_by=partner_user,
            partner=world.partner,
        )

    with transaction.atomic():
        locked = (
            Subscription.unscoped.select_for_update()
            .select_related("customer", "product")
            .get(pk=subscribed.pk)
        )
        locked.ends_on = datetime.date(2026, 4, 15)
        locked.save(update_fields=["ends_on"])
        (replaced,) = changes.edition_replaced_credit(
            subscription=locked,
            kind=SubscriptionChange.Kind.UPGRADE,
            effective_on=datetime.date(2026, 4, 16),
            placed_by=partner_user,
            partner=world.partner,
        )

    # 30 units at April's price, 15 of 30 days: 111.60, and 22.32 of the cashback
    assert (replaced.credited_amount, replaced.clawback_amount) == (
        Decimal("111.60"),
        Decimal("22.32"),
    )
    upgrade = SubscriptionChange.unscoped.get(kind="upgrade")
    assert (upgrade.quantity_before, upgrade.quantity_after, upgrade.order) == (30, 0, replaced)


def test_a_subscription_nobody_paid_for_is_lowered_without_a_credit_note(world, api, time_machine):
    time_machine.move_to(APRIL_16)
    grant(world, access="full", payment="customer")
    product = ProductFactory(code="seeded", prices={"CHF": "10.00", "EUR": "9.00"})
    subscription = Subscription.unscoped.create(
        customer=world.customer,
        product=product,
        quantity=5,
        unit_price=Decimal("10.00"),
        currency="CHF",
        billing_period="monthly",
        starts_on=datetime.date(2026, 3, 1),
    )
    owner = org_context_for(user=world.customer_owner, tenant_id=world.customer.id)

    order = changes.subscription_lower(org=owner, subscription=subscription, quantity=2)

    assert isinstance(order, Order)
    assert order.credited_amount == Decimal("0.00")
    assert not Invoice.unscoped.exists()
    assert SubscriptionChange.unscoped.get(kind="decrease").order == order


# --- races ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_lowerings_racing_leave_one_ledger_chain_and_exact_totals(
    world, hosting, time_machine
):
    """20 buyers lower one subscription of 55 at the same instant, each to its
    own quantity (35 to 54): the row lock orders them; a lowering to what is no
    longer below the quantity reached is refused; the ledger is one chain from
    55 down, and the credits and clawbacks telescope to exactly value(55) -
    value(final) at April's prices (every state in the 25 % tier)."""
    time_machine.move_to(on(2026, 4, 1, 9))
    grant(world, access="full", payment="customer")
    partner = org_context_for(user=world.partner_owner, tenant_id=world.partner.id)
    placed = order_place(
        org=partner, customer_id=world.customer.pk, lines=[LineRequest(hosting, 55)]
    )
    subscription = placed.lines.get().subscription
    time_machine.move_to(APRIL_16)
    targets = iter(range(35, 55))
    lock = threading.Lock()

    def lower_once():
        with lock:
            quantity = next(targets)
        try:
            return changes.subscription_lower(
                org=org_context_for(user=world.partner_owner, tenant_id=world.partner.id),
                subscription=subscription,
                quantity=quantity,
            )
        except ValidationError as exc:
            return exc

    outcomes = race(lower_once)

    credits = [o for o in outcomes if isinstance(o, Order)]
    assert credits, outcomes
    assert all(isinstance(o, Order | ValidationError) for o in outcomes), outcomes
    subscription.refresh_from_db()
    chain = list(
        SubscriptionChange.unscoped.filter(subscription=subscription, kind="decrease")
        .order_by("created_at")
        .values_list("quantity_before", "quantity_after")
    )
    assert len(chain) == len(credits)
    assert chain[0][0] == 55
    assert all(after == following[0] for (_, after), following in pairwise(chain))
    assert chain[-1][1] == subscription.quantity
    period = (datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))

    def value(quantity: int, field: str) -> Decimal:
        price = waterfall(
            unit_price=Decimal("9.92"),
            quantity=quantity,
            tier_rate=Decimal("0.25"),
            discount_rate=Decimal("0.20"),
        )
        return state_value(state=(1, getattr(price, field)), period=period, on=APRIL_16.date())

    credited = sum(o.credited_amount for o in Order.unscoped.filter(kind="credit"))
    taken = sum(o.clawback_amount for o in Order.unscoped.filter(kind="credit"))
    final = subscription.quantity
    assert credited == value(55, "public_amount") - value(final, "public_amount")
    margin = lambda q: value(q, "public_amount") - value(q, "preferential_amount")  # noqa: E731
    assert taken == margin(55) - margin(final)
    assert -sum(e.amount for e in CashbackEntry.unscoped.filter(kind="reversal")) == taken
    numbers = sorted(
        Invoice.unscoped.filter(kind="credit_note").values_list("sequence_number", flat=True)
    )
    assert numbers == list(range(1, len(credits) + 1))  # gap-free


# --- in the browser ----------------------------------------------------------------------


def page(world, name, subscription, partner=True) -> str:
    if partner:
        return reverse(
            f"customer_subscription_{name}",
            kwargs={
                "slug": "alpine",
                "customer_id": world.customer.pk,
                "subscription_id": subscription.pk,
            },
        )
    return reverse(
        f"subscription_{name}", kwargs={"slug": "mueller", "subscription_id": subscription.pk}
    )


def test_lowering_in_the_browser_previews_then_credits_the_previewed_amount(
    world, browser, subscribed
):
    client = browser(world.partner_owner)
    url = page(world, "lower", subscribed)

    edit = client.get(page(world, "edit", subscribed))
    form = client.get(url)
    unseen = client.post(url, {"quantity": "30", "action": "place"})
    stale = client.post(url, {"quantity": "30", "action": "place", "expected_total": "-1.00"})
    placed = client.post(
        url, {"quantity": "30", "action": "place", "expected_total": "-18.60"}, follow=True
    )

    assert url in edit.content.decode()
    assert page(world, "end", subscribed) in edit.content.decode()
    assert 'name="quantity" value="34"' in form.content.decode()
    preview = unseen.content.decode()
    assert unseen.status_code == 200
    assert 'data-figure="credit">CHF&nbsp;18.60' in preview
    assert "a credit note for 16 Apr 2026 to 30 Apr 2026" in preview
    assert 'data-figure="renewal">CHF&nbsp;223.20' in preview
    assert 'data-figure="clawback">CHF 3.72' in preview
    assert 'name="expected_total" value="-18.60"' in preview
    assert stale.status_code == 409
    assert "The amount changed since the preview" in stale.content.decode()
    assert "Bäckerei Müller is credited CHF 18.60" in placed.content.decode()
    subscribed.refresh_from_db()
    assert subscribed.quantity == 30
    assert Order.unscoped.filter(kind="credit").count() == 1


def test_ending_now_in_the_browser_credits_the_unused_days(world, browser, subscribed):
    client = browser(world.customer_owner)
    url = page(world, "end", subscribed, partner=False)

    preview = client.post(url, {"action": "preview"})
    ended = client.post(url, {"action": "place", "expected_total": "-130.20"}, follow=True)

    assert 'data-figure="credit">CHF&nbsp;130.20' in preview.content.decode()
    assert "None: the subscription ends." in preview.content.decode()
    assert "clawback" not in preview.content.decode()  # the customer never sees it
    assert "You are credited CHF 130.20" in ended.content.decode() or (
        "is credited CHF 130.20" in ended.content.decode()
    )
    subscribed.refresh_from_db()
    assert subscribed.cancelled_at is not None


def test_the_credit_pages_answer_like_the_other_subscription_pages(world, browser, subscribed):
    not_buyer = browser(world.partner_admin).get(page(world, "lower", subscribed))
    customer_user = browser(world.customer_user).get(page(world, "end", subscribed, partner=False))
    outsider = browser(world.other_owner).get(
        reverse(
            "customer_subscription_lower",
            kwargs={
                "slug": "rhein",
                "customer_id": world.customer.pk,
                "subscription_id": subscribed.pk,
            },
        )
    )
    raising = browser(world.partner_owner).post(
        page(world, "lower", subscribed), {"quantity": "40", "action": "preview"}
    )
    zero = browser(world.partner_owner).post(
        page(world, "lower", subscribed), {"quantity": "0", "action": "preview"}
    )

    assert not_buyer.status_code == 403
    assert customer_user.status_code == 403
    assert outsider.status_code == 404
    assert raising.status_code == 400
    assert "raise the quantity instead" in raising.content.decode()
    assert zero.status_code == 400
    assert Order.unscoped.count() == 1


def test_the_partner_whose_cashback_is_taken_back_is_emailed_in_its_language(
    world, api, subscribed
):
    world.partner_admin.language = "de"
    world.partner_admin.save(update_fields=["language"])

    placed = api(world.customer_owner, world.customer).patch(url(subscribed), {"quantity": 30})

    order = Order.unscoped.get(pk=placed.json()["order"]["id"])
    assert order.clawback_amount == Decimal("3.72")
    emails = {
        email.to: email
        for email in OutboundEmail.objects.filter(key__startswith=f"order-clawback:{order.pk}")
    }
    assert set(emails) == {world.partner_owner.email, world.partner_admin.email}
    for email in emails.values():  # rendered at delivery, in the recipient's language
        assert emails_module.email_deliver(email_id=str(email.pk)) is True
        email.refresh_from_db()
    english, german = emails[world.partner_owner.email], emails[world.partner_admin.email]
    assert english.subject.endswith("Cashback taken back for Bäckerei Müller: CHF 3.72")
    assert "credit note CN-2026-000001" in english.body_text
    assert "Taken back from your prepaid account: CHF 3.72." in english.body_text
    assert f"/alpine/orders/{order.pk}/" in english.body_text
    assert "Bäckerei Müller" in german.subject and "CHF 3.72" in german.subject
    assert "Cashback taken back" not in german.subject
    assert "CN-2026-000001" in german.body_text
    # the customer is told its credit, never the clawback
    customer_mail = OutboundEmail.objects.filter(to=world.customer_owner.email)
    assert not customer_mail.filter(key__startswith="order-clawback:").exists()


def test_a_credit_that_takes_no_cashback_back_emails_no_partner(world, api, hosting, time_machine):
    subscription = open_35(world, api, time_machine, payment="partner")

    api(world.partner_owner, world.partner).patch(url(subscription), {"quantity": 30})

    assert Order.unscoped.get(kind="credit").clawback_amount == Decimal("0.00")
    assert not OutboundEmail.objects.filter(key__startswith="order-clawback:").exists()
