"""Registrations of the lessons product (events, inbox, sources of lessons, menu, audit)."""

INBOX_KINDS = {
    "lesson.proposed": "Lesson learned proposed for the Blueprint",
    "lesson.decided": "ENISA decided on your lesson learned",
    "lesson.answered": "Your lesson is answered in a Blueprint draft",
}


def register() -> None:
    """Called from AwarenessConfig.ready()."""
    from csoa_portal import audit
    from liaison.events import register_subject_check, register_subject_url, visible_subject_ids
    from liaison.inbox import register_inbox_kinds
    from awareness.hooks.menu import register_menu

    from awareness.selectors.lessons import visible_lesson_ids
    from awareness.services.lessons import SUBJECT

    register_subject_check(SUBJECT, visible_lesson_ids)
    register_subject_url(SUBJECT, _url)
    register_inbox_kinds("awareness.lessons", INBOX_KINDS,
                         labels={k: (lambda event, k=k: f"{INBOX_KINDS[k]}:") for k in INBOX_KINDS})
    audit.register_read_check("awareness.lessonproposal", lambda user, ids: visible_subject_ids(user, SUBJECT, ids))
    register_sources()
    register_menu("awareness-lessons", _menu, order=41)


def register_sources() -> None:
    """The sources of lessons: a published situation report, a delivered incident review, a Reserve summary report."""
    from django.urls import reverse

    from awareness.policy.lessons import register_source

    register_source("incident_review", label="Incident review", find=_readable_review,
                    describe=lambda review: f"Incident review {review.reference}",
                    url=lambda review: reverse("awareness:review_detail", args=[review.pk]))
    register_source("reserve_after_action", label="Reserve summary report", find=_readable_after_action,
                    describe=lambda report: f"Reserve summary report of {report.request.reference}",
                    url=lambda report: reverse("reserve:request_detail", args=[report.request_id]))
    register_source("situation_report", label="Situation report", find=_readable_sitrep,
                    describe=lambda report: f"Situation report {report.number}.{report.version}",
                    url=lambda report: reverse("awareness:sitrep-detail", args=[report.pk]))


def _readable_sitrep(user, source_id: str):
    """A published situation report the person reads (a draft teaches nothing yet)."""
    from awareness.models import SituationReport
    from awareness.selectors.sitreps import reports_visible_to

    return reports_visible_to(user).filter(pk=source_id, status=SituationReport.Status.PUBLISHED).first()


def _readable_review(user, source_id: str):
    """A delivered review whose report the person reads (its lessons are the report's)."""
    from awareness.models import IncidentReview
    from awareness.policy import reviews as policy
    from awareness.selectors.reviews import reviews_visible_to

    review = reviews_visible_to(user).filter(pk=source_id, state=IncidentReview.State.DELIVERED).first()
    return review if review is not None and policy.may_read_sections(user, review) else None


def _readable_after_action(user, source_id: str):
    from reserve.models import AfterActionReport
    from reserve.selectors import report_visible_to, requests_visible_to

    report = AfterActionReport.objects.select_related("request").filter(pk=source_id).first()
    if report is None or not requests_visible_to(user).filter(pk=report.request_id).exists():
        return None
    return report_visible_to(user, report.request)


def _url(pk: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("awareness:lesson_detail", args=[pk])
    except NoReverseMatch:
        return f"/awareness/lessons/{pk}/"


def _menu(user) -> list:
    from django.urls import reverse

    from awareness.policy import lessons as policy
    from liaison.menu import MenuLink

    if policy.sees_all_lessons(user) or policy.proposing_organisation(user):
        return [MenuLink("Lessons learned", reverse("awareness:lesson_list"),
                         title="Lessons proposed for the Blueprint, and the versions that answer them")]
    return []
