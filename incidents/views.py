"""Browser pages of incidents: list, report, detail (and its actions), edit, observable search.

Views stay thin: forms parse, ``incidents.services`` writes (audited, with its Event),
``incidents.selectors`` decides what the user may see. An incident the user may not
see answers 404 on every page (``incident_visible_to``), so nobody learns it exists;
an action the user may not take on an incident they do see answers 403 with the
service's reason. A service's ValidationError re-renders the form with the message on
the field it names and HTTP 400; a colleague's save in between is a 409 conflict.
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode
from functools import reduce, wraps
from operator import or_
from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from csoa_portal import display
from csoa_portal.views import PageRefused
from incidents import bodies, clocks, misp, policy, related, selectors, services, stix, summaries
from incidents import tlp as tlp_rules
from incidents.api.filtersets import IncidentFilterSet
from incidents.escalation import FACTS, SYMBOLS, Condition
from incidents.forms import (
    SECTION_LABELS,
    AlertAnswerForm,
    BoardFilterForm,
    EditIncidentForm,
    InitialResponseForm,
    IntermediateRequestForm,
    DeclareLevelForm,
    IpcrModeForm,
    LevelChangeForm,
    ProposalDecisionForm,
    ProposeLevelForm,
    ObservableCsvForm,
    ObservableImportForm,
    ObservableEditForm,
    ObservableForm,
    ObservableSearchForm,
    ReportForm,
    ReportIncidentForm,
    ShareForm,
    SituationUpdateForm,
    StatusForm,
    TagForm,
    TaskForm,
    TimelineEntryForm,
    TlpForm,
    report_service_errors,
    split_tags,
)
from incidents.models import (
    Alert,
    Attachment,
    Blueprint,
    Deadline,
    Incident,
    LevelProposal,
    Report,
    Sector,
    TimelineEntry,
)
from incidents.observables import search_forms
from incidents.services import alerts as services_alerts
from incidents.services import blueprints as blueprint_services
from incidents.vocabulary import SITUATION_TAXONOMY, TLP, SignificanceGround, situation_badges
from liaison.exercise_time import scales_of
from liaison.events import subject_url
from liaison.forms import add_service_errors
from liaison.policy import is_network_admin
from liaison.roles import Role
from liaison.selectors import group_labels, member_states, organisation_names, presidency_on

BLUEPRINT_MAINTAINERS = "ENISA's organisation admins, the network administrators."
INCIDENTS_PER_PAGE = 25
OBSERVABLES_PER_PAGE = 50
TIMELINE_PER_PAGE = 50
SHORT_CLOCK_LABELS = {
    clocks.Clock.EARLY_WARNING: "Early warning",
    clocks.Clock.NOTIFICATION: "Incident notification",
    clocks.Clock.INTERMEDIATE: "Intermediate report",
    clocks.Clock.FINAL_REPORT: "Final report",
    clocks.Clock.INITIAL_RESPONSE: "Initial response (CSIRT)",
    clocks.Clock.CROSS_BORDER_INFORM: "Inform other member states (CSIRT)",
    clocks.Clock.SITUATION_UPDATE: "Situation update",
}
STATUS_ACTIONS = {
    Incident.Status.OPEN: "Reopen",
    Incident.Status.CONTAINED: "Mark contained",
    Incident.Status.RESOLVED: "Mark resolved",
    Incident.Status.CLOSED: "Close",
}


# "What you can do now": each action of ``policy.next_actions`` as a button (label, where its form is).
NEXT_ACTION_LABELS = {
    "answer_alert": ("Answer the alert to your organisation", "#alerts"),
    "decide_proposal": ("Declare or decline level {level}", "#proposals"),
    "submit_report": ("Submit the {kind}", "#report-{kind_code}"),
    "respond_initially": ("Record the initial response to the entity (NIS2 Art. 23(5))", "#initial-response"),
    "inform_other_member_states": ("Inform the other affected member states and ENISA (NIS2 Art. 23(6))",
                                   "#cross-border"),
    "consent_network_sharing": ("Decide whether the alerted networks may read it", "#network-consent"),
    "declare_level": ("Declare a higher level", "#declare"),
    "propose_level": ("Propose level {level}", "#propose"),
    "set_ipcr_mode": ("Set the IPCR mode", "#ipcr-mode"),
    "deescalate": ("De-escalate", "#deescalate"),
    "request_intermediate_report": ("Request an intermediate report", "#request-intermediate"),
    "edit": ("Edit the facts", "edit/"),
    "share": ("Share", "share/"),
    "change_status": ("Change the status", "#status"),
    "post_update": ("Post an update", "#post-update"),
}


def _next_actions(incident: Incident, actions) -> list[dict]:
    rows = []
    for action in actions:
        label, where = NEXT_ACTION_LABELS[action.code]
        kind = Report.Kind(action.kind).label.lower() if action.kind else ""
        where = where.format(kind_code=action.kind)
        url = reverse("incidents:detail", args=[incident.pk]) + where if not where.startswith("#") else where
        rows.append({"code": action.code, "label": label.format(level=action.level, kind=kind), "url": url,
                     "urgent": action.urgent})
    return rows


def _forbidden(request, exc: PermissionDenied, incident: Incident):
    """403 with the service's reason: only ever for an incident the user can see."""
    message = str(exc) or "You may not do this."
    return render(request, "errors/403.html", {"message": message, "incident": incident}, status=403)


def _visible(request, pk) -> Incident:
    return selectors.incident_visible_to(request.user, pk)


def incident_action(view):
    """A POST on one visible incident; a PermissionDenied from a service becomes a 403 page."""

    @login_required
    @require_POST
    @wraps(view)
    def wrapper(request, pk, *args, **kwargs):
        incident = _visible(request, pk)
        try:
            return view(request, incident, *args, **kwargs)
        except PermissionDenied as exc:
            return _forbidden(request, exc, incident)

    return wrapper


def _detail_url(incident: Incident, anchor: str = "") -> str:
    return reverse("incidents:detail", args=[incident.pk]) + (f"#{anchor}" if anchor else "")


# --- Dashboard panels (registered in incidents.apps; liaison shows them) ---------------------------


def incidents_panel(user) -> dict | None:
    """An analyst's or crisis manager's work: the open clocks of their organisation's incidents, what was shared."""
    if not policy.works_on_incidents(user):
        return None
    now = timezone.now()
    open_clocks = selectors.open_clocks_of(user, now=now)

    def rows(work):
        return [{"deadline": d, "incident": d.incident, "label": SHORT_CLOCK_LABELS.get(d.clock, d.clock)
                 + (f" (request {d.sequence})" if d.sequence else ""),
                 "state": clocks.state_of(d.due_at, d.met_at, now)} for d in work.items]

    return {"overdue": rows(open_clocks["overdue"]), "overdue_count": open_clocks["overdue"].count,
            "due_soon": rows(open_clocks["due_soon"]), "due_soon_count": open_clocks["due_soon"].count,
            "shared": selectors.shares_received(user, now=now), "shared_days": selectors.SHARES_RECEIVED_DAYS}


def alerts_panel(user) -> dict | None:
    """Alerts waiting for the organisation's answer and levels proposed for the person's decision, each a link."""
    waiting = selectors.alerts_waiting(user)
    proposals = policy.proposals_to_decide(user)
    if not (waiting.count or proposals or policy.works_on_incidents(user) or policy.follows_crisis_board(user)):
        return None
    board = reverse("incidents:board")
    alerts = [{"alert": a, "url": reverse("incidents:detail", args=[a.incident_id]) + "#alerts"
               if a.incident_visible else f"{board}#my-alert-{a.pk}"} for a in waiting.items]
    return {"alerts": alerts, "alerts_count": waiting.count, "proposals": proposals[:selectors.DASHBOARD_ITEMS],
            "proposals_count": len(proposals)}


