"""Writes of the warnings product: one function per intent, audited, with its Event.

draft → circulated → scheduled → released (or withdrawn at any step before release). Every
refusal is a ``PermissionDenied`` (or ``Http404`` for what the actor may not see) or a
``ValidationError`` naming the field, raised before anything is written. The release is a
sweep job (``release_due_warnings``): idempotent, one transaction per warning, every agreed
state released with the same ``released_at`` (docs/public-warnings.md).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from awareness.models import PublicWarning, WarningFact, WarningParticipation
from awareness.policy import warnings as policy
from awareness.selectors import warnings as selectors
from csoa_portal import audit, display
from csoa_portal.outbox import Mail, enqueue_emails
from incidents.models import Incident
from incidents.selectors import incidents_visible_to
from liaison.events import Audience, record_event
from liaison.models import MemberState, Organisation, User

MAX_TITLE = 200
MAX_TEXT = 20_000
Status = PublicWarning.Status
Response = WarningParticipation.Response


# --- Helpers -------------------------------------------------------------------------------------


def _snapshot(warning: PublicWarning) -> dict:
    return audit.to_jsonable({
        "id": warning.pk, "incident": warning.incident_id, "status": warning.status, "revision": warning.revision,
        "title": warning.title, "body": warning.body, "recommendations": warning.recommendations,
        "language": warning.language, "response_deadline": warning.response_deadline,
        "publish_at": warning.publish_at, "released_at": warning.released_at,
        "facts": list(warning.facts.values_list("key", flat=True)) if warning.pk else [],
    })


def _event(kind: str, warning: PublicWarning, *, actor, recipients=(), extra: dict | None = None) -> None:
    orgs = selectors.audience_organisations(warning)
    record_event(
        kind=kind, subject=warning, actor=actor,
        payload={"reference": warning.reference, "title": warning.title, "status": warning.status,
                 "incident_id": warning.incident_id,
                 "response_deadline": warning.response_deadline.isoformat() if warning.response_deadline else None,
                 "publish_at": warning.publish_at.isoformat() if warning.publish_at else None,
                 "recipient_groups": sorted(o.group.name for o in recipients), **(extra or {})},
        audience=Audience(organisations=orgs),
    )


def _clean_text(value, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: "Give text."})
    value = value.strip()
    if required and not value:
        raise ValidationError({field: "This is required."})
    if len(value) > limit:
        raise ValidationError({field: f"At most {limit} characters."})
    return value


def _clean_moment(value, field: str) -> datetime:
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise ValidationError({field: "Give a date and time with its zone, e.g. 2026-12-05T09:00:00Z."})
    return value


def _future(value, field: str, what: str, now) -> datetime:
    value = _clean_moment(value, field)
    if value <= now:
        raise ValidationError({field: f"The {what} {display.when(value)} is in the past: choose a time in the future."})
    return value


def _cited_facts(actor, incident: Incident, fact_keys) -> list[selectors.Fact]:
    """The facts the drafter cites, each checked TLP:CLEAR now; a refusal names the fact."""
    if fact_keys is None:
        return []
    if isinstance(fact_keys, str) or not all(isinstance(k, str) for k in fact_keys):
        raise ValidationError({"facts": "Give a list of fact keys (from the facts panel)."})
    available = {f.key: f for f in selectors.citable_facts(actor, incident)}
    cited = []
    for key in dict.fromkeys(fact_keys):
        fact = available.get(key)
        if fact is None:
            raise ValidationError({"facts": f"{key!r} is not a fact of incident {incident.reference} you can see."})
        if not fact.clear:
            raise ValidationError({"facts": f"Refused: {fact.label} \u201c{fact.text[:80]}\u201d is {fact.tlp_label}. "
                                            "Only TLP:CLEAR facts may go into a public warning."})
        cited.append(fact)
    return cited


def _write_facts(warning: PublicWarning, facts: list[selectors.Fact], now) -> None:
    kept = {f.key for f in facts}
    warning.facts.exclude(key__in=kept).delete()
    existing = set(warning.facts.values_list("key", flat=True))
    WarningFact.objects.bulk_create([
        WarningFact(warning=warning, key=f.key, kind=f.key.split(":", 1)[0], label=f.label, text=f.text, cited_at=now)
        for f in facts if f.key not in existing])


def _lock(warning: PublicWarning) -> PublicWarning:
    return PublicWarning.objects.select_for_update().select_related(
        "incident__reporting_organisation", "drafter_organisation").get(pk=warning.pk)


def _check_drafter(actor, warning: PublicWarning, what: str) -> None:
    if not policy.is_drafter(actor, warning):
        raise PermissionDenied(f"Only the drafting organisation ({warning.drafter_organisation.name}) {what}.")


def _check_visible(actor, warning: PublicWarning) -> None:
    if not selectors.warnings_visible_to(actor).filter(pk=warning.pk).exists():
        raise Http404("No such warning.")


def _concerned_codes(warning: PublicWarning) -> str:
    return ", ".join(warning.participations.order_by("member_state__code").values_list("member_state__code", flat=True))


# --- Drafting ------------------------------------------------------------------------------------


@transaction.atomic
def draft_warning(*, actor: User, incident: Incident, title: str, body: str = "", recommendations: str = "",
                  facts=(), organisation: Organisation | None = None, language: str = "en") -> PublicWarning:
    """A draft about a cross-border incident the actor sees, for each affected member state to answer."""
    if not incidents_visible_to(actor).filter(pk=incident.pk).exists():
        raise Http404("No such incident.")
    incident = Incident.objects.select_related("reporting_organisation").get(pk=incident.pk)
    states = list(incident.affected_member_states.order_by("code"))
    if not policy.is_cross_border(affected_count=len(states), cross_border_impact=incident.cross_border_impact):
        raise ValidationError({"incident": f"{incident.reference} is not cross-border: a synchronised warning needs "
                                           "two or more affected member states (or stated cross-border impact)."})
    org_ids = policy.drafting_organisation_ids(actor, incident)
    if not org_ids:
        raise PermissionDenied(f"Only {policy.WHO_DRAFTS} drafts a public warning about this incident.")
    if organisation is not None and organisation.pk not in org_ids:
        raise ValidationError({"organisation": f"You may not draft for {organisation.name} about this incident."})
    if language not in policy.ANY_LANGUAGE:
        raise ValidationError({"language": f"Unknown language code {language!r} (ISO 639-1, e.g. en)."})
    now = timezone.now()
    warning = PublicWarning(
        exercise_id=incident.exercise_id, incident=incident, title=_clean_text(title, "title", required=True, limit=MAX_TITLE),
        body=_clean_text(body, "body"), recommendations=_clean_text(recommendations, "recommendations"),
        language=language, drafter_organisation=organisation or Organisation.objects.get(pk=org_ids[0]),
        drafted_by=actor, created_at=now, updated_at=now)
    cited = _cited_facts(actor, incident, facts)
    warning.save()
    WarningParticipation.objects.bulk_create([WarningParticipation(warning=warning, member_state=ms)
                                              for ms in states])
    _write_facts(warning, cited, now)
    audit.record(actor=actor, action="warning.drafted", obj=warning,
                 organisation_code=warning.drafter_organisation.code, after=_snapshot(warning))
    _event("warning.drafted", warning, actor=actor)
    return warning


_UNSET = object()


@transaction.atomic
def revise_warning(*, actor: User, warning: PublicWarning, title=_UNSET, body=_UNSET, recommendations=_UNSET,
                   facts=_UNSET, response_deadline=None) -> PublicWarning:
    """Change the text or the cited facts. Once circulated, every answer goes back to pending (they answered an
    earlier text) and a scheduled release is called off: circulated again, with this or a new deadline."""
    _check_visible(actor, warning)
    warning = _lock(warning)
    _check_drafter(actor, warning, "edits the warning")
    if warning.status not in policy.EDITABLE:
        raise ValidationError({"status": f"{warning.reference} is {warning.get_status_display().lower()}: "
                                         "it can no longer be edited."})
    if not incidents_visible_to(actor).filter(pk=warning.incident_id).exists():
        raise PermissionDenied("You no longer see the incident this warning is about.")
    now = timezone.now()
    before = _snapshot(warning)
    if title is not _UNSET:
        warning.title = _clean_text(title, "title", required=True, limit=MAX_TITLE)
    if body is not _UNSET:
        warning.body = _clean_text(body, "body")
    if recommendations is not _UNSET:
        warning.recommendations = _clean_text(recommendations, "recommendations")
    cited = None if facts is _UNSET else _cited_facts(actor, warning.incident, facts)
    recirculated = warning.status != Status.DRAFT
    if recirculated:
        if response_deadline is not None:
            warning.response_deadline = _future(response_deadline, "response_deadline", "response deadline", now)
        elif warning.response_deadline <= now:
            raise ValidationError({"response_deadline": "The response deadline has passed: give a new one, so the "
                                                        "concerned states can answer the revised text."})
        warning.status, warning.publish_at, warning.scheduled_at = Status.CIRCULATED, None, None
        warning.release_problem = ""
        warning.participations.update(response=Response.PENDING, proposed_text="", comment="", responded_at=None,
                                      responded_by=None, responding_organisation=None, own_language="",
                                      own_title="", own_text="")
    warning.revision += 1
    warning.updated_at = now
    warning.save()
    if cited is not None:
        _write_facts(warning, cited, now)
    audit.record(actor=actor, action="warning.revised", obj=warning, organisation_code=warning.drafter_organisation.code,
                 before=before, after=_snapshot(warning))
    _event("warning.revised", warning, actor=actor,
           recipients=selectors.concerned_authorities(warning) if recirculated else ())
    return warning


# --- Circulating and answering -------------------------------------------------------------------


@transaction.atomic
def circulate_warning(*, actor: User, warning: PublicWarning, response_deadline) -> PublicWarning:
    """Send the draft to every concerned state's authorities, to answer by the deadline."""
    _check_visible(actor, warning)
    warning = _lock(warning)
    _check_drafter(actor, warning, "circulates the warning")
    if warning.status != Status.DRAFT:
        raise ValidationError({"status": f"{warning.reference} is already {warning.get_status_display().lower()}."})
    now = timezone.now()
    warning.response_deadline = _future(response_deadline, "response_deadline", "response deadline", now)
    warning.status, warning.circulated_at, warning.updated_at = Status.CIRCULATED, now, now
    warning.save()
    authorities = selectors.concerned_authorities(warning)
    audit.record(actor=actor, action="warning.circulated", obj=warning,
                 organisation_code=warning.drafter_organisation.code, after=_snapshot(warning))
    _event("warning.circulated", warning, actor=actor, recipients=authorities)
    link = reverse("awareness:warning_detail", args=[warning.pk])
    enqueue_emails([
        Mail(key=f"warning.circulated:{warning.pk}:{warning.revision}:{org.code}", recipient=org.contact_email,
             subject=f"Public warning {warning.reference}: your agreement is asked",
             body=(f"{warning.drafter_organisation.name} asks {org.name} to agree to the synchronised public warning "
                   f"{warning.reference}, or propose changes, or decline, by {display.when(warning.response_deadline)}."
                   f"\n\nOpen it in the portal: {link}\n"))
        for org in authorities if org.contact_email], exercise=warning.exercise_id)
    return warning


