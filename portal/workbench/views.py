"""The partner's customer list as a workbench (issue 25, SPEC §2): the list with
its figures, sortable headers, saved views (smart lists) and bulk actions over
a selection. Thin: the FilterSet parses, `selectors` reads, `actions` calls the
apps' services. Works without JavaScript (forms and links); a small script
adds "select all" (static/portal/workbench.js)."""

from urllib.parse import urlencode

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from catalog.models import Product
from core.exceptions import validation_detail
from core.exports import csv_response
from customers.filters import CustomerFilter, SortFilter
from customers.views import filter_form_dress
from offers import selectors as offer_selectors
from partners import selectors as partner_selectors
from partners.models import Partnership, Side
from portal.workbench import actions
from portal.workbench.selectors import ORDER_BY, row_figures, workbench_customers, workbench_ordered
from subscriptions import smart_lists
from subscriptions.views_smart_lists import TREND_LABELS
from tenants.models import Role, Tenant
from tenants.web import OrgViewMixin

PAGE_SIZE = 50
# The subscription filters the list shares with smart lists (their rules, their cleaning).
FIGURE_FILTERS = ("mrr_min", "mrr_max", "ending_within_days", "product", "category", "trend")
# The filters a saved view keeps (smart_lists.FILTERS' names).
SAVED_FILTERS = ("q", "country", "status", "rank", "access", "payment", "collaborator")
HEADERS = (
    ("name", gettext_lazy("Customer")),
    ("mrr", gettext_lazy("MRR")),
    ("upcoming_mrr", gettext_lazy("Upcoming MRR")),
    ("seats", gettext_lazy("Seats")),
    ("ends_on", gettext_lazy("Next end date")),
    ("access", gettext_lazy("Access")),
    ("upsell", gettext_lazy("Upsell")),
    ("pending", gettext_lazy("Pending")),
)
ANY = [("", gettext_lazy("Any"))]


class WorkbenchFilter(CustomerFilter):
    """The customer list's FilterSet (the API's: search, filters, `ordering`
    whitelisted, a 400-worthy error for an unknown key) with the workbench's
    sort keys and the smart lists' subscription filters."""

    mrr_min = django_filters.NumberFilter(method="by_figures", min_value=0)
    mrr_max = django_filters.NumberFilter(method="by_figures", min_value=0)
    ending_within_days = django_filters.NumberFilter(method="by_figures", min_value=0)
    product = django_filters.ChoiceFilter(method="by_figures")
    category = django_filters.ChoiceFilter(method="by_figures", choices=Product.Category.choices)
    trend = django_filters.ChoiceFilter(
        method="by_figures", choices=[(t, TREND_LABELS[t]) for t in smart_lists.TRENDS]
    )
    ordering = SortFilter(fields=tuple((field, key) for key, field in ORDER_BY.items()))

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        if org.tenant.subscriptions_enabled:
            products = smart_lists.product_choices(org=org)
            self.filters["product"].extra["choices"] = [(p.code, p.name) for p in products]
        else:  # the subscription filters are out of reach while off (smart lists' rule)
            for name in FIGURE_FILTERS:
                del self.filters[name]

    def by_figures(self, queryset, name, value):
        return queryset  # applied together in filter_queryset, by the smart lists' rules

    def figure_filters(self) -> dict:
        data = getattr(self.form, "cleaned_data", {})
        values = {}
        for name in FIGURE_FILTERS:
            value = data.get(name)
            if value in (None, ""):
                continue
            if name.startswith("mrr_"):
                value = str(value)
            elif name == "ending_within_days":
                value = int(value)
            values[name] = value
        return values

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        keys = self.form.cleaned_data.get("ordering") or ["name"]
        queryset = workbench_ordered(queryset, keys[0])
        try:
            figures = smart_lists.clean_filters(org=self.org, filters=self.figure_filters())
        except ValidationError as exc:
            for field, errors in validation_detail(exc).items():
                for error in errors:
                    self.form.add_error(field if field in self.form.fields else None, error)
            return queryset.none()
        return smart_lists.figures_filtered(
            queryset, org=self.org, filters=figures, today=timezone.localdate()
        )


class AnyChoiceField(forms.ChoiceField):
    """A choice as sent: the service names what it refuses (collaborators_set)."""

    def valid_value(self, value) -> bool:
        return True


