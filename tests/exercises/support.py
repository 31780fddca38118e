"""A world of live work and an exercise's work, each of every kind, each carrying its own marker word.

``build_world`` runs the same story twice through the real services: once in live work
(``LIVE``), once inside the exercise (``DRILL``): an escalated incident with a share, timeline
entry and attachment, observable, report, task and alerts; a deployed Reserve request with its
engagement; a published situation report; a released public warning; an incident review; a lesson.
"""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from freezegun import freeze_time

from awareness.services import lessons as lesson_services
from awareness.services import reviews as review_services
from awareness.services import sitreps as sitrep_services
from awareness.services import warnings as warning_services
from incidents import services as incident_services
from incidents.models import Alert
from liaison import services as liaison_services
from liaison.exercises import using_exercise
from reserve.workflow import RequestStatus
from tests import factories
from tests.reserve.factories import request_in

LIVE = "Quokka4live"
DRILL = "Narwhal9drill"
EXERCISE_NAME = "Cyber Europe 2026"  # no marker: the switch lists it in live work too


def add_people(r: dict) -> dict:
    """The reserve network plus ENISA's liaison officer and crisis manager, and DE's Council Presidency."""
    f = factories
    r["people"]["enisa_liaison"] = f.person("liaison@enisa.example", r["orgs"]["enisa"], ["liaison_officer"])
    r["people"]["enisa_crisis"] = f.person("crisis@enisa.example", r["orgs"]["enisa"], ["crisis_manager"])
    f.presidency("DE")
    return r


def create_exercise(r: dict, *, participants=None, name: str = EXERCISE_NAME):
    now = timezone.now()
    orgs = participants if participants is not None else list(r["orgs"].values())
    return liaison_services.create_exercise(
        actor=r["people"]["enisa_crisis"], organisation=r["orgs"]["enisa"], name=name, kind="cyber_europe",
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2), participants=orgs,
        controllers=[r["people"]["enisa_crisis"]])


def build(r: dict, marker: str, capture) -> dict:
    """The story, in the current context (live work or an exercise), every text carrying ``marker``."""
    p, o = r["people"], r["orgs"]
    de, fr = factories.member_state("DE"), factories.member_state("FR")
    with capture(execute=True):  # the escalation runs on commit
        incident = incident_services.report_incident(
            actor=p["de_analyst"], organisation=o["de-csirt"], title=f"{marker} wiper at a DSO",
            description=f"{marker} details", aware_at=timezone.now() - timedelta(hours=2), tlp="amber",
            severity="high", affected_member_states=[de, fr], national_capacity_exceeded=True,
            significance="significant", significance_grounds=["operational_disruption"])
    (share,) = incident_services.share_incident(actor=p["de_analyst"], incident=incident, organisations=[o["fr-csirt"]])
    incident_services.share_incident(actor=p["de_analyst"], incident=incident,
                                     organisations=[o["enisa"], o["ec"], o["de-authority"]])
    entry = incident_services.add_timeline_entry(
        actor=p["de_analyst"], incident=incident, text=f"{marker} isolated the segment",
        files=[SimpleUploadedFile(f"{marker}.txt", f"{marker} notes".encode(), content_type="text/plain")])
    incident_services.add_observables(actor=p["de_analyst"], incident=incident,
                                      rows=[{"type": "ipv4", "value": "198.51.100.77", "note": marker}])
    incident_services.submit_report(actor=p["de_analyst"], incident=incident, kind="early_warning",
                                    content={"summary": marker})
    task = incident_services.create_task(actor=p["de_analyst"], incident=incident, title=f"{marker} call the DSO")
    incident.refresh_from_db()
    alert = Alert.objects.filter(incident=incident).first()
    assert alert is not None and incident.crisis_level >= 2, "the escalation raised no alert"

    request = request_in(RequestStatus.DEPLOYED, {**r, "incident": incident},
                         affected_entity=f"{marker} Stadtwerke", impact_description=f"{marker} grid down")
    engagement = request.engagements.get()

    report = sitrep_services.draft_report(actor=p["enisa_liaison"], incident=incident, title=f"{marker} sitrep")
    sitrep_services.submit_report(actor=p["enisa_liaison"], report=report)
    report = sitrep_services.publish_report(actor=p["enisa_crisis"], report=report)

    review = review_services.request_review(actor=p["ec_decision"], incident=incident, reason=f"{marker} review")
    lesson = lesson_services.propose_lesson(
        actor=p["de_analyst"], source_kind="situation_report", source_id=report.pk, target="level_deadlines",
        change={"level": 2, "field": "ack_minutes", "value": 45}, rationale=f"{marker} lesson")

    clear = incident_services.report_incident(
        actor=p["de_analyst"], organisation=o["de-csirt"], title=f"{marker} rail ticketing DDoS",
        aware_at=timezone.now() - timedelta(hours=3), tlp="clear", severity="high",
        affected_member_states=[de, fr], cross_border_impact=True)
    clear_ip = incident_services.add_observable(actor=p["de_analyst"], incident=clear, type="ipv4",
                                                value="203.0.113.5", tlp="clear")
    warning = warning_services.draft_warning(
        actor=p["de_analyst"], incident=clear, title=f"{marker} warning", body=f"{marker} body",
        recommendations=f"{marker} advice", facts=[f"observable:{clear_ip.pk}"])
    warning = warning_services.circulate_warning(actor=p["de_analyst"], warning=warning,
                                                 response_deadline=timezone.now() + timedelta(hours=24))
    warning_services.respond_to_warning(actor=p["de_liaison"], warning=warning, response="agreed", own_language="de",
                                        own_title=f"{marker} Störungen", own_text=f"{marker} Text.")
    warning_services.respond_to_warning(actor=p["fr_analyst"], warning=warning, response="declined")
    warning = warning_services.schedule_release(actor=p["de_analyst"], warning=warning,
                                                publish_at=timezone.now() + timedelta(minutes=5))
    with freeze_time(warning.publish_at + timedelta(seconds=1)):
        warning_services.release_due_warnings()
    return {"incident": incident, "share": share, "attachment": entry.attachments.get(), "alert": alert,
            "observable": incident.observables.get(), "task": task, "request": request, "engagement": engagement,
            "report": report, "review": review, "lesson": lesson, "warning": warning, "clear": clear}


def build_world(r: dict, capture) -> dict:
    add_people(r)
    exercise = create_exercise(r)
    live = build(r, LIVE, capture)
    with using_exercise(exercise):
        drill = build(r, DRILL, capture)
    return {"exercise": exercise, "live": live, "drill": drill, **r}


def ids(objects: dict) -> dict:
    """The value each route parameter takes for one side's objects (by collection for ``id``/``pk``)."""
    i = objects
    return {
        "incidents": i["incident"].pk, "alerts": i["alert"].pk, "assistance-requests": i["request"].pk,
        "requests": i["request"].pk, "engagements": i["engagement"].pk, "share_id": i["share"].pk,
        "attachment_id": i["attachment"].pk, "alert_id": i["alert"].pk, "kind": "early_warning",
        "observable_id": i["observable"].pk, "task_id": i["task"].pk, "tasks": i["task"].pk,
        "sitreps": i["report"].pk, "situation-reports": i["report"].pk, "warnings": i["warning"].pk,
        "reviews": i["review"].pk, "lessons": i["lesson"].pk, "incident_pk": i["incident"].pk,
        "part": "levels", "code": "de-csirt",
        "event_uuid": str(i["incident"].misp_uuid),  # /api/v1/misp-feed/<event_uuid>.json: the incident's MISP event
    }
