"""Generated agreement: for every kind of person, every capability of the awareness products (situation reports,
public warnings, incident reviews, lessons) and the states that matter, the page shows the button if and only if
the action succeeds, the API agrees with the page, both agree with ``awareness.policy``, and an object the person
may not see is a 404 on the page and the API and is in no list. A read-write token of each organisation is walked
through the API the same way, against the policy's answer for the token's principal.

A capability is covered by registering it in ``CAPABILITIES`` (the kind of object it acts on, the policy's
answer, where its button or form shows, how to call the page action and the API action, and what it writes, or
for a read such as a PDF what it serves: a 200 is a success only when it is that very thing); no test below names a
capability. The world (``agreement_support``) is built once for the module; every action is tried inside a
savepoint that is rolled back, so each person meets the same world.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from awareness.models import (IncidentReview, LessonProposal, PublicWarning, ReviewAgreement, ReviewComment,
                              ReviewSection, SituationReport, WarningParticipation)
from awareness.policy import lessons as lesson_policy
from awareness.policy import reviews as review_policy
from awareness.policy import sitreps as sitrep_policy
from awareness.policy import warnings as warning_policy
from awareness.selectors import sitreps as sitrep_selectors
from awareness.selectors.warnings import participations_of
from incidents import policy as incident_policy
from incidents.models import Blueprint
from liaison.policy import acting_memberships
from tests.awareness import agreement_support
from tests.awareness.agreement_support import OBJECTS, PERSONS
from tests.awareness.sitreps_pdf_support import pages

pytestmark = [pytest.mark.django_db, pytest.mark.exhaustive]

world = agreement_support.world  # the fixture, built once for the module
WALKED = "Walked through"  # what every action writes, so that its write is found


# --- Who sees what: the policy's rules of each product, as its module's docstring states them --------------------


def _sees_incident(user, incident) -> bool:
    return incident_policy.may_see_incident(user, incident.pk)


def _sees_sitrep(user, report) -> bool:
    """Drafts and reviews: the author's organisation and the drafting bodies; published: also its audience; always
    only for those who see the primary incident."""
    if not incident_policy.may_see_incident(user, report.incident_id):
        return False
    return sitrep_policy.may_work_on(user, report) or (
        report.status == SituationReport.Status.PUBLISHED and sitrep_policy.in_audience(user, report))


def _sees_warning(user, warning) -> bool:
    """The drafter's organisation always; once circulated, ENISA and the concerned states' authorities (a draft
    withdrawn before it was circulated was never theirs)."""
    if warning_policy.is_drafter(user, warning):
        return True
    concerned = {p.member_state_id for p in participations_of(warning)}
    return warning.circulated_at is not None and (
        warning_policy.is_enisa(user) or bool(warning_policy.reading_state_ids(user) & concerned))


def _sees_review(user, review) -> bool:
    """The requesting organisation, ENISA, and the authorities of every state concerned."""
    concerned = {a.member_state_id for a in review.agreements.all()}
    return (review_policy.is_enisa(user) or review_policy.is_requester(user, review)
            or bool(review_policy.reader_state_ids(user) & concerned))


def _sees_lesson(user, lesson) -> bool:
    """ENISA, and the organisation that proposed it."""
    return lesson_policy.sees_all_lessons(user) or acting_memberships(user).filter(
        organisation_id=lesson.organisation_id).exists()


@dataclass(frozen=True)
class Kind:
    visible: Callable  # (user, obj) -> bool
    page: Callable  # obj -> its page
    api: Callable | None  # obj -> its API object (an incident's is the incidents walk's: tests/incidents)
    list_page: str = ""
    list_api: str = ""


KINDS = {
    "incident": Kind(_sees_incident, lambda o: f"/incidents/{o.pk}/", None),
    "sitrep": Kind(_sees_sitrep, lambda o: f"/awareness/sitreps/{o.pk}/", lambda o: f"/api/v1/sitreps/{o.pk}/",
                   list_page="/awareness/sitreps/", list_api="/api/v1/sitreps/"),
    "warning": Kind(_sees_warning, lambda o: f"/awareness/warnings/{o.pk}/", lambda o: f"/api/v1/warnings/{o.pk}/",
                    list_page="/awareness/warnings/", list_api="/api/v1/warnings/"),
    "review": Kind(_sees_review, lambda o: f"/awareness/reviews/{o.pk}/", lambda o: f"/api/v1/reviews/{o.pk}/",
                   list_page="/awareness/reviews/", list_api="/api/v1/reviews/"),
    "lesson": Kind(_sees_lesson, lambda o: f"/awareness/lessons/{o.pk}/", lambda o: f"/api/v1/lessons/{o.pk}/",
                   list_page="/awareness/lessons/", list_api="/api/v1/lessons/"),
}


# --- The capabilities ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capability:
    name: str
    kind: str  # the kind of object it acts on (KINDS)
    allowed: Callable  # (user, obj) -> bool: the policy's answer
    markers: Callable  # obj -> [(page URL, HTML of the button or form, present iff shown)]
    page: Callable  # (client, obj, user) -> response of the page action
    done: Callable | None  # obj -> bool, read right after the action: its write is there (None: a read)
    api: Callable | None = None  # (client, obj, user) -> response of the API action
    api_shown: Callable | None = None  # the API object's JSON -> bool: the API offers the action
    applies: Callable = lambda obj: True  # states where the action exists at all
    visible: Callable | None = None  # (user, obj) -> bool when not the object's own visibility (else 404 on both)
    for_every_viewer: bool = False  # granted to whoever may use it at all (no "no" expected among them)
    served: Callable | None = None  # (response, obj) -> bool: a read answers the thing itself (a 2xx alone is not)


def _json(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, content_type="application/json")


def _local(delta: timedelta) -> str:
    """A datetime-local form value that far from now (UTC: the person's own zone moves it by hours, not days)."""
    return (timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


# Situation reports (awareness.policy.sitreps).

def _sitrep_action(name: str, tail: str, allowed: Callable, *, flag: str, status: str, done: Callable,
                   for_every_viewer: bool = False) -> Capability:
    """Submit, return, publish or correct: a form on the report's page, a POST on the API."""
    return Capability(
        name, "sitrep", allowed,
        markers=lambda o: [(f"/awareness/sitreps/{o.pk}/", f'action="/awareness/sitreps/{o.pk}/{tail}"')],
        page=lambda c, o, u: c.post(f"/awareness/sitreps/{o.pk}/{tail}"),
        api=lambda c, o, u: _json(c, "post", f"/api/v1/sitreps/{o.pk}/{tail}"),
        api_shown=lambda data: data["capabilities"][flag],
        done=done, applies=lambda o: o.status == status, for_every_viewer=for_every_viewer,
    )


def _status_is(status: str) -> Callable:
    return lambda o: SituationReport.objects.filter(pk=o.pk, status=status).exists()


def _is_the_reports_pdf(response, report) -> bool:
    """The view's own PDF of this report: its media type and file name, and a document pypdf reads whose first
    page names the report, its title and its author (``render_pdf`` itself runs; nothing is stubbed)."""
    if response.status_code != 200 or response["Content-Type"] != "application/pdf":
        return False
    if response["Content-Disposition"] != f'attachment; filename="{sitrep_selectors.pdf_filename(report)}"':
        return False
    if not response.content.startswith(b"%PDF-"):
        return False
    first = pages(response.content)[0]
    return all(first.says(text) for text in (report.label, report.title, report.author_organisation.name))


def _draft_form(user, incident) -> dict:
    """The new-report form as its drafter fills it: the incident's label, addressed to the drafter's organisation."""
    org = sitrep_policy.drafting_organisation_of(user, incident, incident.crisis_level)
    return {"incident": incident.pk, "title": WALKED, "tlp": incident.tlp, "audience": [org.group.name] if org else []}


def _edit_form(report) -> dict:
    return {"title": WALKED, "tlp": report.tlp, "audience": list(report.audience),
            "related_incidents": ", ".join(str(i.pk) for i in report.related_incidents.all())}


SITREP_CAPABILITIES = [
    Capability(
        "draft a situation report", "incident", sitrep_policy.may_draft,
        markers=lambda o: [(page, f'href="/awareness/sitreps/new/?incident={o.pk}"')
                           for page in ("/awareness/sitreps/", f"/incidents/{o.pk}/")],
        page=lambda c, o, u: c.post("/awareness/sitreps/new/", _draft_form(u, o)),
        api=lambda c, o, u: _json(c, "post", "/api/v1/sitreps/", {"incident": o.pk, "title": WALKED}),
        done=lambda o: SituationReport.objects.filter(incident_id=o.pk, title=WALKED).exists(),
    ),
    Capability(
        "edit a draft report", "sitrep", sitrep_policy.may_edit,
        markers=lambda o: [(f"/awareness/sitreps/{o.pk}/", f'href="/awareness/sitreps/{o.pk}/edit/"')],
        page=lambda c, o, u: c.post(f"/awareness/sitreps/{o.pk}/edit/", _edit_form(o)),
        api=lambda c, o, u: _json(c, "patch", f"/api/v1/sitreps/{o.pk}/", {"title": WALKED}),
        api_shown=lambda data: data["capabilities"]["edit"],
        done=lambda o: SituationReport.objects.filter(pk=o.pk, title=WALKED).exists(),
        applies=lambda o: o.status == SituationReport.Status.DRAFT,
    ),
    _sitrep_action("submit a draft report", "submit/", sitrep_policy.may_submit, flag="submit", status="draft",
                   done=_status_is("review")),
    # Whoever sees a report in review works on it, and returns it.
    _sitrep_action("return a report to draft", "return/", sitrep_policy.may_return, flag="return_to_draft",
                   status="review", done=_status_is("draft"), for_every_viewer=True),
    _sitrep_action("publish a report", "publish/", sitrep_policy.may_publish, flag="publish", status="review",
                   done=_status_is("published")),
    _sitrep_action("correct a published report", "correct/", sitrep_policy.may_correct, flag="correct",
                   status="published", done=lambda o: SituationReport.objects.filter(corrects_id=o.pk).exists()),
    Capability(
        # Whoever reads a report, in any state, downloads their version of it as PDF, from the page and the API;
        # anyone else gets the 404 of a missing report from both.
        "download a report's PDF", "sitrep", _sees_sitrep,
        markers=lambda o: [(f"/awareness/sitreps/{o.pk}/", f'href="/awareness/sitreps/{o.pk}/pdf/"')],
        page=lambda c, o, u: c.get(f"/awareness/sitreps/{o.pk}/pdf/"),
        api=lambda c, o, u: c.get(f"/api/v1/sitreps/{o.pk}/pdf/"),
        api_shown=lambda data: data["links"]["pdf"] == f"/api/v1/sitreps/{data['id']}/pdf/",
        done=None, for_every_viewer=True, served=_is_the_reports_pdf,
    ),
]


# Public warnings (awareness.policy.warnings).

def _warning_caps(user, warning) -> warning_policy.WarningCapabilities:
    return warning_policy.warning_capabilities(user, warning, participations=participations_of(warning),
                                               now=timezone.now())


def _answering_state(user, warning) -> str:
    """The concerned state the person answers for ('' when none: the service then looks for one)."""
    seats = warning_policy.authority_seats(user)
    return next((p.member_state.code for p in participations_of(warning) if p.member_state_id in seats), "")


def _warning_action(name: str, tail: str, flag: str, form: Callable, body: Callable, *, statuses, done,
                    for_every_viewer: bool = False) -> Capability:
    return Capability(
        name, "warning", lambda u, o: getattr(_warning_caps(u, o), flag),
        markers=lambda o: [(f"/awareness/warnings/{o.pk}/", f'action="/awareness/warnings/{o.pk}/{tail}"')],
        page=lambda c, o, u: c.post(f"/awareness/warnings/{o.pk}/{tail}", form()),
        api=lambda c, o, u: _json(c, "post", f"/api/v1/warnings/{o.pk}/{tail}", body()),
        api_shown=lambda data: flag in data["actions"],
        done=done, applies=lambda o: o.status in statuses, for_every_viewer=for_every_viewer,
    )


def _warning_is(**fields) -> Callable:
    return lambda o: PublicWarning.objects.filter(pk=o.pk, **fields).exists()


# Released and withdrawn, a warning is closed: every action is refused there, to its drafter too.
CLOSED = (PublicWarning.Status.RELEASED, PublicWarning.Status.WITHDRAWN)


WARNING_CAPABILITIES = [
    Capability(
        "draft a public warning", "incident", lambda u, o: bool(warning_policy.drafting_organisation_ids(u, o)),
        markers=lambda o: [(page, f'href="/awareness/warnings/new/?incident={o.pk}"')
                           for page in ("/awareness/warnings/", f"/incidents/{o.pk}/")],
        page=lambda c, o, u: c.post("/awareness/warnings/new/", {"incident": o.pk, "title": WALKED}),
        api=lambda c, o, u: _json(c, "post", "/api/v1/warnings/", {"incident": o.pk, "title": WALKED}),
        done=lambda o: PublicWarning.objects.filter(incident_id=o.pk, title=WALKED).exists(),
        applies=lambda o: warning_policy.is_cross_border(affected_count=o.affected_member_states.count(),
                                                         cross_border_impact=o.cross_border_impact),
    ),
    Capability(
        "edit a warning", "warning", lambda u, o: _warning_caps(u, o).edit,
        markers=lambda o: [(f"/awareness/warnings/{o.pk}/", f'href="/awareness/warnings/{o.pk}/edit/"')],
        page=lambda c, o, u: c.post(f"/awareness/warnings/{o.pk}/edit/", {
            "title": WALKED, "body": o.body, "recommendations": o.recommendations,
            "facts": list(o.facts.values_list("key", flat=True))}),
        api=lambda c, o, u: _json(c, "patch", f"/api/v1/warnings/{o.pk}/", {"title": WALKED}),
        api_shown=lambda data: "edit" in data["actions"],
        # Editable while draft, circulated or scheduled (its rule is the same in each): walked in the first and last.
        done=_warning_is(title=WALKED), applies=lambda o: o.status in ("draft", "scheduled", *CLOSED),
    ),
    # Only its drafting organisation sees a draft, and circulates it; a closed warning is circulated no more.
    _warning_action("circulate a warning", "circulate/", "circulate",
                    lambda: {"response_deadline": _local(timedelta(days=3))},
                    lambda: {"response_deadline": _iso(timedelta(days=3))},
                    statuses=("draft", *CLOSED), done=_warning_is(status="circulated")),
    _warning_action("schedule a warning's release", "schedule/", "schedule",
                    lambda: {"publish_at": _local(timedelta(days=5))}, lambda: {"publish_at": _iso(timedelta(days=5))},
                    statuses=("circulated", "scheduled", *CLOSED),
                    done=lambda o: PublicWarning.objects.filter(
                        pk=o.pk, status="scheduled", publish_at__gt=timezone.now() + timedelta(days=4)).exists()),
    # Withdrawn before release, by the same rule in each state: walked once circulated; never once closed.
    _warning_action("withdraw a warning", "withdraw/", "withdraw", lambda: {"reason": WALKED},
                    lambda: {"reason": WALKED}, statuses=("circulated", *CLOSED),
                    done=lambda o: PublicWarning.objects.filter(pk=o.pk, status="withdrawn").exclude(
                        updated_at=o.updated_at).exists()),
    Capability(
        "answer a warning for one's state", "warning", lambda u, o: _warning_caps(u, o).respond,
        markers=lambda o: [(f"/awareness/warnings/{o.pk}/", f'action="/awareness/warnings/{o.pk}/respond/"')],
        page=lambda c, o, u: c.post(f"/awareness/warnings/{o.pk}/respond/", {
            "response": "agreed", "member_state": _answering_state(u, o), "comment": WALKED}),
        api=lambda c, o, u: _json(c, "post", f"/api/v1/warnings/{o.pk}/respond/", {
            "response": "agreed", "comment": WALKED,
            **({"member_state": code} if (code := _answering_state(u, o)) else {})}),
        api_shown=lambda data: "respond" in data["actions"],
        done=lambda o: WarningParticipation.objects.filter(warning_id=o.pk, comment=WALKED).exists(),
        applies=lambda o: o.status in (*warning_policy.ANSWERABLE, *CLOSED),
    ),
]


# Incident reviews (awareness.policy.reviews).

def _review_state(user, review) -> str:
    """The concerned state the person speaks for, else DE (which a person who speaks for none may not answer for)."""
    mine = review_policy.authority_states(user)
    return next((a.member_state.code for a in review.agreements.all() if a.member_state_id in mine), "DE")


def _stage(review) -> str:
    """The review's state, the comment window told apart: comments awaited, or every comment in (the world has
    one review with none and one with all)."""
    if review.state == IncidentReview.State.COMMENTS:
        return "comments in" if review.comments.exists() else "comments awaited"
    return review.state


def _review_action(name: str, tail: str, flag: str, *, api_tail: str = "", form=None, body=None, stages: tuple,
                   done: Callable) -> Capability:
    def allowed(user, review):
        value = getattr(review_policy.actions_for(user, review), flag)
        return bool(value)

    return Capability(
        name, "review", allowed,
        markers=lambda o: [(f"/awareness/reviews/{o.pk}/", f'action="/awareness/reviews/{o.pk}/{tail}"')],
        page=lambda c, o, u: c.post(f"/awareness/reviews/{o.pk}/{tail}", form(u, o) if form else {}),
        api=lambda c, o, u: _json(c, "post", f"/api/v1/reviews/{o.pk}/{api_tail or tail}", body(u, o) if body else {}),
        api_shown=lambda data: flag.removesuffix("_for") in data["actions"],
        done=done, applies=lambda o: _stage(o) in stages,
    )


def _review_is(state: str) -> Callable:
    return lambda o: IncidentReview.objects.filter(pk=o.pk, state=state).exists()


def _readable_source(user, review) -> bool:
    try:
        lesson_policy.readable_source(user, "incident_review", review.pk)
    except Http404:
        return False
    return True


REVIEW_CAPABILITIES = [
    Capability(
        "request an incident review", "incident", lambda u, o: review_policy.requester_body(u) is not None,
        markers=lambda o: [(f"/incidents/{o.pk}/", f'href="/awareness/reviews/request/{o.pk}/"')],
        page=lambda c, o, u: c.post(f"/awareness/reviews/request/{o.pk}/", {"reason": WALKED}),
        api=lambda c, o, u: _json(c, "post", "/api/v1/reviews/", {"incident": o.pk, "reason": WALKED}),
        done=lambda o: IncidentReview.objects.filter(incident_id=o.pk, reason=WALKED).exists(),
        applies=lambda o: (review_policy.is_significant_or_large_scale(o)
                           and not IncidentReview.objects.filter(incident_id=o.pk).exists()),
    ),
    _review_action("answer a review request", "answer/", "answer_for", api_tail="agreement/",
                   form=lambda u, o: {"member_state": _review_state(u, o), "agree": "yes", "note": WALKED},
                   body=lambda u, o: {"member_state": _review_state(u, o), "agree": True, "note": WALKED},
                   stages=("agreement",),
                   done=lambda o: ReviewAgreement.objects.filter(review_id=o.pk, note=WALKED).exists()),
    # Drafting goes on while the comments come (the same rule): walked while drafted.
    _review_action("add a section to the draft", "sections/", "draft",
                   form=lambda u, o: {"kind": "lessons", "text": WALKED},
                   body=lambda u, o: {"kind": "lessons", "text": WALKED}, stages=("drafting",),
                   done=lambda o: ReviewSection.objects.filter(review_id=o.pk, text=WALKED).exists()),
    _review_action("send the draft for comments", "circulate/", "circulate", stages=("drafting",),
                   done=_review_is("comments")),
    _review_action("comment on the draft", "comment/", "comment_for", api_tail="comments/",
                   form=lambda u, o: {"member_state": _review_state(u, o), "text": WALKED},
                   body=lambda u, o: {"member_state": _review_state(u, o), "text": WALKED},
                   stages=("comments awaited",),
                   done=lambda o: ReviewComment.objects.filter(review_id=o.pk, text=WALKED).exists()),
    _review_action("deliver the report", "deliver/", "deliver", stages=("comments awaited", "comments in"),
                   done=_review_is("delivered")),
    Capability(
        # Reading the report's sections: on the page (its comments heading and the PDF link), in the API's
        # ``report``, and the PDF itself. Walked where its readers change: the states that agreed read from the
        # draft on, the requester once delivered (ENISA always).
        "read the review's report", "review", review_policy.may_read_sections,
        markers=lambda o: [(f"/awareness/reviews/{o.pk}/", "<h3>Comments of the states concerned</h3>"),
                           (f"/awareness/reviews/{o.pk}/", f'href="/awareness/reviews/{o.pk}/pdf/"')],
        page=lambda c, o, u: c.get(f"/awareness/reviews/{o.pk}/pdf/"),
        api_shown=lambda data: data["report"] is not None,
        done=None, applies=lambda o: _stage(o) in ("drafting", "delivered"),
    ),
]


# Lessons (awareness.policy.lessons).

def _lesson_proposal(name: str, kind: str, source_kind: str, *, markers: Callable, **rules) -> Capability:
    """Proposing a lesson from a source of ``kind``: the form of ``/awareness/lessons/new/`` and the API's POST."""
    def form(o):
        return {"source_kind": source_kind, "source_id": str(o.pk), "target": "other", "rationale": WALKED}

    return Capability(
        name, kind, lambda u, o: lesson_policy.proposing_organisation(u) is not None, markers=markers,
        page=lambda c, o, u: c.post("/awareness/lessons/new/", form(o)),
        api=lambda c, o, u: _json(c, "post", "/api/v1/lessons/", form(o)),
        done=lambda o: LessonProposal.objects.filter(rationale=WALKED).exists(), **rules,
    )


LESSON_CAPABILITIES = [
    _lesson_proposal(
        "propose a lesson from a review", "review", "incident_review",
        markers=lambda o: [(f"/awareness/reviews/{o.pk}/",
                            f'href="/awareness/lessons/new/?source_kind=incident_review&amp;source_id={o.pk}"')],
        applies=lambda o: o.state == IncidentReview.State.DELIVERED,
        visible=_readable_source,  # the source: a delivered review whose report the person reads
        for_every_viewer=True,  # its readers are all authorities, ENISA or the Commission: the proposers
    ),
    _lesson_proposal(
        # A draft teaches nothing yet: it is no source even for those who read it (404, as a missing source),
        # and its page offers no link.
        "propose a lesson from a situation report", "sitrep", "situation_report",
        markers=lambda o: [(f"/awareness/sitreps/{o.pk}/",
                            f'href="/awareness/lessons/new/?source_kind=situation_report&amp;source_id={o.pk}"')],
        visible=lambda u, o: o.status == SituationReport.Status.PUBLISHED and _sees_sitrep(u, o),
        for_every_viewer=True,  # its audience are authorities and ENISA: the proposers
    ),
    Capability(
        "decide on a lesson", "lesson",
        lambda u, o: lesson_policy.may_decide(u) and o.state == LessonProposal.State.PROPOSED,
        markers=lambda o: [(f"/awareness/lessons/{o.pk}/", f'action="/awareness/lessons/{o.pk}/decide/"')],
        page=lambda c, o, u: c.post(f"/awareness/lessons/{o.pk}/decide/", {"accept": "yes", "reason": WALKED}),
        api=lambda c, o, u: _json(c, "post", f"/api/v1/lessons/{o.pk}/decision/", {"accept": True, "reason": WALKED}),
        done=lambda o: LessonProposal.objects.filter(pk=o.pk, decision_reason=WALKED).exists(),
    ),
    Capability(
        # Not about one lesson: the accepted one waiting is what makes the draft buildable.
        "build the next Blueprint draft", "lesson", lambda u, o: lesson_policy.may_build_draft(u),
        markers=lambda o: [("/awareness/lessons/", 'action="/awareness/lessons/blueprint-draft/"')],
        page=lambda c, o, u: c.post("/awareness/lessons/blueprint-draft/", {"title": WALKED}),
        api=lambda c, o, u: _json(c, "post", "/api/v1/lessons/blueprint-draft/", {"title": WALKED}),
        done=lambda o: Blueprint.objects.filter(title=WALKED).exists(),
        applies=lambda o: o.state == LessonProposal.State.ACCEPTED and o.answered_in_id is None,
        visible=lambda u, o: True,
    ),
]

CAPABILITIES = SITREP_CAPABILITIES + WARNING_CAPABILITIES + REVIEW_CAPABILITIES + LESSON_CAPABILITIES


# --- The walk -----------------------------------------------------------------------------------------------------


LIST_PAGES = {kind.list_page for kind in KINDS.values() if kind.list_page}


@pytest.fixture(scope="module")
def lists():
    """Each person's list pages, fetched once for the module: every test starts from the same world."""
    return {who: {} for who in PERSONS}


class Browser:
    """What one person meets by GET in one test, each URL fetched once (actions are rolled back, pages stay)."""

    def __init__(self, client, lists: dict):
        self.client, self.fetched, self.lists = client, {}, lists

    def get(self, url: str):
        fetched = self.lists if url in LIST_PAGES else self.fetched
        if url not in fetched:
            fetched[url] = self.client.get(url)
        return fetched[url]

    def html(self, url: str) -> str:
        response = self.get(url)
        return response.content.decode() if response.status_code == 200 else ""


def _attempt(call, done) -> tuple:
    """Run one action and roll it back; whether its write was there (None for a read) is read before the rollback."""
    with transaction.atomic():
        response = call()
        written = None if done is None else (not connection.needs_rollback and done())
        transaction.set_rollback(True)
    return response, written


def _succeeded(capability: Capability, obj, response, written) -> bool:
    """A 2xx or redirect with its write there; for a read that says what it serves, that very thing."""
    return (200 <= response.status_code < 400 and written is not False
            and (capability.served is None or capability.served(response, obj)))


def _refused_properly(response, *, api: bool) -> bool:
    """A refusal: 403 or the form's error (400, or the page again after a redirect naming it); nothing written."""
    return response.status_code in ((400, 403) if api else (302, 400, 403))


def _disagreements(capability: Capability, who: str, user, browser: Browser, obj, object_seen: bool) -> list[str]:
    where = f"{who} · {capability.name}"
    client = browser.client
    visible = capability.visible(user, obj) if capability.visible else object_seen
    shown = [marker in browser.html(page) for page, marker in capability.markers(obj)]
    if capability.api_shown and (api_object := browser.get(KINDS[capability.kind].api(obj))).status_code == 200:
        shown.append(bool(capability.api_shown(api_object.json())))
    done = capability.done and (lambda: capability.done(obj))
    page, page_wrote = _attempt(lambda: capability.page(client, obj, user), done)
    api, api_wrote = _attempt(lambda: capability.api(client, obj, user), done) if capability.api else (None, None)
    codes = f"page {page.status_code}" + (f", API {api.status_code}" if api is not None else "")
    if not visible:
        if page.status_code != 404 or (api is not None and api.status_code != 404) or any(shown):
            return [f"{where}: may not see it, but {codes}, buttons {shown} (want 404 on both, no button)"]
        return []
    allowed = capability.allowed(user, obj)
    answers = {"policy": allowed, "page": _succeeded(capability, obj, page, page_wrote)}
    answers.update({f"button {i + 1}": s for i, s in enumerate(shown)})
    if api is not None:
        answers["API"] = _succeeded(capability, obj, api, api_wrote)
    found = []
    if len(set(answers.values())) > 1:
        found.append(f"{where}: {answers} ({codes})")
    if not allowed and (page_wrote or api_wrote):
        found.append(f"{where}: refused, yet written ({codes})")
    elif not allowed and not (_refused_properly(page, api=False) and (api is None or _refused_properly(api, api=True))):
        found.append(f"{where}: refused with {codes} (want 403 or the form's error)")
    return found


@pytest.mark.parametrize("name", list(OBJECTS))
def test_buttons_pages_api_and_policy_agree_for_every_person(world, lists, name):
    kind, obj = KINDS[OBJECTS[name]], world["objects"][name]
    capabilities = [c for c in CAPABILITIES if c.kind == OBJECTS[name] and c.applies(obj)]
    disagreements = []
    for who in PERSONS:
        user, browser = world["people"][who], Browser(world["clients"][who], lists[who])
        seen = kind.visible(user, obj)
        want = 200 if seen else 404
        statuses = [browser.get(url).status_code for url in (kind.page(obj), kind.api and kind.api(obj)) if url]
        if set(statuses) != {want}:
            disagreements.append(f"{who}: {'sees' if seen else 'may not see'} it, yet {statuses}")
        for capability in capabilities:
            disagreements += _disagreements(capability, who, user, browser, obj, seen)
    assert not disagreements, "\n".join(disagreements)


def _api_listed(client, kind) -> tuple[set, int]:
    """The ids the kind's list API returns to ``client`` (none unless it answers 200), and its status."""
    api = client.get(kind.list_api)
    return ({row["id"] for row in api.json()["results"]} if api.status_code == 200 else set()), api.status_code


@pytest.mark.parametrize("kind_name", [k for k, kind in KINDS.items() if kind.list_page])
def test_the_lists_show_exactly_what_the_person_may_see(world, lists, kind_name):
    """The list page links, and the list API returns, every object of the kind the person sees and no other."""
    kind = KINDS[kind_name]
    objects = [obj for name, obj in world["objects"].items() if OBJECTS[name] == kind_name]
    leaks = []
    for who in PERSONS:
        user, client = world["people"][who], world["clients"][who]
        browser = Browser(client, lists[who])
        page, html = browser.get(kind.list_page), browser.html(kind.list_page)
        listed, api_status = _api_listed(client, kind)
        for obj in objects:
            seen = kind.visible(user, obj)
            on_page, in_api = f'href="{kind.page(obj)}"' in html, obj.pk in listed
            if (on_page, in_api) != (seen, seen):
                leaks.append(f"{who} · {kind_name} {obj.pk}: sees it {seen}, listed on the page {on_page} "
                             f"(page {page.status_code}), by the API {in_api} (API {api_status})")
    assert not leaks, "\n".join(leaks)


def _meetings(world, capability: Capability):
    """(user, obj, whether the user sees what the capability acts on) for each person and object it applies to."""
    for name, obj in world["objects"].items():
        if OBJECTS[name] != capability.kind or not capability.applies(obj):
            continue
        for who in PERSONS:
            user = world["people"][who]
            yield user, obj, (capability.visible or KINDS[capability.kind].visible)(user, obj)


def test_every_capability_is_granted_to_someone_and_refused_to_someone(world):
    """A control: the walk is not vacuous (each capability has a yes and a no among those who see its object)."""
    for capability in CAPABILITIES:
        answers = {bool(capability.allowed(user, obj)) for user, obj, seen in _meetings(world, capability) if seen}
        assert answers == ({True} if capability.for_every_viewer else {True, False}), capability.name


def test_every_read_is_served_to_someone_and_is_a_404_to_someone(world):
    """A control: each thing the walk downloads (a report's PDF, a review's report) is served to some person, who
    must get the thing itself, and is missing for another, who must get the 404."""
    for capability in [c for c in CAPABILITIES if c.done is None]:
        met = {(seen, seen and bool(capability.allowed(user, obj))) for user, obj, seen in _meetings(world, capability)}
        assert (True, True) in met and (False, False) in met, capability.name


# Sources of lessons the world holds; a Reserve summary report ("reserve_after_action") needs the Reserve's own
# world (tests/reserve/conftest.py) and is walked by its product's tests, not here.
LESSON_SOURCES = {"incident_review", "situation_report", "exercise_evaluation"}


def test_the_world_holds_every_state_of_a_warning_and_lessons_of_each_source(world):
    """A control: the walks meet a warning in each state (released and withdrawn too) and a lesson from each kind
    of source, each seen by some person and not by another."""
    states, sources = set(), set()
    for name, obj in world["objects"].items():
        if OBJECTS[name] not in ("warning", "lesson"):
            continue
        seen = {KINDS[OBJECTS[name]].visible(world["people"][who], obj) for who in PERSONS}
        assert seen == {True, False}, name
        states |= {obj.status} if OBJECTS[name] == "warning" else set()
        sources |= {obj.source_kind} if OBJECTS[name] == "lesson" else set()
    assert states == set(PublicWarning.Status.values)
    assert sources == LESSON_SOURCES and LESSON_SOURCES <= set(lesson_policy.source_kinds())


# --- API tokens: an organisation's tooling reads and acts as the policy says for the token's principal -------------

TOKEN_ORGANISATIONS = ["de-csirt", "de-authority", "fr-csirt", "pt-csirt", "ie-authority", "enisa", "ec",
                       "provider-acme"]


@pytest.fixture
def tokens(world):
    """A read-write token of each organisation (issued in the test's savepoint): principal and client."""
    from django.test import Client

    from liaison import services as liaison_services

    issued = {}
    for code in TOKEN_ORGANISATIONS:
        token, raw = liaison_services.issue_api_token(actor=None, organisation=world["orgs"][code], name="walk",
                                                      scopes="read,write")
        issued[code] = (token.principal, Client(headers={"Authorization": f"Bearer {raw}"}))
    return issued


@pytest.mark.parametrize("name", [n for n in OBJECTS if KINDS[OBJECTS[n]].api])
def test_tokens_read_and_act_exactly_as_the_policy_says_for_their_organisation(world, tokens, name):
    """The API object is a 200 iff the policy lets the token's principal see it (404 otherwise, on every action
    too); each API action succeeds iff the policy allows it, and is otherwise refused with nothing written."""
    kind, obj = KINDS[OBJECTS[name]], world["objects"][name]
    capabilities = [c for c in CAPABILITIES if c.kind == OBJECTS[name] and c.applies(obj) and c.api]
    disagreements = []
    for code, (principal, client) in tokens.items():
        seen = kind.visible(principal, obj)
        got = client.get(kind.api(obj)).status_code
        if got != (200 if seen else 404):
            disagreements.append(f"token of {code}: {'sees' if seen else 'may not see'} it, yet API {got}")
        for capability in capabilities:
            where = f"token of {code} · {capability.name}"
            visible = capability.visible(principal, obj) if capability.visible else seen
            done = capability.done and (lambda c=capability: c.done(obj))
            api, wrote = _attempt(lambda c=capability, cl=client: c.api(cl, obj, principal), done)
            if not visible:
                if api.status_code != 404:
                    disagreements.append(f"{where}: may not see it, yet API {api.status_code} (want 404)")
                continue
            allowed = bool(capability.allowed(principal, obj))
            if _succeeded(capability, obj, api, wrote) != allowed:
                disagreements.append(f"{where}: policy {allowed}, API {api.status_code} (written: {wrote})")
            elif not allowed and (wrote or not _refused_properly(api, api=True)):
                disagreements.append(f"{where}: refused with {api.status_code}, written: {wrote} (want 403/400)")
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("kind_name", [k for k, kind in KINDS.items() if kind.list_api])
def test_a_tokens_lists_hold_exactly_what_its_organisation_may_see(world, tokens, kind_name):
    kind = KINDS[kind_name]
    objects = [obj for name, obj in world["objects"].items() if OBJECTS[name] == kind_name]
    leaks = []
    for code, (principal, client) in tokens.items():
        listed, api_status = _api_listed(client, kind)
        for obj in objects:
            if (obj.pk in listed) != kind.visible(principal, obj):
                leaks.append(f"token of {code} · {kind_name} {obj.pk}: sees it {kind.visible(principal, obj)}, "
                             f"listed {obj.pk in listed} (API {api_status})")
    assert not leaks, "\n".join(leaks)


def test_the_token_walk_is_not_vacuous(world, tokens):
    """A control: among the tokens some see an object and some do not, and some API action is allowed to a token
    and some refused to one that sees its object."""
    seen, allowed = set(), set()
    for name, obj in world["objects"].items():
        kind = KINDS[OBJECTS[name]]
        for principal, _client in tokens.values():
            visible = kind.visible(principal, obj)
            seen.add(visible)
            allowed |= {bool(c.allowed(principal, obj)) for c in CAPABILITIES
                        if visible and c.kind == OBJECTS[name] and c.api and c.applies(obj) and not c.visible}
    assert seen == {True, False} and allowed == {True, False}