# --- List ------------------------------------------------------------------------------------


def _listed(queryset):
    """The list's rows in a constant number of queries, whatever their number."""
    open_deadlines = Deadline.objects.filter(met_at__isnull=True).order_by("due_at")
    return queryset.select_related("reporting_organisation__member_state").prefetch_related(
        "affected_member_states", "tags", Prefetch("deadlines", queryset=open_deadlines, to_attr="open_deadlines")
    )


@login_required
@require_GET
def incident_list(request):
    # The API's FilterSet: the same parameters select the same incidents on the page and over the API.
    filterset = IncidentFilterSet(request.GET, queryset=selectors.incidents_visible_to(request.user), request=request)
    form = filterset.form
    incidents = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(_listed(incidents).order_by("-created_at", "-id"), INCIDENTS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = []
    for incident in page:
        upcoming = incident.open_deadlines[0] if incident.open_deadlines else None
        rows.append({
            "incident": incident,
            "next": selectors.deadline_now(upcoming, now) if upcoming else None,
            "next_label": SHORT_CLOCK_LABELS.get(upcoming.clock, upcoming.clock) if upcoming else "",
            "overdue": sum(1 for d in incident.open_deadlines if d.due_at < now),
        })
    query = request.GET.copy()
    query.pop("page", None)
    filtered = any(v for k, v in request.GET.items() if k != "page")
    return render(
        request, "incidents/list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode(), "filtered": filtered},
        status=400 if form.errors else 200,
    )


# --- Report a new incident --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def incident_new(request):
    form = ReportIncidentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            # The incident and its early warning, or neither: one service, one transaction.
            incident = services.report_incident(actor=request.user, **form.service_arguments())
        except ValidationError as exc:
            report_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("organisation", str(exc))
        else:
            note = " and its early warning submitted" if form.cleaned_data["summary"] else ""
            messages.success(request, f"{incident.reference} reported{note}.")
            return redirect(_detail_url(incident))
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "incidents/new.html", {"form": form}, status=status)


# --- Detail ----------------------------------------------------------------------------------


def _next_report_kind(submitted: set, deadlines: list, *, significant: bool = True, awaits_handling: bool = False,
                      ongoing: bool = True) -> str | None:
    """The report the NIS2 clocks ask for next (Art. 23(4)); none is owed for a voluntary notification."""
    if not significant:
        return None
    if not submitted & {Report.Kind.EARLY_WARNING, Report.Kind.NOTIFICATION}:
        return Report.Kind.EARLY_WARNING
    if Report.Kind.NOTIFICATION not in submitted:
        return Report.Kind.NOTIFICATION
    if any(d.clock == clocks.Clock.INTERMEDIATE and d.met_at is None for d in deadlines):
        return Report.Kind.INTERMEDIATE
    if Report.Kind.FINAL not in submitted:
        final = next((d for d in deadlines if d.clock == clocks.Clock.FINAL_REPORT), None)
        # Art. 23(4)(e): still being handled when the final report falls due: a progress report then.
        if ongoing and not awaits_handling and final and final.state in (clocks.State.DUE_SOON, clocks.State.OVERDUE):
            return Report.Kind.PROGRESS
        return Report.Kind.FINAL
    return None


def _clock_label(deadline: clocks.Deadline) -> str:
    label = SHORT_CLOCK_LABELS.get(deadline.clock, deadline.label)
    return f"{label} (request {deadline.sequence})" if deadline.sequence else label


def _report_sections(report: Report) -> list[tuple[str, str]]:
    return [(SECTION_LABELS.get(name, name), text) for name, text in report.content.items()
            if name != "facts" and isinstance(text, str)]


def _render_detail(request, incident: Incident, *, status: int = 200, **overrides):
    user = request.user
    incident = (
        Incident.objects.select_related("reporting_organisation__member_state", "category", "reported_by")
        .prefetch_related("affected_member_states", Prefetch("sectors", queryset=Sector.objects.select_related("parent")),
                          "tags")
        .get(pk=incident.pk)
    )
    levels = list(selectors.active_blueprint().levels.all())
    alerts = list(services_alerts.incident_alerts(incident))
    capabilities = policy.incident_capabilities(user, incident, levels=levels, alerts=alerts)
    can_edit, originator = capabilities.edit, capabilities.originator
    deadlines = selectors.deadlines_of(incident)
    upcoming = clocks.next_due(deadlines)
    reports = list(incident.reports.select_related("submitted_by"))
    submitted = {r.kind for r in reports}
    facts = selectors.clock_facts(incident)
    awaits_handling = clocks.final_report_awaits_handling(facts)
    ongoing = incident.status not in services.HANDLED_STATUSES
    next_kind = _next_report_kind(submitted, deadlines, significant=incident.carries_clocks,
                                  awaits_handling=awaits_handling, ongoing=ongoing)
    report_forms = []
    if capabilities.submit_reports:
        given = overrides.get("report_form")
        for kind in Report.Kind.values:
            form = given if given is not None and given.report_kind == kind else ReportForm(kind=kind, incident=incident)
            form.is_next = kind == next_kind
            form.is_open = form.is_next or form is given
            form.blocked = kind == Report.Kind.FINAL and Report.Kind.NOTIFICATION not in submitted
            form.blocked_progress = kind == Report.Kind.PROGRESS and not ongoing
            report_forms.append(form)
    observables = Paginator(selectors.observables_visible_to(user, incident).select_related("created_by")
                            .prefetch_related("tags"), OBSERVABLES_PER_PAGE).get_page(
        request.GET.get("obs_page"))
    affected = list(incident.affected_member_states.all())
    cross_border = selectors.cross_border_targets(incident) if len(affected) >= 2 else []
    consent = selectors.network_consent_recipients(incident) \
        if policy.may_consent_to_network_sharing(user, incident) else []
    proposed = [p.level for p in incident.level_proposals.all() if p.state == LevelProposal.State.OPEN]
    actions = policy.next_actions(
        capabilities, next_report=next_kind, proposals=proposed, consent_pending=bool(consent),
        inform_pending=any(t.reachable and t.informed_at is None for t in cross_border),
        response_pending=any(d.clock == clocks.Clock.INITIAL_RESPONSE and d.met_at is None for d in deadlines))
    nothing_to_do = all(a.code == "post_update" for a in actions)
    shares = list(incident.shares.select_related("shared_by")) if capabilities.see_recipients else []
    context = {
        "incident": incident,
        "related_links": related.related_links(user, incident),
        "affected": affected,
        "sectors": list(incident.sectors.all()),
        "capabilities": capabilities,
        "next_actions": _next_actions(incident, actions),
        "who_acts_next": policy.who_acts_next(
            incident, levels=levels, proposals=proposed,
            next_report_label=Report.Kind(next_kind).label if next_kind else "") if nothing_to_do else "",
        "can_edit": can_edit,  # kept for templates not yet reading ``capabilities``
        "is_originator": originator,
        "transitions": [(s, STATUS_ACTIONS[s]) for s in Incident.Status.values
                        if s in services.STATUS_TRANSITIONS[incident.status]],
        **_crisis_context(incident, capabilities, levels, overrides),
        "alerts": [(a, a.pk in capabilities.answerable_alert_ids) for a in alerts],
        "alert_summary": summaries.alert_counts(a.state for a in alerts),
        "alert_errors": None,
        "deadlines": [(d, _clock_label(d), d is upcoming) for d in deadlines],
        "next_deadline": upcoming,
        "significance_grounds": [SignificanceGround(g).label for g in incident.significance_grounds
                                 if g in SignificanceGround.values],
        "final_report_awaits_handling": awaits_handling,
        "strict_reading": clocks.STRICT_READING,
        "reports": [(r, _report_sections(r)) for r in reports],
        "report_forms": report_forms,
        "timeline": _timeline_page(request, selectors.timeline_visible_to(user, incident)
                                   .select_related("author", "organisation").prefetch_related("attachments")),
        "observables": observables,
        "shares": shares,
        "share_groups": summaries.share_groups(shares),
        "cross_border_targets": cross_border,
        "cross_border_unreachable": [t for t in cross_border if not t.reachable],
        "allowed_targets": _allowed_targets(incident),
        "tlp_rule": tlp_rules.RULES.get(TLP(incident.tlp), ""),
        "share_form": ShareForm(incident=incident) if capabilities.share else None,
        "timeline_form": TimelineEntryForm(incident=incident) if capabilities.post_update else None,
        "csv_form": ObservableCsvForm() if capabilities.upload_observables else None,
        "import_form": ObservableImportForm() if capabilities.upload_observables else None,
        "observable_form": ObservableForm(incident=incident) if capabilities.upload_observables else None,
        "tag_names": selectors.tag_names(incident),
        "tag_form": TagForm() if capabilities.tag else None,
        "tag_choices": list(selectors.controlled_tags().values_list("name", flat=True)) if capabilities.tag else [],
        # Only the person's own organisations' tasks: another organisation's are never shown (nor counted).
        "tasks": list(selectors.tasks_visible_to(user).filter(incident=incident)
                      .select_related("assignee", "organisation", "created_by")),
        "task_form": TaskForm(user=user) if capabilities.add_tasks else None,
        "now": timezone.now(),
        "tlp_form": TlpForm(initial={"tlp": incident.tlp}) if capabilities.change_tlp else None,
        "initial_response_form": InitialResponseForm() if capabilities.respond_initially else None,
        "intermediate_form": IntermediateRequestForm() if capabilities.request_intermediate_report else None,
        "status_error": None,
        "inform_error": None,
        "csv_report": None,
        "import_report": None,
        # The alerted networks waiting for the originator's consent (TLP:AMBER), shown before confirming.
        "network_consent": consent,
        "consent_error": None,
    }
    context.update(overrides)
    return render(request, "incidents/detail.html", context, status=status)