class BulkForm(forms.Form):
    """A bulk action over the chosen customers (`customers`, or with `all_on_page`
    the page's `page_ids`). What each action needs is checked by its service."""

    ACTIONS = (
        ("offer", gettext_lazy("Send an offer")),
        ("upsell_on", gettext_lazy("Switch upsell on")),
        ("upsell_off", gettext_lazy("Switch upsell off")),
        ("assign", gettext_lazy("Assign a collaborator")),
        ("export", gettext_lazy("Export as CSV")),
    )
    action = forms.ChoiceField(label=gettext_lazy("With the chosen customers"), choices=ACTIONS)
    template = forms.ChoiceField(label=gettext_lazy("Offer template"), required=False)
    message = forms.CharField(
        label=gettext_lazy("Message with the offer"),
        required=False,
        max_length=2000,
        widget=forms.TextInput,
    )
    collaborator = AnyChoiceField(label=gettext_lazy("Collaborator"), required=False)
    all_on_page = forms.BooleanField(
        label=gettext_lazy("Every customer on this page"), required=False
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(t.pk): t for t in offer_selectors.templates_for(org=org)}
        self.fields["template"].choices = [("", _("Choose a template…"))] + [
            (pk, t.name) for pk, t in self.templates.items()
        ]
        # every action is a valid choice (a collaborator posting an admin's gets
        # the 403 that says why); the page offers each user theirs
        self.offered = [c for c in self.ACTIONS if org.is_admin or c[0] in ("offer", "export")]
        if org.is_admin:
            self.fields["collaborator"].choices = [("", _("Choose a collaborator…"))] + [
                (str(u.pk), u.full_name or u.email)
                for u in partner_selectors.partner_collaborators(org.tenant)
            ]
        else:
            del self.fields["collaborator"]

    def selection(self) -> list[str]:
        key = "page_ids" if self.cleaned_data.get("all_on_page") else "customers"
        return actions.selection_ids(self.data.getlist(key))


def _headers(ordering: str, query: dict) -> list[dict]:
    """Each sortable column: its link (the other direction when it is the
    current sort), and aria-sort."""
    headers = []
    for key, label in HEADERS:
        current = "ascending" if ordering == key else "descending" if ordering == f"-{key}" else ""
        params = {**query, "ordering": f"-{key}" if ordering == key else key}
        params.pop("page", None)
        headers.append(
            {
                "key": key,
                "label": label,
                "sort": current,
                "href": "?" + urlencode(params, doseq=True),
            }
        )
    return headers


