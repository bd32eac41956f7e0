"""`manage.py mfa_reset`: remove every second factor of a person who lost them
(docs/security.md, "Recovering an account that lost its factors"). Audited in
each of their organizations' logs, naming the staff member and the reason."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import validation_detail
from tenants.models import User
from tenants.services import user_mfa_reset


class Command(BaseCommand):
    help = (
        "Remove all two-factor authenticators (apps, passkeys, recovery codes) of one "
        "person, after their identity was checked out of band."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The person who lost their factors.")
        parser.add_argument("--staff", required=True, help="The staff member doing it (email).")
        parser.add_argument(
            "--reason", required=True, help="Why, and how the person was identified."
        )

    def handle(self, *args, email, staff, reason, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        actor = User.objects.filter(email__iexact=staff.strip()).first()
        if user is None:
            raise CommandError(f"No account with the email {email}.")
        if actor is None:
            raise CommandError(f"No account with the email {staff}.")
        try:
            removed = user_mfa_reset(actor=actor, user=user, reason=reason)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError(str(validation_detail(exc))) from exc
        self.stdout.write(
            f"Removed {removed} authenticator(s) of {user.email}. They sign in with their "
            "password and set up a new factor; the reset is in their organizations' audit logs."
        )
