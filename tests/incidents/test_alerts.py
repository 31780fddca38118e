"""Alerts of an escalation: who is alerted, explicit answers, and the sweep chasing silence."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Alert
from incidents.selectors import incidents_visible_to
from liaison.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _level2(network, tlp="amber"):
    """Level 2: EU-CyCLONe alerted; a TLP:AMBER one is shared with it once the originator agrees (here, at once)."""
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Grid", aware_at=timezone.now() - timedelta(hours=1), tlp=tlp,
                                        national_capacity_exceeded=True)
    if tlp == "amber":
        services.consent_to_network_sharing(actor=network["people"]["de_analyst"], incident=incident)
    return incident


def test_escalation_alerts_every_organisation_of_the_network_in_charge(network):
    incident = _level2(network)
    alerts = Alert.objects.filter(incident=incident)
    # Levels are cumulative: 0 → 2 alerts the CSIRTs Network (level 1) and EU-CyCLONe (level 2), each once.
    assert {a.organisation.code: a.level for a in alerts} == {
        "cert-eu": 1, "fr-csirt": 1, "pt-csirt": 1, "de-authority": 2, "ec": 2, "enisa": 2}
    assert {a.state for a in alerts} == {"notified"} and all(a.due_at for a in alerts)
    assert incidents_visible_to(network["people"]["de_liaison"]).filter(pk=incident.pk).exists()
    assert not incidents_visible_to(network["people"]["provider"]).filter(pk=incident.pk).exists()
    assert Event.objects.filter(kind="alert.raised").count() == 6
    assert any("level 2" in m.subject for m in mail.outbox)


def test_a_red_incident_is_alerted_but_not_shared(network):
    incident = _level2(network, tlp="red")
    assert Alert.objects.filter(incident=incident).count() == 6
    assert not incidents_visible_to(network["people"]["de_liaison"]).filter(pk=incident.pk).exists()


def test_answers_over_the_api_and_refusals(network, token_for):
    incident = _level2(network)
    alert = Alert.objects.get(incident=incident, organisation__code="de-authority")
    authority = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-authority'])}")
    enisa = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['enisa'])}")
    outsider = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['provider-acme'])}")
    url = f"/api/v1/alerts/{alert.pk}/"
    empty = {"data": "{}", "content_type": "application/json"}
    assert outsider.post(url + "acknowledge/", **empty).status_code == 404  # not theirs, incident not visible
    other = enisa.post(url + "acknowledge/", **empty)
    assert other.status_code == 403 and "not to your organisation" in other.json()["error"]["message"]
    no_note = authority.post(url + "not-affected/", json.dumps({"note": ""}), content_type="application/json")
    assert no_note.status_code == 400 and "note" in no_note.json()["error"]["fields"]
    ok = authority.post(url + "acknowledge/", json.dumps({"note": "Team mobilised"}), content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "acknowledged"
    again = authority.post(url + "not-affected/", json.dumps({"note": "x"}), content_type="application/json")
    assert again.status_code == 400 and "already answered" in again.json()["error"]["fields"]["state"][0]
    listed = enisa.get("/api/v1/alerts/", {"incident": incident.pk}).json()["results"]
    assert {a["organisation"]: a["state"] for a in listed} == {
        "de-authority": "acknowledged", "ec": "notified", "enisa": "notified",
        "cert-eu": "notified", "fr-csirt": "notified", "pt-csirt": "notified"}


def test_opening_the_incident_page_marks_the_alert_seen_and_shows_the_grid(network, login):
    incident = _level2(network)
    page = login(network["people"]["de_liaison"]).get(f"/incidents/{incident.pk}/").content.decode()
    assert Alert.objects.get(incident=incident, organisation__code="de-authority").state == "seen"
    assert Alert.objects.get(incident=incident, organisation__code="ec").state == "notified"
    assert "Alerts and answers" in page and "Acknowledge" in page


def test_sweep_marks_silence_as_no_response_reminds_once_then_widens_to_enisa_once(network, freezer):
    incident = _level2(network)
    alert = Alert.objects.get(incident=incident, organisation__code="ec")
    window = alert.due_at - alert.escalation.created_at
    freezer.move_to(alert.due_at - timedelta(minutes=1))
    assert services.sweep_alerts() == 0
    freezer.move_to(alert.due_at + timedelta(minutes=1))
    mail.outbox.clear()
    assert services.sweep_alerts() == 3  # all three unanswered alerts
    assert services.sweep_alerts() == 0  # idempotent: nothing twice
    alert.refresh_from_db()
    assert alert.state == "no_response" and alert.reminded_at is not None
    assert any("REMINDER" in m.subject for m in mail.outbox)
    freezer.move_to(alert.due_at + timedelta(minutes=1))
    assert services.sweep_alerts() == 3
    assert services.sweep_alerts() == 0
    alert.refresh_from_db()
    assert alert.widened_at is not None
    unanswered = Event.objects.filter(kind="alert.unanswered", subject_id=str(alert.pk)).get()
    assert "org:enisa" in set(unanswered.audience.values_list("name", flat=True))
    assert alert.due_at - alert.reminded_at == window


def test_the_incident_page_sums_up_the_alerts_in_one_line(network, login, token_for):
    incident = _level2(network)
    alert = Alert.objects.get(incident=incident, organisation__code="de-authority")
    services.answer_alert(actor=network["people"]["de_liaison"], alert=alert, affected=True)
    page = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Alerts: <strong>5</strong> waiting, <strong>1</strong> acknowledged" in page
    assert "All 6 alerts, by organisation" in page


def _widen(alert, freezer):
    for _ in range(2):  # first the reminder, one period later the widening to ENISA
        freezer.move_to(Alert.objects.get(pk=alert.pk).due_at + timedelta(minutes=1))
        services.sweep_alerts()


def test_an_unanswered_alert_is_mailed_to_enisas_liaison_officers_and_not_to_their_other_organisations(
        network, freezer):
    """Someone who is ENISA's liaison officer and also in another organisation's team brings that team nothing:
    the e-mail goes to ENISA's liaison officers themselves, as the event goes to ENISA (not to the whole team
    of their other organisation, which may not see the incident)."""
    from liaison import services as liaison_services
    from tests import factories

    orgs, people = network["orgs"], network["people"]
    officer = factories.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    liaison_services.add_membership(actor=None, user=officer, organisation=orgs["provider-acme"], role="provider_staff")
    incident = _level2(network, tlp="red")
    alert = Alert.objects.get(incident=incident, organisation__code="ec")
    mail.outbox.clear()

    _widen(alert, freezer)

    told = {address for m in mail.outbox if "UNANSWERED" in m.subject for address in m.to}
    about_ec = {address for m in mail.outbox if m.subject.endswith("for ec") for address in m.to}
    assert officer.email in about_ec
    assert people["provider"].email not in told  # ACME's team neither sees the incident nor is told of it
    # The Commission's silence goes to ENISA's liaison officers, not to ENISA's other roles (they hear of their
    # own organisation's unanswered alert, as every alerted organisation does).
    assert people["enisa_triage"].email not in about_ec
    assert not incidents_visible_to(people["provider"]).filter(pk=incident.pk).exists()


def test_an_unanswered_alert_is_not_mailed_through_a_deactivated_enisa_membership(network, freezer):
    from liaison import services as liaison_services
    from tests import factories

    orgs = network["orgs"]
    officer = factories.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    incident = _level2(network)
    alert = Alert.objects.get(incident=incident, organisation__code="ec")
    liaison_services.update_organisation(actor=None, organisation=orgs["enisa"], name="ENISA", kind="enisa",
                                         member_state=None, is_active=False)
    mail.outbox.clear()

    _widen(alert, freezer)

    assert officer.email not in {a for m in mail.outbox if m.subject.endswith("for ec") for a in m.to}


def test_an_unanswered_alert_asks_the_alerted_organisation_to_answer_and_tells_enisas_officers_whose_silence_it_is(
        network, freezer):
    """The alerted organisation is asked to acknowledge; ENISA's liaison officers, who cannot answer for it, are
    told whose alert went unanswered and where to find it, not addressed as if they had been alerted."""
    from tests import factories

    orgs = network["orgs"]
    officer = factories.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    commission = factories.person("duty@ec.example", orgs["ec"], ["liaison_officer"])
    incident = _level2(network)
    alert = Alert.objects.get(incident=incident, organisation__code="ec")
    mail.outbox.clear()

    _widen(alert, freezer)

    about_ec = [m for m in mail.outbox if m.subject.endswith("for ec")]
    assert {a for m in about_ec for a in m.to} >= {officer.email, commission.email}
    to_officer = [m for m in about_ec if m.to == [officer.email]]
    to_ec = [m for m in about_ec if officer.email not in m.to]
    assert len(to_officer) == 1 and to_ec
    assert "has not answered its alert" in to_officer[0].body and "liaison officer of ENISA" in to_officer[0].body
    assert "Acknowledge it" not in to_officer[0].body and "is alerted" not in to_officer[0].body
    assert all("Acknowledge it" in m.body and "liaison officer of ENISA" not in m.body for m in to_ec)
    assert incident.reference in to_officer[0].body and incident.title not in to_officer[0].body
