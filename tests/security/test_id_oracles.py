"""No id oracle: every API parameter that takes an id answers an invisible object exactly like a missing one.

The parameters are read from the served OpenAPI schema, so operations added later are
covered without editing this file:

- every path parameter names an object of the collection before it
  (``/incidents/{id}/shares/{share_id}/``: an incident, then a share);
- a query parameter takes an id when its name ends in ``id``/``ids`` or names a model of
  the portal (``?incident=``, ``?request=``), or is the event feed's ``after`` position.
  ``QUERY_KINDS`` says which object each one names; an id-taking parameter missing from
  it fails the test, so a new one must be classified, not forgotten.

One object of every kind exists that pt-csirt may not see (de-csirt's escalated AMBER
incident with its alert and share, de-csirt's deployed Reserve request with its
engagement, another provider's registry entry, the newest event). For every operation
and every id-taking parameter, pt-csirt's read+write token asks about (a) that object
and (b) an id no object has; the status and the JSON body (with the id itself blanked
out) must be the same. Other path parameters name pt-csirt's own objects, so the
question reaches the parameter under test.
"""

import json
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from awareness.services import warnings as warning_services
from awareness.models import SituationReport
from incidents import services as incident_services
from incidents.models import Alert, Incident, LevelProposal
from liaison.models import Event, EventAudience
from reserve.models import Engagement
from reserve.workflow import RequestStatus
from tests.factories import member_state
from tests.reserve import factories as reserve_factories
from tests.reserve.conftest import reserve  # noqa: F401  (the Reserve network fixture)
from tests.security.support import MISSING

# The collection a path parameter sits under → the kind of object it names.
COLLECTIONS = {
    "incidents": "incident", "shares": "share", "alerts": "alert", "assistance-requests": "request",
    "engagements": "engagement", "reserve-providers": "provider", "member-states": "member_state",
    "organisations": "organisation", "level-proposals": "level_proposal", "observables": "observable",
    "attachments": "attachment", "tasks": "task", "warnings": "warning", "sitreps": "sitrep", "reviews": "review",
    "lessons": "lesson", "misp-feed": "misp_event",
}
# Query parameters that take an id → the kind of object they name.
QUERY_KINDS = {
    "incident": "incident", "alert": "alert", "request": "request", "engagement": "engagement",
    "provider": "provider", "share": "share", "organisation": "organisation", "member_state": "member_state",
    "sector": "sector", "crisis_level": "crisis_level",
    "after": "event",  # the feed's position: an event id, so it must not tell which events exist
    "tag": "tag",  # a free tag is its users' word: filtering by one must not tell whether anyone uses it
}
# Kinds with nothing to hide: every member of the network may read every one of them.
PUBLIC = {
    "member_state": "the participants of the network are listed for everyone",
    "organisation": "the directory of organisations is readable by every member",
    "sector": "a NIS2 vocabulary code, the same for everyone",
    "crisis_level": "a level of the published Blueprint, the same for everyone",
}
MISSING_CODE = "no-such-object"


def _model_names() -> set[str]:
    project = {"liaison", "incidents", "reserve", "csoa_portal"}
    names = set()
    for model in apps.get_models():
        if model._meta.app_label in project:
            names |= {model._meta.model_name, model.__name__.lower()}
    return names


def _takes_an_id(name: str, models: set[str]) -> bool:
    base = re.sub(r"_?ids?$", "", name.lower())
    return name in QUERY_KINDS or name.lower().endswith(("id", "ids")) or base.replace("_", "") in models


def id_parameters(schema: dict) -> tuple[list[tuple[str, str, dict, str]], list[str]]:
    """``(method, path, parameter, kind)`` for every id-taking parameter, and those of unknown kind."""
    models, found, unknown = _model_names(), [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                name, where = parameter["name"], parameter["in"]
                if where == "path":
                    collection = path.split("{" + name + "}")[0].rstrip("/").rsplit("/", 1)[-1]
                    kind = COLLECTIONS.get(collection)
                elif where == "query" and _takes_an_id(name, models):
                    kind = QUERY_KINDS.get(name)
                else:
                    continue
                if kind is None:
                    unknown.append(f"{method.upper()} {path} {where} parameter {name!r}")
                else:
                    found.append((method, path, parameter, kind))
    return found, unknown


@pytest.fixture
def outsider(network, token_for):
    """pt-csirt's SOC tooling (token issued before the subjects, so the newest event is theirs)."""
    pt, fr = network["people"]["pt_analyst"], network["orgs"]["fr-csirt"]
    own = incident_services.report_incident(actor=pt, organisation=network["orgs"]["pt-csirt"],
                                            title="Phishing wave", aware_at=timezone.now() - timedelta(hours=1))
    (own_share,) = incident_services.share_incident(actor=pt, incident=own, organisations=[fr])
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['pt-csirt'], 'read,write')}"})
    return {"client": client, "user": pt, "own": {"incident": own.pk, "share": own_share.pk}}


