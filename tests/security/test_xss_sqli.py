"""XSS and SQL injection attempts in every text a user writes that a page shows again.

Each text is written the way users write it (a page's form, or the API for SOC tooling),
then every page that shows it is read back: the page must answer 200, show the text
exactly (escaped: ``&lt;script&gt;…``), and never contain it raw. The SQL attempt must be
stored and shown verbatim and must not widen a search. Reflected input (search boxes,
filters, unknown URLs) is checked the same way.
"""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from incidents import services as incident_services
from incidents.models import Alert, Attachment, Incident
from liaison.models import MemberState, Organisation, User

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "sql": "' OR 1=1 --",
}


def _assert_shown_escaped(client, url, text):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    page = response.content.decode()
    assert escape(text) in page, f"{url} does not show {text!r} escaped"
    if text != escape(text):
        assert text not in page, f"{url} shows {text!r} raw"


@pytest.fixture
def ctx(network, login, token_for, django_capture_on_commit_callbacks):
    """People's browsers, de-csirt's API tool, and a level-2 incident of de-csirt shared with fr-csirt and its alerted networks."""
    de = network["people"]["de_analyst"]
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_services.report_incident(
            actor=de, organisation=network["orgs"]["de-csirt"], title="Grid outage", tlp="amber",
            aware_at=timezone.now() - timedelta(hours=1), national_capacity_exceeded=True,
        )
    incident_services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    # TLP:AMBER reaches the alerted networks (de-authority's liaison officer here) once the originator agrees.
    incident_services.consent_to_network_sharing(actor=de, incident=incident)
    return {
        "network": network, "incident": incident, "url": f"/incidents/{incident.pk}/",
        "de": login(de), "fr": login(network["people"]["fr_analyst"]),
        "liaison": login(network["people"]["de_liaison"]), "network_admin": login(network["people"]["enisa_admin"]),
        "tool": Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'], 'read,write')}"}),
    }


def _api(ctx, method, url, body):
    response = getattr(ctx["tool"], method)(url, json.dumps(body), content_type="application/json")
    assert response.status_code < 300, response.content
    return response.json()


# --- each writer: write the text, return (browser, url) pairs that must show it ---------------


