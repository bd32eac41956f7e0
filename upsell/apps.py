from django.apps import AppConfig


class UpsellConfig(AppConfig):
    name = "upsell"
    verbose_name = "Upsell"