class CustomerWorkbenchView(OrgViewMixin, View):
    """GET: the list (search, filters, sort, a page of 50, saved views); `?view=`
    opens a saved view. POST `save_view`: saves the current filters and sort as
    a smart list."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    def filterset(self, data) -> WorkbenchFilter:
        self.request.org = self.org  # CustomerFilter's collaborator filter reads it
        filterset = WorkbenchFilter(
            data, queryset=workbench_customers(org=self.org), request=self.request, org=self.org
        )
        form = filter_form_dress(filterset.form)
        for name, label in (
            ("mrr_min", _("MRR from")),
            ("mrr_max", _("MRR up to")),
            ("ending_within_days", _("Ending within (days)")),
            ("product", _("Product (live today)")),
            ("category", _("Category (live today)")),
            ("trend", _("Trend")),
        ):
            if name in form.fields:
                form.fields[name].label = label
        for name in ("product", "category", "trend"):
            if name in form.fields:
                field = form.fields[name]
                field.empty_label = _("Any")
                field.choices = [c for c in field.choices if c[0]]
                field.choices = [("", _("Any")), *field.choices]
                field.widget.choices = field.choices
        sort_labels = dict(form.fields["ordering"].choices)
        for key, label in HEADERS:
            sort_labels[key] = label
            sort_labels[f"-{key}"] = _("%(column)s (descending)") % {"column": label}
        sort_labels.update({"name": _("Name"), "-name": _("Name (descending)")})
        form.fields["ordering"].choices = [
            (value, sort_labels.get(value, label))
            for value, label in form.fields["ordering"].choices
        ]
        if self.org.is_admin:
            form.fields["collaborator"].widget = forms.Select(
                choices=[
                    ("", _("Anyone")),
                    *(
                        (u.pk, u.full_name or u.email)
                        for u in partner_selectors.partner_collaborators(self.org.tenant)
                    ),
                ]
            )
        else:
            del form.fields["collaborator"]
        return filterset

    def get(self, request, slug):
        if request.GET.get("view"):
            smart_list = smart_lists.smart_list_get(org=self.org, list_id=request.GET["view"])
            params = {**smart_list.filters}
            if smart_list.ordering:
                params["ordering"] = smart_list.ordering
            url = reverse("partner_customers", args=[slug])
            return redirect(f"{url}?{urlencode(params)}" if params else url)
        return self.respond(request, self.filterset(request.GET))

    def respond(self, request, filterset, status=200, save_errors=None):
        form = filterset.form
        customers = filterset.qs
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [(c, row_figures(c)) for c in page.object_list]
        if form.errors and status == 200:
            status = 400
        keys = form.cleaned_data.get("ordering") if hasattr(form, "cleaned_data") else None
        ordering = (keys or ["name"])[0]
        query = {k: v for k, v in request.GET.lists() if k not in ("view",)}
        pending = list(
            partner_selectors.partnerships_for(org=self.org)
            .filter(status=Partnership.Status.PENDING)
            .order_by("-created_at")
        )
        filtered = any(
            form.data.get(name) for name in form.fields if name not in ("ordering", "page")
        )
        context = {
            "filter_form": form,
            "page": page,
            "rows": rows,
            "headers": _headers(ordering, query),
            "ordering": ordering,
            "ordering_label": dict(form.fields["ordering"].choices).get(ordering, ordering),
            "filtered": filtered,
            "views": smart_lists.smart_lists_for(org=self.org),
            "bulk_form": BulkForm(org=self.org),
            "save_errors": save_errors or [],
            "querystring": urlencode(
                [(k, v) for k, vs in query.items() for v in vs if k != "page"]
            ),
            "sent": [p for p in pending if p.initiated_by == Side.PARTNER],
            "received": [p for p in pending if p.initiated_by == Side.CUSTOMER],
        }
        return render(request, "customers/customers.html", context, status=status)

    def post(self, request, slug):
        """Save the current filters and sort (the page's query) as a smart list."""
        filterset = self.filterset(request.GET)
        name = request.POST.get("view_name", "")
        if not filterset.is_valid():
            return self.respond(request, filterset, status=400)
        data = filterset.form.cleaned_data
        filters = {
            key: str(data[key]) if key == "collaborator" else data[key]
            for key in SAVED_FILTERS
            if key in data and data[key] not in (None, "")
        }
        filters |= filterset.figure_filters()
        keys = data.get("ordering") or []
        try:
            smart_list = smart_lists.smart_list_create(
                org=self.org, name=name, filters=filters, ordering=keys[0] if keys else ""
            )
        except ValidationError as exc:
            errors = [m for ms in validation_detail(exc).values() for m in ms]
            return self.respond(request, filterset, status=400, save_errors=errors)
        messages.success(request, _("View “%(name)s” saved.") % {"name": smart_list.name})
        url = reverse("partner_customers", args=[slug])
        return redirect(f"{url}?{urlencode({'view': smart_list.pk})}")


class CustomerBulkView(OrgViewMixin, View):
    """POST: one bulk action over the chosen customers, then back to the list
    (its query kept in `return_query`) with a summary of what was done and
    skipped; export answers the CSV. A selection with an id the user may not act
    on is a 404, a collaborator's action reserved to admins a 403 naming why."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.COLLABORATOR

    def post(self, request, slug):
        form = BulkForm(request.POST, org=self.org)
        back = reverse("partner_customers", args=[slug])
        # the list's query as posted, parsed and encoded again: parameters only
        query = QueryDict(request.POST.get("return_query", "")).urlencode()
        if query:
            back = f"{back}?{query}"
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        action = form.cleaned_data["action"]
        ids = form.selection()
        try:
            response = self.run(request, form, action, ids)
        except ValidationError as exc:
            for errors in validation_detail(exc).values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        return response or redirect(back)

    def run(self, request, form, action: str, ids: list[str]):
        org = self.org
        if action == "export":
            lines = actions.bulk_export_lines(org=org, customer_ids=ids)
            return csv_response(lines, filename=f"customers-{timezone.localdate():%Y-%m-%d}.csv")
        if action == "offer":
            template = form.templates.get(form.cleaned_data.get("template") or "")
            if template is None:
                raise ValidationError({"template": _("Choose an offer template.")})
            sent = actions.bulk_offer_send(
                org=org, customer_ids=ids, template=template, message=form.cleaned_data["message"]
            )
            assert sent.batch is not None  # nobody eligible is a ValidationError
            count = sent.batch.offers.count()
            messages.success(
                request,
                ngettext(
                    "“%(name)s” was sent to %(count)s customer; each offer is being delivered.",
                    "“%(name)s” was sent to %(count)s customers; each offer is being delivered.",
                    count,
                )
                % {"name": sent.batch.template_name, "count": count},
            )
            for refusal in sent.skipped:
                messages.warning(
                    request,
                    _("Not sent to %(customer)s: %(reason)s")
                    % {"customer": refusal.customer, "reason": refusal.reason},
                )
            return redirect("offer_batch", slug=org.tenant.slug, batch_id=sent.batch.pk)
        if not org.is_admin:
            raise PermissionDenied(actions.ADMINS_ONLY)
        if action in ("upsell_on", "upsell_off"):
            enabled = action == "upsell_on"
            outcome = actions.bulk_upsell_set(org=org, customer_ids=ids, enabled=enabled)
            done = (
                ngettext(
                    "Upsell switched on for %(count)s customer.",
                    "Upsell switched on for %(count)s customers.",
                    len(outcome.done),
                )
                if enabled
                else ngettext(
                    "Upsell switched off for %(count)s customer.",
                    "Upsell switched off for %(count)s customers.",
                    len(outcome.done),
                )
            )
        else:
            outcome = actions.bulk_collaborator_assign(
                org=org, customer_ids=ids, user_id=form.cleaned_data.get("collaborator")
            )
            done = ngettext(
                "The collaborator was assigned to %(count)s customer.",
                "The collaborator was assigned to %(count)s customers.",
                len(outcome.done),
            )
        messages.success(request, done % {"count": len(outcome.done)})
        for refusal in outcome.skipped:
            messages.info(
                request,
                _("Left as it was: %(customer)s: %(reason)s")
                % {"customer": refusal.customer, "reason": refusal.reason},
            )
        return None
