"""The Reserve's clocks as rows, and the sweep job that chases them.

Three clocks (DOMAIN.md): the contracting authority's answer (48 h from the request
reaching it), each provider's answer to an engagement (its committed response time),
and the user's summary (after-action) report (3 months after the deployment closed, CSoA Art. 16); a request
of an exercise runs them on its exercise time (``liaison.exercise_time``). The sweep
claims due rows with SELECT … FOR UPDATE SKIP LOCKED, one row per transaction, and
stamps them in that transaction: several sweepers, or a sweep running late after beat
was down, remind and alarm exactly once; a failing row never holds the others back.
"""

import calendar
import logging
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from csoa_portal import audit, sweep
from liaison.exercise_time import compress, deadline, real_duration, scale_of
from liaison.selectors import time_zone_of
from liaison.events import Audience, record_event
from liaison.roles import role_group_name
from liaison.roles import Role as NetworkRole
from reserve.models import AssistanceRequest, Engagement, ReserveDeadline
from reserve.policy import authority_recipients
from reserve.selectors import engagement_audience_names
from reserve.services.common import notify
from reserve.vocabulary import Clock

logger = logging.getLogger(__name__)

LABELS = dict(Clock.choices)


def open_clock(request: AssistanceRequest, clock: str, *, due_at: datetime, remind_at: datetime,
               engagement: Engagement | None = None) -> ReserveDeadline:
    """Start (or restart) a clock: a new due time clears its earlier reminder and alarm."""
    row, _ = ReserveDeadline.objects.update_or_create(
        request=request, engagement=engagement, clock=clock,
        defaults={"due_at": due_at, "remind_at": min(remind_at, due_at), "met_at": None, "reminded_at": None,
                  "overdue_fired_at": None},
    )
    return row


def meet_clock(request: AssistanceRequest, clock: str, *, engagement: Engagement | None = None) -> None:
    ReserveDeadline.objects.filter(request=request, engagement=engagement, clock=clock, met_at__isnull=True).update(
        met_at=timezone.now())


def start_response_clock(request: AssistanceRequest) -> ReserveDeadline:
    """CSoA: the contracting authority answers within 48 hours of submission (RESERVE_RESPONSE_HOURS).

    On an exercise's clock (``liaison.exercise_time``) both the period and the reminder's lead run faster.
    """
    scale = scale_of(request)
    due = deadline(request.submitted_at, timedelta(hours=settings.RESERVE_RESPONSE_HOURS), scale=scale)
    return open_clock(request, Clock.RESPONSE, due_at=due,
                      remind_at=due - real_duration(timedelta(hours=settings.RESERVE_RESPONSE_REMINDER_HOURS),
                                                    scale=scale))


def start_provider_clock(engagement: Engagement) -> ReserveDeadline:
    """The provider answers within its committed response time; reminded at half of it."""
    half = (engagement.respond_by - engagement.offered_at) / 2
    return open_clock(engagement.request, Clock.PROVIDER_RESPONSE, engagement=engagement,
                      due_at=engagement.respond_by, remind_at=engagement.offered_at + half)


def add_months(moment: datetime, months: int, tz_name: str) -> datetime:
    """The same wall-clock time ``months`` calendar months later in ``tz_name``, returned in UTC.

    The months are added at once and the day clamped once, at the end (CSoA Art. 16, DOMAIN.md):
    support ending 31 December is reported by 31 March, 31 October by 31 January. Adding one
    clamped month three times would drift to 28 March and 30 January.
    """
    zone = zoneinfo.ZoneInfo(tz_name)
    local = moment.astimezone(zone)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    later = local.replace(tzinfo=None).replace(year=year, month=month, day=day).replace(tzinfo=zone)
    return later.astimezone(zoneinfo.ZoneInfo("UTC"))


def start_report_clock(request: AssistanceRequest) -> ReserveDeadline:
    """The user's summary report, RESERVE_REPORT_MONTHS (3) after the end of the support (CSoA Art. 16)."""
    tz_name = time_zone_of(request.requester_organisation)
    scale = scale_of(request)
    due = compress(request.closed_at, add_months(request.closed_at, settings.RESERVE_REPORT_MONTHS, tz_name),
                   scale=scale)
    return open_clock(request, Clock.AFTER_ACTION_REPORT, due_at=due,
                      remind_at=due - real_duration(timedelta(days=settings.RESERVE_REPORT_REMINDER_DAYS), scale=scale))


