from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from portal.api import cycles, schema, strict  # noqa: F401 (schema: its extension)

        strict.install()
        cycles.install()
