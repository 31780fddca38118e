"""The permission matrix: an unrelated organisation learns nothing of an object on any read path.

A de-csirt incident (AMBER, escalated to level 2, shared with fr-csirt, with a timeline
entry and attachment, an observable, a report, alerts, a task) and a de-csirt Reserve request,
each carrying a marker word, are the subjects. The read paths are generated, not listed:

- every GET operation of the OpenAPI schema (details, children, exports, lists, search,
  the event feed): with path parameters, the outsider's answer about the real object
  must equal the answer about an id that does not exist (404, not 403), and no body
  may contain the marker;
- every page of the URLconf (incidents, Reserve, dashboard, board and its parts, search,
  network, audit, tokens, an exercise's scenario and evaluation), filled with the subjects' ids: the
  same two rules;
- every admin page: a verified person who is not staff gets no admin data;
- the websocket stream's replay (``/ws/events/?after=0``): no event about the subjects.

Controls show that the marker would be seen: the originator finds it on the same paths.
Which TLP label and share target opens which path is proven label by label in
tests/incidents/test_sharing.py and tests/incidents/test_api.py; live websocket delivery
in tests/liaison/test_consumers.py; Reserve roles in tests/reserve/test_isolation.py.
"""

import asyncio
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Alert, Incident
from tests import factories
from tests.conftest import verified_client
from tests.factories import member_state
from tests.security.support import api_get_routes, body, fill, page_routes

MARKER = "Zeppelin7f3a"
OUTSIDERS = ["pt_analyst", "provider"]


def _reserve_request(network, incident):
    from reserve import services as reserve_services
    from tests.reserve.factories import content

    return reserve_services.create_request(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
        **content([incident], affected_entity=f"{MARKER} Stadtwerke", impact_description=f"{MARKER} grid down"),
    )


def _situation_report(network, incident):
    """A published situation report on the incident: ENISA (EU-CyCLONe's secretariat) drafts, another publishes."""
    from awareness.services import sitreps as sitrep_services

    people, orgs = network["people"], network["orgs"]
    liaison = factories.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    crisis = factories.person("crisis@enisa.example", orgs["enisa"], ["crisis_manager"])
    incident_services.share_incident(actor=people["de_analyst"], incident=incident, organisations=[orgs["enisa"]])
    if incident.crisis_level < 2:  # the escalation is proven elsewhere; a report needs level 2
        Incident.objects.filter(pk=incident.pk).update(crisis_level=2)
        incident.refresh_from_db()
    report = sitrep_services.draft_report(actor=liaison, incident=incident, assessment=f"{MARKER} grid assessment",
                                          next_steps=f"{MARKER} next steps")
    sitrep_services.submit_report(actor=liaison, report=report)
    return sitrep_services.publish_report(actor=crisis, report=report)


def _public_warnings(network):
    """On a cross-border TLP:CLEAR incident of de-csirt (DE, FR): a circulated warning with the marker in its text,
    and a released one whose public text is clean but whose FR answer (changes proposed, not released) carries it."""
    from freezegun import freeze_time

    from awareness.services import warnings as warning_services

    people, de = network["people"], network["people"]["de_analyst"]
    incident = incident_services.report_incident(
        actor=de, organisation=network["orgs"]["de-csirt"], title="DDoS on rail ticketing", aware_at=timezone.now(),
        tlp="clear", severity="high", affected_member_states=[member_state("DE"), member_state("FR")],
        cross_border_impact=True,
    )
    deadline = timezone.now() + timedelta(hours=24)
    circulated = warning_services.circulate_warning(actor=de, response_deadline=deadline, warning=warning_services.draft_warning(
        actor=de, incident=incident, title=f"{MARKER} rail outages", body=f"{MARKER} booking systems down",
        recommendations=f"{MARKER} book at the station"))
    released = warning_services.circulate_warning(actor=de, response_deadline=deadline, warning=warning_services.draft_warning(
        actor=de, incident=incident, title="Rail outages: what travellers should know", body="Booking is down."))
    warning_services.respond_to_warning(actor=de, warning=released, response="agreed")
    warning_services.respond_to_warning(actor=people["fr_analyst"], warning=released, response="changes_proposed",
                                        proposed_text=f"{MARKER} say who did it", comment=f"{MARKER} our source")
    publish_at = timezone.now() + timedelta(minutes=5)
    warning_services.schedule_release(actor=de, warning=released, publish_at=publish_at)
    with freeze_time(publish_at):
        assert warning_services.release_due_warnings() == 1
    released.refresh_from_db()
    return circulated, released


