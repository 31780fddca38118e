"""NIS2 Art. 23 as the portal encodes it: one table test per rule, named for its article.

The pure rules (``incidents.clocks``) are tested as tables of facts; the services, pages and
API are tested for what a reporter, an authority and SOC tooling see.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from incidents import clocks, policy, selectors, services
from incidents.clocks import Clock, Facts, IntermediateRequest, deadlines, final_report_awaits_handling
from incidents.models import CrossBorderNotice, Incident, Report
from liaison.models import Event, MemberState
from liaison.services import create_member_state, update_member_state
from tests.factories import member_state, organisation, person

BERLIN = "Europe/Berlin"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def by_clock(items):
    return {(d.clock, d.sequence): d for d in items}


def _report(network, **kwargs):
    kwargs.setdefault("title", "Wiper at a DSO")
    kwargs.setdefault("aware_at", timezone.now() - timedelta(hours=2))
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    **kwargs)


def _clocks_of(incident):
    return {(d.clock, d.sequence): d for d in Incident.objects.get(pk=incident.pk).deadlines.all()}


# --- Art. 23(3): significant or not -------------------------------------------------------------------


@pytest.mark.parametrize("significance,grounds,clocks_run", [
    ("", [], True),  # not stated: treated as significant
    ("significant", ["operational_disruption"], True),
    ("significant", ["financial_loss", "damage_to_others"], True),
    ("voluntary", [], False),
    ("near_miss", [], False),
])
def test_nis2_art23_3_only_significant_incidents_carry_the_mandatory_clocks(network, significance, grounds, clocks_run):
    incident = _report(network, significance=significance, significance_grounds=grounds,
                       significance_explanation="Grid control offline for 6 h")
    assert bool(_clocks_of(incident)) is clocks_run
    assert incident.significance == significance and incident.significance_grounds == grounds
    # Recorded and shared like any incident all the same.
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    assert selectors.incidents_visible_to(network["people"]["fr_analyst"]).filter(pk=incident.pk).exists()


@pytest.mark.parametrize("significance,grounds,message", [
    ("significant", [], r"Art\. 23\(3\)"),
    ("voluntary", ["financial_loss"], "Art. 30"),
    ("significant", ["boredom"], "Use operational_disruption"),
])
def test_nis2_art23_3_a_significant_incident_says_why_else_nothing_is_written(network, significance, grounds, message):
    before = Incident.objects.count()
    with pytest.raises(ValidationError, match=message):
        _report(network, significance=significance, significance_grounds=grounds)
    assert Incident.objects.count() == before


def test_nis2_art23_3_declaring_an_incident_voluntary_stops_its_clocks_and_significant_restarts_them(network):
    de = network["people"]["de_analyst"]
    incident = _report(network, significance="significant", significance_grounds=["operational_disruption"])
    assert (Clock.EARLY_WARNING, 0) in _clocks_of(incident)
    services.update_incident(actor=de, incident=incident, significance="voluntary")
    incident.refresh_from_db()
    assert _clocks_of(incident) == {} and incident.significance_grounds == []
    services.update_incident(actor=de, incident=incident, significance="significant",
                             significance_grounds=["damage_to_others"])
    assert (Clock.EARLY_WARNING, 0) in _clocks_of(incident)


def test_nis2_art23_3_significance_in_the_report_form_the_edit_form_the_page_and_the_api(network, login, token_for):
    client = login(network["people"]["de_analyst"])
    aware = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/incidents/new/", {"title": "Phishing wave", "aware_at": aware, "tlp": "amber",
                                                "severity": "low", "significance": "near_miss",
                                                "significance_explanation": "Blocked at the mail gateway"})
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get(title="Phishing wave")
    assert incident.significance == "near_miss" and not incident.deadlines.exists()
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Near miss (Art. 30)" in page and "no mandatory reporting clock" in page
    edit = client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    assert 'name="significance"' in edit and 'name="significance_grounds"' in edit
    response = client.post("/incidents/new/", {"title": "Outage", "aware_at": aware, "tlp": "amber", "severity": "high",
                                                "significance": "significant"})
    assert response.status_code == 400 and "Art. 23(3)" in response.content.decode()
    tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    body = tool.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert body["significance"] == "near_miss" and body["deadlines"] == []
    response = tool.patch(f"/api/v1/incidents/{incident.pk}/", json.dumps(
        {"significance": "significant", "significance_grounds": ["operational_disruption"]}),
        content_type="application/json")
    assert response.status_code == 200, response.json()
    assert response.json()["significance_grounds"] == ["operational_disruption"]
    assert {d["clock"] for d in response.json()["deadlines"]} >= {"early_warning", "notification", "final_report"}


# --- Art. 23(4)(a): the early warning's two questions, and the API's early warning ----------------------


@pytest.mark.parametrize("answers,recorded", [
    ({"suspected_malicious": True, "cross_border_impact": False}, {"suspected_malicious": True, "cross_border_impact": False}),
    ({"suspected_malicious": None}, {"suspected_malicious": None, "cross_border_impact": None}),
    ({}, {"suspected_malicious": None, "cross_border_impact": None}),  # not given: the incident's (unknown) answers
])
def test_nis2_art23_4_a_the_early_warning_answers_both_questions(network, answers, recorded):
    incident = _report(network)
    report = services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="early_warning",
                                    content={"summary": "Wiper"}, **answers)
    assert report.content["art_23_4_a"] == recorded
    incident.refresh_from_db()
    assert {k: getattr(incident, k) for k in recorded} == recorded


def test_nis2_art23_4_a_only_the_early_warning_asks_the_two_questions(network):
    incident = _report(network)
    with pytest.raises(ValidationError, match=r"Art. 23\(4\)\(a\)"):
        services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="notification",
                               content={"initial_assessment": "x", "impact": "y"}, suspected_malicious=True)


def test_nis2_art23_4_a_the_report_form_asks_the_two_questions(network, login):
    client = login(network["people"]["de_analyst"])
    incident = _report(network)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert 'name="report-early_warning-suspected_malicious"' in page
    assert 'name="report-early_warning-cross_border_impact"' in page
    response = client.post(f"/incidents/{incident.pk}/reports/early_warning/", {
        "report-early_warning-summary": "Wiper", "report-early_warning-suspected_malicious": "true",
        "report-early_warning-cross_border_impact": "false"})
    assert response.status_code == 302
    report = incident.reports.get(kind="early_warning")
    assert report.content["art_23_4_a"] == {"suspected_malicious": True, "cross_border_impact": False}


def test_nis2_art23_4_a_an_api_create_with_the_early_warning_records_it_and_stops_the_24_hour_clock(network, token_for):
    tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    aware = (timezone.now() - timedelta(hours=1)).astimezone(UTC).isoformat()
    response = tool.post("/api/v1/incidents/", json.dumps({
        "title": "DDoS on TSO", "aware_at": aware, "tlp": "amber", "suspected_malicious": True,
        "cross_border_impact": None, "early_warning": {"summary": "Volumetric DDoS on the TSO's portal"},
    }), content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    early = next(d for d in body["deadlines"] if d["clock"] == "early_warning")
    assert early["state"] == "met" and early["met_at"] is not None
    assert [r["kind"] for r in body["reports"]] == ["early_warning"]
    report = Report.objects.get(incident_id=body["id"])
    assert report.content["summary"].startswith("Volumetric")
    assert report.content["art_23_4_a"] == {"suspected_malicious": True, "cross_border_impact": None}
    # Without the early warning's content the create records the incident only: the 24-hour clock runs.
    bare = tool.post("/api/v1/incidents/", json.dumps({"title": "Scan", "aware_at": aware}),
                     content_type="application/json").json()
    assert next(d for d in bare["deadlines"] if d["clock"] == "early_warning")["met_at"] is None


def test_nis2_art23_4_a_an_api_early_warning_without_its_summary_writes_nothing(network, token_for):
    tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    before = Incident.objects.count()
    response = tool.post("/api/v1/incidents/", json.dumps({
        "title": "DDoS", "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "early_warning": {"notes": "no summary"}}), content_type="application/json")
    assert response.status_code == 400
    assert "early_warning.summary" in response.json()["error"]["fields"]
    assert Incident.objects.count() == before


# --- Art. 23(4)(c): each intermediate request is its own clock --------------------------------------------

AWARE = utc(2026, 6, 1, 8, 0)
R1 = IntermediateRequest(1, utc(2026, 6, 5, 9, 0), utc(2026, 6, 8, 9, 0))
R2 = IntermediateRequest(2, utc(2026, 6, 10, 9, 0), utc(2026, 6, 12, 9, 0))


@pytest.mark.parametrize("case,requests,reports,met", [
    ("one request, answered", (R1,), (utc(2026, 6, 6),), {1: utc(2026, 6, 6)}),
    ("a second request is not met by the first answer", (R1, R2), (utc(2026, 6, 6),), {1: utc(2026, 6, 6), 2: None}),
    ("each request met by a report after it", (R1, R2), (utc(2026, 6, 6), utc(2026, 6, 11)),
     {1: utc(2026, 6, 6), 2: utc(2026, 6, 11)}),
    ("a report volunteered before the request does not meet it", (R1,), (utc(2026, 6, 3),), {1: None}),
    ("one report after both requests answers both", (R1, R2), (utc(2026, 6, 11),),
     {1: utc(2026, 6, 11), 2: utc(2026, 6, 11)}),
])
def test_nis2_art23_4_c_each_intermediate_request_is_its_own_clock(case, requests, reports, met):
    facts = Facts(aware_at=AWARE, time_zone=BERLIN, intermediate_requests=requests, intermediate_reports=reports)
    items = by_clock(deadlines(facts, now=utc(2026, 6, 20)))
    assert {seq: items[(Clock.INTERMEDIATE, seq)].met_at for seq in met} == met, case


def test_nis2_art23_4_c_a_second_request_is_open_until_a_report_after_it(network):
    incident = _report(network)
    de, authority = network["people"]["de_analyst"], network["people"]["de_liaison"]
    services.share_incident(actor=de, incident=incident, member_states=[member_state("DE")])
    services.submit_report(actor=de, incident=incident, kind="intermediate", content={"status_update": "volunteered"})
    soon = timezone.now() + timedelta(days=2)
    services.request_intermediate_report(actor=authority, incident=incident, due_at=soon)
    assert _clocks_of(incident)[(Clock.INTERMEDIATE, 1)].met_at is None  # the volunteered report came before
    services.submit_report(actor=de, incident=incident, kind="intermediate", content={"status_update": "answer 1"})
    services.request_intermediate_report(actor=authority, incident=incident, due_at=soon + timedelta(days=1))
    rows = _clocks_of(incident)
    assert rows[(Clock.INTERMEDIATE, 1)].met_at is not None and rows[(Clock.INTERMEDIATE, 2)].met_at is None
    services.submit_report(actor=de, incident=incident, kind="intermediate", content={"status_update": "answer 2"})
    assert _clocks_of(incident)[(Clock.INTERMEDIATE, 2)].met_at is not None


def test_nis2_art23_4_c_no_intermediate_report_is_requested_of_a_voluntary_notification(network):
    incident = _report(network, significance="voluntary")
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident, member_states=[member_state("DE")])
    authority = network["people"]["de_liaison"]
    assert not policy.may_request_intermediate_report(authority, incident)
    with pytest.raises(ValidationError, match=r"Art. 23\(3\)"):
        services.request_intermediate_report(actor=authority, incident=incident,
                                             due_at=timezone.now() + timedelta(days=1))


# --- Art. 23(4)(e): ongoing incidents -------------------------------------------------------------------

NOTIFIED = utc(2026, 6, 2, 8, 0)  # final report due 2 July 10:00 Berlin (08:00 UTC)
FINAL_DUE = utc(2026, 7, 2, 8, 0)


@pytest.mark.parametrize("case,progress,handled,final,due,awaits", [
    ("no progress report: one month after the notification", None, None, None, FINAL_DUE, False),
    ("progress report while ongoing: waits for handling", utc(2026, 7, 2, 7), None, None, None, True),
    ("handled after the due date: one month after handling", utc(2026, 7, 2, 7), utc(2026, 7, 20, 8), None,
     utc(2026, 8, 20, 8), False),
    ("handled before the due date: the original date stands", utc(2026, 6, 20), utc(2026, 6, 25), None, FINAL_DUE,
     False),
    ("a late progress report still moves it", utc(2026, 7, 3), utc(2026, 7, 10, 8), None, utc(2026, 8, 10, 8), False),
])
def test_nis2_art23_4_e_a_progress_report_moves_the_final_report_to_one_month_after_handling(
        case, progress, handled, final, due, awaits):
    facts = Facts(aware_at=NOTIFIED - timedelta(hours=20), time_zone=BERLIN, early_warning_at=NOTIFIED,
                  notification_at=NOTIFIED, progress_report_at=progress, handled_at=handled, final_report_at=final)
    items = by_clock(deadlines(facts, now=utc(2026, 7, 5)))
    assert (items[(Clock.FINAL_REPORT, 0)].due_at if (Clock.FINAL_REPORT, 0) in items else None) == due, case
    assert final_report_awaits_handling(facts) is awaits, case


def test_nis2_art23_4_e_the_final_report_is_not_overdue_while_a_progress_report_holds_it(network, freezer):
    de = network["people"]["de_analyst"]
    freezer.move_to("2026-06-01T08:00:00Z")
    incident = _report(network, aware_at=timezone.now() - timedelta(hours=1))
    services.submit_report(actor=de, incident=incident, kind="notification",
                           content={"initial_assessment": "High", "impact": "Grid"})
    services.record_initial_response(actor=de, incident=incident, text="Received; isolate the OT network")
    freezer.move_to("2026-07-01T07:00:00Z")  # the final report falls due; the incident is still being handled
    services.submit_report(actor=de, incident=incident, kind="progress", content={"status_update": "Still eradicating"})
    assert (Clock.FINAL_REPORT, 0) not in _clocks_of(incident)
    assert not selectors.overdue_incidents(Incident.objects.filter(pk=incident.pk), now=timezone.now() + timedelta(days=5))
    freezer.move_to("2026-07-20T08:00:00Z")
    services.change_status(actor=de, incident=incident, status="resolved")
    assert _clocks_of(incident)[(Clock.FINAL_REPORT, 0)].due_at == utc(2026, 8, 20, 8, 0)


@pytest.mark.parametrize("status", ["closed", "resolved"])
def test_nis2_art23_4_e_a_progress_report_on_a_handled_incident_is_refused_naming_the_article(network, status):
    de = network["people"]["de_analyst"]
    incident = _report(network)
    services.change_status(actor=de, incident=incident, status=status)
    with pytest.raises(ValidationError, match=r"Art\. 23\(4\)\(e\)"):
        services.submit_report(actor=de, incident=incident, kind="progress", content={"status_update": "x"})
    assert not incident.reports.exists()


def test_nis2_art23_4_e_a_progress_report_on_a_closed_incident_is_a_400_over_the_api(network, token_for):
    incident = _report(network)
    services.change_status(actor=network["people"]["de_analyst"], incident=incident, status="closed")
    tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    response = tool.post(f"/api/v1/incidents/{incident.pk}/reports/", json.dumps(
        {"kind": "progress", "content": {"status_update": "x"}}), content_type="application/json")
    assert response.status_code == 400 and "23(4)(e)" in json.dumps(response.json())


# --- Art. 23(6): informing the other affected member states and ENISA ------------------------------------


@pytest.fixture
def cross_border(network):
    """A DE incident affecting DE, FR and IT; FR has a CSIRT and a SPOC, IT has nobody registered."""
    fr_spoc = organisation("fr-spoc", "spoc", "FR", "FR single point of contact")
    de_spoc = organisation("de-spoc", "spoc", "DE", "DE single point of contact")
    return {"fr_spoc": fr_spoc, "de_spoc_person": person("officer@de-spoc.example", de_spoc, ["analyst"])}


def _affecting(network, codes, **kwargs):
    return _report(network, affected_member_states=[member_state(c) for c in codes], **kwargs)


@pytest.mark.parametrize("who,may", [
    ("de_analyst", True),  # the reporting state's CSIRT (here also the originator)
    ("de_liaison", True),  # the reporting state's crisis (competent) authority, not the originator
    ("de_spoc_person", True),  # the reporting state's SPOC
    ("fr_analyst", False),  # another state's CSIRT
    ("enisa_triage", False),
])
def test_nis2_art23_6_the_reporting_states_csirt_authority_or_spoc_informs(network, cross_border, who, may):
    incident = _affecting(network, ["DE", "FR"], tlp="green")
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            communities=["community:csirts-network"], member_states=[member_state("DE"),
                                                                                       member_state("FR")])
    people = {**network["people"], "de_spoc_person": cross_border["de_spoc_person"]}
    assert policy.may_inform_other_member_states(people[who], incident) is may
    if may:
        services.inform_other_member_states(actor=people[who], incident=incident)
        assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is not None
    else:
        with pytest.raises(PermissionDenied, match=r"Art\. 23\(6\)"):
            services.inform_other_member_states(actor=people[who], incident=incident)


def test_nis2_art23_6_reaches_every_affected_states_spoc_and_csirt_and_enisa(network, cross_border):
    incident = _affecting(network, ["DE", "FR"])
    services.inform_other_member_states(actor=network["people"]["de_analyst"], incident=incident)
    told = set(CrossBorderNotice.objects.filter(incident=incident).values_list("organisation__code", flat=True))
    assert told == {"fr-csirt", "fr-spoc", "enisa"}
    assert {s.label for s in incident.shares.all()} >= {"CERT-FR", "FR single point of contact", "ENISA"}
    assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is not None


def test_nis2_art23_6_a_state_with_nobody_to_receive_it_is_shown_not_informed_and_the_clock_stays_open(
        network, cross_border, login):
    incident = _affecting(network, ["DE", "FR", "IT"])
    services.inform_other_member_states(actor=network["people"]["de_analyst"], incident=incident)
    targets = {t.label: t for t in selectors.cross_border_targets(incident)}
    assert targets["Italy"].informed_at is None and not targets["Italy"].reachable
    assert targets["France"].informed_at is not None and targets["ENISA"].informed_at is not None
    assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is None
    page = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Not informed: Italy" in page and "Nobody registered" in page
    # Once Italy's CSIRT is registered, informing again reaches it and meets the clock.
    organisation("it-csirt", "national_csirt", "IT", "CSIRT Italia")
    services.inform_other_member_states(actor=network["people"]["de_analyst"], incident=incident)
    assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is not None


def test_nis2_art23_6_a_newly_affected_state_reopens_the_clock_until_it_is_informed(network, cross_border):
    de = network["people"]["de_analyst"]
    incident = _affecting(network, ["DE", "FR"])
    services.inform_other_member_states(actor=de, incident=incident)
    services.update_incident(actor=de, incident=incident,
                             affected_member_states=[member_state(c) for c in ("DE", "FR", "PT")])
    incident.refresh_from_db()
    assert incident.others_informed_at is None
    assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is None
    services.inform_other_member_states(actor=de, incident=incident)
    incident.refresh_from_db()
    assert incident.others_informed_at is not None
    assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is not None


def test_nis2_art23_6_a_red_incident_sends_the_reference_and_the_obligation_not_the_content(
        network, cross_border, django_capture_on_commit_callbacks, mailoutbox):
    incident = _affecting(network, ["DE", "FR"], tlp="red", title="Secret wiper campaign")
    with django_capture_on_commit_callbacks(execute=True):
        shares = services.inform_other_member_states(actor=network["people"]["de_analyst"], incident=incident)
    assert shares == [] and not incident.shares.exists()
    assert not selectors.incidents_visible_to(network["people"]["fr_analyst"]).filter(pk=incident.pk).exists()
    notices = Event.objects.filter(kind="incident.cross_border_notice")
    assert notices.count() == 3  # fr-csirt, fr-spoc, ENISA
    for event in notices:
        assert event.payload["reference"] == incident.reference and "Art. 23(6)" in event.payload["notice"]
        assert "Secret wiper" not in json.dumps(event.payload)
    assert not CrossBorderNotice.objects.filter(incident=incident, content_shared=True).exists()
    assert _clocks_of(incident)[(Clock.CROSS_BORDER_INFORM, 0)].met_at is not None
    from liaison.selectors import events_visible_to
    seen, _ = events_visible_to(network["people"]["fr_analyst"], after=0, limit=1000)
    assert any(e.kind == "incident.cross_border_notice" for e in seen)
    from liaison.selectors import inbox_for
    inbox, _ = inbox_for(network["people"]["fr_analyst"])
    assert [e.payload["reference"] for e in inbox if e.kind == "incident.cross_border_notice"] == [incident.reference]
    # By e-mail too, to the informed organisations' people: the reference and the obligation, never the content.
    (mail,) = [m for m in mailoutbox if m.to == ["analyst@fr-csirt.example"]]
    assert incident.reference in mail.subject and "Art. 23(6)" in mail.subject + mail.body
    assert "Secret wiper" not in mail.subject + mail.body and f"/incidents/{incident.pk}/" not in mail.body


# --- Time zones are data on the member state; the final-report date is the strict reading --------------


def test_nis2_art23_4_d_one_month_is_counted_in_the_zone_stored_on_the_member_state(network, freezer):
    freezer.move_to("2026-03-30T22:30:00Z")  # 31 March 01:30 in Helsinki, 30 March 23:30 in Lisbon
    MemberState.objects.filter(code="DE").update(time_zone="Europe/Helsinki")
    incident = _report(network, aware_at=timezone.now() - timedelta(hours=1))
    services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="notification",
                           content={"initial_assessment": "x", "impact": "y"})
    # 31 March → 30 April (clamped) 01:30 in Helsinki (EEST) = 29 April 22:30 UTC.
    assert _clocks_of(incident)[(Clock.FINAL_REPORT, 0)].due_at == utc(2026, 4, 29, 22, 30)
    # ENISA corrects the zone: the open incident's clock is counted again at once, not at its next change.
    germany = MemberState.objects.get(code="DE")
    update_member_state(actor=network["people"]["enisa_admin"], member_state=germany, name=germany.name,
                        kind=germany.kind, eu_label=germany.eu_label, time_zone="Europe/Lisbon")
    # 30 March → 30 April 23:30 in Lisbon (WEST) = 22:30 UTC
    assert _clocks_of(incident)[(Clock.FINAL_REPORT, 0)].due_at == utc(2026, 4, 30, 22, 30)


def test_nis2_art23_4_d_enisa_sets_a_new_states_time_zone_and_a_bad_zone_is_refused(network, login):
    client = login(network["people"]["enisa_admin"])
    # A state ENISA adds (Armenia, say, once associated to the Digital Europe Programme) brings its own zone.
    response = client.post(_member_state_create_url(), {"code": "AM", "name": "Armenia", "kind": "dep_associated",
                                                         "time_zone": "Mars/Olympus"})
    assert response.status_code == 400 and "IANA time zone" in response.content.decode()
    assert not MemberState.objects.filter(code="AM").exists()
    with pytest.raises(ValidationError, match="time_zone"):
        create_member_state(actor=None, code="XK", name="Kosovo", kind="dep_associated", time_zone="")
    response = client.post(_member_state_create_url(), {"code": "AM", "name": "Armenia", "kind": "dep_associated",
                                                         "time_zone": "Asia/Yerevan"})
    assert response.status_code == 302
    assert MemberState.objects.get(code="AM").time_zone == "Asia/Yerevan"


def _member_state_create_url():
    from django.urls import reverse

    return reverse("liaison:member_state_create")


def test_nis2_art23_4_d_no_time_zone_is_hidden_in_code():
    """The zones are data (liaison.MemberState.time_zone): no module falls back to a capital's zone."""
    root = Path(__file__).resolve().parents[2]
    offenders = [str(path.relative_to(root)) for app in ("incidents", "reserve")
                 for path in (root / app).rglob("*.py")
                 if "migrations" not in path.parts and "Europe/Brussels" in path.read_text()]
    assert offenders == []


def test_nis2_art23_4_d_the_page_says_the_final_report_date_is_the_strict_reading(network, login):
    incident = _report(network)
    page = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/").content.decode()
    assert "strict reading" in page and "1182/71" in page and "next working day" in page
    assert clocks.STRICT_READING in page.replace("&#x27;", "'")
