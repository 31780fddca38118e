"""The Reserve's clocks with a moved clock: the 48-hour answer, a provider's answer, the after-action report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from csoa_portal.sweep import run_sweep
from liaison.models import Event
from liaison.selectors import inbox_for
from reserve import services
from reserve.models import Engagement, ReserveDeadline
from reserve.selectors import requests_visible_to
from reserve.workflow import RequestStatus
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db


def _clock_events(kind, clock):
    return [e for e in Event.objects.filter(kind=kind).order_by("id") if e.payload.get("clock") == clock]


def _reserve_items(user):
    """The user's inbox items about Reserve requests (the linked incident has its own NIS2 clocks)."""
    return [(i.kind, i.payload["clock"]) for i in inbox_for(user)[0]
            if i.subject_type == "assistance_request" and i.kind.startswith("deadline.")]


def _audience(event):
    return set(event.audience.values_list("name", flat=True))


def test_response_clock_reminds_triage_before_48_hours_and_alerts_leadership_once_when_overdue(reserve, freezer):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    start = request.submitted_at
    freezer.move_to(start + timedelta(hours=35, minutes=59))  # 12 h before: not yet
    run_sweep()
    assert _clock_events("deadline.reminder", "response") == []
    freezer.move_to(start + timedelta(hours=36, minutes=1))
    run_sweep()
    run_sweep()
    (reminder,) = _clock_events("deadline.reminder", "response")
    assert _audience(reminder) == {"role:enisa_triage", "org:enisa"}
    assert _reserve_items(reserve["people"]["enisa_triage"]) == [("deadline.reminder", "response")]
    freezer.move_to(start + timedelta(hours=47, minutes=59))
    run_sweep()
    assert _clock_events("deadline.overdue", "response") == []
    freezer.move_to(start + timedelta(hours=48, seconds=1))
    run_sweep()
    run_sweep()
    (alarm,) = _clock_events("deadline.overdue", "response")
    assert alarm.payload["due_at"] == (start + timedelta(hours=48)).isoformat()
    assert _audience(alarm) == {"role:enisa_triage", "org:enisa", "network-admins"}
    assert _reserve_items(reserve["people"]["enisa_admin"]) == [("deadline.overdue", "response")]
    assert _reserve_items(reserve["people"]["de_analyst"]) == []  # the authority's clock, not the requester's


def test_a_decision_in_time_stops_the_response_clock(reserve, freezer):
    request = request_in(RequestStatus.ASSESSED, reserve)
    services.decide_request(actor=reserve["people"]["enisa_decision"], request=request, outcome="approved",
                            reasons="ok")
    freezer.move_to(request.submitted_at + timedelta(hours=49))
    run_sweep()
    assert _clock_events("deadline.overdue", "response") == []
    assert ReserveDeadline.objects.get(request=request, clock="response").met_at is not None


def test_provider_silence_times_out_and_the_next_ranked_provider_is_proposed_once(reserve, freezer):
    p = reserve["people"]
    request = request_in(RequestStatus.APPROVED, reserve)
    first = services.engage_provider(actor=p["enisa_triage"], request=request, provider=reserve["orgs"]["provider-acme"])
    assert first.respond_by == first.offered_at + timedelta(hours=4)  # ACME commits to 4 h
    assert requests_visible_to(p["provider"]).filter(pk=request.pk).exists()
    freezer.move_to(first.offered_at + timedelta(hours=2, minutes=1))  # reminded at half the response time
    run_sweep()
    (reminder,) = _clock_events("deadline.reminder", "provider_response")
    assert reminder.subject_type == "engagement" and reminder.payload["recipient_groups"] == ["org:provider-acme"]
    freezer.move_to(first.respond_by + timedelta(seconds=1))
    run_sweep()
    run_sweep()
    first.refresh_from_db()
    assert first.status == "expired"
    (following,) = Engagement.objects.filter(request=request, status="offered")
    assert following.provider.code == "provider-beta" and following.offered_by is None
    assert following.rank == 2  # its place in the ranking; ACME (first) was already tried
    assert Event.objects.filter(kind="engagement.expired").count() == 1
    engaged = Event.objects.filter(kind="provider.engaged").order_by("id").last()
    assert engaged.payload["proposed_by_portal"] is True and engaged.subject_id == str(following.pk)
    assert not requests_visible_to(p["provider"]).filter(pk=request.pk).exists()  # ACME no longer engaged
    assert requests_visible_to(p["beta"]).filter(pk=request.pk).exists()


