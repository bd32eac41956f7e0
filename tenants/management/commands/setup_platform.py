"""`manage.py setup_platform`: the install's provider organization and its first
staff member, once (SPEC §2 "Operator set-up", docs/operations.md)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from core.exceptions import validation_detail
from tenants.emails import absolute_url
from tenants.models import Tenant
from tenants.notifications import set_password_url
from tenants.services import platform_setup


class Command(BaseCommand):
    help = (
        "Create the provider organization and its first staff member (once; "
        "running it again with the same name changes nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The provider's name.")
        parser.add_argument(
            "--currency", required=True, choices=Tenant.Currency.values, help="CHF or EUR."
        )
        parser.add_argument(
            "--admin-email",
            required=True,
            help="The first staff member; they get an email to choose a password.",
        )
        parser.add_argument("--legal-address", default="", help="The provider's legal address.")
        parser.add_argument("--vat-number", default="", help="The provider's VAT number.")
        parser.add_argument(
            "--country",
            default="",
            help="The provider's country (ISO code, e.g. CH): it decides the VAT of its "
            "invoices (docs/invoices.md); without one they carry none.",
        )

    def handle(
        self, *args, name, currency, admin_email, legal_address, vat_number, country, **options
    ):
        try:
            result = platform_setup(
                name=name,
                currency=currency,
                admin_email=admin_email,
                legal_address=legal_address,
                vat_number=vat_number,
                country=country,
            )
        except ValidationError as exc:
            messages = [m for ms in validation_detail(exc).values() for m in ms]
            raise CommandError(" ".join(messages)) from exc
        admin = result.admin
        if not result.created:
            self.stdout.write(
                f"Already set up: the provider is “{result.provider.name}” "
                f"({result.provider.currency}), its first admin {admin.email}. Nothing changed."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Provider “{result.provider.name}” ({result.provider.currency}) created; "
                f"{admin.email} is platform staff and its owner."
            )
        )
        if admin.has_usable_password():
            self.stdout.write(f"{admin.email} signs in with their password: ")
            self.stdout.write(f"  {absolute_url(reverse('account_login'))}")
        else:
            self.stdout.write(
                f"An email to {admin.email} carries the link to choose a password; "
                "the same link (single use, it expires):"
            )
            self.stdout.write(f"  {set_password_url(admin)}")