@transaction.atomic
def respond_to_warning(*, actor: User, warning: PublicWarning, response: str, member_state: MemberState | None = None,
                       proposed_text: str = "", comment: str = "", own_language: str = "", own_title: str = "",
                       own_text: str = "") -> WarningParticipation:
    """A concerned state's authority agrees (optionally with its own-language version), proposes changes or declines."""
    _check_visible(actor, warning)
    warning = _lock(warning)
    seats = policy.authority_seats(actor)
    participations = {p.member_state_id: p for p in warning.participations.select_related("member_state")}
    if member_state is not None:
        if member_state.pk not in participations:
            raise ValidationError({"member_state": f"{member_state.name} is not concerned by {warning.reference}: "
                                                   f"the concerned member states are {_concerned_codes(warning)}."})
        if member_state.pk not in seats:
            raise PermissionDenied(f"You do not act for {member_state.name}: its national CSIRT or crisis "
                                   "authority answers for it.")
        state_id = member_state.pk
    else:
        mine = [ms for ms in seats if ms in participations]
        if not mine:
            raise PermissionDenied(f"Your member state is not concerned by {warning.reference}: only the authorities "
                                   f"of {_concerned_codes(warning)} answer.")
        if len(mine) > 1:
            raise ValidationError({"member_state": "You act for several concerned states: say which one answers."})
        state_id = mine[0]
    if warning.status not in policy.ANSWERABLE:
        raise ValidationError({"status": f"{warning.reference} is {warning.get_status_display().lower()}: "
                                         "answers are closed."})
    now = timezone.now()
    if warning.response_deadline and now > warning.response_deadline:
        raise ValidationError({"response_deadline": f"The response deadline ({display.when(warning.response_deadline)})"
                                                    " has passed: answers are closed."})
    if response not in (Response.AGREED, Response.CHANGES_PROPOSED, Response.DECLINED):
        raise ValidationError({"response": "Answer agreed, changes_proposed or declined."})
    participation = WarningParticipation.objects.select_for_update().select_related("member_state").get(
        pk=participations[state_id].pk)
    proposed_text = _clean_text(proposed_text, "proposed_text")
    if response == Response.CHANGES_PROPOSED and not proposed_text:
        raise ValidationError({"proposed_text": "Say which changes you propose."})
    own = [_clean_text(own_language, "own_language", limit=8).lower(),
           _clean_text(own_title, "own_title", limit=MAX_TITLE), _clean_text(own_text, "own_text")]
    if any(own):
        if response != Response.AGREED:
            raise ValidationError({"own_language": "An own-language version goes with an agreement only."})
        if not all(own):
            raise ValidationError({"own_text": "An own-language version needs its language, title and text."})
        allowed = policy.languages_of(participation.member_state.code)
        if own[0] not in allowed:
            raise ValidationError({"own_language": f"{own[0]!r} is not an official language of "
                                                   f"{participation.member_state.name} "
                                                   f"({', '.join(sorted(allowed)) or 'none known'})."})
    before = {"member_state": participation.member_state.code, "response": participation.response}
    participation.response, participation.proposed_text = response, proposed_text
    participation.comment = _clean_text(comment, "comment")
    participation.own_language, participation.own_title, participation.own_text = own
    participation.responded_at, participation.responded_by = now, actor
    participation.responding_organisation_id = seats[state_id][0]
    participation.save()
    audit.record(actor=actor, action="warning.answered", obj=warning, before=before,
                 after=audit.to_jsonable({"member_state": participation.member_state.code, "response": response,
                                          "proposed_text": proposed_text, "own_language": own[0],
                                          "revision": warning.revision}))
    _event("warning.answered", warning, actor=actor, recipients=[warning.drafter_organisation],
           extra={"member_state": participation.member_state.code, "response": response})
    return participation