def test_a_decline_proposes_the_next_provider_and_when_nobody_is_left_triage_is_told(reserve):
    p = reserve["people"]
    request = request_in(RequestStatus.APPROVED, reserve)
    acme = services.engage_provider(actor=p["enisa_triage"], request=request, provider=reserve["orgs"]["provider-acme"])
    with pytest.raises(Exception, match="Say why"):
        services.decline_engagement(actor=p["provider"], engagement=acme, reason="")
    services.decline_engagement(actor=p["provider"], engagement=acme, reason="No capacity this fortnight")
    beta = Engagement.objects.get(request=request, status="offered")
    assert beta.provider.code == "provider-beta"
    services.decline_engagement(actor=p["beta"], engagement=beta, reason="Conflict discovered")
    gamma = Engagement.objects.get(request=request, status="offered")
    assert gamma.provider.code == "provider-gamma"
    services.decline_engagement(actor=p["gamma"], engagement=gamma, reason="No German speakers free")
    assert not Engagement.objects.filter(request=request, status="offered").exists()
    exhausted = Event.objects.get(kind="matching.exhausted")
    assert exhausted.payload["recipient_groups"] == ["role:enisa_triage"]
    assert "org:de-csirt" not in _audience(exhausted)


def test_after_action_report_is_due_three_months_after_closing_reminded_and_chased_once(reserve, freezer):
    p = reserve["people"]
    request = request_in(RequestStatus.CLOSED, reserve)
    row = ReserveDeadline.objects.get(request=request, clock="after_action_report")
    closed = timezone.localtime(request.closed_at, timezone.get_fixed_timezone(0))
    assert row.due_at > request.closed_at + timedelta(days=88) and row.due_at < request.closed_at + timedelta(days=93)
    assert row.remind_at == row.due_at - timedelta(days=14)
    freezer.move_to(row.remind_at - timedelta(minutes=1))
    run_sweep()
    assert _clock_events("deadline.reminder", "after_action_report") == []
    freezer.move_to(row.remind_at + timedelta(minutes=1))
    run_sweep()
    (reminder,) = _clock_events("deadline.reminder", "after_action_report")
    assert reminder.payload["recipient_groups"] == ["org:de-csirt"]
    freezer.move_to(row.due_at + timedelta(seconds=1))
    run_sweep()
    run_sweep()
    (alarm,) = _clock_events("deadline.overdue", "after_action_report")
    assert _audience(alarm) == {"org:de-csirt", "role:enisa_triage"}
    assert closed.month != timezone.localtime(row.due_at, timezone.get_fixed_timezone(0)).month
    services.submit_report(actor=p["de_analyst"], request=request, service_provided="Forensics", results="Restored",
                           lessons_learned="Segment OT")
    assert ReserveDeadline.objects.get(pk=row.pk).met_at is not None


def test_the_report_clock_follows_the_setting(reserve, settings):
    settings.RESERVE_REPORT_MONTHS = 1
    request = request_in(RequestStatus.CLOSED, reserve)
    row = ReserveDeadline.objects.get(request=request, clock="after_action_report")
    assert timedelta(days=27) < row.due_at - request.closed_at < timedelta(days=32)


def test_a_sweep_after_beat_was_down_catches_every_missed_clock_once(reserve, freezer):
    requests = [request_in(RequestStatus.SUBMITTED, reserve, affected_entity=f"E{n}") for n in range(3)]
    freezer.move_to(requests[-1].submitted_at + timedelta(days=9))
    run_sweep()
    run_sweep()
    assert len(_clock_events("deadline.overdue", "response")) == 3
    assert len(_clock_events("deadline.reminder", "response")) == 0  # past its time: only the alarm goes out


# CSoA Art. 16: the summary report is due three months after the support ends; the months are added at once.
SUMMARY_REPORT_DUE = [
    # support ended (local time, Europe/Berlin), months, due (local)
    ("2026-12-31T10:00", 3, "2027-03-31T10:00"),
    ("2026-10-31T10:00", 3, "2027-01-31T10:00"),
    ("2026-11-30T10:00", 3, "2027-02-28T10:00"),  # clamped once, at the end
    ("2027-11-30T10:00", 3, "2028-02-29T10:00"),  # leap year
    ("2026-01-31T10:00", 1, "2026-02-28T10:00"),
    ("2026-05-31T23:30", 3, "2026-08-31T23:30"),  # wall-clock time kept across summer time
    ("2026-03-15T09:00", 12, "2027-03-15T09:00"),
]


@pytest.mark.parametrize(("ended", "months", "due"), SUMMARY_REPORT_DUE)
def test_csoa_art16_summary_report_due_three_months_after_support_ends(ended, months, due):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from reserve.services.deadlines import add_months

    berlin = ZoneInfo("Europe/Berlin")
    got = add_months(datetime.fromisoformat(ended).replace(tzinfo=berlin), months, "Europe/Berlin")
    assert got.astimezone(berlin).replace(tzinfo=None) == datetime.fromisoformat(due)


def test_csoa_art16_support_closed_on_31_december_is_reported_by_31_march(reserve, freezer):
    freezer.move_to("2026-12-31T10:00:00+00:00")
    request = request_in(RequestStatus.CLOSED, reserve)
    row = ReserveDeadline.objects.get(request=request, clock="after_action_report")
    due = timezone.localtime(row.due_at, timezone.get_fixed_timezone(60))  # Berlin in winter: UTC+1
    assert (due.month, due.day) == (3, 31)
