"""The Reserve's clock sweep works a backlog larger than its batch in one run, each clock once."""

from datetime import timedelta

import pytest

from liaison.models import Event
from reserve.models import ReserveDeadline
from reserve.services.deadlines import sweep_reserve_deadlines
from reserve.vocabulary import Clock
from reserve.workflow import RequestStatus
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db


def test_a_backlog_of_overdue_answers_larger_than_a_batch_fires_each_once_in_one_sweep(reserve, freezer):
    requests = [request_in(RequestStatus.SUBMITTED, reserve) for _ in range(5)]
    clocks = ReserveDeadline.objects.filter(request__in=requests, clock=Clock.RESPONSE)
    assert clocks.count() == 5
    freezer.move_to(max(c.due_at for c in clocks) + timedelta(minutes=1))
    assert sweep_reserve_deadlines(batch=2) == 5
    assert not clocks.filter(overdue_fired_at__isnull=True).exists()
    overdue = Event.objects.filter(kind="deadline.overdue", payload__clock=Clock.RESPONSE)
    assert sorted(overdue.values_list("subject_id", flat=True)) == sorted(str(r.pk) for r in requests)
    assert sweep_reserve_deadlines(batch=2) == 0