def _review_and_lesson(network):
    """A delivered review (CSoA Art. 21) of a DE+FR incident, with DE's confidential section; DE's lesson from it."""
    from awareness.services import lessons as lesson_services
    from awareness.services import reviews as review_services
    from tests.awareness.reviews_support import incident_of

    people = dict(network["people"])
    people["ec_decision"] = factories.person("decision@ec.example", network["orgs"]["ec"], ["decision_maker"])
    factories.presidency("DE")
    incident = incident_of({"orgs": network["orgs"], "people": people}, title=f"{MARKER} wiper at a TSO")
    review = review_services.request_review(actor=people["ec_decision"], incident=incident, reason=f"{MARKER} reason")
    for analyst in ("de_analyst", "fr_analyst"):
        review_services.answer_agreement(actor=people[analyst], review=review, agree=True)
    enisa = people["enisa_triage"]
    review_services.add_section(actor=enisa, review=review, kind="causes", text=f"{MARKER} DE: unpatched VPN",
                                confidential=True, source_state=member_state("DE"))
    review_services.add_section(actor=enisa, review=review, kind="response", text=f"{MARKER} joint response")
    review_services.add_section(actor=enisa, review=review, kind="lessons", text=f"{MARKER} acknowledge faster")
    review_services.circulate_draft(actor=enisa, review=review)
    for analyst in ("de_analyst", "fr_analyst"):
        review_services.add_comment(actor=people[analyst], review=review, text=f"{MARKER} agreed")
    review_services.deliver_review(actor=enisa, review=review)
    review.refresh_from_db()
    lesson = lesson_services.propose_lesson(
        actor=people["de_analyst"], source_kind="incident_review", source_id=review.pk, target="level_deadlines",
        change={"level": 2, "field": "ack_minutes", "value": 45}, rationale=f"{MARKER} alerts were acknowledged late")
    return review, lesson


def _exercise_with_scenario(network):
    """An exercise ENISA runs with de-csirt taking part, its name and a prepared inject carrying the marker; ENISA's
    controller prepares the scenario (the scenario and evaluation pages take the exercise's id)."""
    from liaison import services as liaison_services
    from scenarios import services as scenario_services

    orgs = network["orgs"]
    crisis = factories.person("exercise@enisa.example", orgs["enisa"], ["crisis_manager"])
    controller = factories.person("control@enisa.example", orgs["enisa"], ["analyst"])
    now = timezone.now()
    exercise = liaison_services.create_exercise(
        actor=crisis, organisation=orgs["enisa"], name=f"{MARKER} Cyber Europe", kind="cyber_europe",
        starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2), participants=[orgs["de-csirt"]],
        controllers=[controller])
    inject = scenario_services.create_inject(
        actor=controller, exercise=exercise, kind="incident", title=f"{MARKER} ransomware inject",
        organisation=orgs["de-csirt"], payload={"title": f"{MARKER} hospital group", "severity": "medium",
                                                "tlp": "amber", "member_states": ["DE"], "sectors": ["health"],
                                                "aware_minutes_before": 20})
    return exercise, inject, controller


@pytest.fixture
def world(network, settings, tmp_path, django_capture_on_commit_callbacks):
    """The subjects, with every kind of child object a read path can show."""
    settings.MEDIA_ROOT = tmp_path
    de = network["people"]["de_analyst"]
    with django_capture_on_commit_callbacks(execute=True):  # the escalation runs on commit
        incident = incident_services.report_incident(
            actor=de, organisation=network["orgs"]["de-csirt"], title=f"{MARKER} wiper at a DSO",
            description=f"{MARKER} details", aware_at=timezone.now() - timedelta(hours=2), tlp="amber",
            severity="high", affected_member_states=[member_state("DE")], national_capacity_exceeded=True,
        )
    (share,) = incident_services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    entry = incident_services.add_timeline_entry(
        actor=de, incident=incident, text=f"{MARKER} isolated the segment",
        files=[SimpleUploadedFile(f"{MARKER}.txt", f"{MARKER} notes".encode(), content_type="text/plain")],
    )
    incident_services.add_observables(actor=de, incident=incident,
                                      rows=[{"type": "ipv4", "value": "198.51.100.77", "note": MARKER}])
    incident_services.submit_report(actor=de, incident=incident, kind="early_warning", content={"summary": MARKER})
    observable = incident.observables.get()
    task = incident_services.create_task(actor=de, incident=incident, title=f"{MARKER} call the DSO")
    alert = Alert.objects.filter(incident=incident).first()
    assert alert is not None, "the level-2 escalation raised no alert"
    circulated, released = _public_warnings(network)
    review, lesson = _review_and_lesson(network)
    exercise, inject, controller = _exercise_with_scenario(network)
    return {
        "exercise": exercise, "inject": inject, "controller": controller,
        "incident": incident, "share": share, "attachment": entry.attachments.get(), "alert": alert,
        "request": _reserve_request(network, incident), "observable": observable, "task": task,
        "sitrep": _situation_report(network, incident), "warning": circulated, "released_warning": released,
        "review": review, "lesson": lesson,
    }


