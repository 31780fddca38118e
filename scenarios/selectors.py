"""Reads of scenarios, for their controllers only (``scenarios.policy``).

A scenario page is the exercise's preparation, like the exercises page: it is read from live
work or from inside the exercise alike (not through ``in_current``), and only by the controllers.
"""

from django.db.models import QuerySet

from liaison.models import Exercise
from scenarios.models import Inject


def exercises_controlled_by(user) -> QuerySet[Exercise]:
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_service_account:
        return Exercise.objects.none()
    return Exercise.objects.filter(controllers=user).select_related("organisation")


def scenario_of(exercise: Exercise) -> QuerySet[Inject]:
    """The exercise's injects in scenario order: by exercise time, those released by hand last."""
    return (Inject.objects.filter(exercise=exercise)
            .select_related("organisation", "released_by", "incident", "assistance_request", "engagement__provider"))


def injects_visible_to(user) -> QuerySet[Inject]:
    """Injects of the exercises the person controls."""
    return Inject.objects.filter(exercise__in=exercises_controlled_by(user))


def visible_inject_ids(user, ids: set[str]) -> set[str]:
    """The Event feeds' re-check (``liaison.events.register_subject_check``): controllers only."""
    pks = [int(pk) for pk in ids if str(pk).isdigit()]
    return {str(pk) for pk in injects_visible_to(user).filter(pk__in=pks).values_list("pk", flat=True)}


def scenario_links(user, exercises) -> dict[int, str]:
    """The exercises page's link to each scenario the person controls (``liaison.exercises.register_exercise_link``)."""
    from django.urls import reverse

    ids = set(exercises_controlled_by(user).filter(pk__in=[e.pk for e in exercises]).values_list("pk", flat=True))
    return {pk: reverse("scenarios:scenario", args=[pk]) for pk in ids}


# --- The evaluation: the exercise's own objects, read by exercise (the gate is scenarios.policy) -----------

RESPONSE_SUBJECTS = ("incident", "alert", "assistance_request", "engagement")
NOT_RESPONSES = ("alert.seen",)  # opening a page is not an answer


def _key(event) -> tuple[str, int] | None:
    """The object an Event of a person acted on: an incident (its alerts included) or a Reserve request."""
    payload = event.payload or {}
    ref = {"incident": ("incident", event.subject_id), "alert": ("incident", payload.get("incident")),
           "assistance_request": ("request", event.subject_id),
           "engagement": ("request", payload.get("request_id"))}[event.subject_type]
    return (ref[0], int(ref[1])) if str(ref[1]).isdigit() else None


def _actions(exercise, participants: dict[int, str]) -> list:
    """People's actions in the exercise (its Events with a person as actor; controllers and the players'
    service accounts excluded), each with the participating organisation the person works for."""
    from liaison.models import Event, Membership
    from scenarios.evaluation import ActionRow

    controllers = set(exercise.controllers.values_list("pk", flat=True))
    events = [e for e in Event.objects.filter(exercise=exercise, subject_type__in=RESPONSE_SUBJECTS,
                                              actor__isnull=False, actor__is_service_account=False)
              .exclude(kind__in=NOT_RESPONSES).exclude(actor__in=controllers).order_by("id")]
    org_of: dict[int, str] = {}
    for user_id, org_id in (Membership.objects.filter(user__in={e.actor_id for e in events},
                                                      organisation__in=participants)
                            .order_by("organisation__code").values_list("user_id", "organisation_id")):
        org_of.setdefault(user_id, participants[org_id])
    return [ActionRow(at=e.created_at, organisation=org_of[e.actor_id], key=key, kind=e.kind)
            for e in events if e.actor_id in org_of and (key := _key(e)) is not None]


