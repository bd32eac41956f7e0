"""Browser pages of offers (SPEC §6, §9) under /t/<slug>/: the partner's offer
templates (items saved as they are added, in place with htmx), sending a
template to one or many customers, the sent offers and a send's progress (both
polling while offers wait for delivery), the offer page both sides share, and
the customer's Updates. Thin: forms parse, offers.services write,
offers.selectors read, scoped to the organization; the views only decide which
amounts a side may see (never the partner's margin to the customer).
Mounted by portal/urls.py from offers/urls.py."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from billing.models import Payer
from billing.pricing import resale_steps
from catalog.models import Product
from core.exceptions import Conflict
from offers import selectors, services
from offers.effects import (
    Effect,
    SeenEffect,
    effect_seen_by,
    offer_effects,
    template_effects,
)
from offers.forms import (
    OfferDeclineForm,
    OfferSendForm,
    SentOffersFilterForm,
    TemplateItemForm,
    TemplateNameForm,
)
from offers.models import Offer, OfferBatch
from partners.selectors import customers_visible_to
from tenants.models import Role, Tenant
from tenants.selectors import uuid_or_none
from tenants.web import OrgViewMixin, ResolveFirstMixin, form_add_service_errors

PAGE_SIZE = 50
TIMES = "\N{MULTIPLICATION SIGN}"
SEND_LIST_LIMIT = 200  # customers shown as checkboxes; the filter narrows a longer list
CUSTOMER_PAGE_OFFERS = 5  # the latest offers shown on the partner's customer page
PARTNER_ONLY = (Tenant.Kind.PARTNER,)
PARTNER_OR_CUSTOMER = (Tenant.Kind.PARTNER, Tenant.Kind.CUSTOMER)
Status = Offer.Status


def _is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def _active_products() -> list[Product]:
    return list(Product.objects.filter(is_active=True).order_by("name", "code"))


def _back(request, default: str):
    """Redirect to the page the form came from (`next`, a path on this site), else `default`."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


class OffersView(OrgViewMixin, ResolveFirstMixin, View):
    allowed_kinds = PARTNER_ONLY

    @property
    def partner_side(self) -> bool:
        return self.org.tenant.is_partner

    def render_page(self, request, template: str, context: dict, status: int = 200):
        context = {"partner_side": self.partner_side, **context}
        response = render(request, template, context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response


# --- offer templates -------------------------------------------------------------------------


class TemplateListView(OffersView):
    """The partner's templates, and a new one by name (then its page, to add products)."""

    def get(self, request, slug):
        return self.respond(request, TemplateNameForm())

    def post(self, request, slug):
        form = TemplateNameForm(request.POST)
        if form.is_valid():
            try:
                template = services.template_create(org=self.org, name=form.cleaned_data["name"])
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("“%(name)s” was created. Add its products: each is saved at once.")
                    % {"name": template.name},
                )
                return redirect("offer_template", slug=slug, template_id=template.pk)
        return self.respond(request, form, status=400)

    def respond(self, request, form, status=200):
        templates = list(selectors.templates_for(org=self.org))
        return self.render_page(
            request, "offers/templates.html", {"templates": templates, "form": form}, status
        )


