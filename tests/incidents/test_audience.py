"""Escalation and recipients never widen an incident's audience (issue 12 §2).

An escalation alerts the level's networks, but who may *read* the incident follows its
TLP: RED and AMBER+STRICT are alerted only, AMBER waits for the originator's consent,
GREEN and CLEAR go to the network at once. A recipient's action shares nothing, children
stricter than their incident stay with their organisation on every path, and each
recipient of a share is told only about itself.
"""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import Alert, Share
from incidents.selectors import incidents_visible_to
from liaison.models import Event
from liaison.selectors import events_visible_to, inbox_for

pytestmark = pytest.mark.django_db

# Alerted by the jump 0 → 2, without the originator: levels are cumulative, so the CSIRTs Network (level 1:
# cert-eu, fr-csirt, pt-csirt, enisa) as well as EU-CyCLONe (level 2: de-authority, ec, enisa).
CYCLONE = ["cert-eu", "de-authority", "ec", "enisa", "fr-csirt", "pt-csirt"]


def _grid(network, tlp, **facts):
    """A de-csirt incident that the Blueprint puts at level 2 (national capacity exceeded) once evaluated."""
    incident = services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Grid control encrypted",
        description="SCADA hosts of a DSO encrypted", aware_at=timezone.now() - timedelta(hours=1), tlp=tlp,
        national_capacity_exceeded=True, **facts)
    services.evaluate_incident(incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    return incident


def _api(token) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _sees(user, incident) -> bool:
    return incidents_visible_to(user).filter(pk=incident.pk).exists()


def _disclosures(incident) -> dict:
    return dict(Alert.objects.filter(incident=incident).values_list("organisation__code", "disclosure"))


# --- 1. Escalation alerts; TLP decides who reads -------------------------------------------------------


@pytest.mark.parametrize("tlp", ["red", "amber+strict"])
def test_red_and_amber_strict_incidents_are_alerted_only_with_whom_to_ask(network, token_for, tlp):
    incident = _grid(network, tlp)
    assert _disclosures(incident) == dict.fromkeys(CYCLONE, "alerted_only")
    assert not Share.objects.filter(incident=incident).exists()
    for who in ("de_liaison", "enisa_triage", "enisa_admin"):
        assert not _sees(network["people"][who], incident), who

    response = _api(token_for(network["orgs"]["de-authority"])).get("/api/v1/alerts/")
    (alert,) = response.json()["results"]
    assert (alert["reference"], alert["level"], alert["disclosure"]) == (incident.reference, 2, "alerted_only")
    assert "national capacity" in alert["reason"].lower() or "level 2" in alert["reason"].lower()
    assert alert["originator"] == {"code": "de-csirt", "name": "CERT-Bund", "contact": "analyst@de-csirt.example"}
    assert "Alerted only" in alert["notice"] and "analyst@de-csirt.example" in alert["notice"]
    assert incident.title not in response.content.decode() and "SCADA" not in response.content.decode()

    events, _ = events_visible_to(network["people"]["de_liaison"], after=0, limit=1000)
    events = [e for e in events if e.subject_type in ("incident", "alert")]
    assert [e.kind for e in events] == ["alert.raised"]  # nothing of the incident itself
    assert events[0].payload["disclosure"] == "alerted_only" and "title" not in events[0].payload
    assert events[0].payload["originator"]["contact"] == "analyst@de-csirt.example"


def test_alert_email_says_alerted_only_and_whom_to_ask_without_content(network, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        incident = _grid(network, "red")
    (message,) = [m for m in mail.outbox if m.to == ["liaison@de-authority.example"]]
    assert "Alerted only" in message.body and "analyst@de-csirt.example" in message.body
    assert incident.title not in message.subject + message.body
    assert f"/incidents/{incident.pk}/" not in message.body  # a page they could not open


def test_amber_reaches_the_alerted_network_only_after_the_originator_agrees(network, token_for):
    incident = _grid(network, "amber")
    assert _disclosures(incident) == dict.fromkeys(CYCLONE, "awaiting_consent")
    assert not _sees(network["people"]["de_liaison"], incident)
    alert = _api(token_for(network["orgs"]["de-authority"])).get("/api/v1/alerts/").json()["results"][0]
    assert alert["disclosure"] == "awaiting_consent" and "consent" in alert["notice"]

    originator = _api(token_for(network["orgs"]["de-csirt"]))
    url = f"/api/v1/incidents/{incident.pk}/network-consent/"
    shown = originator.get(url).json()["organisations"]
    assert [o["code"] for o in shown] == CYCLONE
    agreed = originator.post(url, json.dumps({"organisations": [o["code"] for o in shown]}),
                             content_type="application/json")
    assert agreed.status_code == 200, agreed.json()
    assert sorted(s["label"] for s in agreed.json()) == ["BSI crisis management", "CERT-EU", "CERT-FR", "CERT.PT",
                                                         "ENISA", "European Commission"]

    assert _sees(network["people"]["de_liaison"], incident) and _sees(network["people"]["enisa_triage"], incident)
    assert _sees(network["people"]["pt_analyst"], incident)  # the CSIRTs Network: technical level, cumulative
    assert not _sees(network["people"]["provider"], incident)
    assert _disclosures(incident) == dict.fromkeys(CYCLONE, "shared")
    entry = AuditEntry.objects.get(action="incident.network_consent")
    assert entry.after["organisations"] == CYCLONE
    consent = Event.objects.get(kind="incident.network_consent")
    assert set(consent.audience.values_list("name", flat=True)) == {"org:de-csirt"}
    assert originator.get(url).json()["organisations"] == []  # nobody is waiting any more


def test_consent_is_the_originators_alone_for_the_list_it_was_shown(network, token_for):
    incident = _grid(network, "amber")
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    url = f"/api/v1/incidents/{incident.pk}/network-consent/"
    recipient = _api(token_for(network["orgs"]["fr-csirt"]))
    assert recipient.get(url).status_code == 403
    assert recipient.post(url, "{}", content_type="application/json").status_code == 403
    assert _api(token_for(network["orgs"]["pt-csirt"])).post(url, "{}", content_type="application/json").status_code == 404

    stale = _api(token_for(network["orgs"]["de-csirt"])).post(url, json.dumps({"organisations": ["ec"]}),
                                                              content_type="application/json")
    assert stale.status_code == 400 and "organisations" in stale.json()["error"]["fields"]
    assert "de-authority, ec, enisa" in stale.json()["error"]["fields"]["organisations"][0]
    assert not _sees(network["people"]["de_liaison"], incident)
    assert not AuditEntry.objects.filter(action="incident.network_consent").exists()


@pytest.mark.parametrize("tlp, field", [("red", "tlp"), ("amber+strict", "tlp")])
def test_consent_is_refused_for_labels_that_are_alerted_only(network, token_for, tlp, field):
    incident = _grid(network, tlp)
    response = _api(token_for(network["orgs"]["de-csirt"])).post(
        f"/api/v1/incidents/{incident.pk}/network-consent/", "{}", content_type="application/json")
    assert response.status_code == 400 and "alerted only" in response.json()["error"]["fields"][field][0]
    assert not Share.objects.filter(incident=incident).exists()


def test_consent_with_nobody_waiting_is_a_clear_400(network, incident, token_for):
    response = _api(token_for(network["orgs"]["de-csirt"])).post(
        f"/api/v1/incidents/{incident.pk}/network-consent/", "{}", content_type="application/json")
    assert response.status_code == 400 and "alerts" in response.json()["error"]["fields"]


def test_the_originator_sees_who_will_receive_it_and_agrees_on_the_incident_page(network, login):
    incident = _grid(network, "amber")
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    de = login(network["people"]["de_analyst"])
    page = de.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Share with the alerted networks?" in page
    assert all(name in page for name in ("BSI crisis management", "European Commission", "ENISA"))
    assert "Share with the alerted networks?" not in login(network["people"]["fr_analyst"]).get(
        f"/incidents/{incident.pk}/").content.decode()
    assert login(network["people"]["de_liaison"]).get(f"/incidents/{incident.pk}/").status_code == 404

    stale = de.post(f"/incidents/{incident.pk}/network-consent/", {"organisations": ["ec"]})
    assert stale.status_code == 400 and "Review the list and confirm again" in stale.content.decode()
    assert not _sees(network["people"]["de_liaison"], incident)
    refused = login(network["people"]["fr_analyst"]).post(f"/incidents/{incident.pk}/network-consent/",
                                                          {"organisations": CYCLONE})
    assert refused.status_code == 403 and not _sees(network["people"]["de_liaison"], incident)

    waiting = [code for code in CYCLONE if code != "fr-csirt"]  # fr-csirt has it already
    agreed = de.post(f"/incidents/{incident.pk}/network-consent/", {"organisations": waiting})
    assert agreed.status_code == 302
    assert _sees(network["people"]["de_liaison"], incident)
    assert login(network["people"]["de_liaison"]).get(f"/incidents/{incident.pk}/").status_code == 200


@pytest.mark.parametrize("tlp", ["green", "clear"])
def test_green_and_clear_go_to_the_alerted_network_at_once(network, tlp):
    incident = _grid(network, tlp)
    assert _disclosures(incident) == dict.fromkeys(CYCLONE, "shared")
    assert _sees(network["people"]["de_liaison"], incident)


def test_the_board_tells_an_alerted_only_organisation_whom_to_ask(network, login):
    incident = _grid(network, "amber+strict")
    page = login(network["people"]["de_liaison"]).get("/incidents/board/").content.decode()
    assert incident.reference in page and "Alerted only" in page and "analyst@de-csirt.example" in page
    assert incident.title not in page


# --- 2. A recipient's action never widens the audience -------------------------------------------------


def test_a_recipient_declaring_a_level_shares_the_incident_with_nobody(network):
    de = network["people"]["de_analyst"]
    incident = services.report_incident(actor=de, organisation=network["orgs"]["de-csirt"], title="Wiper",
                                        aware_at=timezone.now() - timedelta(hours=1), tlp="amber")
    services.share_incident(actor=de, incident=incident,
                            organisations=[network["orgs"]["fr-csirt"], network["orgs"]["de-authority"]])
    # The reporting state's crisis authority, a recipient, declares technical cooperation (its body in charge).
    services.declare_level(actor=network["people"]["de_liaison"], incident=incident, level=1,
                           reason="Same wiper seen in France")
    assert sorted(incident.shares.values_list("group__name", flat=True)) == ["org:de-authority", "org:fr-csirt"]
    assert not _sees(network["people"]["pt_analyst"], incident)
    disclosures = _disclosures(incident)
    assert disclosures["fr-csirt"] == "shared" and disclosures["pt-csirt"] == "awaiting_consent"

    services.consent_to_network_sharing(actor=de, incident=incident)  # only the originator widens it
    assert _sees(network["people"]["pt_analyst"], incident)


# --- 4. Each recipient of a share is told only about itself ---------------------------------------------


def test_each_recipient_of_a_share_is_told_only_about_itself(network, incident, token_for):
    de, fr = network["people"]["de_analyst"], network["people"]["fr_analyst"]
    services.share_incident(actor=de, incident=incident,
                            organisations=[network["orgs"]["fr-csirt"], network["orgs"]["pt-csirt"]])
    fr_events, _ = events_visible_to(fr, after=0, limit=1000)
    (shared,) = [e for e in fr_events if e.kind == "incident.shared"]
    assert shared.payload["shared_with"] == [{"kind": "organisation", "label": "CERT-FR"}]
    assert "CERT.PT" not in json.dumps([e.payload for e in fr_events])
    feed = _api(token_for(network["orgs"]["fr-csirt"])).get("/api/v1/events/").content.decode()
    assert "CERT-FR" in feed and "CERT.PT" not in feed and "pt-csirt" not in feed
    de_events, _ = events_visible_to(de, after=0, limit=1000)
    (full,) = [e for e in de_events if e.kind == "incident.shared"]
    assert sorted(t["label"] for t in full.payload["shared_with"]) == ["CERT-FR", "CERT.PT"]
    assert [(i.kind, i.subject_id) for i in inbox_for(fr)[0]] == [("incident.shared", str(incident.pk))]
    assert inbox_for(de) == ([], 0)


def test_a_recipient_never_sees_who_else_received_the_incident_on_page_or_api(network, login, token_for):
    """TLP: the source decides who gets it; recipients learn only that they have it (page and API agree)."""
    analyst = network["people"]["de_analyst"]
    incident = services.report_incident(
        actor=analyst, organisation=network["orgs"]["de-csirt"], title="Shared to two", description="x",
        aware_at=timezone.now() - timedelta(hours=1), tlp="amber", severity="high",
    )
    services.share_incident(actor=analyst, incident=incident,
                            organisations=[network["orgs"]["fr-csirt"], network["orgs"]["pt-csirt"]])
    fr_page = login(network["people"]["fr_analyst"]).get(reverse("incidents:detail", args=[incident.pk]))
    assert fr_page.status_code == 200
    assert "CERT.PT" not in fr_page.content.decode() and "pt-csirt" not in fr_page.content.decode()
    assert fr_page.context["shares"] == []
    fr_api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['fr-csirt'])}").get(f"/api/v1/incidents/{incident.pk}/")
    assert fr_api.status_code == 200 and fr_api.json()["shares"] == []
    de_page = login(analyst).get(reverse("incidents:detail", args=[incident.pk]))
    assert {s.label for s in de_page.context["shares"]} >= {network["orgs"]["pt-csirt"].name}
    de_api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}").get(f"/api/v1/incidents/{incident.pk}/")
    assert len(de_api.json()["shares"]) == 2