def _ids(world) -> dict[str, object]:
    """The value each named parameter takes for the subjects (by collection for ``id``/``pk``)."""
    return {
        "incidents": world["incident"].pk, "alerts": world["alert"].pk,
        "assistance-requests": world["request"].pk, "requests": world["request"].pk,
        "share_id": world["share"].pk, "attachment_id": world["attachment"].pk, "alert_id": world["alert"].pk,
        "kind": "early_warning", "part": "levels", "code": "de-csirt",
        "observable_id": world["observable"].pk, "task_id": world["task"].pk, "tasks": world["task"].pk,
        "sitreps": world["sitrep"].pk, "warnings": world["warning"].pk, "reviews": world["review"].pk,
        "lessons": world["lesson"].pk, "incident_pk": world["review"].incident_id,
        "event_uuid": str(world["incident"].misp_uuid),
        "exercise_id": world["exercise"].pk, "inject_id": world["inject"].pk, "exercises": world["exercise"].pk,
    }


QUERIES = {"/api/v1/observables/search/": {"value": "198.51.100.77"}, "/api/v1/events/": {"after": 0, "limit": 1000},
           "/incidents/search/": {"q": "198.51.100.77"}, "/incidents/": {"q": "wiper"}}


# A released warning's public copy answers anyone (its text went public); the marker must still not be in it.
PUBLIC_WHEN_RELEASED = {"/awareness/warnings/<int:pk>/public.json"}


def _released(ids, world) -> dict:
    """The parameters again, with the released warning in place of the circulated one."""
    return dict(ids, warnings=world["released_warning"].pk)


def _leaks(client, urls_and_missing, ids, *, public=frozenset()) -> list:
    """Every (url, status) where the outsider learns something: a marker, or an answer a missing id would not get
    (except on the ``public`` routes, which answer anyone by design)."""
    leaks = []
    for route in urls_and_missing:
        url = fill(route, ids)
        if url is None:
            continue
        response = client.get(url, QUERIES.get(route, {}))
        if MARKER in body(response):
            leaks.append((url, response.status_code, "marker in body"))
        missing = fill(route, ids, missing=True)
        if route not in public and missing != url and client.get(missing).status_code != response.status_code:
            leaks.append((url, response.status_code, "answers unlike a missing id"))
    return leaks


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_no_api_read_tells_an_unrelated_organisation_about_the_subjects(network, world, token_for, outsider):
    operations = api_get_routes()
    organisation = network["people"][outsider].memberships.get().organisation
    token = Client(headers={"Authorization": f"Bearer {token_for(organisation, 'read')}"})
    session = verified_client(network["people"][outsider])
    ids = _ids(world)
    covered = [route for route in operations if fill(route, ids)]
    assert len(covered) >= 20 and any("assistance-requests/{id}" in r for r in covered)
    assert {"/api/v1/incidents/{id}/misp/", "/api/v1/misp-feed/manifest.json", "/api/v1/misp-feed/hashes.csv",
            "/api/v1/misp-feed/{event_uuid}.json"} <= set(covered)
    assert {"/api/v1/sitreps/{id}/", "/api/v1/sitreps/{id}/pdf/", "/api/v1/warnings/{id}/", "/api/v1/reviews/{id}/",
            "/api/v1/lessons/{id}/"} <= set(covered)
    warning_routes = [route for route in operations if "/warnings/" in route]

    assert _leaks(token, operations, ids) == []
    assert _leaks(session, operations, ids) == []
    assert _leaks(token, warning_routes, _released(ids, world)) == []
    assert _leaks(session, warning_routes, _released(ids, world)) == []