class TemplateView(OffersView):
    """A template: rename, delete, and its items (added and removed by the item views)."""

    def resolve(self) -> None:
        self.template = selectors.template_get(org=self.org, template_id=self.kwargs["template_id"])

    def get(self, request, slug, template_id):
        return self.respond(request)

    def post(self, request, slug, template_id):
        action = request.POST.get("action", "")
        if action == "rename":
            form = TemplateNameForm(request.POST)
            if form.is_valid():
                try:
                    services.template_rename(
                        org=self.org, template=self.template, name=form.cleaned_data["name"]
                    )
                except ValidationError as exc:
                    form_add_service_errors(form, exc)
                else:
                    messages.success(
                        request,
                        _("The template is now called “%(name)s”.") % {"name": self.template.name},
                    )
                    return redirect("offer_template", slug=slug, template_id=template_id)
            return self.respond(request, rename_form=form, status=400)
        if action == "delete":
            name = self.template.name
            services.template_delete(org=self.org, template=self.template)
            messages.success(
                request,
                _("“%(name)s” was deleted. Offers sent from it keep their own items.")
                % {"name": name},
            )
            return redirect("offer_templates", slug=slug)
        return HttpResponseBadRequest(_("Unknown action."))

    def respond(self, request, rename_form=None, item_form=None, status=200):
        template = self.template
        if status != 200:  # a failed write may have changed the instance: read it again
            template = selectors.template_get(org=self.org, template_id=template.pk)
        items = list(template.items.all())
        context = {
            "template": template,
            "items": items,
            "empty": not items,
            "rename_form": rename_form or TemplateNameForm(initial={"name": template.name}),
            "item_form": item_form or TemplateItemForm(products=_active_products()),
        }
        return self.render_page(request, "offers/template.html", context, status)


