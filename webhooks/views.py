"""Browser pages of webhooks: the endpoints (list, create with the secret shown
once) and one endpoint (edit, rotate the secret, delete, the delivery log with
resend). Thin: forms parse, services write, selectors read."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from tenants.models import Role
from tenants.web import (
    OrgViewMixin,
    ResolveFirstMixin,
    form_add_service_errors,
    require_recent_reauthentication,
)
from webhooks import selectors, services
from webhooks.forms import WebhookEndpointForm

PAGE_SIZE = 50


class WebhookEndpointsView(OrgViewMixin, View):
    min_role = Role.ADMIN

    def render_page(self, request, form=None, new_secret=None, status=200):
        return render(
            request,
            "webhooks/endpoints.html",
            {
                "endpoints": selectors.endpoints_for(org=self.org),
                "form": form or WebhookEndpointForm(),
                "new_secret": new_secret,
            },
            status=status,
        )

    def get(self, request, slug):
        return self.render_page(request)

    def post(self, request, slug):
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            require_recent_reauthentication(request)  # sensitive, as a new token (SPEC §1)
            try:
                endpoint, secret = services.endpoint_create(org=self.org, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return self.render_page(
                    request, new_secret={"endpoint": endpoint, "secret": secret}, status=201
                )
        return self.render_page(request, form=form, status=400)


class WebhookEndpointView(OrgViewMixin, ResolveFirstMixin, View):
    min_role = Role.ADMIN

    def resolve(self) -> None:
        self.endpoint = selectors.endpoint_get(org=self.org, endpoint_id=self.kwargs["endpoint_id"])

    def render_page(self, request, form=None, new_secret=None, status=200):
        endpoint = self.endpoint
        page = Paginator(
            selectors.deliveries_for(org=self.org, endpoint=endpoint), PAGE_SIZE
        ).get_page(request.GET.get("page"))
        initial = {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "enabled": endpoint.enabled,
        }
        return render(
            request,
            "webhooks/endpoint.html",
            {
                "endpoint": endpoint,
                "form": form or WebhookEndpointForm(initial=initial),
                "page": page,
                "new_secret": new_secret,
            },
            status=status,
        )

    def get(self, request, slug, endpoint_id):
        return self.render_page(request)

    def post(self, request, slug, endpoint_id):
        action = request.POST.get("action", "save")
        if action == "delete":
            services.endpoint_delete(org=self.org, endpoint=self.endpoint)
            messages.success(request, _("The endpoint was deleted."))
            return redirect("webhook_endpoints", slug=slug)
        if action == "rotate":
            require_recent_reauthentication(request)
            self.endpoint, secret = services.endpoint_rotate_secret(
                org=self.org, endpoint=self.endpoint
            )
            return self.render_page(request, new_secret={"secret": secret})
        if action == "resend":
            delivery = selectors.delivery_get(
                org=self.org, endpoint=self.endpoint, delivery_id=request.POST.get("delivery")
            )
            services.delivery_resend(org=self.org, delivery=delivery)
            messages.success(request, _("The delivery is being sent again."))
            return redirect("webhook_endpoint", slug=slug, endpoint_id=self.endpoint.pk)
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            if services.endpoint_url_changes(self.endpoint, form.cleaned_data):
                require_recent_reauthentication(request)  # elsewhere: as a new endpoint
            try:
                services.endpoint_update(org=self.org, endpoint=self.endpoint, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, _("The endpoint was saved."))
                return redirect("webhook_endpoint", slug=slug, endpoint_id=self.endpoint.pk)
        return self.render_page(request, form=form, status=400)