# --- Scheduling, withdrawing, releasing ----------------------------------------------------------


def _release_problems(warning: PublicWarning) -> list[str]:
    problems = []
    for cited in warning.facts.all():
        fact = selectors.fact_now(cited.key, warning.incident)
        if fact is None:
            problems.append(f"{cited.label} \u201c{cited.text[:60]}\u201d is no longer in the incident.")
        elif not fact.clear:
            problems.append(f"{cited.label} \u201c{cited.text[:60]}\u201d is now {fact.tlp_label}: remove it "
                            "from the warning (only TLP:CLEAR facts may be published).")
    return problems


@transaction.atomic
def schedule_release(*, actor: User, warning: PublicWarning, publish_at) -> PublicWarning:
    """Set the embargo: every agreed state's version is released together at ``publish_at``."""
    _check_visible(actor, warning)
    warning = _lock(warning)
    _check_drafter(actor, warning, "schedules the release")
    if warning.status not in policy.SCHEDULABLE:
        raise ValidationError({"status": f"{warning.reference} is {warning.get_status_display().lower()}: "
                                         "circulate it first." if warning.status == Status.DRAFT else
                                         f"{warning.reference} is {warning.get_status_display().lower()}."})
    now = timezone.now()
    publish_at = _future(publish_at, "publish_at", "embargo", now)
    responses = list(warning.participations.values_list("response", flat=True))
    if Response.PENDING in responses and publish_at < warning.response_deadline:
        raise ValidationError({"publish_at": "Not every concerned state has answered: the embargo must be at or after "
                                             f"the response deadline ({display.when(warning.response_deadline)})."})
    if Response.AGREED not in responses:
        raise ValidationError({"publish_at": "No concerned state has agreed yet: there is nothing to release."})
    problems = _release_problems(warning)
    if problems:
        raise ValidationError({"facts": " ".join(problems)})
    before = _snapshot(warning)
    warning.status, warning.publish_at, warning.scheduled_at, warning.updated_at = (
        Status.SCHEDULED, publish_at, now, now)
    warning.release_problem = ""
    warning.save()
    audit.record(actor=actor, action="warning.scheduled", obj=warning,
                 organisation_code=warning.drafter_organisation.code, before=before, after=_snapshot(warning))
    _event("warning.scheduled", warning, actor=actor, recipients=selectors.concerned_authorities(warning))
    return warning


