"""Injects: controllers prepare them; released, each goes through the real services inside the exercise only."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from csoa_portal.models import AuditEntry
from incidents.models import Alert, Incident
from incidents.selectors import incidents_visible_to
from liaison.exercises import using_exercise
from liaison.models import Event
from reserve import services as reserve_services
from reserve.models import AssistanceRequest, Engagement
from reserve.selectors import requests_visible_to
from scenarios import services
from scenarios.models import Inject

pytestmark = pytest.mark.django_db

HOSPITALS = {"title": "Ransomware at a hospital group", "severity": "medium", "tlp": "amber",
             "member_states": ["DE", "FR"], "sectors": ["health"], "aware_minutes_before": 20}
REQUEST = {"affected_entity": "Klinikum Beispiel", "entity_type": "essential", "sector": "health",
           "impact_description": "Patient records encrypted.", "impact_level": "severe",
           "planned_use": "Forensics and recovery.", "services": ["incident_response"], "person_days": 10,
           "mitigation_measures": "Network segmented.", "measures_level": "substantial", "measures_confirmed": True,
           "other_support": "none", "urgency": "immediate", "languages": ["de", "en"], "spill_over_risk": "medium"}


def _inject(d, kind, payload, *, org="de-csirt", offset=None, title=None, actor="controller"):
    return services.create_inject(actor=d["people"][actor], exercise=d["exercise"], kind=kind,
                                  title=title or f"{kind} inject", organisation=d["orgs"][org], payload=payload,
                                  offset=offset)


def _release(d, inject, capture):
    with capture(execute=True):  # the commit's work runs: the engine's evaluation, e-mail
        return services.release_inject(actor=d["people"]["controller"], inject=inject)


# --- Preparing --------------------------------------------------------------------------------------


def test_a_controller_prepares_the_scenario_in_exercise_time_order(drill):
    late = _inject(drill, "incident", HOSPITALS, offset=timedelta(hours=3), title="Late")
    by_hand = _inject(drill, "incident", HOSPITALS, title="By hand")
    early = _inject(drill, "incident", HOSPITALS, offset=timedelta(minutes=30), title="Early")
    assert list(Inject.objects.filter(exercise=drill["exercise"])) == [early, late, by_hand]
    assert {i.status for i in (early, late, by_hand)} == {"pending"}
    entry = AuditEntry.objects.filter(action="inject.created").latest("id")
    assert entry.after["title"] == "Early"
    assert Event.objects.filter(kind="inject.created", exercise=drill["exercise"]).count() == 3


@pytest.mark.parametrize("payload, field", [
    ({"severity": "high"}, "payload.title"),
    ({**HOSPITALS, "severity": "apocalyptic"}, "payload.severity"),
    ({**HOSPITALS, "tlp": "purple"}, "payload.tlp"),
    ({**HOSPITALS, "member_states": "DE"}, "payload.member_states"),
    ({**HOSPITALS, "member_states": ["DE", "XX"]}, "payload.member_states"),
    ({**HOSPITALS, "sectors": ["knitting"]}, "payload.sectors"),
    ({**HOSPITALS, "colour": "red"}, "payload.colour"),
    ({**HOSPITALS, "cross_border_impact": "yes"}, "payload.cross_border_impact"),
    ("not an object", "payload"),
])
def test_a_bad_payload_is_refused_naming_the_field_and_nothing_is_written(drill, payload, field):
    with pytest.raises(ValidationError) as refused:
        _inject(drill, "incident", payload)
    assert field in refused.value.message_dict
    assert not Inject.objects.exists()


def test_an_inject_outside_the_exercise_or_played_by_an_outsider_is_refused(drill):
    with pytest.raises(ValidationError) as late:
        _inject(drill, "incident", HOSPITALS, offset=timedelta(days=2))
    assert "after the exercise ends" in late.value.message_dict["offset"][0]
    with pytest.raises(ValidationError) as outsider:
        _inject(drill, "incident", HOSPITALS, org="no-csirt")
    assert "does not take part" in outsider.value.message_dict["organisation"][0]
    assert not Inject.objects.exists()


def test_references_must_be_earlier_injects_of_the_right_kind_played_by_the_reporter(drill):
    incident = _inject(drill, "incident", HOSPITALS, offset=timedelta(hours=1))
    with pytest.raises(ValidationError) as earlier:
        _inject(drill, "severity", {"incident_inject": incident.pk, "severity": "high"}, offset=timedelta(minutes=5))
    assert "comes later" in earlier.value.message_dict["payload.incident_inject"][0]
    with pytest.raises(ValidationError) as other_org:
        _inject(drill, "severity", {"incident_inject": incident.pk, "severity": "high"}, org="fr-csirt")
    assert "organisation" in other_org.value.message_dict
    with pytest.raises(ValidationError) as wrong_kind:
        _inject(drill, "provider_declines", {"request_inject": incident.pk, "reason": "busy"}, org="provider-acme")
    assert "refer to a reserve request" in wrong_kind.value.message_dict["payload.request_inject"][0]


def test_only_the_controllers_prepare_and_release(drill):
    for who in ("de_analyst", "enisa_crisis"):  # a player, and the crisis manager of the organisation running it
        with pytest.raises(PermissionDenied):
            _inject(drill, "incident", HOSPITALS, actor=who)
    inject = _inject(drill, "incident", HOSPITALS)
    with pytest.raises(PermissionDenied):
        services.release_inject(actor=drill["people"]["de_analyst"], inject=inject)
    assert Inject.objects.get().status == "pending"
    assert not Incident.objects.filter(exercise=drill["exercise"]).exists()


# --- Releasing: each kind through the real services, inside the exercise ---------------------------------


def test_a_new_incident_inject_is_reported_in_the_exercise_and_never_seen_in_live_work(
        drill, django_capture_on_commit_callbacks):
    exercise, analyst = drill["exercise"], drill["people"]["de_analyst"]
    inject = _release(drill, _inject(drill, "incident", {**HOSPITALS, "severity": "high"}),
                      django_capture_on_commit_callbacks)

    incident = inject.incident
    assert inject.status == "released" and inject.released_at and inject.released_by == drill["people"]["controller"]
    assert incident.exercise == exercise and incident.reporting_organisation.code == "de-csirt"
    assert incident.title == HOSPITALS["title"] and incident.severity == "high"
    assert sorted(incident.affected_member_states.values_list("code", flat=True)) == ["DE", "FR"]
    assert Event.objects.filter(kind="incident.created", subject_id=str(incident.pk)).get().exercise == exercise
    assert Event.objects.get(kind="inject.released").exercise == exercise
    # The real engine reacted: two member states at high is level 2, the networks are alerted.
    incident.refresh_from_db()
    assert incident.crisis_level == 2 and Alert.objects.filter(incident=incident).exists()
    assert {e.exercise_id for e in Event.objects.filter(kind="alert.raised")} == {exercise.pk}
    # Live work never sees any of it; the exercise does.
    assert not incidents_visible_to(analyst).filter(exercise__isnull=False).exists()
    with using_exercise(exercise):
        assert incidents_visible_to(analyst).filter(pk=incident.pk).exists()


def test_a_severity_change_escalates_the_incident_of_the_earlier_inject(drill, django_capture_on_commit_callbacks):
    first = _release(drill, _inject(drill, "incident", HOSPITALS), django_capture_on_commit_callbacks)
    first.incident.refresh_from_db()
    assert first.incident.crisis_level < 2 and not Alert.objects.filter(incident__crisis_level=2).exists()
    change = _inject(drill, "severity", {"incident_inject": first.pk, "severity": "high"})
    change = _release(drill, change, django_capture_on_commit_callbacks)

    incident = Incident.objects.get(pk=first.incident.pk)
    assert change.status == "released" and change.incident == incident
    assert incident.severity == "high" and incident.crisis_level == 2
    assert Alert.objects.filter(incident=incident, level=2).exists()
    assert Event.objects.filter(kind="incident.updated", subject_id=str(incident.pk)).get().exercise == drill["exercise"]


def test_a_press_article_is_an_update_on_the_incidents_timeline(drill, django_capture_on_commit_callbacks):
    first = _release(drill, _inject(drill, "incident", HOSPITALS), django_capture_on_commit_callbacks)
    press = _release(drill, _inject(drill, "press", {"incident_inject": first.pk, "outlet": "Tagesblatt",
                                                     "headline": "Hospitals turn patients away",
                                                     "text": "Three hospitals report outages."}),
                     django_capture_on_commit_callbacks)
    entry = press.timeline_entry
    assert press.status == "released" and entry.incident == first.incident
    assert entry.text.startswith("Press article — Tagesblatt: Hospitals turn patients away")
    assert Event.objects.get(kind="timeline.added").exercise == drill["exercise"]


def test_a_reserve_request_and_a_provider_declining_go_through_the_reserves_workflow(
        drill, django_capture_on_commit_callbacks):
    p, exercise = drill["people"], drill["exercise"]
    first = _release(drill, _inject(drill, "incident", HOSPITALS), django_capture_on_commit_callbacks)
    asked = _release(drill, _inject(drill, "reserve_request", {"incident_inject": first.pk, **REQUEST}),
                     django_capture_on_commit_callbacks)
    request = asked.assistance_request
    assert asked.status == "released" and request.exercise == exercise and request.status == "awaiting_spoc"
    assert list(request.incidents.all()) == [first.incident]
    assert not requests_visible_to(p["de_spoc"]).exists()  # live work
    decline = _inject(drill, "provider_declines", {"request_inject": asked.pk, "reason": "No forensic staff free."},
                      org="provider-acme")
    early = _release(drill, decline, django_capture_on_commit_callbacks)
    assert early.status == "failed" and "has no open offer" in early.error

    with using_exercise(exercise):  # the players move the request on: the SPOC, ENISA, the decision-maker
        reserve_services.forward_request(actor=p["de_spoc"], request=request, note="Endorsed")
        reserve_services.assess_request(actor=p["enisa_triage"], request=request, complete=True,
                                        recommendation="approve", reasons="Severe.")
        reserve_services.decide_request(actor=p["enisa_decision"], request=request, outcome="approved", reasons="OK")
        offer = reserve_services.engage_provider(actor=p["enisa_triage"], request=request,
                                                 provider=drill["orgs"]["provider-acme"])
    declined = _release(drill, Inject.objects.get(pk=decline.pk), django_capture_on_commit_callbacks)

    assert declined.status == "released" and declined.engagement == offer and declined.error == ""
    assert Engagement.objects.get(pk=offer.pk).status == "declined"
    assert Engagement.objects.filter(request=request, status="offered").exclude(provider__code="provider-acme").exists()
    assert Event.objects.get(kind="engagement.declined").exercise == exercise


# --- Once, and all or nothing ---------------------------------------------------------------------


def test_an_inject_is_released_once(drill, django_capture_on_commit_callbacks):
    inject = _release(drill, _inject(drill, "incident", HOSPITALS), django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as again:
        services.release_inject(actor=drill["people"]["controller"], inject=inject)
    assert "released once" in again.value.messages[0]
    assert Incident.objects.filter(exercise=drill["exercise"]).count() == 1
    with pytest.raises(ValidationError):
        services.update_inject(actor=drill["people"]["controller"], inject=inject, kind="incident", title="x",
                               organisation=drill["orgs"]["de-csirt"], payload=HOSPITALS)


def test_a_refused_inject_fails_with_the_services_message_and_leaves_nothing_half_written(
        drill, django_capture_on_commit_callbacks):
    first = _release(drill, _inject(drill, "incident", HOSPITALS), django_capture_on_commit_callbacks)
    events_before = Event.objects.count()
    # The draft request is written, then its submission is refused (the content is missing): none of it stays.
    failed = _release(drill, _inject(drill, "reserve_request", {"incident_inject": first.pk, "urgency": "immediate"}),
                      django_capture_on_commit_callbacks)

    assert failed.status == "failed" and failed.failed_at and failed.released_at is None
    assert "affected_entity" in failed.error and failed.assistance_request is None
    assert not AssistanceRequest.objects.exists()
    assert not Event.objects.filter(kind__startswith="request.").exists()
    assert list(Event.objects.filter(pk__gt=0).order_by("-id").values_list("kind", flat=True)[:2]) == [
        "inject.failed", "inject.created"]
    assert Event.objects.count() == events_before + 2
    # Corrected, it is pending again and goes through.
    fixed = services.update_inject(actor=drill["people"]["controller"], inject=failed, kind="reserve_request",
                                   title="Request", organisation=drill["orgs"]["de-csirt"],
                                   payload={"incident_inject": first.pk, **REQUEST})
    assert fixed.status == "pending" and fixed.error == ""
    assert _release(drill, fixed, django_capture_on_commit_callbacks).status == "released"


def test_a_change_before_the_referenced_inject_is_released_fails_and_says_so(drill, django_capture_on_commit_callbacks):
    first = _inject(drill, "incident", HOSPITALS)
    change = _release(drill, _inject(drill, "severity", {"incident_inject": first.pk, "severity": "high"}),
                      django_capture_on_commit_callbacks)
    assert change.status == "failed" and f"#{first.pk}" in change.error and "not been released" in change.error


def test_deleting_the_exercise_deletes_its_scenario_and_what_the_injects_made_and_no_live_work(
        drill, django_capture_on_commit_callbacks):
    from liaison import services as liaison_services

    live = drill["incident"]
    inject = _release(drill, _inject(drill, "incident", HOSPITALS), django_capture_on_commit_callbacks)
    _inject(drill, "severity", {"incident_inject": inject.pk, "severity": "high"})
    liaison_services.delete_exercise(actor=drill["people"]["enisa_crisis"], exercise=drill["exercise"])
    assert not Inject.objects.exists() and not Incident.objects.filter(pk=inject.incident_id).exists()
    assert Incident.objects.filter(pk=live.pk).exists()
    assert AuditEntry.objects.get(action="exercise.deleted").after["deleted"]["scenarios.Inject"] == 2
