"""Browser pages of the customers a partner manages (SPEC §2, §9): the list with
search, filters and sort; the creation wizard; the customer page (profile,
contacts, contracts, service profile, the grant); the partner's own SLA policies
and alert profiles. Thin: forms parse, services write, selectors read."""

import copy
import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from formtools.wizard.forms import ManagementForm
from formtools.wizard.views import SessionWizardView

from core.exceptions import validation_detail
from customers import selectors, services
from customers.contract_billing import block_replay
from customers.filters import CustomerFilter
from customers.forms import (
    AccessStepForm,
    AlertProfileForm,
    ConfirmForm,
    ContactAddForm,
    ContactForm,
    ContractForm,
    ContractStepForm,
    CustomerCreateProfileForm,
    CustomerProfileForm,
    PrimaryContactForm,
    ServiceProfileForm,
    SlaPolicyForm,
    TimeEntryForm,
    TopUpForm,
)
from customers.models import CONTRACT_AMOUNTS, CONTRACT_OPTIONAL, VERSIONED_TERMS
from partners import selectors as partner_selectors
from partners import services as partner_services
from partners.grants import grant_text
from partners.models import Access, Partnership, Side
from tenants.models import Role, Tenant
from tenants.web import OrgViewMixin, form_add_service_errors

PAGE_SIZE = 50
Status = Partnership.Status


def _pending_text(partnership: Partnership) -> str:
    customer = partnership.customer
    if partnership.status == Status.PENDING:
        return _(
            "%(customer)s was added. We emailed %(email)s "
            "to accept, change or decline the access you asked for."
        ) % {"customer": customer.name, "email": partnership.invitation_email}
    return _(
        "%(customer)s was added. You manage it now, with full access paid "
        "by you, until you invite an owner."
    ) % {"customer": customer.name}


# --- the list ---------------------------------------------------------------------------


class PartnerCustomersView(OrgViewMixin, View):
    """The customers this partner user may act on: search, filters, sort and pages
    (CustomerFilter, the same as the API's), then the pending invitations both ways."""

    allowed_kinds = (Tenant.Kind.PARTNER,)

    @staticmethod
    def dress(form):
        """The filter form as the page shows it; what it accepts stays CustomerFilter's."""
        search = form.fields["q"].widget
        search.input_type = "search"
        search.attrs["placeholder"] = _("Name, email domain, contact email or tax id")
        form.fields["country"].widget.attrs.update(placeholder="CH", size=2, maxlength=2)
        for name, label in (
            ("status", _("Status")),
            ("access", _("Access")),
            ("payment", _("Who pays")),
        ):
            field = form.fields[name]
            field.label, field.empty_label = label, _("Any")
            field.widget.choices = field.choices
        form.fields["country"].label = _("Country")
        form.fields["rank"].label = _("Rank")
        ordering = form.fields["ordering"]
        ordering.label = _("Sort by")
        ordering.empty_label = None  # sorted by name unless told otherwise
        sort_labels = {
            "name": _("Name"),
            "-name": _("Name (descending)"),
            "created_at": _("Created"),
            "-created_at": _("Created (descending)"),
            "city": _("City"),
            "-city": _("City (descending)"),
            "country": _("Country"),
            "-country": _("Country (descending)"),
        }
        ordering.choices = [
            (value, sort_labels.get(value) or label.replace("Created at", "Created"))
            for value, label in ordering.choices
            if value
        ]
        return form

    def get(self, request, slug):
        filterset = CustomerFilter(
            request.GET, queryset=selectors.customer_list(org=self.org), request=request
        )
        form = self.dress(filterset.form)
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
        else:  # a collaborator sees only their own customers already
            del form.fields["collaborator"]
        customers = filterset.qs
        customers = customers.order_by(*(customers.query.order_by or ("name",)), "pk")
        page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
        pending = list(
            partner_selectors.partnerships_for(org=self.org)
            .filter(status=Status.PENDING)
            .order_by("-created_at")
        )
        filtered = any(
            form.data.get(name) for name in form.fields if name not in ("ordering", "page")
        )
        return render(
            request,
            "customers/customers.html",
            {
                "filter_form": form,
                "page": page,
                "filtered": filtered,
                "sent": [p for p in pending if p.initiated_by == Side.PARTNER],
                "received": [p for p in pending if p.initiated_by == Side.CUSTOMER],
            },
        )


