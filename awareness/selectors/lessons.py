"""Reads of the lessons product, through the permission rules (``awareness.policy.lessons``)."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from awareness.models import LessonProposal
from awareness.policy import lessons as policy
from incidents.models import Blueprint
from liaison.exercises import in_current
from liaison.policy import acting_organisation_ids


def lessons_visible_to(user) -> QuerySet[LessonProposal]:
    """ENISA sees every proposal; an organisation its own."""
    if not getattr(user, "is_authenticated", False):
        return LessonProposal.objects.none()
    if policy.sees_all_lessons(user):
        return in_current(LessonProposal.objects.all())
    return in_current(LessonProposal.objects.filter(organisation__in=acting_organisation_ids(user)))


def lesson_visible_to(user, lesson_id) -> LessonProposal:
    try:
        return lessons_visible_to(user).select_related("organisation", "proposed_by", "answered_in", "exercise") \
            .get(pk=lesson_id)
    except (LessonProposal.DoesNotExist, ValueError, TypeError):
        raise Http404("No such lesson.") from None


def visible_lesson_ids(user, ids: set[str]) -> set[str]:
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in lessons_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


@dataclass(frozen=True)
class LessonRow:
    lesson: LessonProposal
    source: dict  # {"kind", "label", "url"}: the URL only for a reader of the source


def rows_for(user, lessons) -> list[LessonRow]:
    return [LessonRow(lesson, policy.source_link(user, lesson)) for lesson in lessons]


def lesson_queue(user, *, state: str | None = None) -> list[LessonRow]:
    lessons = lessons_visible_to(user).select_related("organisation", "proposed_by", "answered_in", "exercise")
    if state:
        lessons = lessons.filter(state=state)
    return rows_for(user, lessons[:200])


def awaiting_draft() -> QuerySet[LessonProposal]:
    """Accepted lessons no Blueprint draft answers yet, in the order they were accepted."""
    return in_current(LessonProposal.objects.filter(state=LessonProposal.State.ACCEPTED, answered_in__isnull=True)).order_by(
        "decided_at", "id")


@dataclass(frozen=True)
class VersionRow:
    blueprint: Blueprint
    lessons: list  # LessonRow the reader may see
    others: int  # lessons it answers that the reader may not see


def blueprint_versions(user) -> list[VersionRow]:
    """Each Blueprint version with the lessons it answers ("the rolling annex")."""
    visible = set(lessons_visible_to(user).values_list("pk", flat=True))
    answered: dict[int, list] = {}
    for lesson in in_current(LessonProposal.objects.filter(answered_in__isnull=False)).select_related("organisation", "exercise"):
        answered.setdefault(lesson.answered_in_id, []).append(lesson)
    rows = []
    for blueprint in Blueprint.objects.order_by("-version"):
        lessons = answered.get(blueprint.pk, [])
        mine = [lesson for lesson in lessons if lesson.pk in visible]
        rows.append(VersionRow(blueprint, rows_for(user, mine), len(lessons) - len(mine)))
    return rows
