"""The subscription widget and the MRR charts, drawn on the server as inline SVG
(no script): bar geometry is computed here, the templates only place it."""

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from subscriptions.selectors import customer_mrr_seen_by

register = template.Library()

WIDTH, HEIGHT, GAP = 600, 160, 6
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


def _scale(value: Decimal, top: Decimal, room: float) -> float:
    return round(float(value) / float(top) * room, 1) if top > 0 else 0.0


def _slots(count: int) -> tuple[float, float]:
    slot = WIDTH / max(count, 1)
    return slot, round(slot - GAP, 1)


@register.inclusion_tag("subscriptions/_bar_chart.html")
def mrr_bar_chart(history, currency: str, title: str):
    """One bar per month: the MRR on its last day, the current month's as of
    today (`months.reading_days`), which its title and table row say."""
    this_month = timezone.localdate().strftime("%Y-%m")
    top = max((m["mrr"] for m in history), default=Decimal(0))
    slot, width = _slots(len(history))
    bars = []
    for i, month in enumerate(history):
        height = _scale(month["mrr"], top, HEIGHT - 20)
        bars.append(
            {
                "x": round(i * slot + GAP / 2, 1),
                "y": round(HEIGHT - 20 - height, 1),
                "width": width,
                "height": height,
                "label_x": round(i * slot + slot / 2, 1),
                "month": month["month"],
                "mrr": month["mrr"],
                "so_far": month["month"] == this_month,
            }
        )
    return {
        "bars": bars,
        "currency": currency,
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "axis_y": HEIGHT - 20,
    }


@register.inclusion_tag("subscriptions/_movement_chart.html", takes_context=True)
def mrr_movement_chart(context, history, currency: str):
    """Per month, new, expansion and reactivation stacked above the axis, contraction
    and churn below; every figure links to the customers behind it."""
    slug = context["org"].tenant.slug
    drill = reverse("mrr_movements", kwargs={"slug": slug})
    up_top = max((sum(m[k] for k in UP_KINDS) for m in history), default=Decimal(0))
    down_top = max((-sum(m[k] for k in DOWN_KINDS) for m in history), default=Decimal(0))
    total = up_top + down_top
    room = HEIGHT - 20
    axis = 10 + (round(float(up_top) / float(total) * room, 1) if total > 0 else room / 2)
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
                "mrr": month["mrr"],
                "segments": segments,
                "figures": figures,
                "label_x": round(i * slot + slot / 2, 1),
            }
        )
    return {
        "months": months,
        "kinds": [(k, KIND_LABELS[k]) for k in (*UP_KINDS, *DOWN_KINDS)],
        "currency": currency,
        "width": WIDTH,
        "height": HEIGHT,
        "axis_y": round(axis, 1),
        "drill_url": drill,
    }


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
