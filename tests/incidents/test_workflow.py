"""Working an incident: edits with versions, status, reports, authority clocks, timeline, observables."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import services
from incidents.clocks import Clock, State
from incidents.models import Deadline, Incident, Observable
from incidents.selectors import deadlines_of, incidents_visible_to, overdue_incidents
from tests.factories import member_state


def test_stale_version_is_refused_instead_of_overwriting(network, incident):
    de = network["people"]["de_analyst"]
    services.update_incident(actor=de, incident=incident, expected_version=1, severity="critical")
    with pytest.raises(services.StaleVersion):
        services.update_incident(actor=de, incident=incident, expected_version=1, title="Overwrite")
    assert Incident.objects.get(pk=incident.pk).title == "Ransomware at a DSO"


def test_recipient_cannot_edit(network, incident):
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    with pytest.raises(PermissionDenied):
        services.update_incident(actor=network["people"]["fr_analyst"], incident=incident, title="Mine now")


def test_status_lifecycle_with_reopening_needing_a_reason(network, incident):
    de = network["people"]["de_analyst"]
    services.change_status(actor=de, incident=incident, status="contained")
    services.change_status(actor=de, incident=incident, status="closed")
    with pytest.raises(ValidationError, match="Say why"):
        services.change_status(actor=de, incident=incident, status="open")
    services.change_status(actor=de, incident=incident, status="open", reason="Attacker came back")
    texts = list(incident.timeline.values_list("text", flat=True))
    assert texts[-1] == "Status changed from closed to open. Reason: Attacker came back"
    with pytest.raises(ValidationError, match="Unknown status"):
        services.change_status(actor=de, incident=incident, status="archived")


def test_reports_stop_their_clocks_and_final_needs_notification(network, incident):
    de = network["people"]["de_analyst"]
    with pytest.raises(ValidationError, match="after the incident notification"):
        services.submit_report(actor=de, incident=incident, kind="final", content={
            "detailed_description": "x", "root_cause": "x", "mitigation": "x", "cross_border_impact": "none"})
    services.submit_report(actor=de, incident=incident, kind="early_warning", content={"summary": "Encrypted SCADA"})
    clocks_now = {d.clock: d for d in deadlines_of(incident)}
    assert clocks_now[Clock.EARLY_WARNING].state == State.MET
    assert clocks_now[Clock.NOTIFICATION].met_at is None
    assert Clock.INITIAL_RESPONSE in clocks_now


def test_report_with_missing_or_unknown_sections_is_refused_naming_them(network, incident):
    with pytest.raises(ValidationError) as excinfo:
        services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="notification",
                               content={"impact": "", "colour": "blue"})
    errors = excinfo.value.message_dict
    assert set(errors) == {"content.initial_assessment", "content.impact", "content.colour"}
    assert not incident.reports.exists()


def test_overdue_filter_finds_incidents_with_a_missed_deadline(network, incident):
    de = network["people"]["de_analyst"]
    late = services.report_incident(actor=de, organisation=network["orgs"]["de-csirt"], title="Old",
                                    aware_at=timezone.now() - timedelta(hours=30))
    visible = incidents_visible_to(de)
    assert set(overdue_incidents(visible)) == {late}
    assert set(overdue_incidents(visible, now=timezone.now() + timedelta(days=5))) == {late, incident}


def test_second_member_state_starts_the_inform_clock_and_one_click_informs(network, incident):
    de = network["people"]["de_analyst"]
    services.update_incident(actor=de, incident=incident, affected_member_states=[member_state("DE"), member_state("FR")])
    incident.refresh_from_db()
    assert incident.deadlines.filter(clock=Clock.CROSS_BORDER_INFORM, met_at__isnull=True).exists()
    assert {o.code for o in services.cross_border_recipients(incident)} == {"fr-csirt", "enisa"}
    services.inform_other_member_states(actor=de, incident=incident)
    assert incidents_visible_to(network["people"]["fr_analyst"]).filter(pk=incident.pk).exists()
    assert incident.deadlines.get(clock=Clock.CROSS_BORDER_INFORM).met_at is not None


def test_initial_response_only_from_the_member_states_authority(network, incident):
    with pytest.raises(PermissionDenied):
        services.record_initial_response(actor=network["people"]["fr_analyst"], incident=incident, text="Hi")
    services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="early_warning",
                           content={"summary": "x"})
    services.record_initial_response(actor=network["people"]["de_liaison"], incident=incident, text="Received; isolate.")
    assert Deadline.objects.get(incident=incident, clock=Clock.INITIAL_RESPONSE).met_at is not None


def test_timeline_entry_cannot_loosen_tlp_and_attachments_are_sniffed(network, incident, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    de = network["people"]["de_analyst"]
    with pytest.raises(ValidationError, match="less restricted"):
        services.add_timeline_entry(actor=de, incident=incident, text="x", tlp="green")
    exe = SimpleUploadedFile("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", content_type="application/pdf")
    with pytest.raises(ValidationError, match="only PDF"):
        services.add_timeline_entry(actor=de, incident=incident, text="x", files=[exe])
    assert not incident.timeline.filter(text="x").exists()
    pdf = SimpleUploadedFile("../../etc/passwd.pdf", b"%PDF-1.7 hello", content_type="text/html")
    entry = services.add_timeline_entry(actor=de, incident=incident, text="Forensics", tlp="red", files=[pdf])
    attachment = entry.attachments.get()
    assert attachment.content_type == "application/pdf" and attachment.original_name == "passwd.pdf"
    assert "passwd" not in attachment.file.name and attachment.file.name.endswith(".bin")


def test_bulk_observables_keep_valid_rows_and_report_invalid_ones_by_index(network, incident):
    rows = [
        {"type": "ipv4", "value": "192.0.2.1", "last_seen": "2026-11-01T10:00:00Z"},
        {"type": "ipv4", "value": "192.0.2.300"},
        {"type": "domain", "value": "Evil.Example"},
        {"type": "ipv4", "value": "192.0.2.1", "first_seen": "2026-10-01T10:00:00Z"},
        {"type": "sha256", "value": "abc"},
        "not an object",
        {"type": "domain", "value": "evil.example", "tlp": "green"},
    ]
    result = services.add_observables(actor=network["people"]["de_analyst"], incident=incident, rows=rows)
    assert (result.created, result.merged) == (2, 1)
    assert [e["index"] for e in result.errors] == [1, 4, 5, 6]
    assert "less restricted" in result.errors[3]["error"]
    ip = Observable.objects.get(incident=incident, type="ipv4")
    assert (ip.first_seen.month, ip.last_seen.month) == (10, 11)
    again = services.add_observables(actor=network["people"]["de_analyst"], incident=incident,
                                     rows=[{"type": "domain", "value": "EVIL.example."}])
    assert (again.created, again.merged) == (0, 1)
    assert incident.observables.count() == 2


def test_bulk_observables_limit_is_enforced(network, incident):
    with pytest.raises(ValidationError, match="At most 10000"):
        services.add_observables(actor=network["people"]["de_analyst"], incident=incident,
                                 rows=[{"type": "ipv4", "value": "192.0.2.1"}] * 10_001)


def test_an_update_stricter_than_its_incident_stays_with_its_organisation(network, incident):
    from incidents.selectors import timeline_visible_to

    de, fr = network["people"]["de_analyst"], network["people"]["fr_analyst"]
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    services.add_timeline_entry(actor=de, incident=incident, text="Ransom note names the CEO", tlp="red")
    services.add_timeline_entry(actor=de, incident=incident, text="Patched the VPN")
    assert set(timeline_visible_to(de, incident).values_list("text", flat=True)) >= {"Ransom note names the CEO", "Patched the VPN"}
    fr_sees = set(timeline_visible_to(fr, incident).values_list("text", flat=True))
    assert "Patched the VPN" in fr_sees and "Ransom note names the CEO" not in fr_sees


def test_only_the_reporting_member_states_authority_requests_intermediate_reports(network, incident):
    soon = timezone.now() + timedelta(days=2)
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"], network["orgs"]["de-authority"]])
    with pytest.raises(PermissionDenied):
        services.request_intermediate_report(actor=network["people"]["fr_analyst"], incident=incident, due_at=soon)
    services.request_intermediate_report(actor=network["people"]["de_liaison"], incident=incident, due_at=soon)
    assert Deadline.objects.get(incident=incident, clock=Clock.INTERMEDIATE).due_at == soon
