"""Who may draft, edit, submit, return, publish, correct and read a situation report.

The body in charge drafts: at level 2 the EU-CyCLONe chair (the Council Presidency's crisis
management authority, ``incidents.bodies``) or ENISA as EU-CyCLONe's secretariat; at level 3
the Presidency's crisis authority. Within those organisations a crisis manager or liaison
officer acts. Four eyes: the person who publishes is neither the one who drafted the report nor
the one who submitted it. Every predicate here assumes the caller already checked that the
person sees the report's primary incident (``awareness.selectors.sitreps``); services and
selectors do.
"""

from dataclasses import dataclass

from incidents import bodies
from incidents import policy as incident_policy
from incidents.models import Incident
from liaison.models import Organisation
from liaison.policy import acting_memberships
from liaison.roles import OrganisationKind

DRAFTING_ROLES = frozenset({"crisis_manager", "liaison_officer"})
LEVEL_BODIES = {2: ("eu_cyclone_chair",), 3: ("eu_cyclone_chair",)}
# ENISA, as EU-CyCLONe's secretariat, drafts at level 2 only.
SECRETARIAT_LEVELS = frozenset({2})
MIN_LEVEL = 2


def drafting_bodies_sentence(level: int) -> str:
    text = bodies.describe(LEVEL_BODIES.get(level, ()))
    return f"{text} or ENISA as its secretariat" if level in SECRETARIAT_LEVELS else text


def acts_for_drafting_body(user, incident: Incident, level: int, *, seats=None, presidency=None) -> bool:
    """A crisis manager or liaison officer of a body that drafts this level's reports on this incident."""
    if level < MIN_LEVEL or not getattr(user, "is_authenticated", False):
        return False
    seats = incident_policy.seats_of(user) if seats is None else seats
    if level in SECRETARIAT_LEVELS and any(s.kind == OrganisationKind.ENISA and s.role in DRAFTING_ROLES for s in seats):
        return True
    presidency = incident_policy.presidency_state_id() if presidency is None else presidency
    return bodies.holds(seats, LEVEL_BODIES.get(level, ()), DRAFTING_ROLES,
                        reporting_state_id=incident.reporting_organisation.member_state_id,
                        presidency_state_id=presidency)


def drafting_organisations(incident: Incident, level: int) -> list[Organisation]:
    """The organisations whose people draft this level's reports (their groups are told of drafts and clocks)."""
    presidency = incident_policy.presidency_state_id()
    orgs = list(Organisation.objects.filter(is_active=True, kind=OrganisationKind.CRISIS_AUTHORITY,
                                            member_state_id=presidency)) if presidency else []
    if level in SECRETARIAT_LEVELS:
        orgs += list(Organisation.objects.filter(is_active=True, kind=OrganisationKind.ENISA))
    return orgs


def drafting_organisation_of(user, incident: Incident, level: int) -> Organisation | None:
    """The organisation the person drafts for (the first of theirs that is a drafting body)."""
    allowed = {o.pk for o in drafting_organisations(incident, level)}
    membership = (acting_memberships(user).filter(organisation_id__in=allowed, role__in=DRAFTING_ROLES)
                  .select_related("organisation").order_by("id").first())
    return membership.organisation if membership else None


def may_draft(user, incident: Incident) -> bool:
    return incident.crisis_level >= MIN_LEVEL and acts_for_drafting_body(user, incident, incident.crisis_level)


def _in_author_organisation(user, report) -> bool:
    return getattr(user, "is_authenticated", False) and acting_memberships(user).filter(
        organisation_id=report.author_organisation_id, role__in=DRAFTING_ROLES).exists()


def may_work_on(user, report) -> bool:
    """Sees drafts and reviews: the author's organisation and the bodies that draft at the report's level."""
    return _in_author_organisation(user, report) or acts_for_drafting_body(user, report.incident, report.level)


def drafting_body_work(user, reports) -> list[int]:
    """The ids of ``reports`` the person works on as a body that drafts at their level: ``may_work_on`` for many
    reports, without its author-organisation half (a selector tests that in SQL). The person's seats and the
    Presidency are read once, not once per report."""
    seats, presidency = incident_policy.seats_of(user), incident_policy.presidency_state_id()
    return [report.pk for report in reports
            if acts_for_drafting_body(user, report.incident, report.level, seats=seats, presidency=presidency)]


def may_edit(user, report) -> bool:
    """A draft is edited (and submitted) by the drafting people of its author's organisation."""
    return report.status == report.Status.DRAFT and _in_author_organisation(user, report)


def may_submit(user, report) -> bool:
    return may_edit(user, report)


def may_return(user, report) -> bool:
    return report.status == report.Status.REVIEW and may_work_on(user, report)


def is_four_eyes(user, report) -> bool:
    """The publisher is another person than the one who drafted and the one who submitted it."""
    return user.pk not in {report.author_id, report.submitted_by_id}


def may_publish(user, report) -> bool:
    return (report.status == report.Status.REVIEW and is_four_eyes(user, report)
            and acts_for_drafting_body(user, report.incident, report.level))


def may_correct(user, report) -> bool:
    return (report.status == report.Status.PUBLISHED and report.superseded_at is None
            and acts_for_drafting_body(user, report.incident, report.level))


def in_audience(user, report) -> bool:
    return getattr(user, "is_authenticated", False) and user.groups.filter(name__in=report.audience).exists()


@dataclass(frozen=True)
class Capabilities:
    edit: bool = False
    submit: bool = False
    return_to_draft: bool = False
    publish: bool = False
    correct: bool = False
    work_on: bool = False
    # Why publishing is refused to this person while the report waits in review (four eyes), else "".
    publish_refusal: str = ""


def capabilities(user, report) -> Capabilities:
    work_on = may_work_on(user, report)
    publish = may_publish(user, report)
    refusal = ""
    if report.status == report.Status.REVIEW and not publish and work_on and not is_four_eyes(user, report):
        refusal = "Another person must publish it: you drafted or submitted this report (four eyes)."
    return Capabilities(edit=may_edit(user, report), submit=may_submit(user, report),
                        return_to_draft=may_return(user, report), publish=publish, correct=may_correct(user, report),
                        work_on=work_on, publish_refusal=refusal)


def may_draft_any(user) -> bool:
    """For the menu: a drafting seat of some level (ENISA, or the Presidency's crisis authority)."""
    if not getattr(user, "is_authenticated", False):
        return False
    seats = incident_policy.seats_of(user)
    if any(s.kind == OrganisationKind.ENISA and s.role in DRAFTING_ROLES for s in seats):
        return True
    presidency = incident_policy.presidency_state_id()
    return any(s.kind == OrganisationKind.CRISIS_AUTHORITY and s.member_state_id == presidency
               and s.role in DRAFTING_ROLES for s in seats)
