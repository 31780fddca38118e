"""An edit or PATCH that would raise the crisis level says so before it is saved.

The preview runs the Blueprint engine on the facts the change would produce (a de-escalation
holding against everything but new facts), names the level and every network alerted on the
way (levels are cumulative), and writes nothing. The edit form asks for a confirmation; the API
answers ``PATCH …?dry_run=true`` without saving, and a saved PATCH says the level it moves to.
"""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents import selectors, services
from incidents.models import Escalation, Incident
from liaison.models import Event
from tests.factories import member_state

pytestmark = pytest.mark.django_db

LEVEL_2 = ("This will escalate to level 2 (large-scale cybersecurity incident) and alert EU-CyCLONe and the "
           "CSIRTs Network.")


def _report(network, **facts):
    return services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Wiper at a DSO",
        aware_at=timezone.now() - timedelta(hours=2), tlp="amber", severity="high",
        affected_member_states=[member_state("DE")], **facts)


def _edit_data(client, incident, **changes):
    form = client.get(f"/incidents/{incident.pk}/edit/").context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, [])}
    data["aware_at"] = timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M")
    data.update(changes)
    return data


def _api(client, method, url, body=None, **headers):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", headers=headers)


# --- The preview itself -------------------------------------------------------------------------


def test_a_second_member_state_at_high_previews_level_2_alerting_both_networks(network):
    incident = _report(network)
    preview = selectors.escalation_preview(incident, {"affected_member_states": [member_state("DE"),
                                                                                 member_state("FR")]})
    assert (preview.from_level, preview.to_level, preview.escalates) == (0, 2, True)
    assert preview.alerted == ("EU-CyCLONe", "CSIRTs Network")
    assert preview.message == LEVEL_2
    assert "2 member states affected" in preview.explanation
    assert Incident.objects.get(pk=incident.pk).affected_member_states.count() == 1  # nothing written


def test_a_jump_from_level_1_names_only_the_networks_of_the_levels_passed(network, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = _report(network, technical_cooperation_requested=True)
    incident.refresh_from_db()
    assert incident.crisis_level == 1
    preview = selectors.escalation_preview(incident, {"national_capacity_exceeded": True})
    assert (preview.to_level, preview.alerted) == (2, ("EU-CyCLONe",))


def test_a_change_the_rules_do_not_care_about_previews_no_escalation(network):
    preview = selectors.escalation_preview(_report(network), {"title": "Wiper at a DSO (confirmed)"})
    assert not preview.escalates and preview.to_level == 0
    assert preview.message == "The crisis level stays at 0 (national handling)."


def test_after_a_de_escalation_only_new_facts_preview_an_escalation(network, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = _report(network, national_capacity_exceeded=True)
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    services.deescalate(actor=network["people"]["de_liaison"], incident=incident, level=0, reason="Contained")
    incident.refresh_from_db()
    assert not selectors.escalation_preview(incident, {"description": "Backups restored"}).escalates
    assert not selectors.escalation_preview(incident, {"severity": "high"}).escalates  # held: not new
    again = selectors.escalation_preview(incident, {"affected_member_states": [member_state("DE"), member_state("AT")]})
    assert again.escalates and again.to_level == 2
    assert "New facts since the de-escalation" in again.explanation


# --- The edit form --------------------------------------------------------------------------------


def test_the_edit_form_asks_before_saving_an_escalating_change_and_saves_nothing_until_confirmed(
        network, login, django_capture_on_commit_callbacks):
    incident = _report(network)
    client = login(network["people"]["de_analyst"])
    data = _edit_data(client, incident, affected_member_states=["DE", "FR"])

    response = client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert LEVEL_2 in page and 'name="confirm_escalation"' in page and "Save and escalate" in page
    incident.refresh_from_db()
    assert incident.version == 1 and incident.affected_member_states.count() == 1
    assert not Escalation.objects.exists() and not Event.objects.filter(kind="incident.updated").exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/incidents/{incident.pk}/edit/", {**data, "confirm_escalation": "yes"})
    assert confirmed.status_code == 302
    incident.refresh_from_db()
    assert incident.crisis_level == 2 and incident.affected_member_states.count() == 2


def test_an_edit_that_does_not_escalate_is_saved_at_once(network, login):
    incident = _report(network)
    client = login(network["people"]["de_analyst"])
    response = client.post(f"/incidents/{incident.pk}/edit/", _edit_data(client, incident, title="Wiper (confirmed)"))
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).title == "Wiper (confirmed)"


# --- The API --------------------------------------------------------------------------------------


def test_patch_dry_run_answers_what_would_happen_and_saves_nothing(network, token_for):
    incident = _report(network)
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'])}"})
    response = _api(client, "patch", f"/api/v1/incidents/{incident.pk}/?dry_run=true",
                    {"affected_member_states": ["DE", "FR"], "title": "Wiper at two DSOs"}, **{"If-Match": '"v1"'})
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True and body["version"] == 1
    assert body["changed"] == ["affected_member_states", "title"]
    assert body["escalation"]["to_level"] == 2 and body["escalation"]["escalates"] is True
    assert body["escalation"]["alerted"] == ["EU-CyCLONe", "CSIRTs Network"]
    assert body["escalation"]["message"] == LEVEL_2
    incident.refresh_from_db()
    assert incident.version == 1 and incident.title == "Wiper at a DSO" and not Escalation.objects.exists()


def test_a_saved_patch_says_the_level_it_moves_to(network, token_for, django_capture_on_commit_callbacks):
    incident = _report(network)
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'])}"})
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(client, "patch", f"/api/v1/incidents/{incident.pk}/", {"national_capacity_exceeded": True})
    assert response.status_code == 200
    assert response.json()["escalation"]["to_level"] == 2
    assert response.json()["escalation"]["message"] == LEVEL_2
    assert Incident.objects.get(pk=incident.pk).crisis_level == 2


def test_a_dry_run_on_an_incident_the_caller_may_not_see_is_404_like_a_missing_one(network, token_for):
    incident = _report(network)
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['pt-csirt'])}"})
    hidden = _api(client, "patch", f"/api/v1/incidents/{incident.pk}/?dry_run=true", {"severity": "critical"})
    missing = _api(client, "patch", "/api/v1/incidents/999999/?dry_run=true", {"severity": "critical"})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert "critical" not in json.dumps(hidden.json())


def test_a_dry_run_by_a_recipient_who_may_not_edit_is_refused_with_the_reason(network, login):
    incident = _report(network)
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    response = _api(login(network["people"]["fr_analyst"]), "patch",
                    f"/api/v1/incidents/{incident.pk}/?dry_run=true", {"severity": "critical"})
    assert response.status_code == 403
    assert "Only the reporting organisation" in response.json()["error"]["message"]


def test_a_dry_run_with_a_stale_etag_or_a_bad_flag_is_refused_naming_it(network, token_for):
    incident = _report(network)
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'])}"})
    stale = _api(client, "patch", f"/api/v1/incidents/{incident.pk}/?dry_run=true", {"severity": "critical"},
                 **{"If-Match": '"v7"'})
    assert stale.status_code == 412
    bad = _api(client, "patch", f"/api/v1/incidents/{incident.pk}/?dry_run=maybe", {"severity": "critical"})
    assert bad.status_code == 400 and "dry_run" in bad.json()["error"]["fields"]
    assert Incident.objects.get(pk=incident.pk).severity == "high"
