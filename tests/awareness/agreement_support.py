"""The world of the awareness agreement walk (``test_policy_agreement.py``): every product in the states that
matter, built once per module through the real services and the existing builders.

- Situation reports on ``sitreps_support.make_crisis``'s level-2 crisis (the Council Presidency is Ireland):
  ENISA's draft, one in review (drafted and submitted by ENISA's liaison officer), one published; and the
  Presidency's draft on a level-3 incident (ENISA does not draft at level 3, nor sees that draft).
- Public warnings on ``warnings_support.cross_border`` (TLP:CLEAR, DE and FR, drafted by CERT-Bund): a draft,
  one circulated that DE agreed to, one scheduled, one released by the sweep (DE and FR agreed), one withdrawn
  while circulated and one withdrawn while still a draft (never circulated: its drafter's alone, like a draft).
- Incident reviews (``reviews_support``: requested by the Commission, DE and FR agree) waiting for agreement,
  being drafted (every part written), out for comments (none yet), with every comment in, delivered.
- Lessons from the delivered review: CERT-FR's proposed, the Commission's accepted by ENISA (waiting for the
  next Blueprint draft); and from the other kinds of source: CERT.PT's from the published situation report, and
  DE's crisis authority's from the evaluation of CERT-Bund's national drill, which it controls (both proposed).

The world lives in a transaction opened for the module and rolled back at its end; each test runs in a
savepoint of it (pytest-django's), and each action the walk tries in a savepoint of that.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time

from awareness.models import IncidentReview, LessonProposal, PublicWarning, SituationReport
from awareness.services import lessons as lesson_services
from awareness.services import reviews as review_services
from awareness.services import sitreps as sitrep_services
from awareness.services import warnings as warning_services
from incidents import services as incident_services
from incidents.models import Incident
from liaison import services as liaison_services
from scenarios.services import propose_lesson_from_evaluation
from tests import conftest, factories
from tests.awareness import reviews_support, sitreps_support, warnings_support
from tests.conftest import verified_client

PERSONS = [  # one of each kind
    "de_analyst",     # the reporting state's national CSIRT: an analyst
    "de_admin",       # its officer (the organisation admin)
    "de_liaison",     # the reporting state's crisis authority (EU-CyCLONe liaison officer)
    "fr_analyst",     # the CSIRT of another member state concerned
    "pt_analyst",     # the CSIRT of a member state in the crisis but not concerned by the warnings and reviews
    "ie_chair",       # the Council Presidency's crisis authority, liaison officer: EU-CyCLONe's chair
    "enisa_liaison",  # ENISA as EU-CyCLONe's secretariat (drafts level-2 reports)
    "enisa_triage",   # ENISA's staff (drafts reviews, decides lessons)
    "enisa_admin",    # ENISA's organisation admin: a network admin, who maintains the Blueprint
    "ec_decision",    # the Commission's decision-maker (requests reviews)
    "provider",       # a Reserve provider: not involved at all
    "fr_former",      # a liaison officer of a French crisis authority since deactivated
]

OBJECTS = {  # the name of each thing in the world, and its kind
    "incident at level 2 (the situation reports' crisis)": "incident",
    "incident at level 3": "incident",
    "situation report drafted by ENISA": "sitrep",
    "situation report in review": "sitrep",
    "situation report published": "sitrep",
    "situation report drafted at level 3": "sitrep",
    "public warning drafted": "warning",
    "public warning circulated, DE agreed": "warning",
    "public warning scheduled": "warning",
    "public warning released": "warning",
    "public warning withdrawn after circulation": "warning",
    "public warning withdrawn as a draft": "warning",
    "incident review waiting for agreement": "review",
    "incident review being drafted": "review",
    "incident review out for comments": "review",
    "incident review with every comment in": "review",
    "incident review delivered": "review",
    "lesson proposed": "lesson",
    "lesson accepted, waiting for a Blueprint draft": "lesson",
    "lesson from the published situation report": "lesson",
    "lesson from a national drill's evaluation": "lesson",
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The people, their signed-in clients and ``objects`` (name -> the object), built once for the module in a
    transaction rolled back at its end (pytest-django's per-test savepoints nest inside it)."""
    from csoa_portal.celery import app

    eager = app.conf.CELERY_TASK_ALWAYS_EAGER
    app.conf.CELERY_TASK_ALWAYS_EAGER = True  # as tests/conftest.py does for each test
    try:
        with (django_db_blocker.unblock(),
              override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
              transaction.atomic()):
            built = _build()
            yield built
            transaction.set_rollback(True)
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER = eager


