from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from liaison.services import follow_blueprint_versions

        follow_blueprint_versions(lambda version: self.get_model("Blueprint").objects.filter(version=version).exists())
        from django.urls import reverse

        from csoa_portal import sweep
        from incidents.selectors import (
            visible_alert_ids,
            visible_alert_ids_by_groups,
            visible_incident_ids,
            visible_incident_ids_by_groups,
        )
        from incidents.services.alerts import sweep_alerts
        from incidents.services.escalations import evaluate_pending
        from incidents.services.reminders import (
            keep_situation_update_clocks,
            sweep_deadlines,
        )
        from liaison.events import register_subject_check, register_subject_url

        # Event feeds and websockets re-check each incident against current sharing.
        register_subject_check("incident", visible_incident_ids, by_groups=visible_incident_ids_by_groups)
        register_subject_url("incident", lambda pk: reverse("incidents:detail", args=[pk]))
        sweep.register("evaluate_pending_incidents", evaluate_pending)
        sweep.register("alerts", sweep_alerts)
        sweep.register("situation_update_clocks", keep_situation_update_clocks)
        sweep.register("deadlines", sweep_deadlines)
        register_subject_check("alert", visible_alert_ids, by_groups=visible_alert_ids_by_groups)
        # An alert links to its incident for those who see it, else to the alert on the person's board.
        from incidents.selectors import alert_links

        register_subject_url("alert", lambda pk: reverse("incidents:board") + f"#my-alert-{pk}", for_person=alert_links)
        # A level proposal: for those who decide it, and for those who see its incident.
        from incidents.policy import visible_proposal_ids

        register_subject_check("levelproposal", visible_proposal_ids)
        register_subject_url("levelproposal", lambda pk: reverse("incidents:board") + "#proposals")
        # News for their recipients, shown in the dashboard inbox.
        from liaison.inbox import register_inbox_kinds

        from incidents.notifications import INBOX_LABELS

        register_inbox_kinds("incidents", INBOX_LABELS, labels=INBOX_LABELS)
        from incidents.services.reporting import recount_clocks_in_zone
        from liaison.services import follow_time_zone_changes

        follow_time_zone_changes(recount_clocks_in_zone)
        _register_audit_read_checks()
        _register_dashboard_panels()
        _register_menu()


def _register_menu():
    """The incident pages in the main menu, for those whose work they are (incidents.policy.follows_incidents)."""
    from django.urls import reverse

    from incidents import policy
    from liaison.menu import MenuLink, register_menu

    def incidents(user):
        if not policy.follows_incidents(user):
            return []
        return [MenuLink("Incidents", reverse("incidents:list")), MenuLink("Crisis board", reverse("incidents:board"))]

    def blueprint(user):
        return [MenuLink("Blueprint", reverse("incidents:blueprint"))] if policy.follows_incidents(user) else []

    register_menu("incidents", incidents, order=10)
    register_menu("blueprint", blueprint, order=30)


def _register_dashboard_panels():
    """The dashboard shows analysts their clocks and what was shared with them, everyone whose organisation is
    alerted the alerts waiting for an answer, and liaison officers the board (who sees which: incidents.policy)."""
    from incidents import policy
    from liaison.dashboard import register_panel

    def panel(name):
        def context_for(user):
            from incidents import views  # at request time: the views need the URLconf and templates

            return getattr(views, name)(user)
        return context_for

    register_panel("incidents", panel("incidents_panel"), template="incidents/_panel_incidents.html")
    register_panel("alerts", panel("alerts_panel"), template="incidents/_panel_alerts.html")
    register_panel("crisis_board", lambda user: {} if policy.follows_crisis_board(user) else None,
                   template="incidents/_panel_board.html")
    register_panel("tasks", _tasks_panel, template="incidents/_panel_tasks.html")


TASKS_ON_DASHBOARD = 20


def _tasks_panel(user):
    """"Your tasks": the person's open tasks (theirs, or nobody's in their organisation), overdue first."""
    from django.utils import timezone

    from incidents import policy, selectors

    now = timezone.now()
    tasks = list(selectors.open_tasks_for(user, now=now)[:TASKS_ON_DASHBOARD + 1])
    if not tasks and not policy.works_on_incidents(user):
        return None
    return {"tasks": tasks[:TASKS_ON_DASHBOARD], "more": len(tasks) > TASKS_ON_DASHBOARD, "now": now}


def _register_audit_read_checks():
    """The audit log shows the content of an incident's entries only to those who may see it.

    Children follow their incident; the Blueprint and vocabularies are public policy. Any
    other incidents type is redacted in the log for everyone (csoa_portal.audit fails closed).
    """
    from csoa_portal import audit
    from liaison.events import visible_subject_ids

    def subject(subject_type):
        return lambda user, ids: visible_subject_ids(user, subject_type, ids)

    from incidents.selectors import observable_entries_visible_to, timeline_entries_visible_to

    incident = subject("incident")
    audit.register_read_check("incidents.incident", incident)
    audit.register_read_check("incidents.alert", subject("alert"))
    audit.register_read_check("incidents.levelproposal", subject("levelproposal"))
    for model in ("report", "share", "deadline", "escalation", "crossbordernotice"):
        audit.register_read_check(f"incidents.{model}", audit.via_parent(f"incidents.{model}", "incident_id", incident))

    def own_label(model: str, readable_children):
        """A child labelled more strictly than its incident stays with its author here too."""
        via_incident = audit.via_parent(f"incidents.{model}", "incident_id", incident)

        def check(user, ids):
            ids = via_incident(user, ids)
            pks = audit.numeric_ids(ids)
            return {str(pk) for pk in readable_children(user).filter(pk__in=pks).values_list("pk", flat=True)}
        return check

    entry = own_label("timelineentry", timeline_entries_visible_to)
    audit.register_read_check("incidents.timelineentry", entry)
    audit.register_read_check("incidents.observable", own_label("observable", observable_entries_visible_to))
    audit.register_read_check("incidents.attachment", audit.via_parent("incidents.attachment", "entry_id", entry))
    # A task is its organisation's: the content of its entries too (a deleted one's: nobody's, fail closed).
    from incidents.selectors import tasks_visible_to

    audit.register_read_check("incidents.task", lambda user, ids: {
        str(pk) for pk in tasks_visible_to(user).filter(pk__in=audit.numeric_ids(ids)).values_list("pk", flat=True)})
    # Public policy and vocabularies; STIX identities name organisations of the public directory.
    for model in ("blueprint", "crisislevel", "escalationrule", "sector", "incidentcategory", "tagvocabulary", "tag",
                  "stixidentity"):
        audit.register_read_check(f"incidents.{model}", lambda user, ids: set(ids))