def incident_title_by_report_form(ctx, text):
    response = ctx["de"].post("/incidents/new/", {
        "organisation": "de-csirt", "title": text, "aware_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "tlp": "amber", "severity": "medium",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get(title=text)
    incident_services.share_incident(actor=ctx["network"]["people"]["de_analyst"], incident=incident,
                                     organisations=[ctx["network"]["orgs"]["fr-csirt"]])
    pages = ["/incidents/", f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/edit/",
             f"/incidents/{incident.pk}/share/"]
    # Not on ENISA's /audit/: the incident is not shared with ENISA, so the log redacts its title.
    return [("de", url) for url in pages] + [("fr", "/"), ("fr", f"/incidents/{incident.pk}/")]


def incident_title_and_description_by_api(ctx, text):
    created = _api(ctx, "post", "/api/v1/incidents/", {"title": text, "description": text, "aware_at":
                                                       "2026-01-01T00:00:00Z", "tlp": "green"})
    return [("de", "/incidents/"), ("de", f"/incidents/{created['id']}/")]


def timeline_update_by_page(ctx, text):
    response = ctx["de"].post(ctx["url"] + "timeline/", {
        "timeline-text": text, "timeline-kind": "update", "timeline-tlp": "amber"})
    assert response.status_code == 302
    return [("de", ctx["url"]), ("fr", ctx["url"])]


def report_section_by_page(ctx, text):
    response = ctx["de"].post(ctx["url"] + "reports/early_warning/", {"report-early_warning-summary": text})
    assert response.status_code == 302, response.content.decode()[:2000]
    return [("de", ctx["url"])]


def alert_note_by_page(ctx, text):
    alert = Alert.objects.get(incident=ctx["incident"], organisation__code="de-authority")
    response = ctx["liaison"].post(f"{ctx['url']}alerts/{alert.pk}/answer/", {"answer": "not_affected", "note": text})
    assert response.status_code == 302, response.content.decode()[:2000]
    return [("liaison", ctx["url"]), ("liaison", "/incidents/board/")]


def situation_update_by_board(ctx, text):
    response = ctx["liaison"].post(f"/incidents/board/{ctx['incident'].pk}/situation/", {"text": text})
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    return [("liaison", "/incidents/board/"), ("de", ctx["url"])]


def observable_note_by_api(ctx, text):
    _api(ctx, "post", f"/api/v1/incidents/{ctx['incident'].pk}/observables/",
         {"observables": [{"type": "ipv4", "value": "192.0.2.10", "note": text}]})
    return [("de", ctx["url"])]


def organisation_name_by_network_admin(ctx, text):
    response = ctx["network_admin"].post("/network/organisations/de-csirt/edit/", {
        "name": text, "kind": "national_csirt", "member_state": "DE", "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Organisation.objects.get(code="de-csirt").name == text
    return [("network_admin", "/network/"), ("network_admin", "/network/organisations/de-csirt/"),
            ("network_admin", "/audit/"), ("de", ctx["url"]), ("de", "/"), ("de", "/incidents/")]


def member_state_name_by_network_admin(ctx, text):
    response = ctx["network_admin"].post("/network/member-states/PT/edit/", {
        "name": text, "kind": "eu_member", "eu_label": "", "time_zone": "Europe/Paris", "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MemberState.objects.get(code="PT").name == text
    return [("network_admin", "/network/"), ("network_admin", "/network/member-states/PT/")]


def person_name_by_organisation_admin(ctx, text):
    de_admin = login_as(ctx, "de_admin")
    analyst = ctx["network"]["people"]["de_analyst"]
    response = de_admin.post(f"/network/organisations/de-csirt/people/{analyst.pk}/", {
        "full_name": text, "timezone": "Europe/Berlin", "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(pk=analyst.pk).full_name == text
    return [("network_admin", "/network/organisations/de-csirt/"), ("de", "/")]


def token_name_by_organisation_admin(ctx, text):
    de_admin = login_as(ctx, "de_admin")
    response = de_admin.post("/tokens/", {"name": text, "scopes": ["read"], "days": "30"})
    assert response.status_code == 200 and "token" in response.context, response.content.decode()[:2000]
    return [("de_admin", "/tokens/")]


def attachment_name_by_page(ctx, text):
    response = ctx["de"].post(ctx["url"] + "timeline/", {
        "timeline-text": "Notes attached", "timeline-kind": "update", "timeline-tlp": "amber",
        "timeline-files": [SimpleUploadedFile(f"{text}.txt", b"plain notes", content_type="text/plain")],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    return [("de", ctx["url"])]


def login_as(ctx, name):
    if name not in ctx:
        from tests.conftest import verified_client

        ctx[name] = verified_client(ctx["network"]["people"][name])
    return ctx[name]


WRITERS = [
    incident_title_by_report_form, incident_title_and_description_by_api, timeline_update_by_page,
    report_section_by_page, alert_note_by_page, situation_update_by_board, observable_note_by_api,
    organisation_name_by_network_admin, member_state_name_by_network_admin, person_name_by_organisation_admin,
    token_name_by_organisation_admin,
]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__)
def test_written_text_is_shown_exactly_and_escaped_on_every_page(ctx, writer, payload, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    text = f"Note {payload} end"

    for who, url in writer(ctx, text):
        _assert_shown_escaped(login_as(ctx, who), url, text)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_an_attachment_name_is_shown_escaped(ctx, payload, settings, tmp_path):
    """Uploads keep only the base name ("a/b" becomes "b"); whatever is kept is shown escaped."""
    settings.MEDIA_ROOT = tmp_path
    for who, url in attachment_name_by_page(ctx, f"Note {payload} end"):
        name = Attachment.objects.get().original_name
        _assert_shown_escaped(login_as(ctx, who), url, name)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("url,field", [
    ("/incidents/", "q"), ("/incidents/search/", "q"), ("/network/", "q"), ("/audit/", "actor"),
])
def test_reflected_input_is_shown_escaped(ctx, url, field, payload):
    client = ctx["network_admin"]
    page = client.get(url, {field: payload}).content.decode()

    assert payload not in page or payload == escape(payload)
    assert escape(payload) in page, f"{url} does not echo {field} escaped"


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_an_unknown_url_echoes_nothing_raw(ctx, payload):
    response = ctx["de"].get(f"/incidents/{payload}/")

    assert response.status_code == 404
    assert payload not in response.content.decode() or payload == escape(payload)


def test_sql_in_a_search_matches_only_what_contains_it(ctx):
    incident_services.report_incident(actor=ctx["network"]["people"]["de_analyst"],
                                      organisation=ctx["network"]["orgs"]["de-csirt"], title="Phishing wave",
                                      aware_at=timezone.now())
    sql = PAYLOADS["sql"]

    assert "Phishing wave" not in ctx["de"].get("/incidents/", {"q": sql}).content.decode()
    assert ctx["tool"].get("/api/v1/incidents/", {"q": sql}).json()["results"] == []
    assert ctx["tool"].get(f"/api/v1/organisations/{sql}/").status_code == 404
    created = _api(ctx, "post", "/api/v1/incidents/", {"title": sql, "aware_at": "2026-01-01T00:00:00Z"})
    found = ctx["tool"].get("/api/v1/incidents/", {"q": sql}).json()["results"]
    assert [(i["id"], i["title"]) for i in found] == [(created["id"], sql)]
    assert Incident.objects.count() == 3
