"""Who may see or do what with an incident review (CSoA Art. 21).

- **Request**: the Commission (an organisation of kind commission, decision-maker or crisis
  manager) or EU-CyCLONe, speaking through its chair (the crisis management authority of
  the member state holding the Council Presidency, crisis manager or liaison officer;
  ``incidents.bodies``: ``eu_cyclone_chair``), on an incident they see that is significant
  (NIS2 Art. 23(3): stated significant, or not stated — the portal's one reading) or
  large-scale (crisis level 2 or above: the Blueprint's "large-scale cybersecurity incident").
- **Agree, refuse, comment**: a state concerned (an affected member state of the incident)
  answers and comments through its authorities: its national CSIRT, crisis management
  authority or SPOC (analyst, crisis manager, liaison officer, organisation admin).
- **Draft and deliver**: ENISA's staff (analyst, crisis manager, ENISA triage, decision-maker); the draft goes to
  the states once every part is written (``missing_parts``), delivery once
  the comments are in (``comments_are_in``: every state that agreed commented, or the comment deadline passed).
- **See the review**: the requesting organisation, ENISA, the authorities of every state concerned.
- **Read the report's sections**: ENISA always; the states that agreed from the draft on; the
  requester once delivered. A confidential section only its source state and ENISA
  ("confidential parts stay with their sources"): everyone else is told a part was left out, never what.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from incidents import bodies
from incidents.policy import presidency_state_id, seats_of
from liaison.policy import acting_memberships
from liaison.roles import OrganisationKind, Role

# The clocks (days): the states answer within AGREEMENT_DAYS of the request, ENISA circulates its draft within
# DRAFTING_DAYS of the agreement, the states comment within COMMENT_DAYS of the circulation.
AGREEMENT_DAYS, DRAFTING_DAYS, COMMENT_DAYS = 5, 30, 10
REMINDER_BEFORE = {"agreement": timedelta(days=1), "drafting": timedelta(days=5), "comments": timedelta(days=2)}
DUE_AFTER = {"agreement": timedelta(days=AGREEMENT_DAYS), "drafting": timedelta(days=DRAFTING_DAYS),
             "comments": timedelta(days=COMMENT_DAYS)}

COMMISSION_ROLES = frozenset({Role.DECISION_MAKER, Role.CRISIS_MANAGER})
CHAIR_ROLES = frozenset({Role.CRISIS_MANAGER, Role.LIAISON_OFFICER})
STATE_AUTHORITY_KINDS = frozenset({OrganisationKind.NATIONAL_CSIRT, OrganisationKind.CRISIS_AUTHORITY,
                                   OrganisationKind.SPOC})
STATE_ROLES = frozenset({Role.ANALYST, Role.CRISIS_MANAGER, Role.LIAISON_OFFICER, Role.ORG_ADMIN})
ENISA_ROLES = frozenset({Role.ANALYST, Role.CRISIS_MANAGER, Role.ENISA_TRIAGE, Role.DECISION_MAKER})

WHO_REQUESTS = ("the Commission (decision-maker, crisis manager) or EU-CyCLONe through its chair (the Council "
                "Presidency's crisis management authority)")


def memberships_of(user) -> list:
    """The person's memberships of active organisations, read afresh (a live connection's person may lose one)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(acting_memberships(user).select_related("organisation__member_state"))


def requester_body(user) -> tuple[str, object] | None:
    """("commission" | "eu_cyclone", the organisation it acts through), or None: the person may not request."""
    for m in memberships_of(user):
        if m.organisation.kind == OrganisationKind.COMMISSION and m.role in COMMISSION_ROLES:
            return "commission", m.organisation
    seats = seats_of(user)
    if seats and bodies.holds(seats, ["eu_cyclone_chair"], CHAIR_ROLES, reporting_state_id=None,
                              presidency_state_id=presidency_state_id()):
        presidency = presidency_state_id()
        for m in memberships_of(user):
            if (m.organisation.kind == OrganisationKind.CRISIS_AUTHORITY and m.role in CHAIR_ROLES
                    and m.organisation.member_state_id == presidency):
                return "eu_cyclone", m.organisation
    return None


def is_significant_or_large_scale(incident) -> bool:
    """CSoA Art. 21: a significant incident (NIS2 Art. 23(3)) or a large-scale one (level 2 and above)."""
    return incident.carries_clocks or incident.crisis_level >= 2


def is_enisa_staff(user) -> bool:
    return any(m.organisation.kind == OrganisationKind.ENISA and m.role in ENISA_ROLES for m in memberships_of(user))


