"""The scenario test of issue 18: an exercise of 3 states' CSIRTs and ENISA, 10 injects on a ×6 clock, frozen time.

Injects go out through the sweep at their exercise time; the participants answer at known real
times (one state, Germany, never answers); the evaluation is then checked figure by figure
against that timeline, in real and exercise time, and read back from the page and the PDF.
"""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from awareness.models import LessonProposal
from csoa_portal.models import AuditEntry
from csoa_portal.sweep import run_sweep
from incidents import services as incident_services
from incidents.models import Alert, Escalation, Incident
from liaison import services as liaison_services
from liaison.exercises import using_exercise
from liaison.models import Event
from reserve import services as reserve_services
from reserve.models import AssistanceRequest, Engagement
from scenarios import services
from scenarios.models import Inject
from scenarios.evaluation import lessons
from scenarios.selectors import evaluation_names, evaluation_of
from tests import factories
from tests.conftest import verified_client
from tests.reserve.conftest import reserve  # noqa: F401  (the fixture)
from tests.scenarios.test_injects import REQUEST

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)
# Three states' CSIRTs and ENISA; France's NIS2 single point of contact (a Reserve request goes through it) and a
# Reserve provider (it declines) play their parts too.
PARTICIPANTS = ("de-csirt", "fr-csirt", "pt-csirt", "enisa", "fr-spoc", "provider-acme")


def _incident(title, states, aware_minutes_before=0):
    return {"title": title, "severity": "medium", "tlp": "green", "member_states": states, "sectors": ["health"],
            "aware_minutes_before": aware_minutes_before}


# (exercise time after the start, kind, played by, title, payload); references are scenario positions (1-based).
SCENARIO = [
    (timedelta(minutes=30), "incident", "de-csirt", "Hospitals hit", _incident("Ransomware at hospitals", ["DE"])),
    (timedelta(hours=1), "incident", "fr-csirt", "Rail signalling", _incident("Rail signalling outage", ["FR"])),
    (timedelta(hours=1, minutes=30), "incident", "pt-csirt", "Port systems", _incident("Port logistics wiper", ["PT"], 230)),
    (timedelta(hours=2), "severity", "de-csirt", "Hospitals worse",
     {"incident_inject": 1, "severity": "high", "member_states": ["DE", "FR"]}),
    (timedelta(hours=2, minutes=30), "press", "de-csirt", "Press on hospitals",
     {"incident_inject": 1, "outlet": "Tagesblatt", "headline": "Hospitals turn patients away", "text": "Outages."}),
    (timedelta(hours=3), "severity", "fr-csirt", "Rail spreads",
     {"incident_inject": 2, "severity": "high", "member_states": ["FR", "PT"]}),
    (timedelta(hours=3, minutes=30), "reserve_request", "fr-csirt", "France asks the Reserve",
     {"incident_inject": 2, **REQUEST, "affected_entity": "SNCF Réseau", "sector": "transport"}),
    (timedelta(hours=4), "press", "fr-csirt", "Press on rail",
     {"incident_inject": 2, "headline": "Trains stopped", "text": "Nationwide."}),
    (timedelta(hours=5), "provider_declines", "provider-acme", "ACME declines",
     {"request_inject": 7, "reason": "No forensic staff free."}),
    (timedelta(hours=5, minutes=30), "severity", "pt-csirt", "Port spreads",
     {"incident_inject": 3, "severity": "high", "member_states": ["PT", "DE"]}),
]


