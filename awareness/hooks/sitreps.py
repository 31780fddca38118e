"""Registrations of the sitreps product (events, inbox, sweep, menu, audit)."""

INBOX_LABELS = {
    "sitrep.published": lambda e: f"Situation report {e.payload.get('number')}"
                                  + (f" (version {e.payload.get('version')})" if e.payload.get("version", 1) > 1 else "")
                                  + f" published on {e.payload.get('reference', '')}:",
    "sitrep.submitted": lambda e: f"Situation report {e.payload.get('number')} waits for review:",
    "sitrep.returned": lambda e: f"Situation report {e.payload.get('number')} returned to draft:",
    "sitrep.due": lambda e: f"Situation report due on {e.payload.get('reference', '')} "
                            f"(next due {_when(e.payload.get('next_due_at'))}):",
}


def _when(iso: str | None) -> str:
    from django.utils.dateparse import parse_datetime

    from csoa_portal.display import when

    return when(parse_datetime(iso)) if iso else ""


def register() -> None:
    """Called from AwarenessConfig.ready()."""
    from django.urls import reverse

    from awareness.policy import sitreps as policy
    from awareness.selectors import sitreps as selectors
    from awareness.services.sitreps import remind_due_reports
    from csoa_portal import audit, sweep
    from liaison.events import register_subject_check, register_subject_url, visible_subject_ids
    from liaison.inbox import register_inbox_kinds
    from awareness.hooks.menu import register_menu
    from liaison.menu import MenuLink

    register_subject_check("situationreport", selectors.visible_report_ids)
    register_subject_url("situationreport", lambda pk: reverse("awareness:sitrep-detail", args=[pk]))
    register_inbox_kinds("awareness.sitreps", INBOX_LABELS, labels=INBOX_LABELS)
    sweep.register("sitrep_reminders", remind_due_reports)
    audit.register_read_check("awareness.situationreport",
                              lambda user, ids: visible_subject_ids(user, "situationreport", ids))
    audit.register_read_check("awareness.sitrepreminder", lambda user, ids: set())

    def menu(user):
        if policy.may_draft_any(user) or selectors.reports_visible_to(user).exists():
            return [MenuLink("Situation reports", reverse("awareness:sitrep-list"),
                             "Situation reports of crises at levels 2 and 3")]
        return []

    register_menu("awareness.sitreps", menu, order=40)


def load_demo(stdout=None) -> int:
    """Called by AwarenessConfig.load_demo: the demo crisis's situation reports (awareness.demo)."""
    from awareness.demo import load_sitreps

    return load_sitreps(stdout=stdout)
