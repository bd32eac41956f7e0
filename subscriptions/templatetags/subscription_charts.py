"""The subscription widget and the MRR charts, drawn on the server as inline SVG
(no script): bar geometry is computed here, the templates only place it."""

import datetime
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import pgettext_lazy

from core.dates import local_date
from subscriptions.selectors import customer_mrr_seen_by

register = template.Library()

# The plot: WIDTH is stretched to the page's width, HEIGHT is drawn 1:1 (CSS height
# 10rem = 160 px), so the axis' values and the months are written outside the stretched
# SVG (a y-axis SVG of its own and a row of HTML labels) and keep their shape.
WIDTH, HEIGHT, GAP = 600, 160, 6
TOP, BOTTOM = 10, 150  # the highest tick and the zero line; room above for its value
TICKS = 4  # steps of the y axis above zero
HEADROOM = Decimal("1.08")  # the tallest bar stops below the highest tick
UP_KINDS = ("new", "expansion", "reactivation")
DOWN_KINDS = ("contraction", "churn")
KIND_LABELS = {
    "new": pgettext_lazy("MRR movement", "New"),
    "expansion": pgettext_lazy("MRR movement", "Expansion"),
    "contraction": pgettext_lazy("MRR movement", "Contraction"),
    "churn": pgettext_lazy("MRR movement", "Churn"),
    "reactivation": pgettext_lazy("MRR movement", "Reactivation"),
}
# What happened to a subscription in a month of movements (mrr._attach_changes).
CHANGE_LABELS = {
    "started": pgettext_lazy("subscription change", "Started"),
    "ended": pgettext_lazy("subscription change", "Ended"),
    "cancelled": pgettext_lazy("subscription change", "Cancelled"),
}
TRENDS = {
    "up": ("▲", pgettext_lazy("MRR trend", "up")),
    "down": ("▼", pgettext_lazy("MRR trend", "down")),
    "flat": ("▬", pgettext_lazy("MRR trend", "flat")),
}


def nice_top(value: Decimal, ticks: int = TICKS) -> Decimal:
    """The axis' top: `ticks` equal steps of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 or 8
    times a power of ten that reach past `value` with HEADROOM, so the tallest bar
    never touches the top (0 gives 0)."""
    if value <= 0:
        return Decimal(0)
    raw = value * HEADROOM / ticks
    power = Decimal(10) ** (raw.adjusted())
    for factor in (1, Decimal("1.5"), 2, Decimal("2.5"), 3, 4, 5, 6, Decimal("7.5"), 8, 10):
        step = power * factor
        if step >= raw:
            return step * ticks
    return power * 10 * ticks  # not reached: ten times the power is always enough


def axis_label(amount: Decimal, currency: str) -> str:
    """ "CHF 1,000" in the page's language (grouped, no decimals unless a step has them)."""
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{currency} {number_format(amount, places, use_l10n=True, force_grouping=True)}"


def month_label(month: str) -> str:
    """ "2026-12" → "Dec 2026", "dic 2026", "Dez. 2026" (core/dates.py)."""
    year, number = month.split("-")
    return local_date(datetime.date(int(year), int(number), 1), "M Y")


def _ticks(top: Decimal, bottom: Decimal, currency: str, zero_y: float, per_unit: float):
    """The y axis' values from `bottom` (≤ 0) to `top`, each at its height."""
    if top <= 0 and bottom >= 0:
        return [{"y": zero_y, "label": axis_label(Decimal(0), currency)}]
    step = (top or -bottom) / TICKS
    ticks, value = [], bottom
    while value <= top:
        y = round(zero_y - float(value) * per_unit, 1)
        ticks.append({"y": y, "label": axis_label(value, currency), "zero": value == 0})
        value += step
    return ticks


def _scale(value: Decimal, top: Decimal, room: float) -> float:
    return round(float(value) / float(top) * room, 1) if top > 0 else 0.0


def _slots(count: int) -> tuple[float, float]:
    slot = WIDTH / max(count, 1)
    return slot, round(slot - GAP, 1)


@register.inclusion_tag("subscriptions/_bar_chart.html")
def mrr_bar_chart(history, currency: str, title: str):
    """One bar per month: the MRR on its last day, the current month's as of
    today (`months.reading_days`), which its title and table row say. The y axis
    is labelled in the currency, with headroom above the tallest bar."""
    this_month = timezone.localdate().strftime("%Y-%m")
    top = nice_top(max((m["mrr"] for m in history), default=Decimal(0)))
    room = BOTTOM - TOP
    slot, width = _slots(len(history))
    bars = []
    for i, month in enumerate(history):
        height = _scale(month["mrr"], top, room)
        bars.append(
            {
                "x": round(i * slot + GAP / 2, 1),
                "y": round(BOTTOM - height, 1),
                "width": width,
                "height": height,
                "month": month["month"],
                "label": month_label(month["month"]),
                "mrr": month["mrr"],
                "so_far": month["month"] == this_month,
            }
        )
    per_unit = room / float(top) if top > 0 else 0.0
    return {
        "bars": bars,
        "currency": currency,
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "axis_y": BOTTOM,
        "ticks": _ticks(top, Decimal(0), currency, BOTTOM, per_unit),
    }


