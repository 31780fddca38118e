"""Situation reports over the API and on the pages: JSON shape, 404 for what one may not read, 403/400 that
name the problem, the workflow's buttons from the policy."""

import pytest
from django.utils.dateparse import parse_datetime

from awareness.models import SituationReport
from incidents.models import Incident
from tests.awareness.sitreps_support import FR_SECRET, PT_TEXT, draft, published, make_crisis

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis(network):
    return make_crisis(network)

API = "/api/v1/sitreps/"


def test_the_reader_version_as_json(crisis, login):
    report = published(crisis)
    body = login(crisis["people"]["pt_analyst"]).get(f"{API}{report.pk}/").json()
    assert {k: body[k] for k in ("id", "number", "version", "status", "level", "tlp")} == {
        "id": report.pk, "number": 1, "version": 1, "status": "published", "level": 2, "tlp": "amber+strict"}
    assert body["incident"] == {"id": crisis["primary"].pk, "reference": crisis["primary"].reference}
    assert body["related_incidents"] == []  # CERT.PT sees neither related incident
    assert parse_datetime(body["published_at"]).utcoffset() is not None
    assert body["omitted_note"] == "Some information in this report was left out because of its sharing restrictions."
    sections = {s["key"]: s for s in body["sections"]}
    assert list(sections) == ["contributions", "affected", "escalations", "alerts", "reserve", "clocks"]
    contribution = sections["contributions"]["items"][0]
    assert contribution["text"] == PT_TEXT
    assert contribution["source"]["organisation"] == "pt-csirt" and contribution["tlp"] == "amber"
    assert {"label": "Impact severity", "value": "Green — minor"} in contribution["fields"]
    assert sections["contributions"]["omitted_note"]
    assert FR_SECRET not in str(body)
    assert body["summary"] is None  # level 2: no ISAA summary
    assert "audience" not in body  # who else receives it is the drafting bodies' business
    assert body["capabilities"] == {"edit": False, "submit": False, "return_to_draft": False, "publish": False,
                                    "correct": False}
    assert body["links"]["pdf"] == f"{API}{report.pk}/pdf/"
    listing = login(crisis["people"]["pt_analyst"]).get(API).json()["results"]
    assert [r["id"] for r in listing] == [report.pk]


def test_unknown_and_unreadable_reports_are_404_everywhere(crisis, login):
    report = draft(crisis)
    client = login(crisis["people"]["pt_analyst"])  # a draft is not theirs to read
    for path in (f"{API}{report.pk}/", f"{API}{report.pk}/publish/", f"{API}999999/",
                 f"/awareness/sitreps/{report.pk}/", f"/awareness/sitreps/{report.pk}/pdf/", f"{API}{report.pk}/pdf/"):
        method = client.post if path.endswith("publish/") else client.get
        assert method(path).status_code == 404, path
    response = client.patch(f"{API}{report.pk}/", {"title": "x"}, content_type="application/json")
    assert response.status_code == 404