def is_enisa(user) -> bool:
    """Any member of ENISA: ENISA sees every review."""
    return any(m.organisation.kind == OrganisationKind.ENISA for m in memberships_of(user))


def authority_states(user) -> dict[int, object]:
    """The member states whose authorities the person acts for: state id -> their organisation there."""
    found = {}
    for m in memberships_of(user):
        org = m.organisation
        if org.kind in STATE_AUTHORITY_KINDS and m.role in STATE_ROLES and org.member_state_id:
            found.setdefault(org.member_state_id, org)
    return found


def reader_state_ids(user) -> set[int]:
    """States whose authorities the person belongs to (whatever the role): what they read as that state."""
    return {m.organisation.member_state_id for m in memberships_of(user)
            if m.organisation.kind in STATE_AUTHORITY_KINDS and m.organisation.member_state_id}


def is_requester(user, review) -> bool:
    return any(m.organisation_id == review.requester_organisation_id for m in memberships_of(user))


# --- Reading the report's sections -------------------------------------------------------------------


def agreed_state_ids(review) -> set[int]:
    return {a.member_state_id for a in review.agreements.all() if a.answer == "agreed"}


def may_read_sections(user, review) -> bool:
    """Who reads the (non-confidential) report: ENISA; the states that agreed; the requester once delivered."""
    if is_enisa(user):
        return True
    if review.state == review.State.DELIVERED and is_requester(user, review):
        return True
    return review.state in (review.State.DRAFTING, review.State.COMMENTS, review.State.DELIVERED) and bool(
        reader_state_ids(user) & agreed_state_ids(review))


def may_read_section(user, section, *, review=None) -> bool:
    """A confidential part stays with its source: its state's authorities and ENISA."""
    review = review or section.review
    if not may_read_sections(user, review):
        return False
    if not section.confidential:
        return True
    return is_enisa(user) or section.source_state_id in reader_state_ids(user)


# --- Acting ----------------------------------------------------------------------------------------


def comments_are_in(review, *, now=None) -> bool:
    """Delivery waits for the comments: every state that agreed has commented, or the comment deadline passed."""
    commented = {c.member_state_id for c in review.comments.all()}
    if agreed_state_ids(review) <= commented:
        return True
    clock = next((c for c in review.clocks.all() if c.clock == "comments"), None)
    return clock is None or clock.due_at <= (now or timezone.now())


def missing_parts(review) -> list[str]:
    """The kinds of section the draft still lacks (labels): it goes to the states only with every part."""
    sections = review.sections.all()
    written = {section.kind for section in sections}
    return [label for kind, label in sections.model.Kind.choices if kind not in written]


@dataclass(frozen=True)
class ReviewActions:
    """What the person may do on one review now (the page's buttons, the API's ``actions``)."""

    answer_for: tuple = ()  # member states the person may agree or refuse for
    draft: bool = False
    circulate: bool = False
    circulate_missing: tuple = ()  # ENISA could circulate but these parts are not written yet (the page says so)
    comment_for: tuple = ()  # member states the person may comment for
    deliver: bool = False
    deliver_waits: bool = False  # ENISA could deliver but the comments are not in yet (the page says why)
    pdf: bool = False

    def as_list(self) -> list[str]:
        names = [n for n in ("draft", "circulate", "deliver", "pdf") if getattr(self, n)]
        return (["answer"] if self.answer_for else []) + (["comment"] if self.comment_for else []) + names


def actions_for(user, review) -> ReviewActions:
    states = authority_states(user)
    agreements = list(review.agreements.all())
    pending = tuple(a.member_state for a in agreements if a.answer == "pending" and a.member_state_id in states)
    agreed = tuple(a.member_state for a in agreements if a.answer == "agreed" and a.member_state_id in states)
    enisa = is_enisa_staff(user)
    deliverable = enisa and review.state == review.State.COMMENTS
    comments_in = deliverable and comments_are_in(review)
    drafting = enisa and review.state == review.State.DRAFTING
    missing = tuple(missing_parts(review)) if drafting else ()
    return ReviewActions(
        answer_for=pending if review.state == review.State.AGREEMENT else (),
        draft=enisa and review.state in (review.State.DRAFTING, review.State.COMMENTS),
        circulate=drafting and not missing,
        circulate_missing=missing,
        comment_for=agreed if review.state == review.State.COMMENTS else (),
        deliver=comments_in,
        deliver_waits=deliverable and not comments_in,
        pdf=may_read_sections(user, review),
    )
