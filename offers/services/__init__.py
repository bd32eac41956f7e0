"""Every write of offers: templates (templates.py) and offers (offers.py)."""

from offers.services.offers import (
    ItemSpec,
    offer_accept,
    offer_cancel,
    offer_decline,
    offer_deliver,
    offer_delivery_failed,
    offer_expire,
    offer_propose,
    offer_retry,
    offer_send,
    offers_deliver,
    offers_past_expiry,
    offers_to_deliver,
)
from offers.services.templates import (
    template_create,
    template_delete,
    template_item_add,
    template_item_remove,
    template_rename,
)

__all__ = [
    "ItemSpec",
    "offer_accept",
    "offer_cancel",
    "offer_decline",
    "offer_deliver",
    "offer_delivery_failed",
    "offer_expire",
    "offer_propose",
    "offer_retry",
    "offer_send",
    "offers_deliver",
    "offers_past_expiry",
    "offers_to_deliver",
    "template_create",
    "template_delete",
    "template_item_add",
    "template_item_remove",
    "template_rename",
]