@pytest.fixture
def played(reserve, freezer, django_capture_on_commit_callbacks):  # noqa: F811
    """The exercise played to its end; returns what the test needs to read the figures."""
    r = reserve
    orgs, people = r["orgs"], r["people"]
    controller = factories.person("control@enisa.example", orgs["enisa"], ["analyst"])
    crisis = factories.person("crisis@enisa.example", orgs["enisa"], ["crisis_manager"])
    orgs["fr-spoc"] = factories.organisation("fr-spoc", "spoc", "FR", "ANSSI — NIS2 single point of contact")
    people["fr_spoc"] = factories.person("spoc@fr-spoc.example", orgs["fr-spoc"], ["analyst"])
    start = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
    exercise = liaison_services.create_exercise(
        actor=crisis, organisation=orgs["enisa"], name="Cyber Europe 2026", kind="cyber_europe", starts_at=start,
        ends_at=start + timedelta(hours=2), participants=[orgs[c] for c in PARTICIPANTS], controllers=[controller],
        time_scale=6)
    injects = []
    for offset, kind, org, title, payload in SCENARIO:
        payload = {k: (injects[v - 1].pk if k in ("incident_inject", "request_inject") else v)
                   for k, v in payload.items()}
        injects.append(services.create_inject(actor=controller, exercise=exercise, kind=kind, title=title,
                                              organisation=orgs[org], payload=payload, offset=offset))

    def at(minutes):
        """Real minutes after the start: move the clock there and run the sweep (releases, chases, reminders)."""
        freezer.move_to(start + minutes * M)
        with django_capture_on_commit_callbacks(execute=True):
            run_sweep()

    def incident(n):
        return Inject.objects.get(pk=injects[n - 1].pk).incident

    def alert(n, org):
        return Alert.objects.get(incident=incident(n), organisation__code=org)

    def act(fn, **kwargs):
        with using_exercise(exercise), django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    fr, pt, enisa = people["fr_analyst"], people["pt_analyst"], people["enisa_triage"]
    at(0)
    at(5)  # 1: DE's hospitals (00:30 exercise time = 5 real minutes)
    at(10)  # 2: France's rail
    at(12)
    act(incident_services.add_timeline_entry, actor=fr, incident=incident(2), text="CERT-FR on it.")
    at(14)
    act(incident_services.submit_report, actor=fr, incident=incident(2), kind="early_warning",
        content={"summary": "Signalling outage"}, suspected_malicious=True)
    at(15)  # 3: Portugal's port
    at(20)  # 4: hospitals now high in DE and FR: level 2, the network is alerted
    at(25)  # 5: the press article
    at(27)
    act(incident_services.answer_alert, actor=fr, alert=alert(1, "fr-csirt"), affected=True)
    at(29)
    act(incident_services.answer_alert, actor=enisa, alert=alert(1, "enisa"), affected=True)
    at(30)  # 6: rail spreads to PT: level 2
    at(32)
    act(incident_services.answer_alert, actor=pt, alert=alert(1, "pt-csirt"), affected=True)
    at(33)
    act(incident_services.answer_alert, actor=pt, alert=alert(2, "pt-csirt"), affected=False, note="Not us.")
    at(35)  # 7: France asks the Reserve
    request = Inject.objects.get(pk=injects[6].pk).assistance_request
    at(37)
    act(reserve_services.forward_request, actor=people["fr_spoc"], request=request, note="Endorsed.")
    at(38)
    act(reserve_services.assess_request, actor=people["enisa_triage"], request=request, complete=True,
        recommendation="approve", reasons="Severe.")
    at(40)  # 8: press on rail
    at(41)
    act(reserve_services.decide_request, actor=people["enisa_decision"], request=request, outcome="approved",
        reasons="Approved.")
    at(42)
    act(reserve_services.engage_provider, actor=people["enisa_triage"], request=request, provider=orgs["provider-acme"])
    at(50)  # 9: ACME declines
    at(53)
    act(incident_services.answer_alert, actor=enisa, alert=alert(2, "enisa"), affected=True)
    at(55)  # 10: the port spreads to DE: level 2
    at(60)
    act(incident_services.answer_alert, actor=fr, alert=alert(3, "fr-csirt"), affected=True)
    at(61)
    act(incident_services.answer_alert, actor=enisa, alert=alert(3, "enisa"), affected=True)
    for minutes in range(65, 125, 5):
        at(minutes)
    return {**r, "exercise": exercise, "injects": injects, "start": start, "controller": controller, "crisis": crisis,
            "incident": incident, "alert": alert, "request": request}


def _minutes(took):
    """(real minutes, exercise minutes) of a duration on both clocks."""
    return (took.real_minutes, took.exercise_minutes) if took is not None else None


def _by_title(evaluation):
    return {figure.inject.title: figure for figure in evaluation.injects}


def _alert(evaluation, reference, org):
    return next(a for a in evaluation.alerts if a.alert.incident == reference and a.alert.organisation == org)