class TemplateItemsView(TemplateView):
    """Add an item: saved at once. htmx gets the new row (and a fresh add form) or
    the add form with its errors; without JS, the page after a redirect."""

    def get(self, request, slug, template_id):
        return redirect("offer_template", slug=slug, template_id=template_id)

    def post(self, request, slug, template_id):
        form = TemplateItemForm(request.POST, products=_active_products())
        if form.is_valid():
            try:
                item = services.template_item_add(
                    org=self.org, template=self.template, **form.item()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return self.added(request, item)
        if _is_htmx(request):
            response = self.render_page(
                request, "offers/_item_form.html", {"template": self.template, "item_form": form}
            )
            response["HX-Retarget"] = "#item-add"
            response["HX-Reswap"] = "outerHTML"
            return response
        return self.respond(request, item_form=form, status=400)

    def added(self, request, item):
        template = self.template
        if _is_htmx(request):
            context = {
                "template": template,
                "item": item,
                "item_form": TemplateItemForm(products=_active_products()),
            }
            return self.render_page(request, "offers/_item_added.html", context)
        messages.success(
            request,
            _("%(quantity)s %(times)s %(product)s was added to “%(template)s”.")
            % {
                "quantity": item.quantity,
                "times": TIMES,
                "product": item.product.name,
                "template": template.name,
            },
        )
        url = reverse(
            "offer_template", kwargs={"slug": self.org.tenant.slug, "template_id": template.pk}
        )
        return redirect(f"{url}#items")


class TemplateItemView(TemplateView):
    """Remove an item: htmx removes its row in place; without JS, a redirect."""

    def resolve(self) -> None:
        super().resolve()
        self.item = selectors.template_item_get(
            template=self.template, item_id=self.kwargs["item_id"]
        )

    def get(self, request, slug, template_id, item_id):
        return redirect("offer_template", slug=slug, template_id=template_id)

    def post(self, request, slug, template_id, item_id):
        name = self.item.product.name
        services.template_item_remove(org=self.org, item=self.item)
        if _is_htmx(request):
            # not template.items: its prefetched cache still holds the removed item
            empty = not selectors.template_has_items(template=self.template)
            return self.render_page(
                request, "offers/_item_removed.html", {"template": self.template, "empty": empty}
            )
        messages.success(
            request,
            _("%(product)s was removed from “%(template)s”.")
            % {"product": name, "template": self.template.name},
        )
        url = reverse("offer_template", kwargs={"slug": slug, "template_id": template_id})
        return redirect(f"{url}#items")


# --- sending ------------------------------------------------------------------------------


PREVIEW_LIMIT = SEND_LIST_LIMIT  # customers whose effect the send's preview shows


class OfferSendView(OffersView):
    """Choose a template, customers (or all of them) and a message. "Preview"
    shows, before anything is sent, what the offer would do to each customer
    (its effect, and whether it lowers a quantity) and who would be left out
    and why; "Send" sends to the eligible customers and reports the others
    (with "all or nothing", any of them refuses the whole send and nothing is
    sent). The customer filter re-renders the list (htmx: the list alone) and
    keeps the customers already chosen."""

    def get(self, request, slug):
        initial = {
            "template": request.GET.get("template", ""),
            "customers": request.GET.getlist("customer"),
        }
        return self.respond(request, self.new_form(initial=initial), query="")

    def post(self, request, slug):
        query = request.POST.get("q", "").strip()[:200]
        if request.POST.get("action") == "filter":
            initial = {
                "template": request.POST.get("template", ""),
                "customers": request.POST.getlist("customers"),
                "all_customers": bool(request.POST.get("all_customers")),
                "message": request.POST.get("message", ""),
            }
            form = self.new_form(initial=initial)
            if _is_htmx(request):
                return self.render_page(
                    request, "offers/_send_customers.html", self.customer_context(form, query)
                )
            return self.respond(request, form, query)
        form = self.new_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if data["all_customers"]:
                ids = list(customers_visible_to(org=self.org).values_list("pk", flat=True))
            else:
                ids = data["customers"]
            if request.POST.get("action") == "preview":
                return self.preview(request, form, query, ids)
            try:
                result = services.offer_send_eligible(
                    org=self.org,
                    template=data["template"],
                    customer_ids=ids,
                    message=data["message"],
                    all_or_nothing=data["all_or_nothing"],
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                assert result.batch is not None  # nobody eligible is a ValidationError
                for skipped in result.skipped:
                    messages.warning(
                        request,
                        _("Not sent to %(customer)s: %(reason)s")
                        % {"customer": skipped.customer, "reason": skipped.reason},
                    )
                return self.sent(request, result.batch)
        return self.respond(request, form, query, status=400)

    def preview(self, request, form, query: str, ids: list):
        """What the send would do, per customer, before anything is sent."""
        template = form.cleaned_data["template"]
        items = list(template.items.all())
        if not items:
            form.add_error("template", _("This template has no items yet: add products first."))
        if not ids and "customers" not in form.errors:
            form.add_error("customers", _("Choose at least one customer."))
        if form.errors:  # both at once
            return self.respond(request, form, query, status=400)
        checked = services.send_check(org=self.org, items=items, customer_ids=ids)
        if checked.unknown:
            for refusal in checked.unknown:
                form.add_error("customers", f"{refusal.customer}: {refusal.reason}")
            return self.respond(request, form, query, status=400)
        eligible = [q.customer for q in checked.quotes]
        shown = eligible[:PREVIEW_LIMIT]
        effects = template_effects(items=items, customers=shown, grants=checked.grants)
        context = {
            "preview": {
                "rows": [
                    {"customer": c, "effect": _seen(effects[c.pk], partner_side=True)}
                    for c in shown
                ],
                "more": len(eligible) - len(shown),
                "eligible": len(eligible),
                "reducing": sum(1 for c in shown if effects[c.pk].reduces),
                "skipped": checked.skipped,
            }
        }
        return self.respond(request, form, query, extra=context)

    def new_form(self, data=None, initial=None) -> OfferSendForm:
        return OfferSendForm(
            data, templates=list(selectors.templates_for(org=self.org)), initial=initial
        )

    def chosen(self, form) -> list[str]:
        if form.is_bound:
            return form.data.getlist("customers")
        return [str(pk) for pk in form.initial.get("customers", [])]

    def customer_context(self, form, query: str) -> dict:
        visible = customers_visible_to(org=self.org).order_by("name", "pk")
        total = visible.count()
        shown = visible.filter(name__icontains=query) if query else visible
        shown = list(shown.only("pk", "name", "city")[: SEND_LIST_LIMIT + 1])
        more = len(shown) > SEND_LIST_LIMIT
        shown = shown[:SEND_LIST_LIMIT]
        chosen = set(self.chosen(form))
        shown_ids = {str(c.pk) for c in shown}
        return {
            "form": form,
            "query": query,
            "customers": [(c, str(c.pk) in chosen) for c in shown],
            "hidden_chosen": sorted(chosen - shown_ids),
            "more": more,
            "total": total,
        }

    def respond(self, request, form, query: str, status: int = 200, extra=None):
        context = {**self.customer_context(form, query), **(extra or {})}
        return self.render_page(request, "offers/send.html", context, status)

    def sent(self, request, batch: OfferBatch):
        ids = list(batch.offers.values_list("pk", flat=True)[:2])
        slug = self.org.tenant.slug
        if len(ids) == 1:
            offer = batch.offers.select_related("customer").get()
            messages.success(
                request,
                _("“%(name)s” was sent to %(customer)s; it is being delivered.")
                % {"name": batch.template_name, "customer": offer.customer.name},
            )
            return redirect("offer_detail", slug=slug, offer_id=offer.pk)
        count = batch.offers.count()
        messages.success(
            request,
            ngettext(
                "“%(name)s” was sent to %(count)s customer; each offer is being delivered.",
                "“%(name)s” was sent to %(count)s customers; each offer is being delivered.",
                count,
            )
            % {"name": batch.template_name, "count": count},
        )
        return redirect("offer_batch", slug=slug, batch_id=batch.pk)


# --- sent offers and sends ---------------------------------------------------------------------


class SentOffersView(OffersView):
    """The offers this partner user sent: newest first, 50 a page, filtered by
    status, customer or send, in a fixed number of queries. `?view=compact` (htmx,
    the customer page) answers with the latest few of one customer."""

    def get(self, request, slug):
        offers = selectors.offers_for(org=self.org).order_by("-created_at", "-pk")
        customer_id = uuid_or_none(request.GET.get("customer"))
        if customer_id is not None:
            offers = offers.filter(customer_id=customer_id)
        if request.GET.get("view") == "compact" and customer_id is not None:
            return self.compact(request, offers, customer_id)
        status = request.GET.get("status", "")
        if status in Status.values:
            offers = offers.filter(status=status)
        batch = None
        batch_id = uuid_or_none(request.GET.get("batch"))
        if batch_id is not None:
            try:
                batch = selectors.batch_get(org=self.org, batch_id=batch_id)
            except Http404:
                batch = None  # a send this user may not follow: the offers it may see still show
            offers = offers.filter(batch_id=batch_id)
        customers = list(
            selectors.offered_customers(org=self.org, customers=customers_visible_to(org=self.org))
            .order_by("name", "pk")
            .only("pk", "name")
        )
        filters = SentOffersFilterForm(request.GET, customers=customers)
        page = Paginator(offers, PAGE_SIZE).get_page(request.GET.get("page"))
        filtered = bool(customer_id or status in Status.values or batch_id)
        context = {
            "page": page,
            "offers": list(page.object_list),
            "filters": filters,
            "filtered": filtered,
            "batch": batch,
            "next_url": request.get_full_path(),
        }
        return self.render_page(request, "offers/sent.html", context)

    def compact(self, request, offers, customer_id):
        context = {
            "offers": list(offers[:CUSTOMER_PAGE_OFFERS]),
            "count": offers.count(),
            "customer_id": customer_id,
        }
        return self.render_page(request, "offers/_customer_offers.html", context)


class BatchView(OffersView):
    """A send to many customers: how many offers are in each status, polling
    (htmx, the progress part alone) while any still waits for delivery."""

    def resolve(self) -> None:
        self.batch = selectors.batch_get(org=self.org, batch_id=self.kwargs["batch_id"])

    def get(self, request, slug, batch_id):
        progress = selectors.batch_progress(org=self.org, batch=self.batch)
        total = progress["total"]
        context = {
            "batch": self.batch,
            "progress": progress,
            "delivered": total - progress[Status.WAITING],
            "counts": [
                {"status": value, "label": label, "count": progress[value]}
                for value, label in Status.choices
            ],
        }
        template = "offers/_batch_progress.html" if _is_htmx(request) else "offers/batch.html"
        return self.render_page(request, template, context)


# --- the offer page (both sides) ----------------------------------------------------------------


def _offer_figures(offer: Offer, partner_side: bool) -> dict:
    """The price waterfall as this side may read it: the partner every step, the
    customer list, public and charged — charged only when it pays itself."""
    shows_charged = partner_side or offer.payer == Payer.CUSTOMER
    steps = ["list_amount"]
    if partner_side:
        steps += ["after_partner_discount", "preferential_amount"]
    steps += ["public_amount"]
    if shows_charged:
        steps += ["charged_amount"]
    if partner_side:
        steps += ["cashback_amount"]
    rows = []
    totals = dict.fromkeys(steps, Decimal("0.00"))
    # Monthly and annual items are never summed into one amount "per billing
    # period": each period has its own totals ("CHF 12.00 per month · CHF 20.00 per year").
    by_period: dict[str, dict] = {}
    items = list(offer.items.all())
    for item in items:
        row = {"item": item}
        period = by_period.setdefault(
            item.product.billing_period,
            {
                "billing_period": item.product.billing_period,
                **dict.fromkeys(steps, Decimal("0.00")),
            },
        )
        for step in steps:
            row[step] = getattr(item, step)
            totals[step] += row[step]
            period[step] += row[step]
        rows.append(row)
    if partner_side:  # the partner's resale step, at its price list today (per period)
        resale = resale_steps(
            partner=offer.partner,
            currency=offer.currency,
            lines=[(item.product, item.quantity) for item in items],
        )
        priced = bool(resale) and all(step is not None for step in resale)
        for period in by_period.values():
            period["resale"] = period["resale_margin"] = Decimal("0.00") if priced else None
        for row, step in zip(rows, resale, strict=True):
            row["resale"] = step
            if priced:
                period = by_period[row["item"].product.billing_period]
                period["resale"] += step.amount
                period["resale_margin"] += step.margin
    periods = [by_period[p] for p in Product.BillingPeriod.values if p in by_period]
    return {
        "rows": rows,
        "totals": totals,
        # step → [(billing period, amount)], monthly first
        "per_period": {step: [(p["billing_period"], p[step]) for p in periods] for step in steps},
        "period_totals": periods,
        "shows_charged": shows_charged,
    }


def _seen(effect: Effect | None, partner_side: bool) -> SeenEffect | None:
    """The effect as this side reads it: its own figures only (the customer
    never what its partner pays or is credited), as the API gives them."""
    if effect is None:
        return None
    return effect_seen_by(effect, Payer.PARTNER if partner_side else Payer.CUSTOMER)


def _shows_amounts(effect: Effect | None) -> bool:
    return effect is not None and effect.quote is not None


class OfferDetailView(OffersView):
    """One page for both sides; each answer POSTs here with an `action` and comes
    back (`next`, else this page) with a message; a 409 of the service is a
    message too. htmx (the status part of the sent list) gets that part back."""

    allowed_kinds = PARTNER_OR_CUSTOMER
    PARTNER_ACTIONS = ("cancel", "retry")
    CUSTOMER_ACTIONS = ("accept", "decline")

    def resolve(self) -> None:
        self.offer = selectors.offer_get(org=self.org, offer_id=self.kwargs["offer_id"])

    def get(self, request, slug, offer_id):
        return self.respond(request)

    def post(self, request, slug, offer_id):
        action = request.POST.get("action", "")
        allowed = self.PARTNER_ACTIONS if self.partner_side else self.CUSTOMER_ACTIONS
        if action not in allowed:
            return HttpResponseBadRequest(_("Unknown action."))
        fragment = _is_htmx(request) and request.POST.get("fragment") == "status"
        notice = error = None
        try:
            notice = getattr(self, f"do_{action}")(request)
        except Conflict as exc:
            error = exc.message
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if fragment:
            offer = selectors.offer_get(org=self.org, offer_id=self.offer.pk)
            context = {"offer": offer, "notice": notice, "error": error}
            return self.render_page(request, "offers/_offer_status.html", context)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, notice)
        return _back(request, reverse("offer_detail", kwargs={"slug": slug, "offer_id": offer_id}))

    def do_accept(self, request) -> str:
        try:
            expected = Decimal(request.POST["expected_total"])
        except (KeyError, ArithmeticError, ValueError):
            expected = None  # the page always sends it; without, the amount of now
        offer = services.offer_accept(
            org=self.org,
            offer=self.offer,
            confirm_reduction=request.POST.get("confirm_reduction") == "on",
            expected_total=expected,
        )
        return _(
            "You accepted “%(name)s” of %(partner)s: its products are now in your subscriptions."
        ) % {"name": offer.template_name, "partner": offer.partner.name}

    def do_decline(self, request) -> str:
        form = OfferDeclineForm(request.POST)
        if not form.is_valid():
            raise ValidationError(form.errors["reason"])
        offer = services.offer_decline(
            org=self.org, offer=self.offer, reason=form.cleaned_data["reason"]
        )
        return _("You declined “%(name)s”. %(partner)s was told by email.") % {
            "name": offer.template_name,
            "partner": offer.partner.name,
        }

    def do_cancel(self, request) -> str:
        offer = services.offer_cancel(org=self.org, offer=self.offer)
        if offer.delivered_at is not None:
            return _("The offer was cancelled; %(customer)s was told by email.") % {
                "customer": offer.customer.name
            }
        return _("The offer was cancelled before it reached the customer.")

    def do_retry(self, request) -> str:
        services.offer_retry(org=self.org, offer=self.offer)
        return _("The offer is being delivered again.")

    def respond(self, request):
        offer = self.offer
        answerable = (
            not self.partner_side
            and offer.status == Status.AWAITING_CONFIRMATION
            and (offer.expires_at is None or offer.expires_at > timezone.now())
            and self.org.has_role(Role.ADMIN)
        )
        effect = offer_effects([offer]).get(offer.pk) if offer.is_open else None
        context = {
            "offer": offer,
            "figures": _offer_figures(offer, self.partner_side),
            "effect": _seen(effect, self.partner_side),
            "shows_amounts": _shows_amounts(effect),
            "answerable": answerable,
            "decline_form": OfferDeclineForm(),
            "next_url": request.get_full_path(),
        }
        return self.render_page(request, "offers/offer.html", context)


class OfferStatusView(OffersView):
    """The status part of an offer (with the partner's Cancel / Retry); while the
    offer waits for delivery it asks again every 2 seconds (htmx polling)."""

    allowed_kinds = PARTNER_OR_CUSTOMER

    def resolve(self) -> None:
        self.offer = selectors.offer_get(org=self.org, offer_id=self.kwargs["offer_id"])

    def get(self, request, slug, offer_id):
        return self.render_page(request, "offers/_offer_status.html", {"offer": self.offer})


# --- the customer's Updates ---------------------------------------------------------------------


class UpdatesView(OffersView):
    """What awaits the customer's answer: offers (owners and admins answer them
    in one click) and partners' invitations (owners; on the partnership page)."""

    allowed_kinds = (Tenant.Kind.CUSTOMER,)
    min_role = Role.ADMIN

    def get(self, request, slug):
        updates = selectors.updates_for(org=self.org)
        effects = offer_effects(updates["offers"])
        context = {
            "updates": updates,
            "offer_rows": [
                {
                    "offer": offer,
                    "figures": _offer_figures(offer, partner_side=False),
                    "effect": _seen(effects[offer.pk], partner_side=False),
                    "shows_amounts": _shows_amounts(effects[offer.pk]),
                }
                for offer in updates["offers"]
            ],
            "decline_form": OfferDeclineForm(),
            "next_url": request.get_full_path(),
        }
        return self.render_page(request, "offers/updates.html", context)