def test_the_originator_sees_the_marker_on_the_api_paths(network, world, token_for):
    """Control: the same generated paths do show the subjects to de-csirt."""
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'], 'read')}"})
    ids = _ids(world)
    seen = [route for route in api_get_routes()
            if (url := fill(route, ids)) and MARKER in body(client.get(url, QUERIES.get(route, {})))]
    assert {"/api/v1/incidents/", "/api/v1/incidents/{id}/", "/api/v1/events/", "/api/v1/observables/search/",
            "/api/v1/incidents/{id}/timeline/", "/api/v1/assistance-requests/{id}/",
            "/api/v1/incidents/{id}/observables/{observable_id}/", "/api/v1/incidents/{id}/attachments/{attachment_id}/",
            "/api/v1/incidents/{id}/tasks/", "/api/v1/tasks/{id}/",
            "/api/v1/sitreps/{id}/", "/api/v1/sitreps/{id}/pdf/", "/api/v1/warnings/", "/api/v1/warnings/{id}/",
            "/api/v1/reviews/{id}/", "/api/v1/lessons/", "/api/v1/lessons/{id}/", "/api/v1/incidents/{id}/misp/",
            "/api/v1/misp-feed/manifest.json", "/api/v1/misp-feed/{event_uuid}.json"} <= set(seen)
    released = fill("/api/v1/warnings/{id}/", _released(ids, world))
    assert MARKER in body(client.get(released)), "the drafter reads FR's proposed changes to the released warning"


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_no_page_tells_an_unrelated_organisation_about_the_subjects(network, world, login, outsider):
    routes = list(page_routes())
    ids = _ids(world)
    assert any(r.startswith("/incidents/<int:pk>/") for r in routes) and "/incidents/board/" in routes
    assert {"/awareness/sitreps/<int:pk>/pdf/", "/awareness/warnings/<int:pk>/", "/awareness/reviews/<int:pk>/pdf/",
            "/awareness/lessons/<int:pk>/", "/awareness/reviews/request/<int:incident_pk>/",
            "/exercises/<int:exercise_id>/scenario/", "/exercises/<int:exercise_id>/scenario/<int:inject_id>/edit/",
            "/exercises/<int:exercise_id>/evaluation/", "/exercises/<int:exercise_id>/evaluation/<slug:code>/",
            "/exercises/<int:exercise_id>/evaluation/report.pdf", "/exercises/<int:pk>/edit/"} <= {
        route for route in routes if fill(route, ids)}
    client = login(network["people"][outsider])

    assert _leaks(client, routes, ids) == []
    assert _leaks(client, [r for r in routes if "/warnings/" in r], _released(ids, world),
                  public=PUBLIC_WHEN_RELEASED) == []


def test_a_released_warning_is_public_without_what_its_authorities_said(network, world, login):
    """The exemption above is real: the public copy answers an outsider, and holds only the released text."""
    public = fill("/awareness/warnings/<int:pk>/public.json", _released(_ids(world), world))
    for client in (Client(), login(network["people"]["pt_analyst"])):
        response = client.get(public)
        assert response.status_code == 200 and response.json()["title"].startswith("Rail outages")
        assert MARKER not in body(response)


def test_the_originator_sees_the_marker_on_the_pages(network, world, login):
    client = login(network["people"]["de_analyst"])
    ids = _ids(world)
    seen = {route for route in page_routes()
            if (url := fill(route, ids)) and MARKER in body(client.get(url, QUERIES.get(route, {})))}
    assert {"/incidents/", "/incidents/<int:pk>/", "/incidents/search/", "/incidents/<int:pk>/stix/",
            "/incidents/<int:pk>/misp/",
            "/incidents/<int:pk>/attachments/<int:attachment_id>/", "/reserve/requests/<int:pk>/",
            "/incidents/<int:pk>/observables/<int:observable_id>/edit/", "/incidents/<int:pk>/tasks/<int:task_id>/",
            "/awareness/sitreps/<int:pk>/", "/awareness/sitreps/<int:pk>/pdf/", "/awareness/warnings/",
            "/awareness/warnings/<int:pk>/", "/awareness/reviews/<int:pk>/", "/awareness/reviews/<int:pk>/pdf/",
            "/awareness/lessons/", "/awareness/lessons/<int:pk>/",
            "/"} <= seen  # the dashboard: "Your tasks"
    released = fill("/awareness/warnings/<int:pk>/", _released(ids, world))
    assert MARKER in body(client.get(released)), "the drafter reads FR's proposed changes to the released warning"
    assert MARKER in body(client.get("/exercises/")), "a participant sees the exercise it takes part in"
    controller = login(world["controller"])
    for route in ("/exercises/<int:exercise_id>/scenario/", "/exercises/<int:exercise_id>/scenario/<int:inject_id>/edit/"):
        assert MARKER in body(controller.get(fill(route, ids))), f"the controller prepares the scenario: {route}"
    recipient = login(network["people"]["fr_analyst"]).get("/")
    assert MARKER in body(recipient), "the recipient's inbox names the shared incident"