def test_the_injects_escalate_through_the_real_engine_and_alert_the_participants(played):
    exercise, incident = played["exercise"], played["incident"]
    assert list(Inject.objects.filter(exercise=exercise).values_list("status", flat=True)) == ["released"] * 10
    hospitals, rail, port = incident(1), incident(2), incident(3)
    for each in (hospitals, rail, port):
        assert Incident.objects.get(pk=each.pk).crisis_level == 2
        assert Escalation.objects.filter(incident=each, to_level=2).exists()
    # Only organisations taking part are alerted: the Commission, CERT-EU and others outside the exercise are not.
    alerted = {each.title: sorted(Alert.objects.filter(incident=each).values_list("organisation__code", flat=True))
               for each in (hospitals, rail, port)}
    assert alerted == {"Ransomware at hospitals": ["enisa", "fr-csirt", "pt-csirt"],
                       "Rail signalling outage": ["de-csirt", "enisa", "pt-csirt"],
                       "Port logistics wiper": ["de-csirt", "enisa", "fr-csirt"]}
    assert {e.exercise_id for e in Event.objects.filter(kind="alert.raised")} == {exercise.pk}
    request = AssistanceRequest.objects.get(pk=played["request"].pk)
    assert request.exercise == exercise and request.decided_at == played["start"] + 41 * M
    assert Engagement.objects.get(request=request, provider__code="provider-acme").status == "declined"


def test_the_evaluation_figures_match_the_known_timeline(played):
    exercise, start = played["exercise"], played["start"]
    evaluation = evaluation_of(exercise, now=timezone.now())
    hospitals, rail, port = (played["incident"](n).reference for n in (1, 2, 3))
    assert evaluation.as_of == exercise.ends_at == start + 120 * M

    # Inject → first response (real minutes, exercise minutes at ×6), and who responded first.
    injects = _by_title(evaluation)
    assert {title: (_minutes(f.response), f.responder) for title, f in injects.items()} == {
        "Hospitals hit": ((22, 132), "fr-csirt"),  # FR's acknowledgement at 27 is the first action on it
        "Rail signalling": ((2, 12), "fr-csirt"),  # FR's update at 12
        "Port systems": ((45, 270), "fr-csirt"),  # nobody acts on the port before FR's acknowledgement at 60
        "Hospitals worse": ((7, 42), "fr-csirt"),
        "Press on hospitals": ((2, 12), "fr-csirt"),
        "Rail spreads": ((3, 18), "pt-csirt"),  # PT: not affected, at 33
        "France asks the Reserve": ((2, 12), "fr-spoc"),  # the SPOC forwards it at 37
        "Press on rail": ((13, 78), "enisa"),
        "ACME declines": (None, ""),  # nobody acted on the request after the refusal
        "Port spreads": ((5, 30), "fr-csirt"),
    }
    assert _minutes(injects["Rail spreads"].by_organisation["enisa"][1]) == (23, 138)
    assert [f.inject.title for f in evaluation.unanswered_injects] == ["ACME declines"]
    assert injects["Rail spreads"].inject.alerted == ("de-csirt", "enisa", "pt-csirt")

    # Alerts: time to answer per organisation; Germany never acknowledged.
    assert _minutes(_alert(evaluation, hospitals, "fr-csirt").to_answer) == (7, 42)
    assert _minutes(_alert(evaluation, hospitals, "enisa").to_answer) == (9, 54)
    assert _minutes(_alert(evaluation, hospitals, "pt-csirt").to_answer) == (12, 72)
    assert _minutes(_alert(evaluation, rail, "pt-csirt").to_answer) == (3, 18)
    assert _alert(evaluation, rail, "pt-csirt").alert.state == "not_affected"
    assert _minutes(_alert(evaluation, rail, "enisa").to_answer) == (23, 138)
    assert _alert(evaluation, rail, "enisa").late  # its 10 real minutes had passed
    assert _minutes(_alert(evaluation, port, "fr-csirt").to_answer) == (5, 30)
    assert _minutes(_alert(evaluation, port, "enisa").to_answer) == (6, 36)
    assert sorted((a.alert.incident, a.alert.organisation) for a in evaluation.unanswered_alerts) == [
        (rail, "de-csirt"), (port, "de-csirt")]
    assert {org: _minutes(t) for org, t in evaluation.mean_alert_answer().items()} == {
        "enisa": ((9 + 23 + 6) / 3, (54 + 138 + 36) / 3), "fr-csirt": (6, 36), "pt-csirt": (7.5, 45)}
    assert list(evaluation.never_answered()) == ["de-csirt"]
    assert evaluation.never_answered()["de-csirt"] == [
        f"alert on {rail} (level 1)", f"alert on {port} (level 1)", f"inject #{played['injects'][5].pk} Rail spreads",
        f"inject #{played['injects'][9].pk} Port spreads"]

    # Reports: FR's early warning 4 real minutes after awareness = 24 exercise minutes (due at 24 exercise hours).
    assert [(r.report.incident, r.report.organisation, r.report.kind, _minutes(r.after_start))
            for r in evaluation.reports] == [(rail, "fr-csirt", "early_warning", (4, 24))]

    # Missed clocks by the end: PT's early warning (aware 230 real minutes before its report: due 10 real minutes
    # later, never sent); ENISA's acknowledgement on the rail (met late); DE's on the rail (never). DE's alert on
    # the port falls due after the end: unanswered, but not a missed clock.
    assert evaluation.missed_by_kind() == {"alert_acknowledgement": 2, "early_warning": 1}
    assert [(m.clock.kind, m.clock.subject, m.clock.organisation, m.met_late) for m in evaluation.missed] == [
        ("early_warning", port, "pt-csirt", False), ("alert_acknowledgement", rail, "enisa", True),
        ("alert_acknowledgement", rail, "de-csirt", False)]
    assert evaluation.missed[0].clock.due_at == start + 25 * M

    # The Reserve: submitted at 35, reached ENISA at 37 (the SPOC), decided at 41.
    (decision,) = evaluation.decisions
    assert decision.request.outcome == "approved" and decision.request.decided_by == "enisa"
    assert _minutes(decision.from_request) == (6, 36) and _minutes(decision.from_authority) == (4, 24)