@pytest.fixture
def invisible(outsider, reserve, django_capture_on_commit_callbacks, settings, tmp_path):  # noqa: F811
    """One object of every kind that pt-csirt may not see, and the value that names it."""
    de, fr = reserve["people"]["de_analyst"], reserve["orgs"]["fr-csirt"]
    # Escalated to level 2 with level 3 proposed: the CSIRTs Network (pt-csirt too) is alerted to it, so its
    # id is pt-csirt's to know; its other alerts and the proposal are not.
    states = [member_state(code) for code in ("DE", "FR", "AT", "BE", "NL", "LU")]
    with django_capture_on_commit_callbacks(execute=True):  # the escalation runs on commit
        escalated = incident_services.report_incident(
            actor=de, organisation=reserve["orgs"]["de-csirt"], title="Wiper at a DSO", tlp="amber",
            aware_at=timezone.now() - timedelta(hours=2), severity="critical", affected_member_states=states,
        )
    alert = Alert.objects.filter(incident=escalated).exclude(organisation=reserve["orgs"]["pt-csirt"]).first()
    assert alert is not None, "the level-2 escalation raised no alert"
    proposal = LevelProposal.objects.filter(incident=escalated).first()
    assert proposal is not None, "the engine proposed no level 3"
    # Never alerted to pt-csirt: a national incident, shared with fr-csirt only.
    incident = incident_services.report_incident(
        actor=de, organisation=reserve["orgs"]["de-csirt"], title="Phishing at a DSO", tlp="amber",
        aware_at=timezone.now() - timedelta(hours=2), severity="high", affected_member_states=[member_state("DE")])
    (share,) = incident_services.share_incident(actor=de, incident=incident, organisations=[fr])
    settings.MEDIA_ROOT = tmp_path
    observable = incident_services.add_observable(actor=de, incident=incident, type="ipv4", value="198.51.100.41")
    entry = incident_services.add_timeline_entry(actor=de, incident=incident, text="Notes attached", files=[
        SimpleUploadedFile("notes.txt", b"phishing kit notes", content_type="text/plain")])
    task = incident_services.create_task(actor=de, incident=incident, title="Take the kit down")
    incident_services.update_incident(actor=de, incident=incident, tags=["zeppelin-kit"])
    request = reserve_factories.request_in(RequestStatus.DEPLOYED, reserve)
    engagement = Engagement.objects.filter(request=request).first()
    # A public warning about the escalated incident: pt-csirt's state is not concerned, so it never sees it.
    warning = warning_services.draft_warning(actor=de, incident=escalated, title="Wiper: what to do")
    warning_services.circulate_warning(actor=de, warning=warning, response_deadline=timezone.now() + timedelta(days=1))
    sitrep = SituationReport.objects.create(  # a draft of de-csirt's on the national incident: not pt-csirt's
        incident=incident, number=1, level=2, author_organisation=reserve["orgs"]["de-csirt"], author=de, tlp="amber",
        audience=["org:fr-csirt"])
    review, lesson = _review_and_lesson(reserve, escalated, request)
    newest = Event.objects.order_by("-id").first()
    assert not EventAudience.objects.filter(event=newest, group__in=outsider["user"].groups.all()).exists()
    return {
        "incident": incident.pk, "share": share.pk, "alert": alert.pk, "request": request.pk,
        "engagement": engagement.pk, "provider": reserve["profiles"]["beta"].organisation.code, "event": newest.pk,
        "escalated": escalated.pk, "level_proposal": proposal.pk, "observable": observable.pk,
        "attachment": entry.attachments.get().pk, "task": task.pk, "tag": "zeppelin-kit",
        "warning": warning.pk,
        "sitrep": sitrep.pk,
        "review": review.pk, "lesson": lesson.pk, "misp_event": str(Incident.objects.get(pk=incident.pk).misp_uuid),
    }


def _review_and_lesson(reserve, escalated, request):  # noqa: F811
    """An incident review PT is not concerned by (the Commission's, on the escalated incident) and a lesson of
    de-csirt from the request's summary report: neither is pt-csirt's to know."""
    from awareness.services import lessons, reviews
    from reserve import services as reserve_services

    p = reserve["people"]
    incident_services.share_incident(actor=p["de_analyst"], incident=escalated, organisations=[reserve["orgs"]["ec"]])
    review = reviews.request_review(actor=p["ec_decision"], incident=escalated, reason="Cross-border wiper")
    reserve_services.close_deployment(actor=p["de_analyst"], request=request)
    reserve_services.submit_report(actor=p["de_analyst"], request=request, service_provided="Forensics",
                                   results="Restored", lessons_learned="Segment earlier")
    request.refresh_from_db()
    lesson = lessons.propose_lesson(actor=p["de_analyst"], source_kind="reserve_after_action",
                                    source_id=request.report.pk, target="other", rationale="Segment earlier")
    return review, lesson


