"""The situation-update sweep commits a batch at a time, like the deadline and alert sweeps.

It used to recompute the clock of every incident at an interval level in one transaction.
The proof is the commits: each recomputed incident registers an on-commit hook noting how
many incidents had been recomputed when its transaction committed — one note per transaction.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from incidents import clocks, policy, services
from incidents.models import Deadline, Incident
from incidents.services import reminders

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_cursor_left():
    cache.delete(reminders.SITUATION_CURSOR)
    yield
    cache.delete(reminders.SITUATION_CURSOR)


def _at_level_two(network, count: int) -> list[Incident]:
    """``count`` open incidents at level 2 (a situation update every 12 hours in the default blueprint)."""
    made = [services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                     title=f"Outage {n}", aware_at=timezone.now() - timedelta(hours=1))
            for n in range(count)]
    Incident.objects.filter(pk__in=[i.pk for i in made]).update(crisis_level=2)
    return made


def _spy_commits():
    real = policy.situation_update_due
    done, commits = [], []

    def spy(**kwargs):
        result = real(**kwargs)
        done.append(result)
        transaction.on_commit(lambda: commits.append(len(done)))
        return result

    return mock.patch.object(policy, "situation_update_due", spy), done, commits


def test_situation_clocks_of_more_incidents_than_a_batch_are_kept_over_several_commits(network):
    incidents = _at_level_two(network, 5)
    patch, done, commits = _spy_commits()
    with patch:
        assert reminders.keep_situation_update_clocks(batch=2) == 5
    # Three transactions, each committed when its batch was done: 2, 4, then the last one.
    assert sorted(set(commits)) == [2, 4, 5]
    rows = Deadline.objects.filter(clock=clocks.Clock.SITUATION_UPDATE, incident__in=incidents)
    assert {row.incident_id for row in rows} == {i.pk for i in incidents}
    assert all(row.due_at == Incident.objects.get(pk=row.incident_id).created_at + timedelta(hours=12) for row in rows)
    assert reminders.keep_situation_update_clocks(batch=2) == 0  # nothing moved since


def test_a_situation_sweep_stopped_by_its_budget_goes_on_where_it_stopped(network, settings):
    incidents = _at_level_two(network, 3)
    settings.SWEEP_JOB_BUDGET_SECONDS = 0  # spent after the first batch
    assert reminders.keep_situation_update_clocks(batch=2) == 2
    owed = set(Deadline.objects.filter(clock=clocks.Clock.SITUATION_UPDATE).values_list("incident_id", flat=True))
    assert owed == {incidents[0].pk, incidents[1].pk}
    assert reminders.keep_situation_update_clocks(batch=2) == 1  # the third, not the first two again
    owed = set(Deadline.objects.filter(clock=clocks.Clock.SITUATION_UPDATE).values_list("incident_id", flat=True))
    assert owed == {i.pk for i in incidents}


def test_a_de_escalated_incident_owes_no_situation_update_after_the_batched_sweep(network):
    kept, lowered = _at_level_two(network, 2)
    reminders.keep_situation_update_clocks(batch=1)
    Incident.objects.filter(pk=lowered.pk).update(crisis_level=1)  # no update interval at level 1
    reminders.keep_situation_update_clocks(batch=1)
    owed = set(Deadline.objects.filter(clock=clocks.Clock.SITUATION_UPDATE).values_list("incident_id", flat=True))
    assert owed == {kept.pk}