def test_a_participants_own_report_holds_only_its_figures(played):
    from scenarios.evaluation import for_organisation

    evaluation = for_organisation(evaluation_of(played["exercise"], now=timezone.now()), "de-csirt")
    assert {a.alert.organisation for a in evaluation.alerts} == {"de-csirt"}
    assert len(evaluation.unanswered_alerts) == 2 and [m.clock.organisation for m in evaluation.missed] == ["de-csirt"]
    # Its own incident's injects (played by its exercise player: its people take them on) and those that alerted it.
    assert [f.inject.title for f in evaluation.unanswered_injects] == [
        "Hospitals hit", "Hospitals worse", "Press on hospitals", "Rail spreads", "Port spreads"]
    assert evaluation.decisions == [] and evaluation.reports == []


def _pages(client, exercise, suffix=""):
    return client.get(f"/exercises/{exercise.pk}/evaluation/{suffix}")


def test_the_after_action_report_is_for_controllers_and_the_organisers_and_each_participant_sees_its_own(
        played, freezer):
    p, exercise, start = played["people"], played["exercise"], played["start"]
    for who in (played["controller"], played["crisis"]):
        client = verified_client(who)
        page = _pages(client, exercise)
        assert page.status_code == 200
        text = page.content.decode()
        assert "EXERCISE — Cyber Europe 2026" in text and "TLP:AMBER" in text
        assert "7 min real · 42 min exercise" in text and "<svg" in text and "Propose as a Blueprint change" in text
        assert _pages(client, exercise, "de-csirt/").status_code == 200
        assert f'href="/exercises/{exercise.pk}/evaluation/"' in client.get("/exercises/").content.decode()

    france = verified_client(p["fr_analyst"])
    own = _pages(france, exercise, "fr-csirt/")
    assert own.status_code == 200 and "TLP:AMBER+STRICT" in own.content.decode()
    assert "7 min real · 42 min exercise" in own.content.decode()
    assert f'href="/exercises/{exercise.pk}/evaluation/fr-csirt/"' in france.get("/exercises/").content.decode()
    for suffix in ("", "de-csirt/", "report.pdf", "de-csirt/report.pdf", "nobody/"):
        assert _pages(france, exercise, suffix).status_code == 404, suffix
    assert france.post(f"/exercises/{exercise.pk}/evaluation/lessons/", {"rationale": "x"}).status_code == 404
    outsider = verified_client(p["no_analyst"])
    for suffix in ("", "fr-csirt/", "no-csirt/", "report.pdf"):
        assert _pages(outsider, exercise, suffix).status_code == 404, suffix
    # During play a participant's figures are not shown (they would coach the players).
    freezer.move_to(start + 60 * M)
    assert _pages(france, exercise, "fr-csirt/").status_code == 404
    assert _pages(verified_client(played["controller"]), exercise).status_code == 200


