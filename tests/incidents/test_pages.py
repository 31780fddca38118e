"""The incident pages in the browser: what each user sees and what each form does."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import stix2
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services
from incidents.models import Attachment, Deadline, Incident, Observable, Report, Share
from tests.factories import member_state


def _report(network, title="Ransomware at a DSO", *, who="de_analyst", org="de-csirt", tlp="amber", **extra):
    extra.setdefault("aware_at", timezone.now() - timedelta(hours=2))
    return services.report_incident(actor=network["people"][who], organisation=network["orgs"][org], title=title,
                                    tlp=tlp, **extra)


def _share_with_fr(network, incident):
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])


def _text(response) -> str:
    return response.content.decode()


# --- List -----------------------------------------------------------------------------------


def test_list_shows_only_incidents_the_user_may_see(network, login):
    mine = _report(network, "DE own incident")
    shared = _report(network, "DE shared with FR")
    _share_with_fr(network, shared)
    _report(network, "PT private incident", who="pt_analyst", org="pt-csirt")

    page = _text(login(network["people"]["fr_analyst"]).get("/incidents/"))

    assert "DE shared with FR" in page
    assert "DE own incident" not in page and mine.reference not in page
    assert "PT private incident" not in page
    assert "Report an incident" in page


def test_list_row_shows_tlp_severity_status_organisation_member_states_and_next_deadline(network, login):
    _report(network, "Grid outage", tlp="red", severity="critical",
            affected_member_states=[member_state("DE"), member_state("FR")])
    page = _text(login(network["people"]["de_analyst"]).get("/incidents/"))
    assert 'class="tlp tlp-red"' in page and "TLP:RED" in page
    assert "Critical" in page and "Open" in page and "CERT-Bund" in page
    assert ">FR<" in page and ">DE<" in page
    assert "Early warning" in page and "Pending" in page


def test_list_filters_overdue_incidents(network, login):
    late = _report(network, "Late incident", aware_at=timezone.now() - timedelta(days=4))
    _report(network, "Fresh incident")
    client = login(network["people"]["de_analyst"])

    overdue = _text(client.get("/incidents/", {"overdue": "true"}))
    assert "Late incident" in overdue and "Fresh incident" not in overdue
    assert "Overdue" in overdue and "is-overdue" in overdue

    on_time = _text(client.get("/incidents/", {"overdue": "false"}))
    assert "Fresh incident" in on_time and late.title not in on_time


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"tlp": "red"}, {"Red one"}),
        ({"member_state": "FR"}, {"Cross-border one"}),
        ({"status": "contained"}, {"Contained one"}),
        ({"q": "ransom"}, {"Ransomware at a hospital"}),
        ({"severity": "critical"}, {"Red one"}),
        ({"tlp": "amber", "status": "open"}, {"Cross-border one", "Ransomware at a hospital"}),
    ],
)
def test_list_filters_by_tlp_member_state_status_severity_and_text(network, login, params, expected):
    de = network["people"]["de_analyst"]
    _report(network, "Red one", tlp="red", severity="critical")
    _report(network, "Cross-border one", affected_member_states=[member_state("DE"), member_state("FR")])
    contained = _report(network, "Contained one")
    services.change_status(actor=de, incident=contained, status="contained")
    _report(network, "Ransomware at a hospital", description="Encrypted PACS")

    response = login(de).get("/incidents/", params)

    assert response.status_code == 200
    shown = {i.title for i in response.context["page"]}
    assert shown == expected


def test_list_text_search_finds_an_incident_by_its_reference(network, login):
    wanted = _report(network, "Wanted")
    _report(network, "Other")
    response = login(network["people"]["de_analyst"]).get("/incidents/", {"q": wanted.reference})
    assert [i.title for i in response.context["page"]] == ["Wanted"]


def test_list_refuses_an_unknown_filter_value_naming_the_field(network, login):
    response = login(network["people"]["de_analyst"]).get("/incidents/", {"tlp": "purple"})
    assert response.status_code == 400
    assert "tlp" in response.context["form"].errors


def test_list_costs_the_same_number_of_queries_for_3_or_30_incidents(network, login, django_assert_max_num_queries):
    de = network["people"]["de_analyst"]
    states = [member_state("DE"), member_state("FR")]
    for n in range(3):
        _report(network, f"Incident {n}", affected_member_states=states)
    client = login(de)
    client.get("/incidents/")  # the session's first request may write to it
    with CaptureQueriesContext(connection) as with_three:
        assert len(client.get("/incidents/").context["rows"]) == 3
    for n in range(3, 30):
        _report(network, f"Incident {n}", affected_member_states=states, aware_at=timezone.now() - timedelta(days=n))

    with django_assert_max_num_queries(len(with_three)):
        response = client.get("/incidents/", {"overdue": "", "member_state": ""})
    assert len(response.context["rows"]) == 25
    with django_assert_max_num_queries(len(with_three)):
        client.get("/incidents/", {"overdue": "true", "member_state": "FR", "sector": "energy", "q": "Incident"})


# --- Report form -------------------------------------------------------------------------


def test_report_form_creates_an_incident_from_a_minimal_early_warning(network, login):
    client = login(network["people"]["de_analyst"])
    aware = timezone.localtime(timezone.now() - timedelta(hours=1), ZoneInfo("Europe/Brussels"))
    response = client.post("/incidents/new/", {
        "title": "DDoS on a TSO", "aware_at": aware.strftime("%Y-%m-%dT%H:%M"), "tlp": "amber",
        "severity": "high", "suspected_malicious": "true", "cross_border_impact": "", "summary": "Volumetric attack",
    })

    incident = Incident.objects.get(title="DDoS on a TSO")
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.pk}/"
    assert incident.reporting_organisation == network["orgs"]["de-csirt"]
    assert incident.suspected_malicious is True and incident.cross_border_impact is None
    # the datetime-local input is read in the user's time zone (Europe/Brussels by default)
    assert incident.aware_at == aware.replace(second=0, microsecond=0)
    report = Report.objects.get(incident=incident)
    assert report.kind == "early_warning" and report.content["summary"] == "Volumetric attack"
    assert Deadline.objects.get(incident=incident, clock="early_warning").met_at is not None


def test_report_form_reads_awareness_in_the_users_own_time_zone(network, login):
    analyst = network["people"]["pt_analyst"]
    analyst.timezone = "Europe/Lisbon"
    analyst.save()
    local = timezone.localtime(timezone.now() - timedelta(hours=3), ZoneInfo("Europe/Lisbon"))
    login(analyst).post("/incidents/new/", {
        "title": "Phishing wave", "aware_at": local.strftime("%Y-%m-%dT%H:%M"), "tlp": "green", "severity": "low",
    })
    incident = Incident.objects.get(title="Phishing wave")
    assert incident.aware_at == local.replace(second=0, microsecond=0)
    assert incident.reporting_organisation.code == "pt-csirt"
    assert not incident.reports.exists()


def test_report_form_with_full_details_sets_member_states_sectors_and_category(network, login):
    client = login(network["people"]["de_analyst"])
    client.post("/incidents/new/", {
        "title": "Full report", "aware_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "tlp": "amber",
        "severity": "critical", "description": "Long text", "affected_member_states": ["DE", "FR"],
        "sectors": ["energy.electricity"], "entity_type": "essential", "category": "availability/ddos",
        "national_capacity_exceeded": "on",
    })
    incident = Incident.objects.get(title="Full report")
    assert {ms.code for ms in incident.affected_member_states.all()} == {"DE", "FR"}
    assert [s.code for s in incident.sectors.all()] == ["energy.electricity"]
    assert incident.category.code == "availability/ddos" and incident.national_capacity_exceeded


def test_report_form_refuses_a_future_awareness_time_naming_the_field(network, login):
    client = login(network["people"]["de_analyst"])
    future = timezone.localtime(timezone.now() + timedelta(days=1))
    response = client.post("/incidents/new/", {
        "title": "Time traveller", "aware_at": future.strftime("%Y-%m-%dT%H:%M"), "tlp": "amber", "severity": "low",
        "summary": "Should not be saved",
    })
    assert response.status_code == 400
    assert response.context["form"].errors["aware_at"] == ["The time of awareness cannot be in the future."]
    assert "cannot be in the future" in _text(response)
    assert not Incident.objects.filter(title="Time traveller").exists()


def test_report_form_offers_only_the_users_own_organisations(network, login):
    response = login(network["people"]["de_analyst"]).post("/incidents/new/", {
        "organisation": "fr-csirt", "title": "Not mine to report",
        "aware_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "tlp": "amber", "severity": "low",
    })
    assert response.status_code == 400 and "organisation" in response.context["form"].errors
    assert not Incident.objects.filter(title="Not mine to report").exists()


# --- Detail ------------------------------------------------------------------------------


def test_unshared_incident_is_404_for_a_pt_analyst_and_200_for_originator_and_shared_fr(network, incident, login):
    url = f"/incidents/{incident.pk}/"
    assert login(network["people"]["pt_analyst"]).get(url).status_code == 404
    assert login(network["people"]["fr_analyst"]).get(url).status_code == 404
    assert login(network["people"]["de_analyst"]).get(url).status_code == 200
    _share_with_fr(network, incident)
    response = login(network["people"]["fr_analyst"]).get(url)
    assert response.status_code == 200
    assert "Edit facts" not in _text(response)  # a recipient reads, the originator edits


def _incident_routes() -> list[str]:
    """Every page route about one incident (``<int:pk>/…``, no other id), read from incidents/urls.py."""
    from incidents.urls import urlpatterns

    routes = [str(p.pattern) for p in urlpatterns]
    return [r.replace("<slug:kind>", "notification") for r in routes
            if r.startswith("<int:pk>/") and r.count("<") - r.count("<slug:kind>") == 1]


def test_every_incident_page_is_404_for_an_outsider(network, incident, login):
    client = login(network["people"]["pt_analyst"])
    routes = _incident_routes()
    assert {"<int:pk>/observables/import/", "<int:pk>/misp/", "<int:pk>/stix/"} <= set(routes)
    for route in routes:
        url = "/incidents/" + route.replace("<int:pk>", str(incident.pk))
        answers = {client.get(url).status_code, client.post(url, {}).status_code}
        # 404 whichever method the route takes; 405 for the other says nothing about this incident.
        assert answers in ({404}, {404, 405}), (route, answers)


def test_detail_shows_deadlines_with_the_next_one_highlighted_and_overdue_in_red(network, login):
    incident = _report(network, "Late", aware_at=timezone.now() - timedelta(hours=30))
    page = _text(login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/"))
    assert "next-due-overdue" in page and 'class="is-next is-overdue"' in page
    assert "Incident notification" in page and "Final report" in page


def test_status_buttons_move_the_incident_and_reopening_needs_a_reason(network, incident, login):
    client = login(network["people"]["de_analyst"])
    assert client.post(f"/incidents/{incident.pk}/status/", {"status": "closed"}).status_code == 302
    response = client.post(f"/incidents/{incident.pk}/status/", {"status": "open"})
    assert response.status_code == 400 and "Say why the incident is reopened." in _text(response)
    client.post(f"/incidents/{incident.pk}/status/", {"status": "open", "reason": "It came back"})
    assert Incident.objects.get(pk=incident.pk).status == "open"


def test_recipient_gets_403_with_the_reason_when_changing_status(network, incident, login):
    _share_with_fr(network, incident)
    response = login(network["people"]["fr_analyst"]).post(f"/incidents/{incident.pk}/status/", {"status": "closed"})
    assert response.status_code == 403
    assert "Only the reporting organisation" in _text(response)


def test_notification_report_form_requires_its_sections_and_submits(network, incident, login):
    client = login(network["people"]["de_analyst"])
    url = f"/incidents/{incident.pk}/reports/notification/"
    response = client.post(url, {"report-notification-initial_assessment": "Severe", "report-notification-impact": ""})
    assert response.status_code == 400
    assert "This field is required." in _text(response)
    response = client.post(url, {"report-notification-initial_assessment": "Severe",
                                 "report-notification-impact": "Two substations down"})
    assert response.status_code == 302
    report = incident.reports.get()
    assert report.kind == "notification" and report.content["impact"] == "Two substations down"
    page = _text(client.get(f"/incidents/{incident.pk}/"))
    assert "Two substations down" in page and "Incident notification" in page


def test_final_report_before_notification_is_refused_with_the_rule(network, incident, login):
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/reports/final/", {
        "report-final-detailed_description": "x", "report-final-root_cause": "x", "report-final-mitigation": "x",
        "report-final-cross_border_impact": "none",
    })
    assert response.status_code == 400
    assert "comes after the incident notification" in _text(response)
    assert not incident.reports.exists()


def test_timeline_post_with_attachment_and_download_rechecks_visibility(network, incident, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    de = login(network["people"]["de_analyst"])
    response = de.post(f"/incidents/{incident.pk}/timeline/", {
        "timeline-text": "Found the dropper", "timeline-kind": "update", "timeline-tlp": "red",
        "timeline-files": [SimpleUploadedFile("notes.html", b"<script>alert(1)</script>", content_type="text/html"),
                           SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20, content_type="image/png")],
    })
    assert response.status_code == 302
    entry = incident.timeline.get()
    assert entry.tlp == "red" and entry.attachments.count() == 2
    html = entry.attachments.get(original_name="notes.html")
    url = f"/incidents/{incident.pk}/attachments/{html.pk}/"

    download = de.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;") and "notes.html" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Type"] == "text/plain"  # sniffed, never the declared text/html
    assert b"".join(download.streaming_content) == b"<script>alert(1)</script>"

    assert login(network["people"]["pt_analyst"]).get(url).status_code == 404
    other = _report(network, "Another DE incident")
    assert de.get(f"/incidents/{other.pk}/attachments/{html.pk}/").status_code == 404


def test_timeline_refuses_a_tlp_less_strict_than_the_incident_naming_the_field(network, incident, login):
    response = login(network["people"]["de_analyst"]).post(
        f"/incidents/{incident.pk}/timeline/", {"timeline-text": "Public note", "timeline-kind": "update", "timeline-tlp": "clear"}
    )
    assert response.status_code == 400
    assert "tlp" in response.context["timeline_form"].errors
    assert not incident.timeline.exists()


def test_timeline_refuses_an_executable_attachment(network, incident, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/timeline/", {
        "timeline-text": "Sample", "timeline-kind": "update", "timeline-tlp": "amber",
        "timeline-files": [SimpleUploadedFile("dropper.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff")],
    })
    assert response.status_code == 400
    assert "only PDF, PNG, JPEG, GIF, ZIP and plain-text files are accepted" in _text(response)
    assert not Attachment.objects.exists()


# --- Edit -------------------------------------------------------------------------------


def test_edit_saves_the_changed_facts(network, incident, login):
    client = login(network["people"]["de_analyst"])
    form = client.get(f"/incidents/{incident.pk}/edit/").context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, [])}
    data["aware_at"] = timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M")
    data.update(title="Ransomware at a DSO (confirmed)", affected_member_states=["DE", "PT"])
    # Two member states at high severity escalate: the form asks first (tests/incidents/test_escalation_preview.py).
    data["confirm_escalation"] = "yes"
    response = client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Ransomware at a DSO (confirmed)" and incident.version == 2
    assert {ms.code for ms in incident.affected_member_states.all()} == {"DE", "PT"}


def test_edit_conflict_returns_409_shows_the_colleagues_change_and_keeps_it(network, incident, login):
    client = login(network["people"]["de_analyst"])
    loaded = client.get(f"/incidents/{incident.pk}/edit/").context["form"].initial
    # meanwhile a colleague of the same organisation saves
    services.update_incident(actor=network["people"]["de_admin"], incident=incident, expected_version=1,
                             title="Colleague's title", severity="critical")
    response = client.post(f"/incidents/{incident.pk}/edit/", {
        "version": loaded["version"], "title": "My title", "severity": "high",
        "aware_at": timezone.localtime(incident.aware_at).strftime("%Y-%m-%dT%H:%M"),
    })

    assert response.status_code == 409
    page = _text(response)
    assert "Someone else saved this incident" in page
    assert "Colleague&#x27;s title" in page and "My title" in page and "Critical" in page
    incident.refresh_from_db()
    assert incident.title == "Colleague's title" and incident.severity == "critical" and incident.version == 2
    assert response.context["form"]["version"].value() == "2"  # saving again is a deliberate choice


def test_recipient_cannot_open_the_edit_form(network, incident, login):
    _share_with_fr(network, incident)
    assert login(network["people"]["fr_analyst"]).get(f"/incidents/{incident.pk}/edit/").status_code == 403


# --- Sharing ------------------------------------------------------------------------------


def test_share_refused_by_tlp_shows_the_rule_and_shares_nothing(network, login):
    incident = _report(network, "Red incident", tlp="red")
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/share/", {"organisations": ["fr-csirt"]})
    assert response.status_code == 400
    assert "TLP:RED is for named recipients only" in _text(response)
    assert not Share.objects.exists()


def test_share_dialog_shares_with_a_community_and_a_named_person_then_unshares(network, login):
    incident = _report(network, "Green incident", tlp="green")
    client = login(network["people"]["de_analyst"])
    response = client.post(f"/incidents/{incident.pk}/share/", {
        "communities": ["community:csirts-network"], "people": "Triage@enisa.example",
    })
    assert response.status_code == 302
    assert {s.target_kind for s in incident.shares.all()} == {"community", "person"}
    assert login(network["people"]["pt_analyst"]).get(f"/incidents/{incident.pk}/").status_code == 200

    community = incident.shares.get(target_kind="community")
    assert client.post(f"/incidents/{incident.pk}/shares/{community.pk}/revoke/").status_code == 302
    assert login(network["people"]["pt_analyst"]).get(f"/incidents/{incident.pk}/").status_code == 404


def test_share_with_an_unknown_person_names_the_field(network, incident, login):
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/share/", {"people": "nobody@x.example"})
    assert response.status_code == 400 and "people" in response.context["share_form"].errors


def test_recipient_may_not_share_further(network, incident, login):
    _share_with_fr(network, incident)
    response = login(network["people"]["fr_analyst"]).post(f"/incidents/{incident.pk}/share/", {"organisations": ["pt-csirt"]})
    assert response.status_code == 403
    assert incident.shares.count() == 1


def test_inform_button_shares_with_the_other_member_states_csirts_and_enisa(network, login):
    incident = _report(network, "Cross-border", affected_member_states=[member_state("DE"), member_state("FR")])
    client = login(network["people"]["de_analyst"])
    page = _text(client.get(f"/incidents/{incident.pk}/"))
    assert "Inform the other affected member states and ENISA" in page and "CERT-FR" in page
    assert client.post(f"/incidents/{incident.pk}/inform/").status_code == 302
    assert {s.group.name for s in incident.shares.select_related("group")} == {"org:fr-csirt", "org:enisa"}
    assert Incident.objects.get(pk=incident.pk).others_informed_at is not None


def test_initial_response_form_is_for_the_reporting_member_states_authority(network, incident, login):
    de_authority = login(network["people"]["de_liaison"])
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident, member_states=[member_state("DE")])
    assert "Initial response to the entity" in _text(de_authority.get(f"/incidents/{incident.pk}/"))
    response = de_authority.post(f"/incidents/{incident.pk}/initial-response/", {"response-text": "Received, CSIRT on it"})
    assert response.status_code == 302
    assert incident.timeline.get().kind == "response"

    _share_with_fr(network, incident)
    fr = login(network["people"]["fr_analyst"])
    assert "Initial response to the entity" not in _text(fr.get(f"/incidents/{incident.pk}/"))
    assert fr.post(f"/incidents/{incident.pk}/initial-response/", {"response-text": "x"}).status_code == 403


# --- Observables -----------------------------------------------------------------------------


def test_csv_upload_keeps_valid_rows_and_reports_invalid_ones_by_line(network, incident, login):
    csv = (
        "type,value,tlp,first_seen,last_seen,note\n"
        "ipv4,192.0.2.10,,,,C2\n"
        "domain,evil[.]example,,2026-01-01T10:00:00Z,,\n"
        "ipv4,999.1.1.1,,,,\n"
        "md5,nothex,,,,\n"
        "sha256,,,,,\n"
        "url,hxxp://evil.example/x,clear,,,\n"
    )
    upload = SimpleUploadedFile("iocs.csv", csv.encode(), content_type="text/csv")
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/observables/upload/",
                                                            {"csv-file": upload})
    assert response.status_code == 200
    assert set(Observable.objects.values_list("value", flat=True)) == {"192.0.2.10", "evil.example"}
    report = response.context["csv_report"]
    assert report["created"] == 2
    assert [e["line"] for e in report["errors"]] == [4, 5, 6, 7]
    page = _text(response)
    assert "2 added" in page and "4 rejected" in page and "is not an IPv4 address" in page


def test_csv_upload_without_a_header_row_is_refused(network, incident, login):
    upload = SimpleUploadedFile("iocs.csv", b"ipv4,192.0.2.10\n", content_type="text/csv")
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/observables/upload/",
                                                            {"csv-file": upload})
    assert response.status_code == 400
    assert "header" in response.context["csv_form"].errors["file"][0]
    assert not Observable.objects.exists()


def test_stix_download_parses_and_carries_the_tlp_marking(network, incident, login):
    services.add_observables(actor=network["people"]["de_analyst"], incident=incident,
                             rows=[{"type": "ipv4", "value": "192.0.2.1"}, {"type": "cve", "value": "cve-2024-3400"}])
    response = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/stix/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{incident.reference}.stix.json"'
    bundle = stix2.parse(response.content.decode(), allow_custom=False)
    types = [o.type for o in bundle.objects]
    assert types.count("indicator") == 1 and types.count("vulnerability") == 1 and "incident" in types
    stix_incident = next(o for o in bundle.objects if o.type == "incident")
    assert stix_incident.object_marking_refs == ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
    assert login(network["people"]["pt_analyst"]).get(f"/incidents/{incident.pk}/stix/").status_code == 404


def test_observable_search_returns_only_incidents_the_user_may_see(network, login):
    de = network["people"]["de_analyst"]
    shared = _report(network, "Shared sighting")
    private = _report(network, "Private sighting")
    _share_with_fr(network, shared)
    fr_own = _report(network, "FR own sighting", who="fr_analyst", org="fr-csirt")
    for incident, actor in ((shared, de), (private, de), (fr_own, network["people"]["fr_analyst"])):
        services.add_observables(actor=actor, incident=incident, rows=[{"type": "ipv4", "value": "203.0.113.7"}])

    response = login(network["people"]["fr_analyst"]).get("/incidents/search/", {"q": "203[.]0.113.7"})

    assert response.status_code == 200
    assert {i.title for i in response.context["page"]} == {"Shared sighting", "FR own sighting"}
    assert "Private sighting" not in _text(response)


def test_observable_search_explains_a_term_that_is_no_observable(network, login):
    response = login(network["people"]["de_analyst"]).get("/incidents/search/", {"q": "not an indicator"})
    assert response.status_code == 200 and "is not an IP address" in _text(response)


# --- Safety --------------------------------------------------------------------------------


def test_script_in_a_title_is_rendered_escaped(network, login):
    incident = _report(network, "<script>alert('x')</script>")
    client = login(network["people"]["de_analyst"])
    for url in ("/incidents/", f"/incidents/{incident.pk}/"):
        page = _text(client.get(url))
        assert "<script>alert(" not in page
        assert "&lt;script&gt;alert(" in page


@pytest.mark.parametrize("path,data", [
    ("status/", {"status": "closed"}),
    ("timeline/", {"timeline-text": "x", "timeline-kind": "update", "timeline-tlp": "amber"}),
    ("share/", {"organisations": ["fr-csirt"]}),
    ("edit/", {"version": "1", "title": "x", "severity": "low"}),
    ("reports/early_warning/", {"report-early_warning-summary": "x"}),
])
def test_state_changing_posts_need_the_csrf_token(network, incident, login, path, data):
    client = login(network["people"]["de_analyst"])
    client.handler.enforce_csrf_checks = True
    assert client.post(f"/incidents/{incident.pk}/{path}", data).status_code == 403
    incident.refresh_from_db()
    assert incident.version == 1 and incident.status == "open" and not incident.shares.exists()


def test_report_form_needs_the_csrf_token(network, login):
    client = login(network["people"]["de_analyst"])
    client.handler.enforce_csrf_checks = True
    response = client.post("/incidents/new/", {"title": "x", "aware_at": "2026-01-01T10:00", "tlp": "amber",
                                               "severity": "low"})
    assert response.status_code == 403 and not Incident.objects.exists()


def test_pages_need_a_signed_in_user(client, incident):
    assert client.get("/incidents/").status_code == 302
    assert client.get(f"/incidents/{incident.pk}/stix/").status_code == 302


def test_local_times_show_their_zone(network, login):
    analyst = network["people"]["de_analyst"]
    analyst.timezone = "Europe/Helsinki"
    analyst.save()
    aware = datetime(2026, 1, 15, 10, 0, tzinfo=ZoneInfo("UTC"))
    incident = _report(network, "Zoned", aware_at=aware)
    page = _text(login(analyst).get(f"/incidents/{incident.pk}/"))
    assert "2026-01-15 12:00 EET" in page


@pytest.mark.parametrize("tlp, offered, withheld", [
    ("red", ["people"], ["organisations", "member_states", "communities"]),
    ("amber+strict", ["organisations", "people"], ["member_states", "communities"]),
    ("amber", ["organisations", "member_states", "people"], ["communities"]),
    ("green", ["organisations", "member_states", "communities", "people"], []),
])
def test_the_share_dialog_offers_only_what_the_tlp_allows(network, login, tlp, offered, withheld):
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Wiper", aware_at=timezone.now() - timedelta(hours=1), tlp=tlp)
    page = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/share/").content.decode()
    for name in offered:
        assert f'name="{name}"' in page, name
    for name in withheld:
        assert f'name="{name}"' not in page, name


# --- A long timeline ------------------------------------------------------------------------


def test_a_long_timeline_opens_on_its_latest_entries_with_the_earlier_ones_a_page_away(network, login):
    """A crisis's incident gathers hundreds of updates: the page shows the latest 50, the rest page by page."""
    incident = _report(network)
    de = network["people"]["de_analyst"]
    for n in range(1, 121):
        services.add_timeline_entry(actor=de, incident=incident, text=f"Update no. {n:03d}.")
    client = login(de)

    latest = _text(client.get(f"/incidents/{incident.pk}/"))
    shown = [n for n in range(1, 121) if f"Update no. {n:03d}." in latest]
    assert shown == list(range(71, 121)), "the latest 50 entries, oldest first"
    assert "Entries 71–120 of 120" in latest and 'href="?timeline_page=2#timeline"' in latest

    earlier = _text(client.get(f"/incidents/{incident.pk}/?timeline_page=2"))
    assert [n for n in range(1, 121) if f"Update no. {n:03d}." in earlier] == list(range(21, 71))
    assert "Entries 21–70 of 120" in earlier and "Later entries" in earlier and "Earlier entries" in earlier
    earliest = _text(client.get(f"/incidents/{incident.pk}/?timeline_page=3"))
    assert [n for n in range(1, 121) if f"Update no. {n:03d}." in earliest] == list(range(1, 21))
    assert "Earlier entries" not in earliest

    for bad in ("abc", "0", "999", "-1"):  # a page that is not one: a page of entries, never an error
        assert client.get(f"/incidents/{incident.pk}/?timeline_page={bad}").status_code == 200


def test_a_short_timeline_has_no_pager(network, login):
    incident = _report(network)
    services.add_timeline_entry(actor=network["people"]["de_analyst"], incident=incident, text="Contained.")

    page = _text(login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/"))

    assert "Contained." in page and "Timeline pages" not in page