def _value(parameter: dict, kind: str, invisible: dict, *, missing: bool):
    if not missing:
        return invisible[kind]
    return MISSING_CODE if parameter.get("schema", {}).get("type") == "string" else MISSING


def _blank(data, value):
    """The body with the asked-about id replaced wherever it appears (a value, or a word in a message)."""
    word = re.compile(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])")
    if isinstance(data, dict):
        return {_blank(k, value): _blank(v, value) for k, v in data.items()}
    if isinstance(data, list):
        return [_blank(v, value) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int | float):
        return "<id>" if str(data) == str(value) else data
    return word.sub("<id>", data)


def _ask(client, method: str, path: str, parameter: dict, value, own: dict):
    def fill(match):
        name = match.group(1)
        if name == parameter["name"] and parameter["in"] == "path":
            return str(value)
        collection = path.split("{" + name + "}")[0].rstrip("/").rsplit("/", 1)[-1]
        return str(own.get(COLLECTIONS.get(collection), MISSING))

    url = re.sub(r"\{(\w+)\}", fill, path)
    query = {parameter["name"]: value} if parameter["in"] == "query" else {}
    if method in ("post", "put", "patch"):
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        response = getattr(client, method)(url, data="{}", content_type="application/json")
    else:
        response = getattr(client, method)(url, query)
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = response.content.decode(errors="replace")
    return response.status_code, _blank(body, value)


def test_every_id_taking_parameter_is_classified(db):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    found, unknown = id_parameters(schema)

    assert unknown == [], "say in COLLECTIONS / QUERY_KINDS which object these name"
    covered = {(m.upper(), p, param["name"]) for m, p, param, _ in found}
    assert {("GET", "/api/v1/alerts/", "incident"), ("GET", "/api/v1/engagements/", "request"),
            ("GET", "/api/v1/events/", "after"), ("DELETE", "/api/v1/incidents/{id}/shares/{share_id}/", "share_id"),
            ("POST", "/api/v1/assistance-requests/{id}/decide/", "id")} <= covered
    assert len(covered) >= 50


def test_no_parameter_tells_an_outsider_that_an_invisible_id_exists(outsider, invisible):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    found, _ = id_parameters(schema)
    client, own = outsider["client"], outsider["own"]

    oracles, asked = [], 0
    for method, path, parameter, kind in found:
        if kind in PUBLIC:
            continue
        asked += 1
        seen = _ask(client, method, path, parameter, _value(parameter, kind, invisible, missing=False), own)
        unseen = _ask(client, method, path, parameter, _value(parameter, kind, invisible, missing=True), own)
        if seen != unseen:
            oracles.append(f"{method.upper()} {path} {parameter['name']}: existing invisible {seen} vs missing {unseen}")

    assert asked >= 40
    assert oracles == []


def test_the_owner_gets_an_answer_where_the_outsider_gets_the_missing_one(network, invisible, token_for, outsider):
    """Control: the same questions from de-csirt do tell, so the outsider's sameness is the policy, not a broken seed."""
    de = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'], 'read')}"})
    pt = outsider["client"]

    by_de = de.get("/api/v1/alerts/", {"incident": invisible["incident"]})
    by_pt = pt.get("/api/v1/alerts/", {"incident": invisible["incident"]})
    missing = pt.get("/api/v1/alerts/", {"incident": MISSING})

    assert by_de.status_code == 200 and by_de.json()["results"] == []  # a national incident: no alert yet
    assert by_pt.status_code == missing.status_code == 400
    assert by_pt.json()["error"]["fields"] == {"incident": [f"No incident with id '{invisible['incident']}'."]}
    assert de.get(f"/api/v1/incidents/{invisible['incident']}/").status_code == 200
    assert pt.get(f"/api/v1/incidents/{invisible['incident']}/").status_code == 404


def test_every_alerted_organisation_may_filter_its_alerts_by_the_incident(network, invisible, token_for):
    """An alert shows its incident's id, even where the incident is alerted only: filtering by it tells nothing new."""
    alerts = Alert.objects.filter(incident_id=invisible["escalated"]).select_related("organisation")
    assert alerts, "the level-2 escalation raised no alert"

    answers = {}
    for alert in alerts:
        client = Client(headers={"Authorization": f"Bearer {token_for(alert.organisation, 'read')}"})
        response = client.get("/api/v1/alerts/", {"incident": invisible["escalated"]})
        answers[alert.organisation.code] = (response.status_code,
                                            alert.pk in [a["id"] for a in response.json().get("results", [])])

    assert answers == {alert.organisation.code: (200, True) for alert in alerts}