def test_the_workflow_over_the_api(crisis, login):
    author, reviewer = login(crisis["people"]["enisa_liaison"]), login(crisis["people"]["ie_chair"])
    created = author.post(API, {"incident": crisis["primary"].pk, "related_incidents": [crisis["related"].pk],
                                "title": "SITREP 1", "assessment": "Contained in DE"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    pk = body["id"]
    assert body["status"] == "draft" and body["live"] is True and body["capabilities"]["submit"] is True
    assert created["Location"].endswith(f"{API}{pk}/")
    assert body["audience"]  # the drafting bodies see who will receive it
    patched = author.patch(f"{API}{pk}/", {"next_steps": "Next report at 18:00"}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["next_steps"] == "Next report at 18:00"

    refused = reviewer.post(f"{API}{pk}/publish/")
    assert refused.status_code == 400
    assert "submit it for review" in refused.json()["error"]["fields"]["status"][0]
    assert author.post(f"{API}{pk}/submit/").status_code == 200
    four_eyes = author.post(f"{API}{pk}/publish/")
    assert four_eyes.status_code == 403 and "four eyes" in four_eyes.json()["error"]["message"]
    published_body = reviewer.post(f"{API}{pk}/publish/").json()
    assert published_body["status"] == "published" and published_body["live"] is False

    edit = author.patch(f"{API}{pk}/", {"title": "changed"}, content_type="application/json")
    assert edit.status_code == 400 and "correction" in edit.json()["error"]["fields"]["status"][0]
    correction = reviewer.post(f"{API}{pk}/correct/")
    assert correction.status_code == 201
    assert (correction.json()["number"], correction.json()["version"]) == (1, 2)
    assert correction.json()["corrects"] == {"number": 1, "version": 1}


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"incident": 999999}, 404, None),
    ({}, 400, "incident"),
    ({"incident": "PRIMARY", "tlp": "green"}, 400, "tlp"),
    ({"incident": "PRIMARY", "audience": ["community:csirts-network"]}, 400, "audience"),
    ({"incident": "PRIMARY", "related_incidents": [999999]}, 400, "related_incidents"),
    ({"incident": "PRIMARY", "colour": "blue"}, 400, "colour"),
    ({"incident": "PRIMARY", "summary": {"why": "x"}}, 400, "summary"),
])
def test_bad_input_over_the_api_is_refused_and_nothing_is_saved(crisis, login, payload, status, field):
    if payload.get("incident") == "PRIMARY":
        payload = {**payload, "incident": crisis["primary"].pk}
    response = login(crisis["people"]["enisa_liaison"]).post(API, payload, content_type="application/json")
    assert response.status_code == status, response.content
    if field:
        assert field in response.json()["error"]["fields"]
    assert not SituationReport.objects.exists()


def test_drafting_on_an_incident_below_level_2_is_refused_over_the_api(crisis, login):
    low = crisis["related2"]

    Incident.objects.filter(pk=low.pk).update(crisis_level=1)
    response = login(crisis["people"]["enisa_liaison"]).post(API, {"incident": low.pk}, content_type="application/json")
    assert response.status_code == 400
    assert "levels 2 and 3 only" in response.json()["error"]["fields"]["incident"][0]


def test_the_pages_show_the_tlp_the_left_out_note_and_the_buttons_the_policy_allows(crisis, login):
    people = crisis["people"]
    report = draft(crisis, title="SITREP one")
    page = login(people["enisa_liaison"]).get(f"/awareness/sitreps/{report.pk}/").content.decode()
    assert page.count("TLP:AMBER+STRICT") >= 2  # top and bottom
    assert "Submit for review" in page and "Edit draft" in page and ">Publish<" not in page
    reviewer_page = login(people["ie_chair"]).get(f"/awareness/sitreps/{report.pk}/").content.decode()
    assert "Submit for review" not in reviewer_page

    form = login(people["enisa_liaison"]).get(f"/awareness/sitreps/new/?incident={crisis['primary'].pk}")
    assert form.status_code == 200
    refused = login(people["de_analyst"]).get(f"/awareness/sitreps/new/?incident={crisis['primary'].pk}")
    assert refused.status_code == 403
    posted = login(people["enisa_liaison"]).post("/awareness/sitreps/new/", {
        "incident": crisis["primary"].pk, "title": "From the form", "tlp": "amber+strict", "audience": ["org:pt-csirt"],
        "related_incidents": str(crisis["related"].pk),
        "assessment": "Written on the page"})
    assert posted.status_code == 302
    new = SituationReport.objects.get(title="From the form")
    assert new.audience == ["org:pt-csirt"] and new.number == 2

    login(people["enisa_liaison"]).post(f"/awareness/sitreps/{new.pk}/submit/")
    login(people["ie_chair"]).post(f"/awareness/sitreps/{new.pk}/publish/")
    new.refresh_from_db()
    assert new.status == "published"
    pt_page = login(people["pt_analyst"]).get(f"/awareness/sitreps/{new.pk}/").content.decode()
    assert "Some information in this section was left out because of its sharing restrictions." in pt_page
    assert PT_TEXT in pt_page and FR_SECRET not in pt_page
    listing = login(people["pt_analyst"]).get("/awareness/sitreps/").content.decode()
    assert "From the form" in listing and "SITREP one" not in listing