def _build() -> dict:
    # The shared network: tests/conftest.py's fixtures are function-scoped, so their functions are called here.
    network = conftest.network.__wrapped__(conftest.vocabularies.__wrapped__(None))
    crisis = sitreps_support.make_crisis(network)
    orgs, people = crisis["orgs"], crisis["people"]
    people["ec_decision"] = factories.person("decision@ec.example", orgs["ec"], ["decision_maker"])
    orgs["fr-authority"] = factories.organisation("fr-authority", "crisis_authority", "FR", "ANSSI crisis management")
    people["fr_former"] = factories.person("liaison@fr-authority.example", orgs["fr-authority"], ["liaison_officer"])
    r = {"orgs": orgs, "people": people}

    # Situation reports.
    enisa = people["enisa_liaison"]
    in_review = sitreps_support.draft(crisis, title="In review")
    sitrep_services.submit_report(actor=enisa, report=in_review)
    level3 = reviews_support.incident_of(r, title="Blackout in two states")
    incident_services.share_incident(actor=people["de_analyst"], incident=level3, organisations=[orgs["ie-authority"]])
    Incident.objects.filter(pk=level3.pk).update(crisis_level=3)
    sitreps = {
        "situation report drafted by ENISA": sitreps_support.draft(crisis, title="ENISA's draft"),
        "situation report in review": in_review,
        "situation report published": sitreps_support.published(crisis, title="Published"),
        "situation report drafted at level 3": sitreps_support.draft(
            {**crisis, "primary": Incident.objects.get(pk=level3.pk)}, actor="ie_chair", related_incidents=[]),
    }

    # Public warnings.
    cross_border = warnings_support.cross_border.__wrapped__(r)
    de = people["de_analyst"]
    agreed = warnings_support.circulated(cross_border)
    warning_services.respond_to_warning(actor=de, warning=agreed, response="agreed")
    scheduled = warnings_support.circulated(cross_border)
    warning_services.respond_to_warning(actor=de, warning=scheduled, response="agreed")
    warning_services.schedule_release(actor=de, warning=scheduled,
                                      publish_at=scheduled.response_deadline + timedelta(hours=1))
    withdrawn = warnings_support.circulated(cross_border)
    warning_services.withdraw_warning(actor=de, warning=withdrawn, reason="The operators published their own.")
    withdrawn_draft = warnings_support.draft(cross_border)
    warning_services.withdraw_warning(actor=de, warning=withdrawn_draft, reason="Not needed after all.")
    warnings = {"public warning drafted": warnings_support.draft(cross_border),
                "public warning circulated, DE agreed": agreed, "public warning scheduled": scheduled,
                "public warning released": _released(cross_border, people),
                "public warning withdrawn after circulation": withdrawn,
                "public warning withdrawn as a draft": withdrawn_draft}

    # Incident reviews, each on its own incident (an incident has one open review at a time).
    reviews = {f"incident review {label}": reviews_support.review_in(state, r, reviews_support.incident_of(r))
               for state, label in [("agreement", "waiting for agreement"), ("drafted", "being drafted"),
                                    ("comments", "out for comments"), ("comments", "with every comment in"),
                                    ("delivered", "delivered")]}
    commented = reviews["incident review with every comment in"]
    for who in ("de_analyst", "fr_analyst"):
        review_services.add_comment(actor=people[who], review=commented, text=f"{who} has nothing to add.")

    # Lessons from the delivered review.
    delivered = reviews["incident review delivered"]
    proposed = lesson_services.propose_lesson(
        actor=people["fr_analyst"], source_kind="incident_review", source_id=delivered.pk, target="level_deadlines",
        change={"level": 2, "field": "ack_minutes", "value": 45}, rationale="Alerts were acknowledged after hours.")
    accepted = lesson_services.propose_lesson(
        actor=people["ec_decision"], source_kind="incident_review", source_id=delivered.pk, target="other",
        rationale="Name a single contact per state.")
    lesson_services.decide_lesson(actor=people["enisa_triage"], lesson=accepted, accept=True, reason="Agreed")
    from_sitrep = lesson_services.propose_lesson(
        actor=people["pt_analyst"], source_kind="situation_report", source_id=sitreps["situation report published"].pk,
        target="level_deadlines", change={"level": 2, "field": "update_interval_minutes", "value": 120},
        rationale="Situation updates came faster than anyone could read them.")
    from_drill = _lesson_from_a_drill(orgs, people)

    # Last, France's crisis authority is deactivated: its former officer acts and reads for it nowhere.
    former = orgs["fr-authority"]
    liaison_services.update_organisation(actor=people["enisa_admin"], organisation=former, name=former.name,
                                         kind=former.kind, member_state=former.member_state, is_active=False)

    found = {
        "incident at level 2 (the situation reports' crisis)": crisis["primary"], "incident at level 3": level3,
        **sitreps, **warnings, **reviews,
        "lesson proposed": proposed, "lesson accepted, waiting for a Blueprint draft": accepted,
        "lesson from the published situation report": from_sitrep, "lesson from a national drill's evaluation": from_drill,
    }
    assert set(found) == set(OBJECTS)
    objects = {name: _fresh(OBJECTS[name], found[name]) for name in OBJECTS}
    return {"people": people, "orgs": orgs, "objects": objects,
            "clients": {who: verified_client(people[who]) for who in PERSONS}}


def _released(cross_border, people) -> PublicWarning:
    """Circulated, agreed by DE and FR, scheduled a minute ahead and released by the sweep at that minute."""
    warning = warnings_support.circulated(cross_border)
    for who in ("de_analyst", "fr_analyst"):
        warning_services.respond_to_warning(actor=people[who], warning=warning, response="agreed")
    warning = warning_services.schedule_release(actor=people["de_analyst"], warning=warning,
                                                publish_at=timezone.now() + timedelta(minutes=1))
    with freeze_time(warning.publish_at):
        assert warning_services.release_due_warnings() == 1
    return warning


def _lesson_from_a_drill(orgs, people) -> LessonProposal:
    """CERT-Bund's national drill (its admin runs it, DE's crisis authority takes part and its liaison officer
    controls it); the controller, who reads the whole evaluation, proposes a lesson from it."""
    now = timezone.now()
    drill = liaison_services.create_exercise(
        actor=people["de_admin"], organisation=orgs["de-csirt"], name="Grid drill", kind="national",
        starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1), participants=[orgs["de-authority"]],
        controllers=[people["de_liaison"]])
    return propose_lesson_from_evaluation(actor=people["de_liaison"], exercise=drill,
                                          rationale="Nobody answered the drill's alert within the hour.")


MODELS = {"incident": Incident, "sitrep": SituationReport, "warning": PublicWarning, "review": IncidentReview,
          "lesson": LessonProposal}


def _fresh(kind: str, obj):
    """The object as the database has it now (the builders may hand back an earlier state)."""
    return MODELS[kind].objects.get(pk=obj.pk)