def test_the_pdf_is_marked_exercise_on_every_page_and_says_the_figures(played):
    from pypdf import PdfReader

    exercise = played["exercise"]
    response = _pages(verified_client(played["controller"]), exercise, "report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="exercise-{exercise.pk}-after-action-report.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    reader = PdfReader(io.BytesIO(response.content))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 2
    assert all("EXERCISE — Cyber Europe 2026" in text and "TLP:AMBER" in text for text in pages)
    text = " ".join(" ".join(pages).split())
    for figure in ("7 min real · 42 min exercise", "6 min real · 36 min exercise", "4 min real · 24 min exercise",
                   "alert_acknowledgement 2", "early_warning 1", "CERT-Bund"):
        assert figure in text, figure
    own = _pages(verified_client(played["people"]["fr_analyst"]), exercise, "fr-csirt/report.pdf")
    assert own.status_code == 200
    assert own["Content-Disposition"] == (
        f'inline; filename="exercise-{exercise.pk}-after-action-report-fr-csirt.pdf"')
    assert all("TLP:AMBER+STRICT" in page.extract_text() for page in PdfReader(io.BytesIO(own.content)).pages)


def test_a_lesson_of_the_report_is_proposed_as_a_blueprint_change(played):
    exercise, controller = played["exercise"], played["controller"]
    client = verified_client(controller)
    assert "CERT-Bund never answered" in _pages(client, exercise).content.decode()
    evaluation = evaluation_of(exercise, now=timezone.now())
    lesson_line = next(text for text in lessons(evaluation, evaluation_names(exercise, evaluation))
                       if text.startswith("CERT-Bund never answered"))
    response = client.post(f"/exercises/{exercise.pk}/evaluation/lessons/", {"rationale": lesson_line})
    assert response.status_code == 302
    lesson = LessonProposal.objects.get()
    assert (lesson.source_kind, lesson.source_id, lesson.target) == ("exercise_evaluation", str(exercise.pk), "other")
    assert lesson.rationale == lesson_line and lesson.exercise_id is None  # live work: the real Blueprint's queue
    assert lesson.organisation.code == "enisa" and lesson.proposed_by == controller
    assert AuditEntry.objects.filter(action="lesson.proposed", object_id=str(lesson.pk)).exists()
    assert Event.objects.get(kind="lesson.proposed").exercise_id is None
    # A structured change that does not apply is refused, nothing written.
    bad = client.post(f"/exercises/{exercise.pk}/evaluation/lessons/", {
        "rationale": "Shorter ack", "target": "level_deadlines", "change": '{"level": 9, "field": "ack_minutes"}'},
        follow=True)
    assert "does not exist" in bad.content.decode() and LessonProposal.objects.count() == 1


@pytest.mark.parametrize("real, scale, words", [
    (7 * M, 6, "7 min real · 42 min exercise"),
    (timedelta(minutes=90), 6, "1 h 30 min real · 9 h 00 min exercise"),
    (timedelta(seconds=90), 1, "1 min 30 s real · 1 min 30 s exercise"),
])
def test_durations_read_on_both_clocks(real, scale, words):
    from scenarios import evaluation as ev

    start = timezone.now()
    assert ev.words(ev.took(start, start + real, scale=scale)) == words
    assert ev.words(None) == "—" and ev.took(start, None, scale=scale) is None


def test_a_clock_met_on_time_or_due_after_the_end_is_not_missed():
    from scenarios import evaluation as ev

    t0 = timezone.now()
    clocks = [ev.ClockRow("early_warning", "Early warning", "INC-1", "de-csirt", due_at=t0 + 10 * M, met_at=t0 + 9 * M),
              ev.ClockRow("early_warning", "Early warning", "INC-2", "de-csirt", due_at=t0 + 10 * M, met_at=t0 + 11 * M),
              ev.ClockRow("notification", "Notification", "INC-1", "de-csirt", due_at=t0 + 30 * M, met_at=None),
              ev.ClockRow("notification", "Notification", "INC-2", "de-csirt", due_at=t0 + 10 * M, met_at=None)]
    result = ev.evaluate(scale=6, as_of=t0 + 20 * M, injects=[], actions=[], alerts=[], reports=[], clocks=clocks,
                         requests=[])
    assert [(m.clock.kind, m.clock.subject, m.met_late) for m in result.missed] == [
        ("early_warning", "INC-2", True), ("notification", "INC-2", False)]
    assert result.missed_by_kind() == {"early_warning": 1, "notification": 1}
