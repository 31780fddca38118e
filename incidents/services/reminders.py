"""The sweep over every clock the portal owns: reminders before a deadline, one alarm when it passes.

Clocks live in PostgreSQL (DESIGN.md): rows are claimed with SELECT … FOR UPDATE SKIP
LOCKED and stamped in the same transaction, so several schedulers, or a sweep that runs
late after beat was down, fire each reminder and each overdue alarm exactly once.
"""

from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from csoa_portal import audit, sweep
from incidents import clocks, policy
from incidents.models import Deadline, Incident, TimelineEntry
from incidents.selectors import active_blueprint
from liaison.events import Audience, record_event, written_last
from liaison.exercise_time import lead_window, scales_of

REMINDER_LEAD = timedelta(hours=6)
# Who a clock's reminder is for: the entity's reports to the reporter; the authority's clocks to its CSIRT.
AUTHORITY_CLOCKS = {clocks.Clock.INITIAL_RESPONSE, clocks.Clock.CROSS_BORDER_INFORM}


def _announce(kind: str, deadline: Deadline, now) -> None:
    incident = deadline.incident
    org = incident.reporting_organisation
    groups = [org.group.name]
    if deadline.clock in AUTHORITY_CLOCKS and org.member_state_id:
        groups.append(f"ms:{org.member_state.code}")
    label = clocks.LABELS.get(clocks.Clock(deadline.clock), deadline.clock)
    audit.record(actor=None, action=kind, obj=incident, organisation_code=org.code,
                 after={"clock": deadline.clock, "due_at": deadline.due_at})
    record_event(kind=kind, subject=incident, payload={
        "reference": incident.reference, "title": incident.title, "tlp": incident.tlp, "clock": deadline.clock,
        "label": label, "due_at": deadline.due_at.isoformat(), "recipient_groups": groups,
    }, audience=Audience(groups=groups))


def sweep_deadlines(*, now=None, batch: int | None = None) -> int:
    """Reminders, then overdue alarms, each a committed batch at a time (``csoa_portal.sweep.in_batches``).

    A backlog of a thousand overdue clocks used to fire in one transaction of many seconds,
    holding every claimed row and publishing nothing until the end; now each batch commits,
    and its Events are published, before the next is claimed.
    """
    now = now or timezone.now()
    return (sweep.in_batches(lambda size: _fire_batch("deadline.reminder", now=now, size=size), batch=batch,
                             paced=True)
            + sweep.in_batches(lambda size: _fire_batch("deadline.overdue", now=now, size=size), batch=batch,
                               paced=True))


def _fire_batch(kind: str, *, now, size: int) -> int:
    open_rows = (
        Deadline.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("incident__reporting_organisation__group", "incident__reporting_organisation__member_state")
        .filter(met_at__isnull=True)
    )
    if kind == "deadline.reminder":  # the lead on each incident's own clock: an exercise's is shorter
        due = open_rows.filter(lead_window(now=now, lead=REMINDER_LEAD, exercise_field="incident__exercise"),
                               reminded_at__isnull=True, due_at__gt=now)
    else:
        due = open_rows.filter(overdue_fired_at__isnull=True, due_at__lte=now)
    # The batch's events written last, just before its commit: live readers wait on none of its work.
    with transaction.atomic(), written_last():
        rows = list(due.order_by("due_at", "pk")[:size])
        # The batch's rows stamped in one UPDATE (a save() each was a third of a sweep's statements).
        claimed = Deadline.objects.filter(pk__in=[deadline.pk for deadline in rows])
        if kind == "deadline.reminder":
            claimed.update(reminded_at=now)
        else:
            claimed.update(overdue_fired_at=now, reminded_at=Coalesce("reminded_at", Value(now)))
        for deadline in rows:
            if kind == "deadline.overdue":
                deadline.overdue_fired_at = now
            deadline.reminded_at = deadline.reminded_at or now
            _announce(kind, deadline, now)
    return len(rows)


# Where a situation-update sweep stopped at its time budget: the next sweep goes on from there.
SITUATION_CURSOR = "sweep:situation_update_clocks:after"


def keep_situation_update_clocks(*, now=None, batch: int | None = None) -> int:
    """At levels with an update interval, a situation update is due that long after the last one.

    The incidents that owe one are worked in id order, a committed batch at a time
    (``csoa_portal.sweep.in_batches``), like the other sweeps: a crisis with thousands of
    incidents at level 2 no longer recomputes every clock in one long transaction. Each
    batch recomputes its clocks from what is committed when it runs, so a situation update
    posted meanwhile is taken into account by this batch or by the next sweep. When the
    job's time budget runs out, the position is kept (in the cache) and the next sweep
    resumes after it.
    """
    now = now or timezone.now()
    levels = {lv.number: lv for lv in active_blueprint().levels.all() if lv.update_interval_minutes}
    owing = Incident.objects.filter(crisis_level__in=list(levels), status__in=["open", "contained"])
    state = {"after": cache.get(SITUATION_CURSOR) or 0, "changed": 0, "finished": False}

    def one_batch(size: int) -> int:
        with transaction.atomic():
            page = list(
                owing.filter(pk__gt=state["after"])
                .annotate(
                    last_update=Max("timeline__created_at", filter=Q(timeline__kind=TimelineEntry.Kind.SITUATION)),
                    last_escalation=Max("escalations__created_at"),
                )
                .order_by("pk")[:size]
            )
            scales = scales_of({incident.exercise_id for incident in page})
            for incident in page:
                due = policy.situation_update_due(
                    since_times=(incident.last_update, incident.last_escalation, incident.created_at),
                    level=levels[incident.crisis_level], mode=incident.ipcr_mode,
                    time_scale=scales[incident.exercise_id])
                row, created = Deadline.objects.get_or_create(
                    incident=incident, clock=clocks.Clock.SITUATION_UPDATE, defaults={"due_at": due})
                moved = not created and row.due_at != due
                if moved:  # a new situation update (or level) restarts the clock
                    row.due_at, row.reminded_at, row.overdue_fired_at = due, None, None
                    row.save(update_fields=["due_at", "reminded_at", "overdue_fired_at"])
                state["changed"] += int(created or moved)
        if page:
            state["after"] = page[-1].pk
        state["finished"] = len(page) < size
        return len(page)

    sweep.in_batches(one_batch, batch=batch)
    if state["finished"]:
        cache.delete(SITUATION_CURSOR)
    else:  # stopped at the time budget: the next sweep goes on after the last incident done
        cache.set(SITUATION_CURSOR, state["after"], timeout=24 * 3600)
    # Below an interval level (de-escalated, resolved): no situation update is owed any more. One
    # statement (its own short transaction), whatever the batches did.
    Deadline.objects.filter(clock=clocks.Clock.SITUATION_UPDATE, met_at__isnull=True).exclude(
        incident__in=owing.values("pk")).delete()
    return state["changed"]