def evaluation_of(exercise, *, now):
    """The exercise's evaluation (``scenarios.evaluation.evaluate``) from its objects; clocks count as passed up to
    the exercise's end (or now, while it runs)."""
    from incidents.models import Alert, Deadline, Report, TimelineEntry
    from incidents.clocks import LABELS
    from liaison.exercises import in_current
    from reserve.models import AssistanceRequest, ReserveDeadline
    from reserve.vocabulary import Clock as ReserveClock
    from scenarios import evaluation as ev

    participants = dict(exercise.participants.values_list("pk", "code"))
    as_of = min(now, exercise.ends_at)

    def mine(queryset, field):
        return in_current(queryset, field, exercise_id=exercise.pk)

    # Alerts to organisations that do not take part are left out: they cannot enter the exercise to answer.
    alerts = list(mine(Alert.objects, "incident__exercise").filter(organisation__in=list(participants))
                  .select_related("organisation", "incident"))
    released = list(scenario_of(exercise).filter(status=Inject.Status.RELEASED))
    # An inject gets an organisation alerted when the alert is raised on its incident after its release and before
    # the next inject on that incident: that organisation is expected to respond to it.
    alerted: dict[int, set[str]] = {}
    for alert in alerts:
        causes = [i for i in released if i.incident_id == alert.incident_id and not i.assistance_request_id
                  and i.released_at <= alert.created_at]
        if causes:
            cause = max(causes, key=lambda i: (i.released_at, i.pk))
            alerted.setdefault(cause.pk, set()).add(alert.organisation.code)
    injects = []
    for inject in released:
        keys = (("request", inject.assistance_request_id),) if inject.assistance_request_id else (
            (("incident", inject.incident_id),) if inject.incident_id else ())
        injects.append(ev.InjectRow(
            pk=inject.pk, title=inject.title, kind=inject.kind, kind_label=inject.get_kind_display(),
            organisation=inject.organisation.code, released_at=inject.released_at, keys=keys,
            alerted=tuple(sorted(alerted.get(inject.pk, ())))))
    alert_rows = [ev.AlertRow(pk=a.pk, incident=a.incident.reference, organisation=a.organisation.code, level=a.level,
                              raised_at=a.created_at, due_at=a.due_at, answered_at=a.answered_at, state=a.state)
                  for a in alerts]
    reports = [ev.ReportRow(incident=r.incident.reference, organisation=r.incident.reporting_organisation.code,
                            kind=r.kind, kind_label=r.get_kind_display(), clock_start=r.incident.aware_at,
                            submitted_at=r.submitted_at)
               for r in mine(Report.objects, "incident__exercise").select_related("incident__reporting_organisation")]
    reports += [ev.ReportRow(incident=t.incident.reference, organisation=t.organisation.code, kind="situation_update",
                             kind_label="Situation update", clock_start=t.incident.aware_at, submitted_at=t.created_at)
                for t in mine(TimelineEntry.objects, "incident__exercise").filter(kind=TimelineEntry.Kind.SITUATION)
                .select_related("incident", "organisation")]
    clocks = [ev.ClockRow(kind=d.clock, label=str(LABELS.get(d.clock, d.clock)), subject=d.incident.reference,
                          organisation=d.incident.reporting_organisation.code, due_at=d.due_at, met_at=d.met_at)
              for d in mine(Deadline.objects, "incident__exercise").filter(due_at__lte=as_of)
              .select_related("incident__reporting_organisation")]
    requests = list(mine(AssistanceRequest.objects, "exercise").select_related(
        "requester_organisation", "decision__organisation"))
    authority = next((code for code in exercise.participants.filter(kind="enisa").values_list("code", flat=True)), "")
    for d in mine(ReserveDeadline.objects, "request__exercise").filter(due_at__lte=as_of).select_related(
            "request__requester_organisation", "request__decision__organisation", "engagement__provider"):
        decision = getattr(d.request, "decision", None)
        owner = {ReserveClock.PROVIDER_RESPONSE: d.engagement.provider.code if d.engagement else "",
                 ReserveClock.AFTER_ACTION_REPORT: d.request.requester_organisation.code,
                 }.get(d.clock, decision.organisation.code if decision else authority)
        clocks.append(ev.ClockRow(kind=f"reserve_{d.clock}", label=ReserveClock(d.clock).label,
                                  subject=d.request.reference, organisation=owner, due_at=d.due_at, met_at=d.met_at))
    request_rows = []
    for r in requests:
        decision = getattr(r, "decision", None)
        request_rows.append(ev.RequestRow(
            reference=r.reference, organisation=r.requester_organisation.code,
            requested_at=r.requester_submitted_at or r.submitted_at, submitted_at=r.submitted_at,
            decided_at=r.decided_at, outcome=decision.outcome if decision else "",
            decided_by=decision.organisation.code if decision else ""))
    return ev.evaluate(scale=exercise.time_scale, as_of=as_of, injects=injects,
                       actions=_actions(exercise, participants), alerts=alert_rows, reports=reports, clocks=clocks,
                       requests=request_rows)


def evaluation_links(user, exercises) -> dict[int, str]:
    """The exercises page's link to each evaluation the person may read (``register_exercise_link``): the whole
    one, or their own organisation's report."""
    from django.urls import reverse
    from django.utils import timezone

    from scenarios import policy

    now, links = timezone.now(), {}
    for exercise in exercises:
        if policy.sees_whole_evaluation(user, exercise):
            links[exercise.pk] = reverse("scenarios:evaluation", args=[exercise.pk])
        else:
            own = sorted(policy.evaluation_organisations(user, exercise, now))
            if own:
                links[exercise.pk] = reverse("scenarios:evaluation_participant", args=[exercise.pk, own[0]])
    return links


def evaluation_source(user, source_id: str):
    """The lessons flow's source ``exercise_evaluation`` (``awareness.policy.lessons``): the exercise whose whole
    evaluation the person reads, else None (404)."""
    from scenarios import policy

    exercise = Exercise.objects.filter(pk=source_id).select_related("organisation").first()
    return exercise if exercise is not None and policy.sees_whole_evaluation(user, exercise) else None


def evaluation_names(exercise, evaluation) -> dict[str, str]:
    """Names of the participants and of every organisation the figures mention (an alert may reach one that does
    not take part)."""
    from liaison.selectors import organisation_names

    codes = set(exercise.participants.values_list("code", flat=True))
    codes |= {a.alert.organisation for a in evaluation.alerts} | {m.clock.organisation for m in evaluation.missed}
    return organisation_names(codes)
