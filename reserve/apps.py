from django.apps import AppConfig


class ReserveConfig(AppConfig):
    name = "reserve"
    verbose_name = "EU Cybersecurity Reserve"

    def ready(self):
        from csoa_portal import sweep
        from incidents.facts import register_provider
        from liaison.events import register_subject_check, register_subject_url
        from reserve import selectors
        from reserve.services.deadlines import sweep_reserve_deadlines

        # Event feeds and websockets re-check each request and engagement against current grants:
        # a provider never gets another provider's engagement, nor a request it was not engaged on.
        register_subject_check("assistance_request", selectors.visible_request_ids,
                               by_groups=selectors.visible_request_ids_by_groups)
        register_subject_check("engagement", selectors.visible_engagement_ids)
        register_subject_check("reserve_provider", selectors.visible_provider_ids)
        register_subject_url("assistance_request", _url("reserve:request_detail", "/reserve/requests/{}/"))
        register_subject_url("engagement", _url("reserve:engagement_detail", "/reserve/engagements/{}/"))
        sweep.register("reserve_deadlines", sweep_reserve_deadlines)
        register_provider(selectors.incident_reserve_facts)

    def load_demo(self, stdout=None):
        """Called by liaison's load_demo (through the app registry): provider profiles and a demo request."""
        from reserve.demo import load

        return load(stdout=stdout)


def _url(name: str, fallback: str):
    """The page's URL by name once the pages exist (reserve/urls.py), the conventional path until then."""

    def url_for(pk: str) -> str:
        from django.urls import NoReverseMatch, reverse

        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            return fallback.format(pk)

    return url_for