# --- the creation wizard ----------------------------------------------------------------

STEP_TITLES = {
    "profile": gettext_lazy("Profile"),
    "contract": gettext_lazy("Contract"),
    "service": gettext_lazy("Service profile"),
    "contact": gettext_lazy("Primary contact"),
    "access": gettext_lazy("Access"),
    "confirm": gettext_lazy("Summary"),
}
OPTIONAL_STEPS = ("contract", "service", "access")
NOTHING_CHOSEN = {
    "contract": gettext_lazy("No contract."),
    "service": gettext_lazy("No SLA and no alert profile: choose them later on the customer page."),
}
UNCLAIMED = gettext_lazy(
    "Unclaimed: you manage it at once, with full access paid by you, until you invite an owner."
)


class OnboardingRefused(Exception):
    """customer_onboard refused the wizard's data: nothing was written."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


def _display(bound_field, value) -> str:
    """A cleaned value as the summary shows it ("" hides the row)."""
    if value in (None, "", [], False):
        return ""
    if value is True:
        return _("yes")
    if isinstance(value, datetime.date):
        return date_format(value, "j M Y")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    field = bound_field.field
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        return str(dict(field.choices).get(value, value))
    return str(value)


def _grant_in_words(data: dict) -> str:
    products = data.get("products") or []
    grant = {
        "access": data.get("access"),
        "payment": data.get("payment"),
        "products": [p.code for p in products],
        "ends_on": data["ends_on"].isoformat() if data.get("ends_on") else None,
    }
    return grant_text(grant, {p.code: p.name for p in products})


class CustomerAddView(OrgViewMixin, SessionWizardView):
    """Atera's "New customer" (SPEC §2): profile → optional contract → service
    profile → primary contact → (partner owners) access → summary. Each step
    validates; Back keeps what was typed; the end is one customer_onboard call,
    all or nothing. The session keeps the steps, per organization."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    min_role = Role.ADMIN
    template_name = "customers/customer_add.html"
    form_list = [
        ("profile", CustomerCreateProfileForm),
        ("contract", ContractStepForm),
        ("service", ServiceProfileForm),
        ("contact", PrimaryContactForm),
        ("access", AccessStepForm),
        ("confirm", ConfirmForm),
    ]
    # Asking a customer's owner for access is for the partner's owners (SPEC §3);
    # admins create unclaimed customers.
    condition_dict = {"access": lambda wizard: wizard.org.is_owner}

    def get_prefix(self, request, *args, **kwargs):
        return f"customer_add_{self.org.tenant.pk.hex}"

    def get_form_kwargs(self, step=None):
        return {"org": self.org} if step == "service" else {}

    def get_form_initial(self, step):
        if step == "profile":
            return {"currency": self.org.tenant.currency}
        if step == "access":
            return {"access": Access.FULL}
        return {}

    def post(self, request, *args, **kwargs):
        management = ManagementForm(request.POST, prefix=self.prefix)
        if management.is_valid():
            if management.cleaned_data["current_step"] not in self.get_form_list():
                # A step this user does not have (an admin posting the access step).
                return self.render(self.get_form())
            self.storage.current_step = management.cleaned_data["current_step"]
        goto = request.POST.get("wizard_goto_step")
        if goto and goto in self.get_form_list():
            # Going back (or to a step from the summary) keeps what this step holds.
            form = self.get_form(data=request.POST)
            self.storage.set_step_data(self.steps.current, self.process_step(form))
            return self.render_goto_step(goto)
        if request.POST.get("wizard_skip") and self.steps.current in OPTIONAL_STEPS:
            return self.skip_step()
        return super().post(request, *args, **kwargs)

    def skip_step(self):
        """An optional step left empty: no contract, no service profile, no owner."""
        form = self.get_form(data={})
        if not form.is_valid():
            return self.render(form)
        self.storage.set_step_data(self.steps.current, {})
        return self.render_next_step(form)

    def render_done(self, form, **kwargs):
        try:
            return super().render_done(form, **kwargs)
        except OnboardingRefused as refused:
            return self.render_refusal(refused.error)

    def done(self, form_list, form_dict, **kwargs):
        profile = form_dict["profile"]
        access = form_dict.get("access")
        service_profile = form_dict["service"].service_profile()
        try:
            partnership = services.customer_onboard(
                org=self.org,
                currency=profile.cleaned_data["currency"],
                grant=access.access_request() if access is not None else None,
                contract=form_dict["contract"].contract(),
                service_profile=service_profile if any(service_profile.values()) else None,
                primary_contact=form_dict["contact"].contact(),
                **profile.profile(),
            )
        except ValidationError as exc:
            raise OnboardingRefused(exc) from exc
        messages.success(self.request, _pending_text(partnership))
        slug = self.org.tenant.slug
        if partnership.status == Status.ACTIVE:
            return redirect("customer_detail", slug=slug, customer_id=partnership.customer_id)
        # Asked of an owner: the customer is managed once they accept.
        return redirect("partnership_detail", slug=slug, partnership_id=partnership.pk)

    def render_refusal(self, error: ValidationError):
        """The summary again, with what the service refused and where it was typed."""
        where = {}
        for step in self.get_form_list():
            form = self.get_form(step)
            for name in form.fields:
                where.setdefault(name, f"{STEP_TITLES[step]} · {form[name].label}")
        self.storage.current_step = self.steps.last
        confirm = self.get_form(data={})
        confirm.is_valid()
        for field, texts in validation_detail(error).items():
            for text in texts:
                confirm.add_error(None, f"{where[field]}: {text}" if field in where else text)
        response = self.render(confirm)
        response.status_code = 400
        return response

    def summary(self) -> list[dict]:
        sections = []
        for step in self.get_form_list():
            if step == "confirm":
                continue
            data = self.get_cleaned_data_for_step(step) or {}
            form = self.get_form(step)
            if step == "access":
                rows = self._access_rows(data)
            elif step == "contract" and not data.get("add_contract"):
                rows = []
            else:
                rows = [
                    (form[name].label, shown)
                    for name, value in data.items()
                    if name in form.fields
                    and name != "add_contract"
                    and (shown := _display(form[name], value))
                ]
            sections.append(
                {
                    "step": step,
                    "title": STEP_TITLES[step],
                    "rows": rows,
                    "empty": NOTHING_CHOSEN.get(step, ""),
                }
            )
        return sections

    @staticmethod
    def _access_rows(data: dict) -> list[tuple[str, str]]:
        if not data.get("owner_email"):
            return [(_("Access"), UNCLAIMED)]
        rows = [
            (_("Owner's email"), data["owner_email"]),
            (_("Access asked"), _grant_in_words(data)),
        ]
        if data.get("message"):
            rows.append((_("Message"), data["message"]))
        return rows

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        current = self.steps.current
        steps = list(self.get_form_list())
        index = steps.index(current)
        context.update(
            step=current,
            step_title=STEP_TITLES[current],
            step_nav=[
                {"title": STEP_TITLES[s], "current": s == current, "done": i < index}
                for i, s in enumerate(steps)
            ],
            optional=current in OPTIONAL_STEPS,
            unclaimed_text=UNCLAIMED,
        )
        if current == "confirm":
            context["summary"] = self.summary()
        return context


