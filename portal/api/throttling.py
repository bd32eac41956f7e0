"""How many API requests a caller may make: past the rate, 429 with Retry-After."""

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class ApiRateThrottle(UserRateThrottle):
    """DRF's per-user throttle (`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]`):
    an API token counts against its user, so the user's tokens and browser session
    share one budget and minting more tokens buys no more requests.

    DRF's own class reads the rates once, at import; this one reads them for each
    request, so a changed setting (an override in a test) takes effect.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