def _crisis_context(incident: Incident, capabilities, levels, overrides: dict) -> dict:
    """The level with its explanation and history, and the level changes this person may make (policy's answer)."""
    names = {lv.number: lv.name for lv in levels}
    current = next((lv for lv in levels if lv.number == incident.crisis_level), None)
    declarable = [(lv.number, f"{lv.number} — {lv.name}") for lv in capabilities.declarable_levels]
    declare_modes = selectors.ipcr_modes(capabilities.declarable_levels)
    lowerable = [(n, f"{n} — {names[n]}") for n in capabilities.deescalatable_levels]
    proposable = [(lv.number, f"{lv.number} — {lv.name}") for lv in capabilities.proposable_levels]
    history = list(incident.escalations.select_related("actor"))
    proposals = list(incident.level_proposals.select_related("proposed_by", "organisation", "decided_by"))
    by_number = {lv.number: lv for lv in levels}
    open_proposals = [
        {"proposal": p, "level": by_number.get(p.level), "who": policy.level_bodies_sentence(by_number[p.level])
         if p.level in by_number else "", "decide": capabilities.declarable_levels and any(
             lv.number == p.level for lv in capabilities.declarable_levels)}
        for p in proposals if p.state == p.State.OPEN]
    return {
        "crisis_label": f"{incident.crisis_level} — {names.get(incident.crisis_level, '?')}",
        "crisis_level_info": current,
        "level_bodies": policy.level_bodies_sentence(current) if current and current.number else "",
        "ipcr_mode": current.mode(incident.ipcr_mode) if current and incident.ipcr_mode else None,
        "situation_interval": current.update_interval_for(incident.ipcr_mode) if current else None,
        "escalations": history,
        "open_proposals": open_proposals,
        "decided_proposals": [p for p in proposals if p.state != p.State.OPEN],
        "level_explanation": history[-1].explanation if history else "No escalation rule has matched so far.",
        "declare_form": overrides.pop("declare_form", None)
        or (DeclareLevelForm(levels=declarable, modes=declare_modes) if declarable else None),
        "deescalate_form": overrides.pop("deescalate_form", None)
        or (LevelChangeForm(levels=lowerable) if lowerable else None),
        "propose_form": overrides.pop("propose_form", None)
        or (ProposeLevelForm(levels=proposable) if proposable else None),
        "ipcr_form": overrides.pop("ipcr_form", None)
        or (IpcrModeForm(modes=capabilities.ipcr_modes, initial={"ipcr_mode": incident.ipcr_mode})
            if capabilities.ipcr_modes else None),
        "proposal_form": ProposalDecisionForm(modes=selectors.ipcr_modes(levels)),
    }


