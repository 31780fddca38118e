"""The exercise-isolation benchmark's own parts: the exercise rows it adds and removes, and its verdicts.

No timing here: the benchmark itself runs with ``make bench`` (bench/exercise_isolation.py).
"""

import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident, IncidentGroupObjectPermission
from liaison.models import Event, Exercise

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import exercise_isolation  # noqa: E402

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="the benchmark writes with PostgreSQL's set-based SQL")


def test_a_read_whose_query_count_changes_when_exercises_run_is_flagged():
    row = exercise_isolation.compare("GET things", [0.010] * 5, [0.010] * 5, (4, 5))

    assert row["flag"] == "queries differ: 4 without, 5 with exercises"


def test_a_read_slower_than_the_goal_is_noted_and_one_within_it_is_not():
    slow = exercise_isolation.compare("GET things", [0.010] * 5, [0.012] * 5, (4, 4))
    within = exercise_isolation.compare("GET things", [0.010] * 5, [0.0105] * 5, (4, 4))

    assert (slow["ratio_p50"], slow["goal_met"]) == (1.2, False) and "over the 1.10 goal" in slow["note"]
    assert "flag" not in slow
    assert (within["ratio_p50"], within["goal_met"], within["note"]) == (1.05, True, "queries 4")


@postgres_only
@pytest.mark.django_db
def test_the_generated_exercises_stay_out_of_live_work_and_go_without_touching_it(network, token_for):
    de_csirt = network["orgs"]["de-csirt"]
    live = incident_services.report_incident(actor=network["people"]["de_analyst"], organisation=de_csirt,
                                             title="Live", aware_at=timezone.now(), tlp="amber")
    token = token_for(de_csirt, "read")
    live_client = Client(headers={"Authorization": f"Bearer {token}"})
    before = live_client.get("/api/v1/incidents/").json()["results"]
    live_events = Event.objects.filter(exercise__isnull=True).count()

    ids = exercise_isolation.add_exercises(2, 9, vacuum=False)

    assert Exercise.objects.filter(pk__in=ids, status="running").count() == 2
    assert Incident.objects.filter(exercise_id__in=ids).count() == 18
    assert Event.objects.filter(exercise_id__in=ids, kind="incident.created").count() == 18
    assert live_client.get("/api/v1/incidents/").json()["results"] == before
    inside = Client(headers={"Authorization": f"Bearer {token}", "X-Exercise": str(ids[0])})
    drill = inside.get("/api/v1/incidents/").json()["results"]
    assert drill and live.pk not in {row["id"] for row in drill}

    assert exercise_isolation.remove_exercises(vacuum=False) == 2
    assert not Exercise.objects.exists() and not Incident.objects.filter(exercise__isnull=False).exists()
    assert not IncidentGroupObjectPermission.objects.exclude(content_object__exercise__isnull=True).exists()
    assert Event.objects.filter(exercise__isnull=True).count() == live_events
    assert live_client.get("/api/v1/incidents/").json()["results"] == before