@register.inclusion_tag("subscriptions/_movement_chart.html", takes_context=True)
def mrr_movement_chart(context, history, currency: str):
    """Per month, new, expansion and reactivation stacked above the axis, contraction
    and churn below; every figure links to the customers behind it."""
    slug = context["org"].tenant.slug
    drill = reverse("mrr_movements", kwargs={"slug": slug})
    up_top = max((sum(m[k] for k in UP_KINDS) for m in history), default=Decimal(0))
    down_top = max((-sum(m[k] for k in DOWN_KINDS) for m in history), default=Decimal(0))
    # One step for both sides, so the gains and the losses are drawn to one scale.
    step = nice_top(max(up_top, down_top)) / TICKS
    steps_up = _steps(up_top, step)
    steps_down = _steps(down_top, step)
    total_steps = steps_up + steps_down or 2
    room = BOTTOM - TOP
    per_step = room / total_steps
    axis = TOP + (steps_up if steps_up + steps_down else 1) * per_step
    total = step * total_steps
    slot, width = _slots(len(history))
    months = []
    for i, month in enumerate(history):
        x = round(i * slot + GAP / 2, 1)
        segments, above, below = [], axis, axis
        figures = []
        for kind in (*UP_KINDS, *DOWN_KINDS):
            amount = month[kind]
            url = f"{drill}?month={month['month']}&kind={kind}"
            figures.append({"kind": kind, "label": KIND_LABELS[kind], "amount": amount, "url": url})
            if not amount:
                continue
            height = max(_scale(abs(amount), total, room), 1.0)
            if kind in UP_KINDS:
                above -= height
                y = above
            else:
                y = below
                below += height
            segments.append(
                {
                    "kind": kind,
                    "label": KIND_LABELS[kind],
                    "amount": amount,
                    "url": url,
                    "x": x,
                    "y": round(y, 1),
                    "width": width,
                    "height": height,
                }
            )
        months.append(
            {
                "month": month["month"],
                "label": month_label(month["month"]),
                "mrr": month["mrr"],
                "segments": segments,
                "figures": figures,
            }
        )
    per_unit = room / float(total) if total > 0 else 0.0
    return {
        "months": months,
        "kinds": [(k, KIND_LABELS[k]) for k in (*UP_KINDS, *DOWN_KINDS)],
        "currency": currency,
        "width": WIDTH,
        "height": HEIGHT,
        "axis_y": round(axis, 1),
        "drill_url": drill,
        "ticks": _ticks(step * steps_up, -step * steps_down, currency, axis, per_unit)
        if total > 0
        else _ticks(Decimal(0), Decimal(0), currency, axis, 0.0),
    }


def _steps(amount: Decimal, step: Decimal) -> int:
    """How many steps of the axis `amount` (≥ 0) needs, with headroom; 0 for none."""
    if amount <= 0 or step <= 0:
        return 0
    steps = int((amount * HEADROOM / step).to_integral_value(rounding="ROUND_CEILING"))
    return max(steps, 1)


@register.inclusion_tag("subscriptions/_widget.html", takes_context=True)
def subscription_widget(context, customer, links: bool = True):
    """The customer's current and upcoming MRR with the trend, and its history.
    Links to the subscriptions for who may see them, to adding for who may write."""
    org = context["org"]
    data = customer_mrr_seen_by(org=org, customer=customer)
    upcoming = data["upcoming"]
    manage_url = add_url = None
    if links:
        if org.tenant.is_partner:
            kwargs = {"slug": org.tenant.slug, "customer_id": customer.pk}
            manage_url = reverse("customer_subscriptions", kwargs=kwargs)
            add_url = reverse("customer_subscription_add", kwargs=kwargs)
        else:
            manage_url = reverse("subscriptions", kwargs={"slug": org.tenant.slug})
            if org.is_admin:
                add_url = reverse("subscription_add", kwargs={"slug": org.tenant.slug})
    return {
        "org": org,
        "customer": customer,
        "mrr": data,
        "trend": TRENDS[upcoming["trend"]] if upcoming else None,
        "manage_url": manage_url,
        "add_url": add_url,
    }


@register.filter
def movement_label(kind: str) -> str:
    """The name of an MRR movement kind ("new" → "New"), in the active language."""
    return KIND_LABELS.get(kind, kind)


@register.filter
def change_label(change: str) -> str:
    """The name of a subscription change ("started" → "Started"), in the active language."""
    return CHANGE_LABELS.get(change, change)
