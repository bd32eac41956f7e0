from allauth.account.adapter import DefaultAccountAdapter


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up uninvited: accounts are made when a partner, a customer or
    a member is invited (API.md, "Accounts made on the way"); the invitee sets a
    password through the emailed link."""

    def is_open_for_signup(self, request) -> bool:
        return False