def test_the_recipients_see_the_products_addressed_to_them_and_no_confidential_part(network, world, login, token_for):
    """Control on the other insiders: fr-csirt reads the report, the warnings and the review, but not DE's confidential
    section of the review (it stays with its source state and ENISA), nor the reviewed incident's title (not shared
    with fr-csirt), nor de-csirt's lesson."""
    ids = _ids(world)
    page = login(network["people"]["fr_analyst"])  # an analyst: answers warnings for FR
    api = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['fr-csirt'], 'read')}"})
    read = {route: body(client.get(fill(route, ids))) for client, routes in (
        (page, ["/awareness/sitreps/<int:pk>/", "/awareness/sitreps/<int:pk>/pdf/", "/awareness/warnings/<int:pk>/",
                "/awareness/reviews/<int:pk>/", "/awareness/reviews/<int:pk>/pdf/", "/api/v1/warnings/{id}/"]),
        (api, ["/api/v1/sitreps/{id}/", "/api/v1/sitreps/{id}/pdf/", "/api/v1/reviews/{id}/"])) for route in routes}

    assert [route for route, text in read.items() if MARKER not in text] == []
    assert [route for route, text in read.items() if "reviews" in route and "joint response" not in text] == []
    assert [route for route, text in read.items() if "unpatched VPN" in text] == []
    # FR takes part in the review by law, but the incident was never shared with it: its reference, not its title.
    assert [route for route, text in read.items() if "wiper at a TSO" in text] == []
    assert page.get(fill("/awareness/lessons/<int:pk>/", ids)).status_code == 404
    de = login(network["people"]["de_analyst"])
    for route in ("/awareness/reviews/<int:pk>/", "/awareness/reviews/<int:pk>/pdf/"):
        text = body(de.get(fill(route, ids)))
        assert "unpatched VPN" in text and "wiper at a TSO" in text, f"control: DE reads its own on {route}"


def _admin_urls():
    from django.contrib import admin

    urls = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(f"/admin/{meta.app_label}/{meta.model_name}/")
        urls.append(f"/admin/{meta.app_label}/{meta.model_name}/1/change/")
    return urls


@pytest.mark.parametrize("outsider", OUTSIDERS + ["de_analyst"])
def test_people_who_are_not_staff_get_no_admin_data(network, world, login, outsider):
    client = login(network["people"][outsider])
    answers = {url: client.get(url) for url in _admin_urls()}

    assert {url: r.status_code for url, r in answers.items() if r.status_code not in (302, 403)} == {}
    assert [url for url, r in answers.items() if MARKER in r.content.decode()] == []


# --- the websocket stream ---------------------------------------------------------------------


def _websocket_communicator():
    """Channels' WebsocketCommunicator; ``channels.testing``'s ``__init__`` also imports its
    live-server case, which needs daphne (not installed: the portal serves with uvicorn)."""
    try:
        from channels.testing import WebsocketCommunicator
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("daphne"):
            raise
        import os
        import sys
        import types

        import channels

        package = types.ModuleType("channels.testing")
        package.__path__ = [os.path.join(os.path.dirname(channels.__file__), "testing")]
        sys.modules["channels.testing"] = package
        from channels.testing.websocket import WebsocketCommunicator

        package.WebsocketCommunicator = WebsocketCommunicator
    return WebsocketCommunicator


async def _replay(headers) -> list[dict]:
    from csoa_portal.asgi import application

    stream = _websocket_communicator()(application, "/ws/events/?after=0", headers=headers)
    connected, _ = await stream.connect(timeout=10)
    assert connected
    frames = []
    while (frame := await stream.receive_json_from(timeout=10))["type"] != "caught_up":
        frames.append(frame)
    await stream.disconnect()
    return frames


@pytest.mark.django_db(transaction=True)
def test_the_websocket_replay_gives_an_outsider_nothing_about_the_subjects(network, token_for):
    de = network["people"]["de_analyst"]
    incident = incident_services.report_incident(
        actor=de, organisation=network["orgs"]["de-csirt"], title=f"{MARKER} wiper", aware_at=timezone.now(),
        tlp="amber", national_capacity_exceeded=True,
    )
    incident_services.add_timeline_entry(actor=de, incident=incident, text=MARKER)

    def headers(org_code):
        return [(b"authorization", f"Bearer {token_for(network['orgs'][org_code], 'read')}".encode())]

    def about(frames):
        return [f for f in frames if MARKER in str(f) or (f.get("event", {}).get("subject_type"), f.get("event", {}).get("subject_id")) == ("incident", str(incident.pk))]

    outsider = asyncio.run(_replay(headers("pt-csirt")))
    originator = asyncio.run(_replay(headers("de-csirt")))

    assert about(outsider) == []
    assert about(originator), "control: the originator's replay holds the incident's events"