@transaction.atomic
def withdraw_warning(*, actor: User, warning: PublicWarning, reason: str = "") -> PublicWarning:
    _check_visible(actor, warning)
    warning = _lock(warning)
    _check_drafter(actor, warning, "withdraws the warning")
    if warning.status not in (Status.DRAFT, Status.CIRCULATED, Status.SCHEDULED):
        raise ValidationError({"status": f"{warning.reference} is {warning.get_status_display().lower()}: "
                                         "it can no longer be withdrawn."})
    now = timezone.now()
    before = _snapshot(warning)
    warning.status, warning.withdrawn_at, warning.updated_at = Status.WITHDRAWN, now, now
    warning.save()
    audit.record(actor=actor, action="warning.withdrawn", obj=warning,
                 organisation_code=warning.drafter_organisation.code, before=before,
                 after={**_snapshot(warning), "reason": _clean_text(reason, "reason")})
    # A draft withdrawn before it was circulated concerned nobody outside its drafter's organisation.
    told = selectors.concerned_authorities(warning) if policy.was_circulated(warning) else []
    _event("warning.withdrawn", warning, actor=actor, recipients=told)
    return warning


def _release_one(warning_id: int) -> bool:
    """Release one due warning, or record once why it cannot be; True when released."""
    with transaction.atomic():
        warning = PublicWarning.objects.select_for_update(skip_locked=True).filter(
            pk=warning_id, status=Status.SCHEDULED).select_related("incident", "drafter_organisation").first()
        now = timezone.now()
        if warning is None or warning.publish_at > now:
            return False
        problems = _release_problems(warning)
        agreed = list(warning.participations.filter(response=Response.AGREED).select_related("member_state"))
        if not agreed:
            problems.append("No concerned state has agreed: there is nothing to release.")
        if problems:
            message = " ".join(problems)
            if message != warning.release_problem:
                warning.release_problem = message
                warning.save(update_fields=["release_problem"])
                audit.record(actor=None, action="warning.release_blocked", obj=warning,
                             after={"problem": message})
                _event("warning.release_blocked", warning, actor=None, recipients=[warning.drafter_organisation],
                       extra={"problem": message})
            return False
        common_text = warning.body + (f"\n\n{warning.recommendations}" if warning.recommendations else "")
        for p in agreed:
            own = bool(p.own_language)
            p.released_at = p.published_at = now
            p.released_language = p.own_language if own else warning.language
            p.released_title = p.own_title if own else warning.title
            p.released_text = p.own_text if own else common_text
        WarningParticipation.objects.bulk_update(
            agreed, ["released_at", "published_at", "released_language", "released_title", "released_text"])
        before = _snapshot(warning)
        warning.status, warning.released_at, warning.updated_at, warning.release_problem = (
            Status.RELEASED, now, now, "")
        warning.save()
        audit.record(actor=None, action="warning.released", obj=warning, before=before,
                     after={**_snapshot(warning), "states": sorted(p.member_state.code for p in agreed)})
        _event("warning.released", warning, actor=None, recipients=selectors.concerned_authorities(warning),
               extra={"states": sorted(p.member_state.code for p in agreed)})
        return True


def release_due_warnings() -> int:
    """The sweep job: release every scheduled warning whose embargo time has come (idempotent)."""
    return sum(_release_one(pk) for pk in selectors.due_warning_ids(timezone.now()))