# --- Who is told ---------------------------------------------------------------------------------

def _recipients(row: ReserveDeadline, *, overdue: bool) -> tuple[list[str], list[str]]:
    """(audience, inbox recipients) of a clock's reminder or alarm."""
    request = row.request
    if row.clock == Clock.RESPONSE:
        return authority_recipients(overdue=overdue)  # the workflow's role holders (reserve.policy)
    if row.clock == Clock.AFTER_ACTION_REPORT:
        groups = [request.requester_organisation.group.name]
        groups += [role_group_name(NetworkRole.ENISA_TRIAGE)] if overdue else []
        return groups, groups
    groups = [row.engagement.provider.group.name]
    return groups, groups


def _announce(kind: str, row: ReserveDeadline) -> None:
    request = row.request
    audience, told = _recipients(row, overdue=kind == "deadline.overdue")
    for name in {*audience, *told}:
        Group.objects.get_or_create(name=name)  # role groups exist once someone held the role
    payload = {"reference": request.reference, "clock": row.clock, "label": LABELS[row.clock],
               "due_at": row.due_at.isoformat(), "recipient_groups": told}
    audit.record(actor=None, action=f"reserve.{kind}", obj=request,
                 organisation_code=request.requester_organisation.code, after={"clock": row.clock, "due_at": row.due_at})
    if row.engagement_id:
        record_event(kind=kind, subject=row.engagement, subject_type="engagement", payload=payload,
                     audience=Audience(groups=[*audience, *engagement_audience_names(row.engagement)]))
    else:
        record_event(kind=kind, subject=request, subject_type="assistance_request", payload=payload,
                     audience=Audience(groups=audience))
    notify(request.pk, audience if row.clock != Clock.RESPONSE else told, kind, engagement_id=row.engagement_id,
           key=f"reserve-deadline:{row.pk}:{kind}")


# --- The sweep job -------------------------------------------------------------------------------

def _claim(pk: int, condition: Q) -> ReserveDeadline | None:
    return (
        ReserveDeadline.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("request__requester_organisation__group", "request__requester_organisation__member_state",
                        "engagement__provider__group")
        .filter(condition, pk=pk, met_at__isnull=True).first()
    )


def sweep_reserve_deadlines(*, now=None, batch: int | None = None) -> int:
    """Reminders before each clock runs out, one alarm (or a provider's time-out) when it has.

    The whole backlog in one sweep, ``batch`` candidates at a time (``csoa_portal.sweep.in_batches``),
    each row in its own short transaction.
    """
    now = now or timezone.now()
    fired = [0]
    reminding = Q(reminded_at__isnull=True, remind_at__lte=now, due_at__gt=now)
    due = Q(overdue_fired_at__isnull=True, due_at__lte=now)
    for condition, handle in ((reminding, _remind), (due, _alarm)):
        tried: set[int] = set()  # a row that failed is retried next sweep, not again in this one

        def work(size, condition=condition, handle=handle, tried=tried):
            pks = list(ReserveDeadline.objects.filter(condition, met_at__isnull=True).exclude(pk__in=tried)
                       .order_by("due_at", "pk").values_list("pk", flat=True)[:size])
            tried.update(pks)
            fired[0] += sum(handle(pk, condition, now) for pk in pks)
            return len(pks)

        sweep.in_batches(work, batch=batch)
    return fired[0]


def _remind(pk: int, condition: Q, now) -> bool:
    with transaction.atomic():
        row = _claim(pk, condition)
        if row is None:
            return False  # another sweeper has it, or it was met meanwhile
        row.reminded_at = now
        row.save(update_fields=["reminded_at"])
        _announce("deadline.reminder", row)
        return True


def _alarm(pk: int, condition: Q, now) -> bool:
    from reserve.services.engagements import time_out_engagement

    try:
        with transaction.atomic():
            row = _claim(pk, condition)
            if row is None:
                return False
            row.overdue_fired_at = now
            row.reminded_at = row.reminded_at or now
            row.save(update_fields=["overdue_fired_at", "reminded_at"])
            if row.clock == Clock.PROVIDER_RESPONSE:
                time_out_engagement(engagement=row.engagement)
            else:
                _announce("deadline.overdue", row)
            return True
    except Exception:  # one bad row must not stop the others; it is retried next sweep
        logger.exception("reserve deadline %s could not be handled", pk)
        return False
