"""Writes of the reviews product: one function per intent, audited, with its Event.

The workflow (CSoA Art. 21, ``docs/reviews-and-lessons.md``)::

    agreement ──(every state answered, or the agreement deadline passed)──▶ drafting ──circulate──▶ comments ──deliver──▶ delivered
        └──(no state agreed)──▶ declined

The law requires the agreement of the member states concerned: the review goes ahead on the
states that agreed; a state that refused or did not answer in time takes no part (its
information is not used, it does not comment nor receive the report). With no state agreeing
it cannot start (declined). A delivered report is immutable.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from awareness.models import IncidentReview, ReviewAgreement, ReviewClock, ReviewComment, ReviewSection
from awareness.policy import reviews as policy
from awareness.selectors.reviews import review_visible_to
from csoa_portal import audit, sweep
from incidents.selectors import incident_visible_to
from liaison.events import Audience, record_event
from liaison.exercise_time import deadline, real_duration, scale_of
from liaison.models import MemberState, Organisation
from liaison.roles import OrganisationKind, member_state_group_name, org_group_name

logger = logging.getLogger(__name__)
SUBJECT = "incident_review"


# --- Who is told -----------------------------------------------------------------------------------


def _enisa_groups() -> list[str]:
    return [org_group_name(c) for c in Organisation.objects.filter(kind=OrganisationKind.ENISA, is_active=True)
            .values_list("code", flat=True)]


def _states(review, *answers) -> list[str]:
    rows = review.agreements.select_related("member_state")
    if answers:
        rows = rows.filter(answer__in=answers)
    return [member_state_group_name(a.member_state.code) for a in rows]


def _audience(review) -> Audience:
    """Everyone who sees the review (the subject check narrows it to the current readers)."""
    return Audience(groups=[review.requester_organisation.group.name, *_enisa_groups(), *_states(review)])


def _event(kind: str, review, *, actor, told: list[str], **payload) -> None:
    record_event(kind=kind, subject=review, subject_type=SUBJECT, actor=actor, audience=_audience(review),
                 payload={"reference": review.reference, "incident": review.incident.reference,
                          "state": review.state, "recipient_groups": sorted(set(told)), **payload})


# --- Clocks ------------------------------------------------------------------------------------------


def _open_clock(review, clock: str, *, start) -> ReviewClock:
    """Start a review clock; a review of an exercise runs it (and its reminder's lead) on exercise time."""
    scale = scale_of(review)
    due = deadline(start, policy.DUE_AFTER[clock], scale=scale)
    row, _ = ReviewClock.objects.update_or_create(
        review=review, clock=clock,
        defaults={"due_at": due, "remind_at": due - real_duration(policy.REMINDER_BEFORE[clock], scale=scale),
                  "met_at": None,
                  "reminded_at": None, "overdue_fired_at": None})
    return row


def _meet_clock(review, clock: str, *, at) -> None:
    ReviewClock.objects.filter(review=review, clock=clock, met_at__isnull=True).update(met_at=at)


# --- Request and agreement --------------------------------------------------------------------------


@transaction.atomic
def request_review(*, actor, incident, reason: str) -> IncidentReview:
    """The Commission or EU-CyCLONe asks ENISA to review an incident it sees (404 if it does not)."""
    incident = incident_visible_to(actor, getattr(incident, "pk", incident))
    body = policy.requester_body(actor)
    if body is None:
        raise PermissionDenied(f"Only {policy.WHO_REQUESTS} may request an incident review (CSoA Art. 21).")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the review is requested."})
    if not policy.is_significant_or_large_scale(incident):
        raise ValidationError({"incident": (
            f"{incident.reference} is neither significant nor large-scale (it was reported as "
            f"'{incident.get_significance_display()}' and is at crisis level {incident.crisis_level}): CSoA Art. 21 "
            "reviews only significant or large-scale incidents.")})
    states = list(incident.affected_member_states.order_by("code"))
    if not states:
        raise ValidationError({"incident": f"{incident.reference} names no affected member state: nobody could "
                                           "agree to its review."})
    if IncidentReview.objects.filter(incident=incident, state__in=["agreement", "drafting", "comments"]).exists():
        raise ValidationError({"incident": f"{incident.reference} is already under review."})
    kind, organisation = body
    now = timezone.now()
    review = IncidentReview.objects.create(incident=incident, requested_by=actor, requester_organisation=organisation,
                                           requester_body=kind, reason=reason.strip(), created_at=now,
                                           exercise_id=incident.exercise_id)
    ReviewAgreement.objects.bulk_create([ReviewAgreement(review=review, member_state=s) for s in states])
    clock = _open_clock(review, "agreement", start=now)
    audit.record(actor=actor, action="review.requested", obj=review,
                 after={"incident": incident.reference, "body": kind, "states": [s.code for s in states],
                        "agreement_due_at": clock.due_at})
    _event("review.requested", review, actor=actor, told=_states(review),
           due_at=clock.due_at.isoformat(), states=[s.code for s in states])
    return review


def _locked(review) -> IncidentReview:
    return IncidentReview.objects.select_for_update().select_related(
        "incident", "requester_organisation__group").get(pk=review.pk)


def _acting_state(actor, review, member_state, *, field_name="member_state", answers=None):
    """The state concerned the actor speaks for: the one named, else their only one. Refusals name the problem."""
    mine = policy.authority_states(actor)
    rows = {a.member_state_id: a for a in review.agreements.select_related("member_state")}
    concerned = ", ".join(a.member_state.code for a in rows.values())
    if member_state is not None:
        state_id = getattr(member_state, "pk", member_state)
        if state_id not in rows:
            code = getattr(member_state, "code", None) or MemberState.objects.filter(pk=state_id).values_list(
                "code", flat=True).first() or state_id
            raise ValidationError({field_name: f"{code} is not a member state concerned by {review.reference}; "
                                               f"the states concerned are {concerned}."})
        if state_id not in mine:
            raise PermissionDenied(f"Only the authorities of {rows[state_id].member_state.code} (national CSIRT, "
                                   "crisis management authority, SPOC) answer for it.")
    else:
        candidates = [sid for sid in mine if sid in rows and (answers is None or rows[sid].answer in answers)]
        if not candidates:
            raise PermissionDenied(f"You act for no member state concerned by {review.reference} ({concerned}).")
        if len(candidates) > 1:
            raise ValidationError({field_name: "You act for several states concerned: name the one you answer for."})
        state_id = candidates[0]
    return rows[state_id], mine[state_id]


@transaction.atomic
def answer_agreement(*, actor, review, agree: bool, member_state=None, note: str = "") -> ReviewAgreement:
    """A state concerned agrees to the review or refuses it, before the agreement deadline."""
    review_visible_to(actor, review.pk)
    review = _locked(review)
    if review.state != IncidentReview.State.AGREEMENT:
        raise ValidationError({"review": f"{review.reference} no longer waits for agreement "
                                         f"({review.get_state_display().lower()})."})
    row, organisation = _acting_state(actor, review, member_state)
    if row.answer != ReviewAgreement.Answer.PENDING:
        raise ValidationError({"member_state": f"{row.member_state.code} has already answered "
                                               f"({row.get_answer_display().lower()})."})
    row.answer = ReviewAgreement.Answer.AGREED if agree else ReviewAgreement.Answer.REFUSED
    row.answered_by, row.organisation, row.answered_at, row.note = actor, organisation, timezone.now(), note.strip()
    row.save(update_fields=["answer", "answered_by", "organisation", "answered_at", "note"])
    audit.record(actor=actor, action="review.agreement_answered", obj=review,
                 after={"member_state": row.member_state.code, "answer": row.answer})
    _event("review.agreement_answered", review, actor=actor,
           told=[review.requester_organisation.group.name, *_enisa_groups()],
           member_state=row.member_state.code, answer=row.answer)
    if not review.agreements.filter(answer=ReviewAgreement.Answer.PENDING).exists():
        _close_agreement(review, actor=actor)
    return row


def _close_agreement(review, *, actor) -> None:
    """Every state answered, or the deadline passed: go ahead on those that agreed, or decline."""
    now = timezone.now()
    review.agreements.filter(answer=ReviewAgreement.Answer.PENDING).update(answer=ReviewAgreement.Answer.LAPSED)
    _meet_clock(review, "agreement", at=now)
    agreed = [member_state_group_name(c) for c in review.agreements.filter(answer="agreed")
              .values_list("member_state__code", flat=True)]
    if agreed:
        review.state, review.drafting_started_at = IncidentReview.State.DRAFTING, now
        review.save(update_fields=["state", "drafting_started_at"])
        clock = _open_clock(review, "drafting", start=now)
        audit.record(actor=actor, action="review.drafting_started", obj=review, after={"states": agreed})
        _event("review.drafting_started", review, actor=actor,
               told=[*_enisa_groups(), review.requester_organisation.group.name], due_at=clock.due_at.isoformat())
    else:
        review.state = IncidentReview.State.DECLINED
        review.save(update_fields=["state"])
        audit.record(actor=actor, action="review.declined", obj=review, after={"state": review.state})
        _event("review.declined", review, actor=actor, told=[*_enisa_groups(), review.requester_organisation.group.name])


# --- Drafting ----------------------------------------------------------------------------------------


def _check_drafter(actor, review) -> None:
    if not policy.is_enisa_staff(actor):
        raise PermissionDenied("Only ENISA's staff draft an incident review report (CSoA Art. 21).")
    if review.state == IncidentReview.State.DELIVERED:
        raise ValidationError({"review": f"{review.reference} was delivered on "
                                         f"{review.delivered_at:%Y-%m-%d}: a delivered report is not changed."})
    if review.state not in (IncidentReview.State.DRAFTING, IncidentReview.State.COMMENTS):
        raise ValidationError({"review": f"{review.reference} is not being drafted "
                                         f"({review.get_state_display().lower()})."})


def _section_values(review, *, kind, text, confidential, source_state) -> dict:
    if kind not in ReviewSection.Kind.values:
        raise ValidationError({"kind": f"{kind!r} is not a part of the report; use {', '.join(ReviewSection.Kind.values)}."})
    if not (text or "").strip():
        raise ValidationError({"text": "A section needs text."})
    state_id = getattr(source_state, "pk", source_state)
    if confidential and state_id is None:
        raise ValidationError({"source_state": "A confidential part names the member state it comes from: it stays "
                                               "with that state and ENISA."})
    if state_id is not None and not review.agreements.filter(member_state_id=state_id, answer="agreed").exists():
        raise ValidationError({"source_state": "The source must be a state concerned that agreed to the review: the "
                                               "information of a state that did not agree is not used."})
    return {"kind": kind, "text": text.strip(), "confidential": bool(confidential), "source_state_id": state_id}


@transaction.atomic
def add_section(*, actor, review, kind: str, text: str, confidential: bool = False, source_state=None) -> ReviewSection:
    """ENISA writes a part of the report (causes, response, lessons), optionally confidential to its source."""
    review = _locked(review)
    _check_drafter(actor, review)
    values = _section_values(review, kind=kind, text=text, confidential=confidential, source_state=source_state)
    section = ReviewSection.objects.create(review=review, written_by=actor, **values)
    audit.record(actor=actor, action="review.section_added", obj=section,
                 after={"review": review.reference, "kind": kind, "confidential": section.confidential})
    _event("review.section_changed", review, actor=actor, told=[], section=section.pk, part=kind)
    return section


@transaction.atomic
def edit_section(*, actor, section, text: str, confidential: bool | None = None, source_state=...) -> ReviewSection:
    review = _locked(section.review)
    _check_drafter(actor, review)
    section = ReviewSection.objects.select_for_update().get(pk=section.pk)
    values = _section_values(
        review, kind=section.kind, text=text,
        confidential=section.confidential if confidential is None else confidential,
        source_state=section.source_state_id if source_state is ... else source_state)
    before = audit.snapshot(section)
    for name, value in values.items():
        setattr(section, name, value)
    section.updated_at = timezone.now()
    section.save()
    audit.record(actor=actor, action="review.section_edited", obj=section, before=before, after=audit.snapshot(section))
    _event("review.section_changed", review, actor=actor, told=[], section=section.pk, part=section.kind)
    return section


@transaction.atomic
def circulate_draft(*, actor, review) -> IncidentReview:
    """ENISA sends the draft to the states that agreed, for their comments (comment clock)."""
    review = _locked(review)
    _check_drafter(actor, review)
    if review.state != IncidentReview.State.DRAFTING:
        raise ValidationError({"review": f"The draft of {review.reference} is already with the states."})
    missing = policy.missing_parts(review)
    if missing:
        raise ValidationError({"sections": f"The draft needs every part before it goes to the states: "
                                           f"{', '.join(missing).lower()} missing."})
    now = timezone.now()
    review.state, review.circulated_at = IncidentReview.State.COMMENTS, now
    review.save(update_fields=["state", "circulated_at"])
    _meet_clock(review, "drafting", at=now)
    clock = _open_clock(review, "comments", start=now)
    audit.record(actor=actor, action="review.draft_circulated", obj=review, after={"comments_due_at": clock.due_at})
    _event("review.draft_circulated", review, actor=actor, told=_states(review, "agreed"),
           due_at=clock.due_at.isoformat())
    return review


@transaction.atomic
def add_comment(*, actor, review, text: str, member_state=None) -> ReviewComment:
    """A state that agreed comments on the draft, for the report (before ENISA delivers it)."""
    review_visible_to(actor, review.pk)
    review = _locked(review)
    if review.state == IncidentReview.State.DELIVERED:
        raise ValidationError({"review": f"{review.reference} was delivered: a delivered report is not changed."})
    if review.state != IncidentReview.State.COMMENTS:
        raise ValidationError({"review": f"{review.reference} is not open for comments "
                                         f"({review.get_state_display().lower()})."})
    row, organisation = _acting_state(actor, review, member_state, answers={"agreed"})
    if row.answer != ReviewAgreement.Answer.AGREED:
        raise PermissionDenied(f"{row.member_state.code} did not agree to the review: it takes no part in it.")
    if not (text or "").strip():
        raise ValidationError({"text": "A comment needs text."})
    comment = ReviewComment.objects.create(review=review, member_state=row.member_state, organisation=organisation,
                                           author=actor, text=text.strip())
    audit.record(actor=actor, action="review.commented", obj=comment,
                 after={"review": review.reference, "member_state": row.member_state.code})
    _event("review.commented", review, actor=actor, told=_enisa_groups(), member_state=row.member_state.code)
    return comment


@transaction.atomic
def deliver_review(*, actor, review) -> IncidentReview:
    """ENISA delivers the report to the requester: from then on it is immutable.

    Delivery waits for the comments: every state that agreed has commented, or the comment deadline passed.
    """
    review = _locked(review)
    if not policy.is_enisa_staff(actor):
        raise PermissionDenied("Only ENISA's staff deliver an incident review report.")
    if review.state == IncidentReview.State.DELIVERED:
        raise ValidationError({"review": f"{review.reference} was already delivered on "
                                         f"{review.delivered_at:%Y-%m-%d %H:%M} UTC."})
    if review.state != IncidentReview.State.COMMENTS:
        raise ValidationError({"review": f"{review.reference} goes to the states for comments before delivery."})
    now = timezone.now()
    if not policy.comments_are_in(review, now=now):
        commented = set(review.comments.values_list("member_state_id", flat=True))
        silent = [c for sid, c in review.agreements.filter(answer="agreed").values_list("member_state_id",
                                                                                        "member_state__code")
                  if sid not in commented]
        comments_clock = review.clocks.get(clock="comments")
        raise ValidationError({"review": f"{', '.join(silent)} may still comment until "
                                         f"{comments_clock.due_at:%Y-%m-%d %H:%M} UTC."})
    review.state, review.delivered_at, review.delivered_by = IncidentReview.State.DELIVERED, now, actor
    review.save(update_fields=["state", "delivered_at", "delivered_by"])
    _meet_clock(review, "comments", at=now)
    audit.record(actor=actor, action="review.delivered", obj=review, after={"delivered_at": now})
    _event("review.delivered", review, actor=actor,
           told=[review.requester_organisation.group.name, *_states(review, "agreed")], delivered_at=now.isoformat())
    return review


# --- The sweep job: each clock reminded once, alarmed once -----------------------------------------------


def _told_for(row: ReviewClock, *, overdue: bool) -> list[str]:
    review = row.review
    if row.clock == "agreement":
        told = _states(review, "pending")
    elif row.clock == "drafting":
        told = _enisa_groups()
    else:
        commented = set(review.comments.values_list("member_state__code", flat=True))
        told = [member_state_group_name(c) for c in review.agreements.filter(answer="agreed")
                .values_list("member_state__code", flat=True) if c not in commented]
    if overdue:
        told += [review.requester_organisation.group.name] + ([] if row.clock == "drafting" else _enisa_groups())
    return told


def sweep_review_clocks(*, now=None) -> int:
    """Reminders before each review clock runs out, one alarm when it has; an agreement deadline closes the
    agreement (the review goes ahead on the states that agreed). Rows are claimed with SKIP LOCKED, one per
    transaction: overlapping sweeps fire nothing twice."""
    now = now or timezone.now()
    fired = 0
    reminding = Q(reminded_at__isnull=True, remind_at__lte=now, due_at__gt=now)
    due = Q(overdue_fired_at__isnull=True, due_at__lte=now)
    for condition, overdue in ((reminding, False), (due, True)):
        pks = list(ReviewClock.objects.filter(condition, met_at__isnull=True).order_by("due_at", "pk")
                   .values_list("pk", flat=True)[:500])
        for pk in pks:
            try:
                fired += _fire(pk, condition, now, overdue=overdue)
            except Exception:  # one bad row must not stop the others; it is retried next sweep
                logger.exception("review clock %s could not be handled", pk)
    return fired


def _fire(pk: int, condition: Q, now, *, overdue: bool) -> bool:
    with transaction.atomic():
        row = (ReviewClock.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("review__incident", "review__requester_organisation__group")
               .filter(condition, pk=pk, met_at__isnull=True).first())
        if row is None:
            return False
        kind = "review.overdue" if overdue else "review.reminder"
        if overdue:
            row.overdue_fired_at, row.reminded_at = now, row.reminded_at or now
            row.save(update_fields=["overdue_fired_at", "reminded_at"])
        else:
            row.reminded_at = now
            row.save(update_fields=["reminded_at"])
        review = row.review
        audit.record(actor=None, action=kind, obj=review, after={"clock": row.clock, "due_at": row.due_at})
        _event(kind, review, actor=None, told=_told_for(row, overdue=overdue), clock=row.clock,
               label=row.get_clock_display(), due_at=row.due_at.isoformat())
        if overdue and row.clock == "agreement" and review.state == IncidentReview.State.AGREEMENT:
            _close_agreement(IncidentReview.objects.select_for_update().get(pk=review.pk), actor=None)
        return True


def register_sweep() -> None:
    sweep.register("awareness_review_clocks", sweep_review_clocks)
