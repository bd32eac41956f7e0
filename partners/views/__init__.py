"""Browser pages of partners/: partnerships (partnerships.py) and the customers
partners manage (customers.py). URL names stay in partners/urls.py."""

from partners.views.customers import (
    AlertProfilesView,
    AlertProfileView,
    CustomerAddView,
    CustomerContactView,
    CustomerContractView,
    CustomerDetailView,
    PartnerCustomersView,
    SlaPoliciesView,
    SlaPolicyView,
)
from partners.views.partnerships import (
    CustomerCollaboratorsView,
    CustomerPartnersView,
    InvitationView,
    PartnerInviteView,
    PartnershipDetailView,
    invitation_unusable,
)

__all__ = [
    "AlertProfileView",
    "AlertProfilesView",
    "CustomerAddView",
    "CustomerCollaboratorsView",
    "CustomerContactView",
    "CustomerContractView",
    "CustomerDetailView",
    "CustomerPartnersView",
    "InvitationView",
    "PartnerCustomersView",
    "PartnerInviteView",
    "PartnershipDetailView",
    "SlaPoliciesView",
    "SlaPolicyView",
    "invitation_unusable",
]
