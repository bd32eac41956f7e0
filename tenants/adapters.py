from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError

from core.exceptions import TooManyAttempts
from tenants.reauthentication import password_confirm


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up uninvited: accounts are made when a partner, a customer or
    a member is invited (API.md, "Accounts made on the way"); the invitee sets a
    password through the emailed link."""

    def is_open_for_signup(self, request) -> bool:
        return False

    def reauthenticate(self, user, password: str) -> bool:
        """allauth's re-authentication page (sensitive actions, SPEC §1) checks
        the password like the API does (tenants.reauthentication): a wrong one
        is counted and audited; too many lock it, the form saying so."""
        try:
            password_confirm(user=user, password=password)
        except TooManyAttempts:
            raise
        except ValidationError:
            return False
        return True
