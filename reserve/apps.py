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
        _register_audit_read_checks()
        _register_inbox_kinds()
        # The dashboard's Reserve panels, each shown by reserve.policy (liaison never imports reserve): the work
        # waiting for the person, counted, each item a link.
        from liaison.dashboard import register_panel
        from liaison.menu import register_menu

        for name, context_for in [("reserve-triage", _work_panel("triage_panel")),
                                  ("reserve-decisions", _work_panel("decisions_panel")),
                                  ("reserve-overview", _panel(None)),
                                  ("reserve-engagements", _work_panel("engagements_panel"))]:
            register_panel(name, context_for, template=f"reserve/_panel_{name.removeprefix('reserve-')}.html")

        register_menu("reserve", _menu, order=20)

    def load_demo(self, stdout=None):
        """Called by liaison's load_demo (through the app registry): provider profiles and demo requests."""
        from reserve.demo import load

        return load(stdout=stdout)

    def demo_accounts(self):
        """Called by liaison's load_demo for its banner: the Reserve's accounts, one per role."""
        from reserve.demo import demo_accounts

        return demo_accounts()


def _menu(user) -> list:
    """A provider's staff: their engagements, the requests they serve and the incidents they are deployed on (those
    the requester shared with them); everyone else the Reserve uses: its requests (reserve.policy)."""
    from django.urls import reverse

    from liaison.menu import MenuLink
    from reserve import policy, selectors

    if policy.capabilities(user).engagements:
        links = [MenuLink("Engagements", reverse("reserve:engagement_list")),
                 MenuLink("Requests served", reverse("reserve:request_list"),
                          title="The Reserve requests your organisation was engaged on")]
        incidents = {i.pk: i for e in selectors.deployments_of(user) for i in e.incidents}
        links += [MenuLink(f"{i.reference} (deployed)", reverse("incidents:detail", args=[i.pk]), title=i.title)
                  for i in incidents.values()]
        return links
    if policy.uses_reserve(user):
        return [MenuLink("Reserve", reverse("reserve:home"))]
    return []


def _work_panel(name: str):
    """A panel whose context reserve.views builds (at request time) from the person's capabilities and work."""

    def context_for(user):
        from reserve import views

        return getattr(views, name)(user)

    return context_for


def _panel(capability: str | None):
    """The panel's context when the person has ``capability``; None: the overview, for the dashboard's
    readers who neither triage nor decide (the Commission's staff, ENISA's other staff)."""

    def context_for(user):
        from reserve import policy

        capabilities = policy.capabilities(user)
        if capability is None:
            shown = capabilities.dashboard and not (capabilities.triage or capabilities.decisions)
        else:
            shown = getattr(capabilities, capability)
        return {"capabilities": capabilities} if shown else None

    return context_for


def _register_audit_read_checks():
    """The audit log shows a request's, engagement's or provider's content only to those who may see it.

    Children follow their parent; any other reserve type is redacted in the log for everyone.
    """
    from csoa_portal import audit
    from liaison.events import visible_subject_ids

    def subject(subject_type):
        return lambda user, ids: visible_subject_ids(user, subject_type, ids)

    request, engagement, provider = subject("assistance_request"), subject("engagement"), subject("reserve_provider")
    audit.register_read_check("reserve.assistancerequest", request)
    audit.register_read_check("reserve.engagement", engagement)
    audit.register_read_check("reserve.providerprofile", provider)
    for model in ("informationrequest", "assessment", "decision", "afteractionreport", "reservedeadline"):
        audit.register_read_check(f"reserve.{model}", audit.via_parent(f"reserve.{model}", "request_id", request))
    for model in ("worklog", "deploymentupdate"):
        audit.register_read_check(f"reserve.{model}", audit.via_parent(f"reserve.{model}", "engagement_id", engagement))
    audit.register_read_check("reserve.providercapacity",
                              audit.via_parent("reserve.providercapacity", "provider_id", provider))


def _register_inbox_kinds():
    """The Reserve's news for the dashboard inbox: each step tells the ones who act next.

    Events name their recipients (``recipient_groups``: triage for a submission, the requester
    for a question or a decision, the provider for an offer…); an assessment names none, and
    is news for the contracting authority's decision-makers only (reserve.policy).
    """
    from liaison.inbox import register_inbox_kinds
    from reserve import policy
    from reserve.notifications import INBOX_LABELS

    def decision_makers(event, user, names: set[str]) -> bool:
        return policy.capabilities(user).decisions

    register_inbox_kinds("reserve", INBOX_LABELS, addressed={"request.assessed": decision_makers},
                         labels=INBOX_LABELS)


def _url(name: str, fallback: str):
    """The page's URL by name once the pages exist (reserve/urls.py), the conventional path until then."""

    def url_for(pk: str) -> str:
        from django.urls import NoReverseMatch, reverse

        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            return fallback.format(pk)

    return url_for