# --- the customer page ------------------------------------------------------------------

AMOUNT_LABELS = {name: ContractForm.base_fields[name].label for name in ContractForm.AMOUNT_FIELDS}


def _contract_rows(contracts) -> list[tuple]:
    """Each contract with only the terms its type has (and a block's balance)."""
    rows = []
    for c in contracts:
        names = [*CONTRACT_AMOUNTS[c.type], *CONTRACT_OPTIONAL.get(c.type, ())]
        amounts = [(AMOUNT_LABELS[n], getattr(c, n)) for n in names if getattr(c, n) is not None]
        if c.is_block:
            amounts.append((_("Balance"), block_replay(c, datetime.date.max).balance))
        rows.append((c, amounts))
    return rows


class CustomerPageMixin(OrgViewMixin):
    """The customer page and its sub-URLs: any partner user allowed on the
    customer by the permission function; everyone else gets a 404. A request
    loads the customer once (`customer`) and hands it to the services and to
    `render_page` (docs/architecture.md, "One load per request")."""

    allowed_kinds = (Tenant.Kind.PARTNER,)

    def http_method_not_allowed(self, request, *args, **kwargs):
        """Another organization's id is a 404 whatever the method, like a missing one."""
        partner_selectors.customer_get_for_partner(org=self.org, customer_id=kwargs["customer_id"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def customer(self, customer_id) -> Tenant:
        return partner_selectors.customer_get_for_partner(org=self.org, customer_id=customer_id)

    def back(self, customer, anchor: str):
        url = reverse(
            "customer_detail", kwargs={"slug": self.org.tenant.slug, "customer_id": customer.pk}
        )
        return redirect(f"{url}#{anchor}")

    def render_page(self, request, customer, status=200, contact_forms=None, **forms):
        org = self.org
        customer = selectors.customer_detail(org=org, customer=customer)
        contact_forms = contact_forms or {}
        service = customer.service_profile
        context = {
            "customer": customer,
            "partnership": customer.partnership,
            "profile_form": forms.get("profile_form")
            or CustomerProfileForm(instance=copy.copy(customer)),
            "contact_add_form": forms.get("contact_add_form")
            or ContactAddForm(prefix="new-contact"),
            "contacts": [
                (
                    contact,
                    contact_forms.get(contact.pk)
                    or ContactForm(
                        prefix=f"contact-{contact.pk}",
                        initial={
                            "first_name": contact.first_name,
                            "last_name": contact.last_name,
                            "email": contact.email,
                            "phone": contact.phone,
                        },
                    ),
                )
                for contact in customer.contact_list
            ],
            "contracts": _contract_rows(customer.contract_list),
            "contract_form": forms.get("contract_form") or ContractForm(prefix="new-contract"),
            "service_form": forms.get("service_form")
            or ServiceProfileForm(
                org=org,
                initial={
                    "sla": service.sla_id if service else None,
                    "alert_profile": service.alert_profile_id if service else None,
                },
            ),
            "collaborators": list(
                partner_selectors.assigned_collaborators(org=org, customer=customer)
            )
            if org.is_admin
            else [],
        }
        return render(request, "customers/customer_detail.html", context, status=status)


class CustomerDetailView(CustomerPageMixin, View):
    ACTIONS = ("profile", "service_profile", "contact_add", "contract_add")

    def get(self, request, slug, customer_id):
        return self.render_page(request, self.customer(customer_id))

    def post(self, request, slug, customer_id):
        customer = self.customer(customer_id)
        action = request.POST.get("action", "")
        if action not in self.ACTIONS:
            return HttpResponseBadRequest(_("Unknown action."))
        return getattr(self, f"do_{action}")(request, customer)

    def do_profile(self, request, customer):
        form = CustomerProfileForm(request.POST, instance=copy.copy(customer))
        if form.is_valid():
            try:
                partner_services.customer_profile_update(
                    org=self.org, customer=customer, data=form.profile()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("The profile was saved."))
                return self.back(customer, "profile")
        return self.render_page(request, customer, status=400, profile_form=form)

    def do_service_profile(self, request, customer):
        form = ServiceProfileForm(request.POST, org=self.org)
        if form.is_valid():
            try:
                services.service_profile_set(
                    org=self.org, customer=customer, **form.service_profile()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("The service profile was saved."))
                return self.back(customer, "service")
        return self.render_page(request, customer, status=400, service_form=form)

    def do_contact_add(self, request, customer):
        form = ContactAddForm(request.POST, prefix="new-contact")
        if form.is_valid():
            try:
                contact = services.contact_add(
                    org=self.org,
                    customer=customer,
                    is_primary=form.cleaned_data["is_primary"],
                    **form.contact(),
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                values = {"first_name": contact.first_name, "last_name": contact.last_name}
                if contact.is_primary:
                    text = _("%(first_name)s %(last_name)s was added as the primary contact.")
                else:
                    text = _("%(first_name)s %(last_name)s was added.")
                messages.success(request, text % values)
                return self.back(customer, "contacts")
        return self.render_page(request, customer, status=400, contact_add_form=form)

    def do_contract_add(self, request, customer):
        form = ContractForm(request.POST, prefix="new-contract")
        if form.is_valid():
            try:
                contract = services.contract_create(
                    org=self.org, customer=customer, data=form.contract()
                )
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("The contract “%(name)s” was added.") % {"name": contract.name}
                )
                return self.back(customer, "contracts")
        return self.render_page(request, customer, status=400, contract_form=form)


class CustomerContactView(CustomerPageMixin, View):
    """One contact: edit inline, make primary, remove (never the primary)."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        customer = self.customer(kwargs["customer_id"])
        selectors.contact_get(org=self.org, customer=customer, contact_id=kwargs["contact_id"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def post(self, request, slug, customer_id, contact_id):
        customer = self.customer(customer_id)
        contact = selectors.contact_get(org=self.org, customer=customer, contact_id=contact_id)
        action = request.POST.get("action", "")
        name = f"{contact.first_name} {contact.last_name}"
        if action == "update":
            form = ContactForm(request.POST, prefix=f"contact-{contact.pk}")
            if form.is_valid():
                try:
                    services.contact_update(org=self.org, contact=contact, data=form.contact())
                except ValidationError as exc:
                    form_add_service_errors(form, exc)
                else:
                    messages.success(request, _("%(name)s was saved.") % {"name": name})
                    return self.back(customer, "contacts")
            return self.render_page(request, customer, status=400, contact_forms={contact.pk: form})
        try:
            if action == "make_primary":
                services.contact_set_primary(org=self.org, contact=contact)
                messages.success(
                    request, _("%(name)s is now the primary contact.") % {"name": name}
                )
            elif action == "remove":
                services.contact_remove(org=self.org, contact=contact)
                messages.success(request, _("%(name)s was removed.") % {"name": name})
            else:
                return HttpResponseBadRequest(_("Unknown action."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return self.back(customer, "contacts")


class CustomerContractView(CustomerPageMixin, View):
    """One contract: its edit page, its terms history and, for the types that
    bill time, its time entries; a block's balance and top-ups; remove after a
    confirmation."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        customer = self.customer(kwargs["customer_id"])
        selectors.contract_get(org=self.org, customer=customer, contract_id=kwargs["contract_id"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def render_edit(self, request, customer, contract, status=200, **forms):
        figures = selectors.contract_figures(contract=contract)
        figures["terms_rows"] = [
            (
                version.effective_from,
                [
                    (AMOUNT_LABELS[name], getattr(version, name))
                    for name in VERSIONED_TERMS
                    if getattr(version, name) is not None
                ],
            )
            for version in figures["terms"]
        ]
        return render(
            request,
            "customers/contract_edit.html",
            {
                "customer": customer,
                "contract": contract,
                "form": forms.get("form") or ContractForm(initial=self.initial(contract)),
                "entry_form": forms.get("entry_form")
                or TimeEntryForm(org=self.org, contract=contract, prefix="entry"),
                "top_up_form": forms.get("top_up_form")
                or TopUpForm(prefix="top-up", by_hours=contract.type == "block_of_hours"),
                **figures,
            },
            status=status,
        )

    @staticmethod
    def initial(contract) -> dict:
        return {
            name: getattr(contract, name)
            for name in ("type", "name", "starts_on", "ends_on", *ContractForm.AMOUNT_FIELDS)
        }

    def get(self, request, slug, customer_id, contract_id):
        customer = self.customer(customer_id)
        contract = selectors.contract_get(org=self.org, customer=customer, contract_id=contract_id)
        return self.render_edit(request, customer, contract)

    def post(self, request, slug, customer_id, contract_id):
        customer = self.customer(customer_id)
        contract = selectors.contract_get(org=self.org, customer=customer, contract_id=contract_id)
        action = request.POST.get("action", "")
        if action == "remove":
            services.contract_delete(org=self.org, contract=contract)
            messages.success(
                request, _("The contract “%(name)s” was removed.") % {"name": contract.name}
            )
            return self.back(customer, "contracts")
        handler = {
            "update": self.do_update,
            "time_entry_add": self.do_time_entry_add,
            "time_entry_remove": self.do_time_entry_remove,
            "top_up": self.do_top_up,
        }.get(action)
        if handler is None:
            return HttpResponseBadRequest(_("Unknown action."))
        return handler(request, customer, contract)

    def _contract_page(self, customer, contract, anchor: str = ""):
        url = reverse(
            "customer_contract",
            kwargs={
                "slug": self.org.tenant.slug,
                "customer_id": customer.pk,
                "contract_id": contract.pk,
            },
        )
        return redirect(url + (f"#{anchor}" if anchor else ""))

    def do_update(self, request, customer, contract):
        form = ContractForm(request.POST)
        if form.is_valid():
            try:
                services.contract_update(org=self.org, contract=contract, data=form.contract())
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request, _("The contract “%(name)s” was saved.") % {"name": contract.name}
                )
                return self.back(customer, "contracts")
        return self.render_edit(request, customer, contract, status=400, form=form)

    def do_time_entry_add(self, request, customer, contract):
        form = TimeEntryForm(request.POST, org=self.org, contract=contract, prefix="entry")
        if form.is_valid():
            try:
                services.time_entry_add(org=self.org, contract=contract, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("The time was recorded."))
                return self._contract_page(customer, contract, "time-entries")
        return self.render_edit(request, customer, contract, status=400, entry_form=form)

    def do_time_entry_remove(self, request, customer, contract):
        entry = selectors.time_entry_get(contract=contract, entry_id=request.POST.get("entry"))
        try:
            services.time_entry_delete(org=self.org, entry=entry)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The time entry was removed."))
        return self._contract_page(customer, contract, "time-entries")

    def do_top_up(self, request, customer, contract):
        form = TopUpForm(request.POST, prefix="top-up", by_hours=contract.type == "block_of_hours")
        if form.is_valid():
            try:
                services.contract_top_up(org=self.org, contract=contract, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("The block was topped up."))
                return self._contract_page(customer, contract, "block")
        return self.render_edit(request, customer, contract, status=400, top_up_form=form)


# --- the partner's lists: SLA policies and alert profiles -----------------------------


class PartnerListMixin(OrgViewMixin):
    """A list the partner keeps (SLA policies, alert profiles): owners and admins
    add, edit and remove (the services check); collaborators see it."""

    allowed_kinds = (Tenant.Kind.PARTNER,)
    form_class: type[forms.Form]
    list_url_name: str
    list_template: str
    label: str  # "SLA policy"
    list_title: str  # "SLA policies"
    # The sentences about an entry, whole (so each language can phrase them):
    # added, saved, removed, heading, save, remove, confirm_remove; %(name)s is the entry's.
    texts: dict[str, str]
    id_kwarg: str  # the entry's id in the URL
    fields: tuple[str, ...]
    partner_list: services.PartnerList  # how to read and write it

    def entries(self):
        return self.partner_list.entries(org=self.org)

    def entry(self, entry_id):
        return self.partner_list.entry(org=self.org, entry_id=entry_id)

    def save(self, data: dict, entry=None):
        return self.partner_list.save(org=self.org, data=data, entry=entry)

    def to_list(self):
        return redirect(self.list_url_name, slug=self.org.tenant.slug)


class PartnerListView(PartnerListMixin, View):
    def render_page(self, request, form=None, status=200):
        context = {
            "entries": list(self.entries()),
            "form": form or self.form_class(),
            "can_manage": self.org.is_admin,
        }
        return render(request, self.list_template, context, status=status)

    def get(self, request, slug):
        return self.render_page(request)

    def post(self, request, slug):
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                entry = self.save(form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, self.texts["added"] % {"name": entry.name})
                return self.to_list()
        return self.render_page(request, form, status=400)


class PartnerListEntryView(PartnerListMixin, View):
    """Edit one entry (GET: its form), save it or remove it (POST `action`)."""

    min_role = Role.ADMIN

    def http_method_not_allowed(self, request, *args, **kwargs):
        self.entry(kwargs[self.id_kwarg])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def render_page(self, request, entry, form, status=200):
        context = {
            "entry": entry,
            "form": form,
            "label": self.label,
            "texts": {
                key: str(self.texts[key]) % {"name": entry.name}
                for key in ("heading", "save", "remove", "confirm_remove")
            },
            "list_url": reverse(self.list_url_name, kwargs={"slug": self.org.tenant.slug}),
            "list_title": self.list_title,
        }
        return render(request, "customers/list_entry.html", context, status=status)

    def get(self, request, slug, **kwargs):
        entry = self.entry(kwargs[self.id_kwarg])
        initial = {name: getattr(entry, name) for name in self.form_class.base_fields}
        return self.render_page(request, entry, self.form_class(initial=initial))

    def post(self, request, slug, **kwargs):
        entry = self.entry(kwargs[self.id_kwarg])
        action = request.POST.get("action", "")
        if action == "remove":
            services.partner_list_entry_delete(org=self.org, entry=entry)
            messages.success(request, self.texts["removed"] % {"name": entry.name})
            return self.to_list()
        if action != "update":
            return HttpResponseBadRequest("Unknown action.")
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                saved = self.save(form.cleaned_data, entry)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, self.texts["saved"] % {"name": saved.name})
                return self.to_list()
        return self.render_page(request, entry, form, status=400)


class SlaPolicyMixin(PartnerListMixin):
    form_class = SlaPolicyForm
    list_url_name = "sla_policies"
    list_template = "customers/sla_policies.html"
    list_title = gettext_lazy("SLA policies")
    label = gettext_lazy("SLA policy")
    texts = {
        "added": gettext_lazy("The SLA policy “%(name)s” was added."),
        "saved": gettext_lazy("The SLA policy “%(name)s” was saved."),
        "removed": gettext_lazy(
            "The SLA policy “%(name)s” was removed; customers that used it now have none."
        ),
        "heading": gettext_lazy("SLA policy “%(name)s”"),
        "save": gettext_lazy("Save the SLA policy"),
        "remove": gettext_lazy("Remove the SLA policy"),
        "confirm_remove": gettext_lazy(
            "Remove the SLA policy “%(name)s”? Customers that use it will have none."
        ),
    }
    id_kwarg = "policy_id"
    partner_list = services.SLA_POLICIES


class AlertProfileMixin(PartnerListMixin):
    form_class = AlertProfileForm
    list_url_name = "alert_profiles"
    list_template = "customers/alert_profiles.html"
    list_title = gettext_lazy("Alert profiles")
    label = gettext_lazy("alert profile")
    texts = {
        "added": gettext_lazy("The alert profile “%(name)s” was added."),
        "saved": gettext_lazy("The alert profile “%(name)s” was saved."),
        "removed": gettext_lazy(
            "The alert profile “%(name)s” was removed; customers that used it now have none."
        ),
        "heading": gettext_lazy("Alert profile “%(name)s”"),
        "save": gettext_lazy("Save the alert profile"),
        "remove": gettext_lazy("Remove the alert profile"),
        "confirm_remove": gettext_lazy(
            "Remove the alert profile “%(name)s”? Customers that use it will have none."
        ),
    }
    id_kwarg = "profile_id"
    partner_list = services.ALERT_PROFILES


class SlaPoliciesView(SlaPolicyMixin, PartnerListView):
    pass


class SlaPolicyView(SlaPolicyMixin, PartnerListEntryView):
    pass


class AlertProfilesView(AlertProfileMixin, PartnerListView):
    pass


class AlertProfileView(AlertProfileMixin, PartnerListEntryView):
    pass
