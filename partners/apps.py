from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partnerships"

    def ready(self) -> None:
        from partners import (
            book_changes,
            tasks,  # noqa: F401  (registers its Celery tasks: tenants.jobs)
        )
        from partners.selectors import manages_now
        from tenants import scoping

        book_changes.connect()
        # tenants.scoping's for_org reads the one "manages now" rule from here
        # (tenants sits below partners: the rule is handed down, not imported).
        scoping.use_managing_rule(
            lambda partner, customer, product: manages_now(
                partner=partner, customer=customer, product=product
            )
        )
