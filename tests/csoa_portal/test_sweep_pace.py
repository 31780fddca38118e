"""A paced sweep job rests between its batches (csoa_portal.sweep.in_batches), so a backlog of alarms
never takes the CPU that reports and live events need at that moment (bench/sweep_load.py)."""

import pytest

from csoa_portal import sweep


class _Clock:
    """time.monotonic and time.sleep of the sweep module, on a clock each batch advances by its work time."""

    def __init__(self):
        self.now, self.rests = 1000.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.rests.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    found = _Clock()
    monkeypatch.setattr(sweep.time, "monotonic", found.monotonic)
    monkeypatch.setattr(sweep.time, "sleep", found.sleep)
    return found


def _backlog(clock, sizes, seconds_per_batch=0.2):
    remaining = list(sizes)

    def work(batch):
        clock.now += seconds_per_batch
        return remaining.pop(0)

    return work


def test_a_paced_job_rests_for_the_rest_of_its_share_between_batches_and_not_after_the_last(settings, clock):
    settings.SWEEP_PACE = 0.25
    assert sweep.in_batches(_backlog(clock, [100, 100, 30]), batch=100, paced=True) == 230
    # Busy 0.2 s per batch, a quarter of the time: 0.6 s of rest after each full batch, none after the last.
    assert clock.rests == [0.6, 0.6]


def test_an_unpaced_job_and_a_pace_of_one_never_rest(settings, clock):
    settings.SWEEP_PACE = 0.25
    assert sweep.in_batches(_backlog(clock, [100, 100, 0]), batch=100) == 200
    settings.SWEEP_PACE = 1.0
    assert sweep.in_batches(_backlog(clock, [100, 100, 0]), batch=100, paced=True) == 200
    assert clock.rests == []


def test_a_rest_never_runs_past_the_jobs_budget(settings, clock):
    settings.SWEEP_PACE = 0.05  # would rest 3.8 s after each 0.2 s batch
    assert sweep.in_batches(_backlog(clock, [100] * 10), batch=100, budget_seconds=2.0, paced=True) == 200
    assert clock.rests == [1.8]  # the budget's rest, then the budget is spent: the rest is the next sweep's
