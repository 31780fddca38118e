"""Alerts of an escalation: raised per organisation of the network in charge, answered explicitly.

States: notified → seen → acknowledged | not affected; when the level's deadline passes
unanswered the alert is marked no response (it can still be answered), the organisation
is reminded, and after a second period its other contacts and ENISA are alerted.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from csoa_portal import sweep
from incidents import notifications, policy
from incidents.models import Alert, CrisisLevel, Escalation, Incident
from incidents.services.sharing import disclosure_for_escalation, share_for_escalation
from liaison.exercise_time import deadline, scale_of
from liaison.exercises import taking_part
from liaison.events import Audience, NewEvent, record_events, written_last
from liaison.models import Organisation, User
from incidents.selectors import alert_disclosure, audience_group_names
from liaison.selectors import organisations_in_groups

ANSWERED = (Alert.State.ACKNOWLEDGED, Alert.State.NOT_AFFECTED)


def _alert_event(kind: str, alert: Alert, *, actor=None, extra_orgs=(), payload=None,
                 to_incident_audience: bool = False) -> None:
    record_events([_new_alert_event(kind, alert, actor=actor, extra_orgs=extra_orgs, payload=payload,
                                    to_incident_audience=to_incident_audience)])


def _new_alert_event(kind: str, alert: Alert, *, actor=None, extra_orgs=(), payload=None,
                     to_incident_audience: bool = False) -> NewEvent:
    """An alert's news goes to its organisation and the reporter; answers also to everyone following the incident.

    Liaison officers of the other organisations see on their boards who has acknowledged.
    """
    incident = alert.incident
    groups = audience_group_names(incident) if to_incident_audience else []
    return NewEvent(
        kind=kind, subject=alert, actor=actor,
        payload={"alert_id": alert.pk, "incident": incident.pk, "reference": incident.reference, "level": alert.level,
                 "organisation": alert.organisation.code, "state": alert.state, "tlp": incident.tlp,
                 **alert_disclosure(alert), "recipient_groups": [alert.organisation.group.name], **(payload or {})},
        audience=Audience(organisations=[alert.organisation, incident.reporting_organisation, *extra_orgs],
                          groups=groups),
    )


def raise_alerts(*, escalation: Escalation, levels: list[CrisisLevel]) -> list[Alert]:
    """Alert each organisation of the networks of every level the escalation reaches (levels are cumulative).

    Called in the escalation's transaction. An organisation in several of those networks gets one
    alert, at the highest level that names it (with that level's deadline).
    """
    incident = escalation.incident
    level_of: dict[int, CrisisLevel] = {}
    for level in sorted(levels, key=lambda lv: lv.number):
        for organisation in organisations_in_groups(level.alerted_groups):
            if organisation.pk != incident.reporting_organisation_id:
                level_of[organisation.pk] = level
    # An exercise's escalation alerts only the organisations taking part in it.
    reachable = taking_part(level_of, incident.exercise_id)
    level_of = {pk: level for pk, level in level_of.items() if pk in reachable}
    if not level_of:
        return []
    top = max(levels, key=lambda lv: lv.number)
    organisations = list(Organisation.objects.filter(pk__in=level_of).select_related("group").order_by("code"))
    # The escalation never widens who may read the incident beyond its TLP (DOMAIN.md): see share_for_escalation.
    share_for_escalation(incident=incident, organisations=organisations, level_name=top.name)
    shared_groups = set(incident.shares.values_list("group_id", flat=True))
    disclosure = disclosure_for_escalation(incident)

    scale = scale_of(incident)  # an exercise's alerts are answered on its clock

    def due(level):
        return deadline(escalation.created_at, timedelta(minutes=level.ack_minutes), scale=scale) \
            if level.ack_minutes else None

    Alert.objects.bulk_create([
        Alert(escalation=escalation, incident=incident, organisation=o, level=level_of[o.pk].number,
              due_at=due(level_of[o.pk]),
              disclosure=Alert.Disclosure.SHARED if o.group_id in shared_groups else disclosure)
        for o in organisations
    ])
    alerts = list(Alert.objects.filter(escalation=escalation).select_related(
        "organisation__group", "incident__reporting_organisation", "incident__reported_by", "escalation"))
    audit.record(actor=None, action="alerts.raised", obj=incident,
                 after={"level": top.number, "organisations": [a.organisation.code for a in alerts],
                        "disclosure": {a.organisation.code: a.disclosure for a in alerts}})
    record_events([_new_alert_event("alert.raised", alert, payload={
        "due_at": alert.due_at.isoformat() if alert.due_at else None, "reason": escalation.explanation})
        for alert in alerts])
    notifications.email_alerts(alert_ids=[a.pk for a in alerts], kind="raised")
    return alerts


def _own_alert(actor: User, alert: Alert) -> Alert:
    alert = Alert.objects.select_for_update().select_related("organisation__group", "incident").get(pk=alert.pk)
    if not policy.may_answer_alert(actor, alert):
        raise PermissionDenied(f"This alert is addressed to {alert.organisation.name}, not to your organisation.")
    return alert


@transaction.atomic
def mark_seen(*, actor: User, alert: Alert) -> Alert:
    """Someone of the organisation opened it (the board or the incident page)."""
    alert = _own_alert(actor, alert)
    if alert.state != Alert.State.NOTIFIED:
        return alert
    alert.state, alert.seen_at = Alert.State.SEEN, timezone.now()
    alert.save(update_fields=["state", "seen_at"])
    audit.record(actor=actor, action="alert.seen", obj=alert, after={"state": alert.state})
    _alert_event("alert.seen", alert, actor=actor, to_incident_audience=True)
    return alert


@transaction.atomic
def answer_alert(*, actor: User, alert: Alert, affected: bool, note: str = "") -> Alert:
    """Acknowledge (we are on it) or say the organisation is not affected (with a short note)."""
    alert = _own_alert(actor, alert)
    if alert.state in ANSWERED:
        raise ValidationError({"state": f"This alert was already answered ({alert.get_state_display().lower()})."})
    note = (note or "").strip()
    if not affected and not note:
        raise ValidationError({"note": "Say in a few words why your organisation is not affected."})
    if len(note) > 2000:
        raise ValidationError({"note": "Keep the note under 2,000 characters."})
    before = {"state": alert.state}
    alert.state = Alert.State.ACKNOWLEDGED if affected else Alert.State.NOT_AFFECTED
    alert.answered_at, alert.answered_by, alert.note = timezone.now(), actor, note
    alert.seen_at = alert.seen_at or alert.answered_at
    alert.save(update_fields=["state", "answered_at", "answered_by", "note", "seen_at"])
    audit.record(actor=actor, action=f"alert.{alert.state}", obj=alert, before=before,
                 after={"state": alert.state, "note": note})
    _alert_event(f"alert.{alert.state}", alert, actor=actor, payload={"note": note}, to_incident_audience=True)
    return alert


def sweep_alerts(*, now=None, batch: int | None = None) -> int:
    """Overdue alerts: mark no response and remind; one period later, widen to other contacts and ENISA.

    Rows are claimed with SKIP LOCKED and stamped, so concurrent sweeps act once; a backlog is
    worked through a committed batch at a time (``csoa_portal.sweep.in_batches``).
    """
    now = now or timezone.now()
    return sweep.in_batches(lambda size: _sweep_alert_batch(now=now, size=size), batch=batch, paced=True)


def _sweep_alert_batch(*, now, size: int) -> int:
    acted = 0
    with transaction.atomic(), written_last():  # the batch's events just before its commit (liaison.events)
        overdue = list(
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organisation__group", "incident__reporting_organisation", "escalation")
            .filter(state__in=Alert.OPEN_STATES, due_at__lt=now)
            .exclude(widened_at__isnull=False).order_by("due_at", "pk")[:size]
        )
        enisa = list(policy.widened_alert_organisations())
        for alert in overdue:
            period = alert.due_at - alert.escalation.created_at
            if alert.reminded_at is None:
                alert.state = Alert.State.NO_RESPONSE
                alert.reminded_at = now
                alert.due_at = now + period
                alert.save(update_fields=["state", "reminded_at", "due_at"])
                _alert_event("alert.reminder", alert)
                kind = "reminder"
            else:
                alert.widened_at = now
                alert.save(update_fields=["widened_at"])
                _alert_event("alert.unanswered", alert, extra_orgs=enisa)
                kind = "unanswered"
            audit.record(actor=None, action=f"alert.{kind}", obj=alert, after={"state": alert.state})
            notifications.email_alerts(alert_ids=[alert.pk], kind=kind)
            acted += 1
    return acted


def incident_alerts(incident: Incident):
    return incident.alerts.select_related("organisation__member_state", "answered_by").order_by("level", "organisation__code")