def _form_action(request, incident, *, form, form_name, service, anchor, message):
    """Validate the form, call the service with its fields; errors back on the form with 400."""
    if form.is_valid():
        try:
            service(actor=request.user, incident=incident, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect(_detail_url(incident, anchor))
    return _render_detail(request, incident, status=400, **{form_name: form})


def _level_change(request, incident, *, service, form_name, message, form_class=LevelChangeForm):
    form = form_class(request.POST, levels=[(n, str(n)) for n in range(10)])
    if "ipcr_mode" in form.fields:
        form.fields["ipcr_mode"].choices = [("", ""), *[(m["code"], m["name"]) for m in selectors.ipcr_modes()]]
    return _form_action(request, incident, form=form, form_name=form_name, service=service, anchor="crisis",
                        message=message)


@incident_action
def declare_level(request, incident):
    return _level_change(request, incident, service=services.declare_level, form_name="declare_form",
                         message="Level declared; the networks in charge are alerted.", form_class=DeclareLevelForm)


@incident_action
def deescalate(request, incident):
    return _level_change(request, incident, service=services.deescalate, form_name="deescalate_form",
                         message="Incident de-escalated; the decision holds until new facts match a rule.")


@incident_action
def propose_level(request, incident):
    return _level_change(request, incident, service=services.propose_level, form_name="propose_form",
                         message="Level proposed; the body in charge decides.", form_class=ProposeLevelForm)


@incident_action
def set_ipcr_mode(request, incident):
    form = IpcrModeForm(request.POST, modes=selectors.ipcr_modes())
    return _form_action(request, incident, form=form, form_name="ipcr_form", service=services.set_ipcr_mode,
                        anchor="crisis", message="IPCR mode set.")


def _decidable_proposal(request, proposal_id) -> LevelProposal:
    """A proposal the person decides, or one of an incident they see (the service refuses the others); else 404."""
    proposal = LevelProposal.objects.select_related("incident__reporting_organisation").filter(pk=proposal_id).first()
    if proposal is None or not (policy.may_decide_proposal(request.user, proposal)
                                or policy.may_see_incident(request.user, proposal.incident_id)):
        raise Http404("No such level proposal.")
    return proposal


@login_required
@require_POST
def decide_proposal(request, proposal_id, decision):
    """Declare or decline a proposed level, from the incident page or the board; back where the person was."""
    if decision not in ("accept", "decline"):
        raise Http404("Accept or decline a proposal.")
    proposal = _decidable_proposal(request, proposal_id)
    form = ProposalDecisionForm(request.POST, modes=selectors.ipcr_modes())
    back = request.POST.get("next") if request.POST.get("next") == reverse("incidents:board") else None
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            if decision == "accept":
                services.accept_proposal(actor=request.user, proposal=proposal, **form.cleaned_data)
                messages.success(request, f"Level {proposal.level} declared for {proposal.incident.reference}.")
            else:
                services.decline_proposal(actor=request.user, proposal=proposal, reason=form.cleaned_data["reason"])
                messages.success(request, f"Proposal of level {proposal.level} declined.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied as exc:
            seen = policy.may_see_incident(request.user, proposal.incident_id)
            return _forbidden(request, exc, proposal.incident if seen else None)
    if back or not policy.may_see_incident(request.user, proposal.incident_id):
        return redirect(reverse("incidents:board") + "#proposals")
    return redirect(_detail_url(proposal.incident, "crisis"))


class TimelinePage(NamedTuple):
    """One page of the timeline, oldest first, numbered from the newest page (1) backwards."""

    entries: list
    page: Page
    first: int  # position of its first entry in the whole timeline, from 1
    last: int


def _timeline_page(request, entries) -> TimelinePage:
    """The latest ``TIMELINE_PER_PAGE`` entries of the timeline, or the earlier page asked for.

    A crisis's incident gathers a thousand situation updates: rendering them all made a page of
    800 KB that took most of a second (bench/situation_report.py's baseline).
    """
    page = Paginator(entries.reverse(), TIMELINE_PER_PAGE).get_page(request.GET.get("timeline_page"))
    count = page.paginator.count
    return TimelinePage(list(reversed(page.object_list)), page, count - page.end_index() + 1,
                        count - page.start_index() + 1)


@login_required
@require_GET
def incident_detail(request, pk):
    incident = _visible(request, pk)
    # Opening the page is how an alerted organisation has "seen" its alert.
    for alert in selectors.own_alerts(request.user).filter(incident=incident, state=Alert.State.NOTIFIED):
        services.mark_seen(actor=request.user, alert=alert)
    return _render_detail(request, incident)


@incident_action
def answer_alert(request, incident, alert_id):
    alert = get_object_or_404(incident.alerts.all(), pk=alert_id)
    affected = request.POST.get("answer") != "not_affected"
    try:
        services.answer_alert(actor=request.user, alert=alert, affected=affected, note=request.POST.get("note", ""))
    except ValidationError as exc:
        return _render_detail(request, incident, status=400, alert_errors=exc.messages)
    messages.success(request, "Your organisation's answer is recorded.")
    return redirect(_detail_url(incident, "alerts"))


@incident_action
def change_status(request, incident):
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.change_status(actor=request.user, incident=incident, status=form.cleaned_data["status"],
                                   reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            return _render_detail(request, incident, status=400, status_error=exc.messages)
        messages.success(request, f"Status is now {Incident.Status(form.cleaned_data['status']).label.lower()}.")
        return redirect(_detail_url(incident))
    return _render_detail(request, incident, status=400, status_error=[e for errs in form.errors.values() for e in errs])


@incident_action
def change_tlp(request, incident):
    form = TlpForm(request.POST)
    if form.is_valid():
        try:
            services.change_tlp(actor=request.user, incident=incident, tlp=form.cleaned_data["tlp"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"The incident is now {TLP(form.cleaned_data['tlp']).label}.")
            return redirect(_detail_url(incident))
    return _render_detail(request, incident, status=400, tlp_form=form)


@incident_action
def submit_report(request, incident, kind):
    if kind not in Report.Kind.values:
        raise Http404("No such report kind.")
    form = ReportForm(request.POST, kind=kind, incident=incident)
    if form.is_valid():
        try:
            services.submit_report(actor=request.user, incident=incident, kind=kind, content=form.content(),
                                   **form.answers())
        except ValidationError as exc:
            report_service_errors(form, exc)
        else:
            messages.success(request, f"{Report.Kind(kind).label} submitted.")
            return redirect(_detail_url(incident, "reports"))
    return _render_detail(request, incident, status=400, report_form=form)


@incident_action
def add_timeline_entry(request, incident):
    form = TimelineEntryForm(request.POST, request.FILES, incident=incident)
    if form.is_valid():
        try:
            services.add_timeline_entry(actor=request.user, incident=incident, text=form.cleaned_data["text"],
                                        kind=form.cleaned_data["kind"], tlp=form.cleaned_data["tlp"],
                                        files=form.cleaned_data["files"], **form.assessment())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Update posted.")
            return redirect(_detail_url(incident, "timeline"))
    return _render_detail(request, incident, status=400, timeline_form=form)


@incident_action
def upload_observables(request, incident):
    """CSV upload: valid rows are kept, invalid ones reported by their line in the file."""
    form = ObservableCsvForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_detail(request, incident, status=400, csv_form=form)
    errors = [{"line": line, "value": None, "error": error} for line, row, error in form.entries if error]
    rows = [row for _, row, error in form.entries if not error]
    lines = [line for line, _, error in form.entries if not error]
    result = services.ObservableBatchResult()
    if rows:
        try:
            result = services.add_observables(actor=request.user, incident=incident, rows=rows)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return _render_detail(request, incident, status=400, csv_form=form)
    errors += [{"line": lines[e["index"]], "value": e["value"], "error": e["error"]} for e in result.errors]
    errors.sort(key=lambda e: e["line"])
    report = {"created": result.created, "merged": result.merged, "errors": errors}
    kept = result.created or result.merged
    return _render_detail(request, incident, status=200 if kept else 400, csv_report=report)


@incident_action
def import_observables(request, incident):
    """A MISP event or STIX 2.1 bundle: all its observables or none, with a report line per item."""
    form = ObservableImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_detail(request, incident, status=400, import_form=form)
    report = services.import_file(actor=request.user, incident=incident, content=form.content,
                                  format=form.cleaned_data["format"] or None)
    return _render_detail(request, incident, status=200 if report.imported else 400, import_report=report.as_dict())


@incident_action
def add_observable(request, incident):
    """One observable typed in on the incident page."""
    form = ObservableForm(request.POST, incident=incident)
    if form.is_valid():
        try:
            observable = services.add_observable(actor=request.user, incident=incident, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Observable {observable.value} added.")
            return redirect(_detail_url(incident, "observables"))
    return _render_detail(request, incident, status=400, observable_form=form)


def _observable_of(request, incident, observable_id):
    """An observable the person may read on this incident; else 404 (another's stricter one alike)."""
    return get_object_or_404(selectors.observables_visible_to(request.user, incident).prefetch_related("tags"),
                             pk=observable_id)


@login_required
@require_http_methods(["GET", "POST"])
def observable_edit(request, pk, observable_id):
    """Change an observable's note, TLP and tags; or delete it (the reporting organisation's editors)."""
    incident = _visible(request, pk)
    observable = _observable_of(request, incident, observable_id)
    if not policy.may_edit_observable(request.user, observable):
        return _forbidden(request, PermissionDenied("Only the reporting organisation changes its observables; "
                                                    "yours to read."), incident)
    tags = selectors.tag_names(observable)
    if request.method == "GET":
        form = ObservableEditForm(initial=ObservableEditForm.initial_for(observable, tags), incident=incident)
        return render(request, "incidents/observable_edit.html",
                      {"incident": incident, "observable": observable, "form": form, "tag_names": tags})
    form = ObservableEditForm(request.POST, incident=incident)
    if form.is_valid():
        try:
            services.update_observable(actor=request.user, observable=observable, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            return _forbidden(request, exc, incident)
        else:
            messages.success(request, f"Observable {observable.value} saved.")
            return redirect(_detail_url(incident, "observables"))
    return render(request, "incidents/observable_edit.html",
                  {"incident": incident, "observable": observable, "form": form, "tag_names": tags}, status=400)


@incident_action
def observable_delete(request, incident, observable_id):
    observable = _observable_of(request, incident, observable_id)
    services.delete_observable(actor=request.user, observable=observable)
    messages.success(request, f"Observable {observable.value} deleted.")
    return redirect(_detail_url(incident, "observables"))


@incident_action
def tag_incident(request, incident):
    """Add tags (comma-separated) or remove one, from the incident page."""
    form = TagForm(request.POST)
    if form.is_valid():
        removed = form.cleaned_data["remove"].strip()
        try:
            services.tag_incident(actor=request.user, incident=incident, add=split_tags(form.cleaned_data["add"]),
                                  remove=[removed] if removed else [])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Tag {removed} removed." if removed else "Tags saved.")
            return redirect(_detail_url(incident, "tags"))
    return _render_detail(request, incident, status=400, tag_form=form)


def _task_arguments(form: TaskForm) -> dict:
    data = form.cleaned_data
    return {name: data[name] for name in ("title", "description", "assignee", "due_at")}


@incident_action
def add_task(request, incident):
    form = TaskForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            task = services.create_task(actor=request.user, incident=incident,
                                        organisation=form.cleaned_data["organisation"], **_task_arguments(form))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Task added: {task.title}.")
            return redirect(_detail_url(incident, "tasks"))
    return _render_detail(request, incident, status=400, task_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request, pk, task_id):
    """A task of one's own organisation (any other is a 404: it is not theirs to know of)."""
    incident = _visible(request, pk)
    task = selectors.task_visible_to(request.user, task_id, incident_id=incident.pk)
    if request.method == "GET":
        initial = {"title": task.title, "description": task.description, "assignee": task.assignee_id,
                   "due_at": timezone.localtime(task.due_at) if task.due_at else None}
        form = TaskForm(user=request.user, organisation=task.organisation, initial=initial)
        return render(request, "incidents/task_edit.html", {"incident": incident, "task": task, "form": form})
    form = TaskForm(request.POST, user=request.user, organisation=task.organisation)
    if form.is_valid():
        try:
            services.update_task(actor=request.user, task=task, **_task_arguments(form))
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            return _forbidden(request, exc, incident)
        else:
            messages.success(request, f"Task saved: {form.cleaned_data['title']}.")
            return redirect(_detail_url(incident, "tasks"))
    return render(request, "incidents/task_edit.html", {"incident": incident, "task": task, "form": form},
                  status=400)


@incident_action
def task_done(request, incident, task_id):
    """Mark a task done (``done=false``: open it again)."""
    task = selectors.task_visible_to(request.user, task_id, incident_id=incident.pk)
    done = request.POST.get("done", "true") != "false"
    services.update_task(actor=request.user, task=task, done=done)
    messages.success(request, f"Task {'done' if done else 'open again'}: {task.title}.")
    return redirect(_detail_url(incident, "tasks"))


@incident_action
def task_delete(request, incident, task_id):
    task = selectors.task_visible_to(request.user, task_id, incident_id=incident.pk)
    services.delete_task(actor=request.user, task=task)
    messages.success(request, f"Task deleted: {task.title}.")
    return redirect(_detail_url(incident, "tasks"))


def _allowed_targets(incident: Incident) -> list[str]:
    allowed = tlp_rules.ALLOWED_TARGETS[TLP(incident.tlp)]
    return [label for kind, label in tlp_rules.TARGET_LABELS.items() if kind in allowed]


def _share_page(request, incident, form, status=200):
    return render(request, "incidents/share.html", {
        "incident": incident, "share_form": form,
        "allowed_targets": _allowed_targets(incident),
        "tlp_rule": tlp_rules.RULES.get(TLP(incident.tlp), ""),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def share(request, pk):
    incident = _visible(request, pk)
    if not policy.may_share(request.user, incident):
        return _forbidden(request, PermissionDenied("Only the originating organisation may share this incident."), incident)
    form = ShareForm(request.POST or None, incident=incident)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.share_incident(
                    actor=request.user, incident=incident, organisations=list(data["organisations"]),
                    member_states=list(data["member_states"]), communities=data["communities"], people=data["people"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except PermissionDenied as exc:
                return _forbidden(request, exc, incident)
            else:
                labels = ", ".join(s.label for s in created)
                messages.success(request, f"Shared with {labels}." if created else "Already shared with them: nothing changed.")
                return redirect(_detail_url(incident, "shares"))
        return _share_page(request, incident, form, status=400)
    return _share_page(request, incident, form)


@incident_action
def unshare(request, incident, share_id):
    target = get_object_or_404(incident.shares.all(), pk=share_id)
    if not policy.may_unshare(request.user, target):
        raise Http404("No such share.")  # as the API: only the originator addresses the shares
    services.unshare_incident(actor=request.user, share=target)
    messages.success(request, f"Share with {target.label} revoked: they no longer see the incident.")
    return redirect(_detail_url(incident, "shares"))


@incident_action
def inform_member_states(request, incident):
    """NIS2 Art. 23(6): inform the other affected member states' SPOCs and CSIRTs and ENISA in one click."""
    try:
        services.inform_other_member_states(actor=request.user, incident=incident)
    except ValidationError as exc:
        return _render_detail(request, incident, status=400, inform_error=exc.messages)
    targets = selectors.cross_border_targets(incident)
    informed = ", ".join(t.label for t in targets if t.informed_at) or "nobody"
    missing = [t.label for t in targets if not t.informed_at]
    note = f" Not informed (nobody registered to receive it): {', '.join(missing)}." if missing else ""
    messages.success(request, f"Informed under NIS2 Art. 23(6): {informed}.{note}")
    return redirect(_detail_url(incident, "cross-border"))


@incident_action
def network_consent(request, incident):
    """The originator agrees that the networks alerted on its TLP:AMBER incident may read it."""
    try:
        created = services.consent_to_network_sharing(actor=request.user, incident=incident,
                                                      organisations=request.POST.getlist("organisations"))
    except ValidationError as exc:
        return _render_detail(request, incident, status=400, consent_error=exc.messages)
    messages.success(request, f"Shared with the alerted networks: {', '.join(s.label for s in created)}.")
    return redirect(_detail_url(incident, "alerts"))


@incident_action
def initial_response(request, incident):
    return _form_action(request, incident, form=InitialResponseForm(request.POST), form_name="initial_response_form",
                        service=services.record_initial_response, anchor="timeline",
                        message="Initial response recorded (NIS2 Art. 23(5)).")


@incident_action
def request_intermediate(request, incident):
    return _form_action(request, incident, form=IntermediateRequestForm(request.POST), form_name="intermediate_form",
                        service=services.request_intermediate_report, anchor="deadlines",
                        message="Intermediate report requested from the reporting organisation.")


@login_required
@require_GET
def attachment(request, pk, attachment_id):
    """Download only, re-checking visibility; served as the sniffed type, never rendered inline."""
    incident = _visible(request, pk)
    entries = selectors.timeline_visible_to(request.user, incident)
    item = get_object_or_404(Attachment.objects.filter(entry__in=entries), pk=attachment_id)
    response = FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name,
                            content_type=item.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _export_download(request, pk, *, build, suffix: str) -> HttpResponse:
    """One visible incident as a JSON download, built from what the reader may see.

    ``build(incident, observables, situation_updates)`` returns the document's text; both querysets are
    the reader's (an observable stricter than its incident stays with its organisation). The STIX and
    MISP exports differ only in ``build`` and the file name, so they cannot drift apart on visibility.
    """
    incident = _visible(request, pk)  # its organisation read with it; the category, if any, when built
    body = build(incident, selectors.observables_visible_to(request.user, incident),
                 selectors.timeline_visible_to(request.user, incident))
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}.{suffix}.json"'
    return response


@login_required
@require_GET
def stix_export(request, pk):
    """The incident as a STIX 2.1 bundle, with what the reader may see."""
    return _export_download(request, pk, suffix="stix", build=lambda incident, observables, updates: stix.serialize(
        stix.bundle_for(incident, observables, updates), pretty=True))


@login_required
@require_GET
def misp_export(request, pk):
    """The incident as a MISP event, with what the reader may see (the same selectors as the STIX export)."""
    return _export_download(request, pk, suffix="misp", build=lambda incident, observables, updates: misp.serialize(
        misp.as_feed(misp.event_for(incident, observables, updates)), pretty=True))


# --- Edit --------------------------------------------------------------------------------------


def _shown(value) -> str:
    if value is None:
        return "Not known"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return display.when(value)
    if isinstance(value, (list, tuple)) or hasattr(value, "all"):
        items = value.all() if hasattr(value, "all") else value
        return ", ".join(str(i) for i in items) or "None"
    return str(value) if value != "" else "—"


def _conflicts(form: EditIncidentForm, current: Incident) -> list[dict]:
    """What the colleague saved next to what this user typed, for each field they differ on."""
    rows = []
    for name, yours in form.changes_from(current).items():
        saved = getattr(current, name)
        if name in ("entity_type", "severity"):
            saved = getattr(current, f"get_{name}_display")()
            yours = dict(form.fields[name].choices).get(yours, yours)
        rows.append({"label": form.fields[name].label or name.replace("_", " ").capitalize(),
                     "saved": _shown(saved), "yours": _shown(yours)})
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def incident_edit(request, pk):
    incident = _visible(request, pk)
    if not policy.can_edit(request.user, incident):
        return _forbidden(request, PermissionDenied("Only the reporting organisation may change this incident."), incident)
    if request.method == "GET":
        form = EditIncidentForm(initial=EditIncidentForm.initial_for(incident))
        return render(request, "incidents/edit.html", {"incident": incident, "form": form})
    form = EditIncidentForm(request.POST)
    if form.is_valid():
        changes = form.changes_from(incident)
        if not changes:
            messages.info(request, "Nothing changed.")
            return redirect(_detail_url(incident))
        # An edit that raises the crisis level says so first, and is saved only once confirmed.
        preview = selectors.escalation_preview(incident, changes)
        if preview.escalates and request.POST.get("confirm_escalation") != "yes":
            return render(request, "incidents/edit.html", {"incident": incident, "form": form, "preview": preview})
        try:
            services.update_incident(actor=request.user, incident=incident,
                                     expected_version=form.cleaned_data["version"], **changes)
        except services.StaleVersion:
            current = Incident.objects.select_related("category").get(pk=incident.pk)
            data = request.POST.copy()
            data["version"] = str(current.version)  # saving again now means "keep mine", knowingly
            conflict_form = EditIncidentForm(data)
            conflict_form.is_valid()
            return render(request, "incidents/edit.html", {
                "incident": current, "form": conflict_form, "conflict": True,
                "conflicts": _conflicts(form, current), "current": current,
            }, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            return _forbidden(request, exc, incident)
        else:
            messages.success(request, f"{incident.reference} saved.")
            return redirect(_detail_url(incident))
    return render(request, "incidents/edit.html", {"incident": incident, "form": form}, status=400)


# --- "Who else saw this?" -----------------------------------------------------------------------


@login_required
@require_GET
def observable_search(request):
    form = ObservableSearchForm(request.GET or None)
    page, forms_found, status = None, [], 200
    if form.is_bound and form.is_valid():
        forms_found = search_forms(form.cleaned_data["q"])
        if forms_found:
            matching = reduce(or_, (Q(type=kind, value=value) for kind, value in forms_found))
            readable = selectors.observable_entries_visible_to(request.user)
            incidents = (
                selectors.incidents_visible_to(request.user)
                .filter(Exists(readable.filter(matching, incident=OuterRef("pk"))))
                .select_related("reporting_organisation__member_state")
                .prefetch_related(Prefetch("observables", queryset=readable.filter(matching), to_attr="matches"))
                .order_by("-created_at", "-id")
            )
            page = Paginator(incidents, INCIDENTS_PER_PAGE).get_page(request.GET.get("page"))
    elif form.is_bound:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "incidents/search.html", {
        "form": form, "page": page, "forms_found": forms_found, "query": query.urlencode(),
    }, status=status)


# --- The Blueprint ------------------------------------------------------------------------------


@login_required
@require_GET
def blueprint_page(request):
    """The active Blueprint in words, for everyone; drafts with their problems for ENISA's maintainers."""
    active = selectors.active_blueprint()
    rules = [
        (rule, " and ".join(_condition_words(Condition(c.get("fact"), c.get("op"), c.get("value")), FACTS)
                            for c in rule.conditions))
        for rule in active.rules.all()
    ]
    maintainer = is_network_admin(request.user)
    drafts = []
    if maintainer:
        drafts = [(d, blueprint_services.problems(d)) for d in
                  Blueprint.objects.filter(is_active=False, activated_at__isnull=True).prefetch_related("levels", "rules")]
    levels = list(active.levels.all())
    group_names = group_labels({name for level in levels for name in level.alerted_groups})
    roles = dict(Role.choices)
    for level in levels:  # the bodies in charge in words (incidents/bodies.py)
        level.alerted = [group_names[name] for name in level.alerted_groups]
        level.declare_role_labels = [roles.get(code, code) for code in level.declare_roles]
        level.declared_by = bodies.describe(level.declare_bodies) if level.declare_bodies else ""
        level.lowered_by = bodies.describe(level.deescalate_bodies) if level.deescalate_bodies else ""
        level.proposed_by = bodies.describe(level.propose_bodies) if level.propose_bodies else ""
    presidency = presidency_on(timezone.localdate())
    return render(request, "incidents/blueprint.html", {
        "blueprint": active, "levels": levels, "rules": rules, "maintainer": maintainer, "drafts": drafts,
        "presidency": presidency,
    })


def _condition_words(condition, facts) -> str:
    template = facts.get(condition.fact, ("", None, None, condition.fact))[3]
    if condition.op == "is":
        text = template.replace("{v} ", "")
        return text if condition.value else f"not {text}"
    return f"{condition.fact.replace('_', ' ')} {SYMBOLS.get(condition.op, condition.op)} {condition.value}"


@login_required
@require_POST
def blueprint_draft(request):
    try:
        draft = services.draft_blueprint(actor=request.user, based_on=selectors.active_blueprint())
    except PermissionDenied as refusal:
        raise PageRefused(str(refusal), who_can=BLUEPRINT_MAINTAINERS) from None
    messages.success(request, f"Drafted version {draft.version}. Edit its levels and rules, then activate it.")
    return redirect("incidents:blueprint")


@login_required
@require_POST
def blueprint_activate(request, pk):
    if not is_network_admin(request.user):  # before the lookup: drafts are the maintainers' to know of
        raise PageRefused("Only ENISA's administrators maintain the Blueprint.", who_can=BLUEPRINT_MAINTAINERS)
    draft = get_object_or_404(Blueprint, pk=pk, is_active=False)
    try:
        services.activate_blueprint(actor=request.user, blueprint=draft)
    except PermissionDenied as refusal:
        raise PageRefused(str(refusal), who_can=BLUEPRINT_MAINTAINERS) from None
    except ValidationError as exc:
        messages.error(request, "Not activated: " + " · ".join(exc.message_dict.get("blueprint", exc.messages)))
        return redirect("incidents:blueprint")
    messages.success(request, f"Version {draft.version} is now the active Blueprint.")
    return redirect("incidents:blueprint")


# --- The crisis board ---------------------------------------------------------------------------
# One page of parts that ``static/js/board.js`` re-fetches when an event touches them; every
# part reads through ``incidents.selectors`` with the user's own visibility, so a part shows
# exactly what the page would.

BOARD_PARTS = ("alerts", "levels", "map", "charts", "stream")
CHART_DAYS = 30
ANSWERED_SHOWN_FOR = timedelta(hours=24)
# A tile map of the 27 member states: (column, row), roughly where each lies.
TILES = {
    "SE": (4, 0), "FI": (5, 0), "IE": (0, 1), "DK": (3, 1), "EE": (5, 1), "NL": (2, 2), "DE": (3, 2), "PL": (4, 2),
    "LV": (5, 2), "BE": (1, 3), "LU": (2, 3), "CZ": (3, 3), "SK": (4, 3), "LT": (5, 3), "FR": (1, 4), "AT": (3, 4),
    "HU": (4, 4), "RO": (5, 4), "PT": (0, 5), "ES": (1, 5), "IT": (2, 5), "SI": (3, 5), "HR": (4, 5), "BG": (5, 5),
    "MT": (2, 6), "GR": (4, 6), "CY": (6, 6),
}
TILE, TILE_GAP = 44, 4
EVENT_WORDS = {
    "incident.created": "reported", "incident.updated": "updated", "incident.shared": "shared",
    "incident.unshared": "share revoked", "incident.escalated": "escalated", "incident.deescalated": "de-escalated",
    "incident.responded": "authority response recorded", "timeline.added": "update posted",
    "report.submitted": "report submitted", "report.requested": "report requested",
    "observables.added": "observables added", "alert.raised": "alert raised", "alert.seen": "alert seen",
    "alert.acknowledged": "alert acknowledged", "alert.not_affected": "not affected", "alert.reminder": "alert reminder",
    "alert.unanswered": "alert unanswered", "deadline.reminder": "due soon", "deadline.overdue": "overdue",
    "incident.level_proposed": "level proposed", "incident.level_proposal_declined": "level proposal declined",
    "incident.ipcr_mode_changed": "IPCR mode changed", "observable.updated": "observable changed",
    "observable.deleted": "observable deleted", "task.created": "task added", "task.updated": "task changed",
    "task.done": "task done", "task.deleted": "task deleted",
    "incident.network_consent": "shared with the alerted networks", "incident.status_changed": "status changed",
    "incident.tlp_changed": "TLP changed", "incident.tagged": "tags changed",
    "incident.initial_response": "initial response given", "incident.cross_border_informed": "member states informed",
    "incident.cross_border_notice": "cross-border notice", "observables.added_restricted": "observables added",
    "observables.imported": "observables imported",
}


def _event_words(kind: str) -> str:
    """What happened, in words; a kind without its words still reads as words ("status_changed" → "status changed")."""
    return EVENT_WORDS.get(kind) or kind.rpartition(".")[2].replace("_", " ")


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _bars(pairs) -> list[dict]:
    """Bars as percentages of the largest value, for the server-rendered SVG charts."""
    top = max((n for _, n in pairs), default=0)
    return [{"label": label, "count": n, "width": round(100 * n / top, 1) if top else 0} for label, n in pairs]


def _board_alerts_part(request, visible, *, errors=None) -> dict:
    """The organisation's alerts; showing one is how the organisation has seen it."""
    since = timezone.now() - ANSWERED_SHOWN_FOR
    alerts = list(selectors.board_alerts_of(request.user, visible, answered_since=since))
    for alert in alerts:
        if alert.state == Alert.State.NOTIFIED:
            seen = services.mark_seen(actor=request.user, alert=alert)
            alert.state, alert.seen_at = seen.state, seen.seen_at
        alert.errors = (errors or {}).get(alert.pk, [])
        alert.disclosure_info = selectors.alert_disclosure(alert)
    # Proposed levels waiting for this person's decision (the Presidency: the political level), like alerts:
    # the reference and the reasons, the incident itself only when they may read it.
    proposals = policy.proposals_to_decide(request.user)
    visible_ids = set(visible.filter(pk__in=[p.incident_id for p in proposals]).values_list("pk", flat=True))
    levels = {lv.number: lv for lv in selectors.active_blueprint().levels.all()}
    for proposal in proposals:
        proposal.incident_visible = proposal.incident_id in visible_ids
        proposal.level_info = levels.get(proposal.level)
    return {"my_alerts": alerts, "my_proposals": proposals,
            "proposal_form": ProposalDecisionForm(modes=selectors.ipcr_modes(levels.values())) if proposals else None}


def _board_levels_part(request, visible, levels, *, situation_form=None) -> dict:
    incidents, totals = selectors.board_incidents(request.user, visible)
    by_number = {lv.number: lv for lv in levels}
    now = timezone.now()
    may_post = policy.may_post_situation_update(request.user, None)  # a member of an organisation, on any visible incident
    groups = {lv.number: [] for lv in levels}
    scales = scales_of({incident.exercise_id for incident in incidents})
    for incident in incidents:
        due = policy.situation_update_due(
            since_times=(incident.last_situation_at, incident.last_escalation_at, incident.created_at),
            level=by_number.get(incident.crisis_level), mode=incident.ipcr_mode,
            time_scale=scales[incident.exercise_id])
        level = by_number.get(incident.crisis_level)
        incident.ipcr_mode_name = (level.mode(incident.ipcr_mode) or {}).get("name", "") if level else ""
        form = situation_form if situation_form is not None and situation_form.incident.pk == incident.pk else None
        assessed = {field: getattr(incident, f"situation_{field}") for field in SITUATION_TAXONOMY}
        groups.setdefault(incident.crisis_level, []).append({
            "incident": incident,
            "latest": incident.latest_updates[0] if incident.latest_updates else None,
            # None: no situation update the user may read; else its four values, "Not assessed" where blank.
            "situation": situation_badges(assessed) if any(v is not None for v in assessed.values()) else None,
            "alert_counts": summaries.alert_counts(a.state for a in incident.board_alerts),
            "situation_due": due,
            "situation_overdue": bool(due and due < now),
            "form": (form or SituationUpdateForm(incident=incident)) if may_post else None,
        })
    shown = [{"level": by_number.get(n), "number": n, "rows": rows, "total": totals.get(n, 0),
              "more": totals.get(n, 0) - len(rows)} for n, rows in groups.items()]
    return {"levels": sorted(shown, key=lambda g: -g["number"])}


def _board_filter(request) -> BoardFilterForm:
    """The board's filters from the query string; validated (an unknown value is refused by the caller)."""
    form = BoardFilterForm(request.GET)
    form.is_valid()
    return form


def _board_map_part(visible, levels) -> dict:
    found = selectors.board_map(visible)
    names = {lv.number: lv.name for lv in levels}
    tiles, others = [], []
    for ms in member_states():
        state = found.get(ms.code)
        label = f"{ms.display_code} {ms.name}: " + (
            f"crisis level {state['level']} ({names.get(state['level'], '?')}), {state['count']} active incident"
            f"{'' if state['count'] == 1 else 's'}" if state else "no active incident")
        if ms.code in TILES:
            col, row = TILES[ms.code]
            tiles.append({"ms": ms, "state": state, "label": label,
                          "x": col * (TILE + TILE_GAP), "y": row * (TILE + TILE_GAP)})
        elif state:
            others.append({"ms": ms, "state": state, "label": label})
    columns = 1 + max(c for c, _ in TILES.values())
    rows = 1 + max(r for _, r in TILES.values())
    return {"tiles": tiles, "other_states": others, "legend": levels, "tile_size": TILE, "tile_middle": TILE // 2,
            "map_width": columns * (TILE + TILE_GAP) - TILE_GAP, "map_height": rows * (TILE + TILE_GAP) - TILE_GAP}


def _board_charts_part(visible, levels) -> dict:
    by_level, by_sector = selectors.board_charts(visible, since=timezone.now() - timedelta(days=CHART_DAYS))
    return {
        "chart_days": CHART_DAYS,
        "level_bars": _bars([(f"{lv.number} — {lv.name}", by_level.get(lv.number, 0)) for lv in levels]),
        "sector_bars": _bars([(row["name"], row["count"]) for row in by_sector]),
    }


def _board_stream_part(request) -> dict:
    items = []
    lines = summaries.collapse_alerts_raised(list(selectors.board_events(request.user)))
    # Events carry organisation codes (stable for SOC tooling); a reader gets the organisation's name.
    names = organisation_names(e.payload.get("organisation") for e, _ in lines)
    for event, count in lines:
        payload = event.payload
        if event.subject_type == "alert" and payload.get("incident"):
            url = subject_url("incident", str(payload["incident"]))
        else:
            url = subject_url(event.subject_type, event.subject_id)
        items.append({"event": event, "url": url, "words": _event_words(event.kind), "count": count,
                      "organisation": names.get(payload.get("organisation"), payload.get("organisation")),
                      # A share with 56 recipients is one line: the first few by name, then how many more.
                      "shared_with": summaries.listed([s.get("label", "") for s in payload.get("shared_with") or []])})
    return {"stream": items}


def _board_context(request, parts=BOARD_PARTS, *, board_filter: BoardFilterForm | None = None, **overrides) -> dict:
    """The parts' data. The filters (latest situation assessment) narrow the incidents of the levels, map and
    charts; the organisation's own alerts and the event stream stay whole, so a filter never hides an alert."""
    visible = selectors.incidents_visible_to(request.user)
    criteria = board_filter.criteria() if board_filter is not None and board_filter.is_valid() else {}
    shown = selectors.filter_by_latest_situation(visible, request.user, criteria) if criteria else visible
    levels = list(selectors.active_blueprint().levels.all()) if {"levels", "map", "charts"} & set(parts) else []
    context = {}
    if "alerts" in parts:
        context.update(_board_alerts_part(request, visible, errors=overrides.get("alert_errors")))
    if "levels" in parts:
        context.update(_board_levels_part(request, shown, levels, situation_form=overrides.get("situation_form")))
        # The incident list takes the same assessments under the API's names (IncidentFilterSet).
        context["list_filter_query"] = urlencode(sorted(criteria.items()))
    if "map" in parts:
        context.update(_board_map_part(shown, levels))
    if "charts" in parts:
        context.update(_board_charts_part(shown, levels))
    if "stream" in parts:
        context.update(_board_stream_part(request))
    return context


def _render_board(request, *, status=200, board_filter: BoardFilterForm | None = None, **overrides):
    live_after = selectors.live_position()  # first: an event committed while the page is read is replayed
    board_filter = board_filter or _board_filter(request)
    if board_filter.errors:
        status = 400  # shown unfiltered, the refused filter with its message
    context = {"live_after": live_after, "board_filter": board_filter,
               "board_filter_query": board_filter.query() if board_filter.is_valid() else "",
               **_board_context(request, board_filter=board_filter, **overrides)}
    return render(request, "incidents/board.html", context, status=status)


@login_required
@require_GET
def board(request):
    """The live crisis board: what the user may see of every active incident, kept current by board.js.

    ``?impact=red&outlook=worsening&root_cause=…&threat=…`` keeps the incidents whose latest situation
    update the user may read says so; an unknown value is a 400 naming the parameter and the allowed values.
    """
    return _render_board(request)


@login_required
@require_GET
def board_parts(request):
    """Fresh copies of some parts (``?part=levels&part=stream``), each swapped in by its id (htmx out-of-band)."""
    parts = request.GET.getlist("part")
    unknown = sorted(set(parts) - set(BOARD_PARTS))
    if unknown or not parts:
        message = (f"Unknown board part {', '.join(unknown)}" if unknown else "Name at least one board part") + \
            f": choose from {', '.join(BOARD_PARTS)}."
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    board_filter = _board_filter(request)  # board.js sends the page's filters along
    if board_filter.errors:
        message = " ".join(e for errors in board_filter.errors.values() for e in errors)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    wanted = [p for p in BOARD_PARTS if p in parts]
    context = {"parts": wanted, "oob": True, **_board_context(request, wanted, board_filter=board_filter)}
    return render(request, "incidents/_board_parts.html", context)


@login_required
@require_POST
def board_answer_alert(request, alert_id):
    """Acknowledge or say not affected; only for an alert of the user's own organisations (else 404)."""
    alert = get_object_or_404(selectors.own_alerts(request.user), pk=alert_id)
    form = AlertAnswerForm(request.POST)
    errors = [e for errs in form.errors.values() for e in errs]
    if form.is_valid():
        try:
            services.answer_alert(actor=request.user, alert=alert, affected=form.cleaned_data["answer"] == "acknowledged",
                                  note=form.cleaned_data["note"])
        except ValidationError as exc:
            errors = exc.messages
    if errors:
        if _is_htmx(request):
            context = _board_context(request, ("alerts",), alert_errors={alert.pk: errors})
            return render(request, "incidents/_board_alerts.html", context, status=400)
        return _render_board(request, status=400, alert_errors={alert.pk: errors})
    if _is_htmx(request):
        return render(request, "incidents/_board_alerts.html", _board_context(request, ("alerts",)))
    messages.success(request, "Your organisation's answer is recorded.")
    return redirect("incidents:board")


@login_required
@require_POST
def board_situation_update(request, pk):
    """A situation update on a visible incident, shared exactly as the incident is."""
    incident = _visible(request, pk)
    form = SituationUpdateForm(request.POST, incident=incident)
    if form.is_valid():
        try:
            services.add_timeline_entry(actor=request.user, incident=incident, text=form.cleaned_data["text"],
                                        kind=TimelineEntry.Kind.SITUATION, tlp=incident.tlp, **form.assessment())
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            return _forbidden(request, exc, incident)
    if form.errors:
        if _is_htmx(request):
            return render(request, "incidents/_board_situation_form.html",
                          {"form": form, "incident": incident}, status=400)
        return _render_board(request, status=400, situation_form=form)
    if _is_htmx(request):
        return render(request, "incidents/_board_situation_form.html",
                      {"form": SituationUpdateForm(incident=incident), "incident": incident, "posted": True})
    messages.success(request, f"Situation update posted on {incident.reference}.")
    return redirect("incidents:board")
