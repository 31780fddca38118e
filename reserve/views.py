"""Browser pages of the EU Cybersecurity Reserve: requests, triage, decision, matching, deployment, registry, dashboard.

Views stay thin: forms parse, ``reserve.services`` writes (audited, with its Event) and
``reserve.selectors`` decides what the user may see and do. A request or engagement the
user may not see answers 404 on every page, so nobody learns it exists; a page meant for
a role the user does not hold (the triage queue, the dashboard, the registry, or assess,
decide, rank, report on a request they do see) answers 403 saying why and who can
(``PageRefused``): that reveals nothing they do not know. A POST the user may not make on
a visible request answers 403 with the service's reason; one the workflow refuses in the request's current state answers 409 with the
workflow's message; bad input re-renders the form, the error on the field it names, 400.
"""

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, Q, Sum
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from csoa_portal import display
from csoa_portal.input_rules import is_digits
from csoa_portal.views import PageRefused
from incidents.selectors import incidents_visible_to
from liaison.forms import add_service_errors
from liaison.policy import acting_memberships
from liaison.selectors import organisation_names
from reserve import policy, selectors, services, workflow
from reserve.forms import (
    AgreementForm,
    AnswerForm,
    AssessmentForm,
    CapacityForm,
    DecisionForm,
    EngageForm,
    ForwardForm,
    ProviderForm,
    QuestionForm,
    ReasonForm,
    ReportForm,
    RequestFilterForm,
    RequestForm,
    TriageFilterForm,
    UpdateForm,
    WorkLogForm,
    requesting_organisations,
)
from reserve.notifications import duration_words
from reserve.models import (
    AssistanceRequest,
    DeploymentUpdate,
    Engagement,
    ProviderProfile,
    ReserveDeadline,
    WorkLog,
)
from reserve.vocabulary import ENGAGEABLE_CERTIFICATION, Clock, Service
from reserve.workflow import EngagementStatus, RequestStatus, Role

REQUESTS_PER_PAGE = 25
ENGAGEMENTS_PER_PAGE = 25
EXCLUSION_LABELS = {
    "inactive": "Inactive", "conflict": "Conflict of interest", "certification": "Certification",
    "clearance": "Security clearance",
    "service": "Services", "member_state": "Member state", "language": "Language", "capacity": "Capacity",
}
FACTOR_LABELS = {
    "severity": "Severity", "entity_type": "Type of entity", "impact": "Potential impact",
    "cross_border": "Cross-border", "spill_over": "Spill-over risk", "measures_taken": "Measures taken",
}
# The request workflow's actions as buttons: (label, where the form lives).
ACTION_LABELS = {
    "submit": "Submit the request", "forward": "Forward (endorse)", "return": "Return to the requester",
    "request_info": "Request more information", "answer_info": "Answer the question", "assess": "Assess",
    "approve": "Approve", "reject": "Reject", "close": "Close the deployment", "report": "Submit the after-action report",
    "withdraw": "Withdraw the request",
}


# Who can, for the pages of the contracting authority's side (reserve.policy.is_authority_side).
AUTHORITY_SIDE = "ENISA's triage staff, the contracting authority's people and the Commission."
REQUESTERS = ("member states' CSIRTs and cyber crisis management authorities, CERT-EU, and the competent authorities "
              "of eligible DEP-associated third countries (CSoA Art. 14(3)).")
RANKING = "Only ENISA triage staff rank providers and engage them."


# --- Shared helpers ----------------------------------------------------------------------------


def _forbidden(request, exc: PermissionDenied):
    """403 with the service's reason: only ever about a request the user can see."""
    return render(request, "errors/403.html", {"message": str(exc) or "You may not do this."}, status=403)


def _detail_url(ar: AssistanceRequest, anchor: str = "") -> str:
    return reverse("reserve:request_detail", args=[ar.pk]) + (f"#{anchor}" if anchor else "")


def _engagement_url(engagement: Engagement, anchor: str = "") -> str:
    return reverse("reserve:engagement_detail", args=[engagement.pk]) + (f"#{anchor}" if anchor else "")


_duration = duration_words


def _clock(due_at, *, remind_at=None, met_at=None, now=None) -> dict:
    """A deadline as pages show it: its state and the time left (or overdue by)."""
    now = now or timezone.now()
    if met_at is not None:
        state = "met" if met_at <= due_at else "met_late"
        text = "met"
    elif due_at < now:
        state, text = "overdue", f"overdue by {_duration(now - due_at)}"
    else:
        state = "due_soon" if remind_at is not None and now >= remind_at else "pending"
        text = f"{_duration(due_at - now)} left"
    return {"due_at": due_at, "met_at": met_at, "state": state, "time_left": text}


def _deadline(row: ReserveDeadline, now=None) -> dict:
    return {"row": row, "label": Clock(row.clock).label,
            **_clock(row.due_at, remind_at=row.remind_at, met_at=row.met_at, now=now)}


def _factors(found) -> list[dict]:
    """The priority's factors for a table, strongest first."""
    return [{"label": FACTOR_LABELS.get(f.name, f.name), "points": f.points, "max_points": f.max_points,
             "reason": f.reason} for f in sorted(found.factors, key=lambda f: -f.points)]


def _render(request, template: str, context: dict, *, status: int = 200):
    """Every Reserve page gets the person's ``capabilities`` (reserve.policy): templates test those, never roles."""
    context.setdefault("capabilities", policy.capabilities(request.user))
    return render(request, template, context, status=status)


def _bars(pairs) -> list[dict]:
    """Bars as percentages of the largest value, for the server-rendered SVG charts."""
    top = max((n for _, n in pairs), default=0)
    return [{"label": label, "count": n, "width": round(100 * n / top, 1) if top else 0} for label, n in pairs]


def request_action(view):
    """A POST on one visible request: 403 with the reason for a role it lacks, 409 for a refused transition."""

    @login_required
    @require_POST
    @wraps(view)
    def wrapper(request, pk, *args, **kwargs):
        ar = selectors.request_visible_to(request.user, pk)
        try:
            return view(request, ar, *args, **kwargs)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except workflow.TransitionRefused as exc:
            return _render_detail(request, ar, status=409, action_error=exc.refusal)

    return wrapper


def engagement_action(view):
    @login_required
    @require_POST
    @wraps(view)
    def wrapper(request, pk, *args, **kwargs):
        engagement = selectors.engagement_visible_to(request.user, pk)
        try:
            return view(request, engagement, *args, **kwargs)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except workflow.TransitionRefused as exc:
            return _render_engagement(request, engagement, status=409, action_error=exc.refusal)

    return wrapper


# --- Dashboard panels (registered in reserve.apps; liaison shows them) ------------------------------


def _waiting_rows(work, now) -> list[dict]:
    return [{"request": ar, "clock": _deadline(ar.response_deadline, now) if ar.response_deadline else None}
            for ar in work.items]


def triage_panel(user) -> dict | None:
    """ENISA triage: the requests waiting for an assessment, with the 48-hour clock."""
    capabilities = policy.capabilities(user)
    if not capabilities.triage:
        return None
    now = timezone.now()
    waiting = selectors.requests_waiting(user, RequestStatus.SUBMITTED)
    rows = _waiting_rows(waiting, now)
    return {"capabilities": capabilities, "rows": rows, "count": waiting.count,
            "overdue": sum(1 for r in rows if r["clock"] and r["clock"]["state"] == "overdue")}


def decisions_panel(user) -> dict | None:
    """The contracting authority's decision-makers: the assessed requests waiting for their decision."""
    capabilities = policy.capabilities(user)
    if not capabilities.decisions:
        return None
    waiting = selectors.requests_waiting(user, RequestStatus.ASSESSED)
    return {"capabilities": capabilities, "rows": _waiting_rows(waiting, timezone.now()), "count": waiting.count}


def engagements_panel(user) -> dict | None:
    """A provider's staff: the offers waiting for their answer with the clock, and the running deployments."""
    capabilities = policy.capabilities(user)
    if not capabilities.engagements:
        return None
    now = timezone.now()
    offers = selectors.offers_waiting(user)
    return {"capabilities": capabilities, "count": offers.count,
            "offers": [{"engagement": e, "clock": _clock(e.respond_by, now=now,
                                                          remind_at=e.respond_by - OFFER_DUE_SOON)}
                       for e in offers.items],
            "deployments": selectors.deployments_of(user)}


OFFER_DUE_SOON = timedelta(hours=6)


@login_required
@require_GET
def home(request):
    """The Reserve link lands where the person works: engagements, the triage queue, or their requests."""
    capabilities = policy.capabilities(request.user)
    if capabilities.engagements:
        return redirect("reserve:engagement_list")
    if capabilities.triage_queue:
        return redirect("reserve:triage")
    return redirect("reserve:request_list")


# --- Requests: list ------------------------------------------------------------------------------


def _open_response_clock():
    return Prefetch("deadlines", to_attr="response_clocks", queryset=ReserveDeadline.objects.filter(
        engagement__isnull=True, clock=Clock.RESPONSE))


@login_required
@require_GET
def request_list(request):
    form = RequestFilterForm(request.GET or None)
    rows = selectors.requests_visible_to(request.user)
    if form.is_bound and not form.is_valid():
        rows = rows.none()
    elif form.is_bound:
        data = form.cleaned_data
        if data["status"]:
            rows = rows.filter(status=data["status"])
        if data["member_state"]:
            rows = rows.filter(requester_organisation__member_state=data["member_state"])
        if data["q"]:
            text = data["q"].strip()
            condition = Q(affected_entity__icontains=text)
            number = text.upper().rsplit("-", 1)[-1]
            if text.upper().startswith("RSV-") and is_digits(number):
                condition |= Q(pk=int(number))
            rows = rows.filter(condition)
    rows = rows.select_related("requester_organisation__member_state", "sector").prefetch_related(
        _open_response_clock()).order_by("-updated_at", "-id")
    page = Paginator(rows, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    listed = []
    for ar in page:
        clock = ar.response_clocks[0] if ar.response_clocks else None
        listed.append({"request": ar, "clock": _deadline(clock, now) if clock else None})
    query = request.GET.copy()
    query.pop("page", None)
    return _render(request, "reserve/request_list.html", {
        "form": form, "page": page, "rows": listed, "query": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "may_request": bool(requesting_organisations(request.user)),
    }, status=400 if form.errors else 200)


# --- Requests: new, edit, submit -----------------------------------------------------------------


def _save(request, form: RequestForm, ar: AssistanceRequest | None):
    """Save the draft, and submit it when asked: both or neither (a refused submission writes nothing)."""
    submit = request.POST.get("action") == "submit"
    content = form.content()
    with transaction.atomic():
        if ar is None:
            ar = services.create_request(actor=request.user, organisation=form.cleaned_data["organisation"], **content)
        else:
            ar = services.update_request(actor=request.user, request=ar,
                                         expected_version=form.cleaned_data["version"], **content)
        if submit:
            ar = services.submit_request(actor=request.user, request=ar)
    if not submit:
        messages.success(request, f"{ar.reference} saved as a draft. Complete it and submit it when ready.")
    elif ar.status == RequestStatus.AWAITING_SPOC:
        messages.success(request, f"{ar.reference} submitted: it goes to {ar.spoc_organisation.name}, your single "
                                  "point of contact, to be forwarded to the contracting authority.")
    else:
        messages.success(request, f"{ar.reference} submitted to the contracting authority: the 48-hour response "
                                  "clock is running.")
    return redirect(_detail_url(ar))


def _request_form_page(request, form, ar=None, *, status=200, conflict=False):
    return _render(request, "reserve/request_form.html", {
        "form": form, "assistance_request": ar, "conflict": conflict,
        "missing": services.missing_content(ar) if ar is not None and not form.is_bound else {},
    }, status=status)


def _handle_request_form(request, form: RequestForm, ar: AssistanceRequest | None):
    if form.is_valid():
        try:
            return _save(request, form, ar)
        except services.StaleVersion as exc:
            form.add_error(None, str(exc))
            return _request_form_page(request, form, ar, status=409, conflict=True)
        except workflow.TransitionRefused as exc:
            form.add_error(None, exc.refusal)
            return _request_form_page(request, form, ar, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return _request_form_page(request, form, ar, status=403)
    return _request_form_page(request, form, ar, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request):
    """A new request: saved as a draft, or submitted at once when complete."""
    form = RequestForm(request.POST if request.method == "POST" else None, user=request.user)
    if not form.may_request:
        own = [m.organisation for m in acting_memberships(request.user).select_related("organisation__member_state")]
        reasons = [selectors.request_refusal(o) for o in own]
        raise PageRefused(next((r for r in reasons if r), "You belong to no organisation that may request Reserve "
                                                           "support."), who_can=REQUESTERS)
    if request.method == "POST":
        return _handle_request_form(request, form, None)
    return _request_form_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request, pk):
    """Complete or correct a draft; only the requesting organisation, only while it is a draft."""
    ar = selectors.request_visible_to(request.user, pk)
    if Role.REQUESTER not in policy.roles_for(request.user, ar):
        raise PageRefused("Only the requesting organisation edits its request.",
                          who_can=f"the people of {ar.requester_organisation.name}.")
    if ar.status != RequestStatus.DRAFT:
        messages.info(request, "A submitted request cannot be edited, only moved on through its workflow.")
        return redirect(_detail_url(ar))
    form = RequestForm(request.POST if request.method == "POST" else None, user=request.user, assistance_request=ar)
    if request.method == "POST":
        return _handle_request_form(request, form, ar)
    return _request_form_page(request, form, ar)


@request_action
def request_submit(request, ar):
    """Submit a saved draft as it is; what is missing is shown on the draft's form, field by field."""
    try:
        ar = services.submit_request(actor=request.user, request=ar)
    except workflow.TransitionRefused:
        raise
    except ValidationError as exc:
        form = RequestForm(_as_data(RequestForm.initial_for(ar)), user=request.user, assistance_request=ar)
        form.is_valid()
        add_service_errors(form, exc)
        return _request_form_page(request, form, ar, status=400)
    if ar.status == RequestStatus.AWAITING_SPOC:
        messages.success(request, f"{ar.reference} submitted: it goes to {ar.spoc_organisation.name} to be forwarded.")
    else:
        messages.success(request, f"{ar.reference} submitted to the contracting authority.")
    return redirect(_detail_url(ar))


def _as_data(initial: dict) -> QueryDict:
    """A draft's saved values as form data, so the form can show the service's errors beside them."""
    data = QueryDict(mutable=True)
    for name, value in initial.items():
        if value in (None, ""):
            continue
        if isinstance(value, (list, tuple)):
            data.setlist(name, [str(v) for v in value])
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return data


# --- Requests: detail and its actions ----------------------------------------------------------------


def _timeline(user, ar: AssistanceRequest, *, engagements, info, assessments, decision, report) -> list[dict]:
    """What happened to the request, oldest first, built from what the user may see of it."""
    items = [{"at": ar.created_at, "kind": "drafted", "text": "Draft started", "who": ar.created_by}]
    if ar.requester_submitted_at:
        items.append({"at": ar.requester_submitted_at, "kind": "submitted", "text": "Submitted by the requester"})
    if ar.submitted_at:
        via = f" (forwarded by {ar.spoc_organisation.name})" if ar.spoc_organisation_id else ""
        items.append({"at": ar.submitted_at, "kind": "submitted", "text": f"Reached the contracting authority{via}"})
    for q in info:
        items.append({"at": q.asked_at, "kind": "info", "text": "More information requested", "body": q.question,
                      "who": q.asked_by})
        if q.answered_at:
            items.append({"at": q.answered_at, "kind": "info", "text": "Requester answered", "body": q.answer,
                          "who": q.answered_by})
    for a in assessments:
        items.append({"at": a.assessed_at, "kind": "assessed", "who": a.assessed_by, "body": a.reasons,
                      "text": f"Assessed: {'complete' if a.complete else 'incomplete'}, recommends "
                              f"{a.get_recommendation_display().lower()} (priority {a.priority_score})"})
    if decision:
        items.append({"at": decision.decided_at, "kind": "decided", "who": decision.decided_by, "body": decision.reasons,
                      "text": f"{decision.get_outcome_display()} by {decision.organisation.name}"})
    for e in engagements:
        by = "the portal (next in the ranking)" if e.offered_by_id is None else e.offered_by.get_full_name()
        items.append({"at": e.offered_at, "kind": "engaged", "text": f"{e.provider.name} engaged (rank {e.rank}) by {by}"})
        if e.responded_at:
            items.append({"at": e.responded_at, "kind": "engaged", "body": e.decline_reason,
                          "text": f"{e.provider.name}: {e.get_status_display().lower()}", "who": e.responded_by})
    updates = DeploymentUpdate.objects.filter(engagement__in=[e.pk for e in engagements]).select_related(
        "author", "organisation")
    for u in updates:
        items.append({"at": u.created_at, "kind": "update", "text": f"Update from {u.organisation.name}",
                      "body": u.text, "who": u.author})
    logs = WorkLog.objects.filter(engagement__in=[e.pk for e in engagements]).select_related(
        "logged_by", "engagement__provider")
    for w in logs:
        items.append({"at": w.logged_at, "kind": "work", "who": w.logged_by, "body": w.activity,
                      "text": f"{w.engagement.provider.name} logged {w.person_days} person-day(s) on {w.day:%d %b %Y}"})
    if ar.closed_at:
        items.append({"at": ar.closed_at, "kind": "closed", "text": "Deployment closed: after-action report due"})
    if report:
        items.append({"at": report.submitted_at, "kind": "reported", "text": "After-action report submitted",
                      "who": report.submitted_by})
    return sorted(items, key=lambda i: i["at"])


def _linked_incidents(user, ar: AssistanceRequest) -> tuple[list, int]:
    """The linked incidents the user may open, and how many others the request links."""
    linked = list(ar.incidents.values_list("pk", flat=True))
    visible = list(incidents_visible_to(user).filter(pk__in=linked).order_by("-created_at"))
    return visible, len(linked) - len(visible)


def _page_actions(ar: AssistanceRequest, actions: list[str], capabilities) -> list[dict]:
    """The actions whose forms live on pages of their own, as buttons in "What you can do now"."""
    links = []
    if "assess" in actions or "request_info" in actions:
        links.append(("assess", "Assess the request", reverse("reserve:request_assess", args=[ar.pk])))
    if "approve" in actions:
        links.append(("decide", "Decide: approve or reject", reverse("reserve:request_decide", args=[ar.pk])))
    if capabilities.ranking and ar.status in workflow.REQUEST_STATES_FOR_OFFER:
        links.append(("engage", "Rank and engage providers", reverse("reserve:request_ranking", args=[ar.pk])))
    if "report" in actions:
        links.append(("report", "Submit the after-action report", reverse("reserve:request_report", args=[ar.pk])))
    return [{"code": code, "label": label, "url": url} for code, label, url in links]


def _render_detail(request, ar: AssistanceRequest, *, status: int = 200, **overrides):
    user = request.user
    ar = selectors.request_visible_to(user, ar.pk)  # fresh, after a service changed it
    roles = policy.roles_for(user, ar)
    actions = policy.request_actions(user, ar)
    capabilities = policy.capabilities(user)
    authority = capabilities.assessments
    provider_view = not roles and not authority
    engagements = list(selectors.engagements_of(user, ar))
    info = [] if provider_view else list(ar.information_requests.select_related("asked_by", "answered_by"))
    assessments = list(ar.assessments.select_related("assessed_by")) if authority else []
    decision = getattr(ar, "decision", None) if ar.decided_at else None
    report = selectors.report_visible_to(user, ar)
    now = timezone.now()
    incidents, hidden_incidents = _linked_incidents(user, ar)
    open_question = next((q for q in reversed(info) if q.answered_at is None), None)
    found = selectors.priority_of(ar) if authority and ar.status != RequestStatus.DRAFT else None
    page_actions = _page_actions(ar, actions, capabilities)
    context = {
        "ar": ar,
        "roles": roles,
        "actions": actions,
        "action_labels": [(a, ACTION_LABELS.get(a, a)) for a in actions],
        "authority": authority,
        "provider_view": provider_view,
        "incidents": incidents,
        "hidden_incidents": hidden_incidents,
        "services_asked": [Service(s).label for s in ar.services if s in Service.values],
        "deadlines": [_deadline(d, now) for d in selectors.deadlines_of(ar)],
        "priority": found,
        "factors": _factors(found) if found else [],
        "missing": services.missing_content(ar) if ar.status == RequestStatus.DRAFT and Role.REQUESTER in roles else {},
        "engagements": [{"engagement": e, "clock": _clock(e.respond_by, met_at=e.responded_at, now=now)}
                        for e in engagements],
        "info": info,
        "open_question": open_question,
        "assessments": assessments,
        "decision": decision,
        "report": report,
        "timeline": _timeline(user, ar, engagements=engagements, info=info, assessments=assessments,
                              decision=decision, report=report),
        "capabilities": capabilities,
        "page_actions": page_actions,
        # Withdrawing is a way out, not the next step: the requester is told who moves the request on.
        "who_acts_next": "" if set(actions) - {"withdraw"} or page_actions else policy.who_acts_next(user, ar),
        "forward_form": ForwardForm() if "forward" in actions else None,
        "return_form": ReasonForm(prefix="return", label="Why it goes back") if "return" in actions else None,
        "withdraw_form": ReasonForm(prefix="withdraw", label="Why you withdraw it") if "withdraw" in actions else None,
        "answer_form": AnswerForm() if "answer_info" in actions else None,
        "action_error": None,
    }
    context.update(overrides)
    return _render(request, "reserve/request_detail.html", context, status=status)


@login_required
@require_GET
def request_detail(request, pk):
    return _render_detail(request, selectors.request_visible_to(request.user, pk))


def _reason_action(request, ar, *, prefix, label, service, message, anchor=""):
    form = ReasonForm(request.POST, prefix=prefix, label=label)
    if form.is_valid():
        try:
            service(actor=request.user, request=ar, reason=form.cleaned_data["reason"])
        except workflow.TransitionRefused:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect(_detail_url(ar, anchor))
    return _render_detail(request, ar, status=400, **{f"{prefix}_form": form})


@request_action
def request_forward(request, ar):
    """The SPOC forwards (endorses) the request to the contracting authority (CSoA Art. 15(3))."""
    form = ForwardForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, ar, status=400, forward_form=form)
    services.forward_request(actor=request.user, request=ar, note=form.cleaned_data["note"])
    messages.success(request, f"{ar.reference} forwarded to the contracting authority: the 48-hour clock is running.")
    return redirect(_detail_url(ar))


@request_action
def request_return(request, ar):
    return _reason_action(request, ar, prefix="return", label="Why it goes back", service=services.return_request,
                          message=f"{ar.reference} returned to the requester as a draft.")


@request_action
def request_withdraw(request, ar):
    return _reason_action(request, ar, prefix="withdraw", label="Why you withdraw it",
                          service=services.withdraw_request, message=f"{ar.reference} withdrawn.")


@request_action
def request_answer(request, ar):
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.answer_information(actor=request.user, request=ar, answer=form.cleaned_data["answer"])
        except workflow.TransitionRefused:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Answer sent: the request is back in the triage queue.")
            return redirect(_detail_url(ar, "timeline"))
    return _render_detail(request, ar, status=400, answer_form=form)


@request_action
def request_close(request, ar):
    services.close_deployment(actor=request.user, request=ar)
    messages.success(request, f"Deployment of {ar.reference} closed: the after-action report is now due.")
    return redirect(_detail_url(ar, "deadlines"))


# --- Triage ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def triage(request):
    """Open requests at the contracting authority, highest priority first, with the 48-hour clock."""
    if not policy.capabilities(request.user).triage_queue:
        raise PageRefused("Only the contracting authority's side works from the triage queue.",
                          who_can=AUTHORITY_SIDE)
    form = TriageFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"status": data["status"] or None, "urgency": data["urgency"] or None,
                   "member_state": data["member_state"].code if data["member_state"] else None}
    queue = selectors.triage_queue(request.user, **filters) if not form.errors else []
    now = timezone.now()
    rows = [{"request": ar, "priority": ar.priority, "actions": policy.request_actions(request.user, ar),
             "factors": _factors(ar.priority),
             "clock": _deadline(ar.response_deadline, now) if ar.response_deadline else None} for ar in queue]
    overdue = sum(1 for r in rows if r["clock"] and r["clock"]["state"] == "overdue")
    return _render(request, "reserve/triage.html", {
        "form": form, "rows": rows, "overdue": overdue,
        "filtered": any(request.GET.values()),
    }, status=400 if form.errors else 200)


ROLE_PAGES = {
    Role.TRIAGE: "Only ENISA triage staff assess requests and ask requesters for more information.",
    Role.DECISION_MAKER: "Only the contracting authority's decision-makers approve or reject requests.",
    Role.REQUESTER: "Only the requesting organisation submits the after-action report.",
}


def _role_page(request, pk, role: Role) -> AssistanceRequest:
    """A request page for one workflow role: 404 for a request the person may not see; on one they see,
    403 saying who holds the role (which they may know: the request's page names its steps)."""
    ar = selectors.request_visible_to(request.user, pk)
    if role not in policy.roles_for(request.user, ar):
        raise PageRefused(ROLE_PAGES[role], who_can=_role_holders(role, ar))
    return ar


def _role_holders(role: Role, ar: AssistanceRequest) -> str:
    if role == Role.DECISION_MAKER:
        authority = selectors.contracting_authority()
        return f"the decision-makers of {authority.name if authority else policy.authority_code()}."
    if role == Role.REQUESTER:
        return f"the people of {ar.requester_organisation.name}."
    return "ENISA's triage staff."


def _assess_page(request, ar, *, status=200, **overrides):
    now = timezone.now()
    actions = policy.request_actions(request.user, ar)
    clock = selectors.deadlines_of(ar).filter(clock=Clock.RESPONSE).first()
    found = selectors.priority_of(ar)
    incidents, hidden = _linked_incidents(request.user, ar)
    context = {
        "ar": ar, "priority": found, "factors": _factors(found),
        "clock": _deadline(clock, now) if clock else None,
        "missing": services.missing_content(ar),
        "incidents": incidents, "hidden_incidents": hidden,
        "services_asked": [Service(s).label for s in ar.services if s in Service.values],
        "info": list(ar.information_requests.select_related("asked_by", "answered_by")),
        "assessments": list(ar.assessments.select_related("assessed_by")),
        "may_assess": "assess" in actions,
        "may_ask": "request_info" in actions,
        "form": AssessmentForm(), "question_form": QuestionForm(),
    }
    context.update(overrides)
    return _render(request, "reserve/assess.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def request_assess(request, pk):
    """ENISA triage: completeness check, the priority with its reasons, a recommendation with reasons."""
    ar = _role_page(request, pk, Role.TRIAGE)
    if request.method == "GET":
        return _assess_page(request, ar)
    form = AssessmentForm(request.POST)
    if form.is_valid():
        try:
            services.assess_request(actor=request.user, request=ar, **form.service_arguments())
        except workflow.TransitionRefused as exc:
            return _assess_page(request, ar, status=409, action_error=exc.refusal)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{ar.reference} assessed: it awaits the decision.")
            return redirect("reserve:triage")
    return _assess_page(request, ar, status=400, form=form)


@login_required
@require_POST
def request_ask(request, pk):
    """Triage asks the requester for more information, with a message."""
    ar = _role_page(request, pk, Role.TRIAGE)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.request_information(actor=request.user, request=ar, question=form.cleaned_data["question"])
        except workflow.TransitionRefused as exc:
            return _assess_page(request, ar, status=409, action_error=exc.refusal)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Question sent to {ar.requester_organisation.name}.")
            return redirect("reserve:triage")
    return _assess_page(request, ar, status=400, question_form=form)


# --- Decision ----------------------------------------------------------------------------------------------


def _decide_page(request, ar, *, status=200, **overrides):
    clock = selectors.deadlines_of(ar).filter(clock=Clock.RESPONSE).first()
    found = selectors.priority_of(ar)
    incidents, hidden = _linked_incidents(request.user, ar)
    context = {
        "incidents": incidents, "hidden_incidents": hidden,
        "ar": ar, "priority": found, "factors": _factors(found),
        "clock": _deadline(clock) if clock else None,
        "assessment": ar.assessments.select_related("assessed_by").order_by("-assessed_at", "-id").first(),
        "decision": getattr(ar, "decision", None) if ar.decided_at else None,
        "services_asked": [Service(s).label for s in ar.services if s in Service.values],
        "may_decide": "approve" in policy.request_actions(request.user, ar),
        "form": DecisionForm(),
    }
    context.update(overrides)
    return _render(request, "reserve/decide.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def request_decide(request, pk):
    """The contracting authority's decision-maker approves or rejects, with reasons (CSoA Art. 15(5))."""
    ar = _role_page(request, pk, Role.DECISION_MAKER)
    if request.method == "GET":
        return _decide_page(request, ar)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.decide_request(actor=request.user, request=ar, **form.cleaned_data)
        except workflow.TransitionRefused as exc:
            return _decide_page(request, ar, status=409, action_error=exc.refusal)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            outcome = "approved" if form.cleaned_data["outcome"] == "approved" else "rejected"
            messages.success(request, f"{ar.reference} {outcome}: the requester is told now.")
            return redirect(_detail_url(ar))
    return _decide_page(request, ar, status=400, form=form)


# --- Matching ----------------------------------------------------------------------------------------------


def _ranking_page(request, ar, *, status=200, **overrides):
    ranking = selectors.ranking_for(ar)
    tried = selectors.tried_providers(ar)
    may_engage = policy.may_engage(request.user, ar)
    context = {
        "ar": ar,
        "ranked": [{"r": r, "tried": r.provider in tried} for r in ranking.ranked],
        "excluded": [{"e": e, "labels": [EXCLUSION_LABELS.get(c, c) for c in (e.codes or (e.code,))]}
                     for e in ranking.excluded],
        "engagements": list(selectors.engagements_of(request.user, ar)),
        "may_engage": may_engage,
        "services_asked": [Service(s).label for s in ar.services if s in Service.values],
        "engage_choices": [(s, Service(s).label) for s in ar.services if s in Service.values],
        "engage_error": None, "engage_provider": None,
    }
    context.update(overrides)
    return _render(request, "reserve/ranking.html", context, status=status)


@login_required
@require_GET
def request_ranking(request, pk):
    """Providers ranked for an approved request, with the reasons for each rank and each exclusion."""
    ar = selectors.request_visible_to(request.user, pk)
    if not policy.capabilities(request.user).ranking:
        raise PageRefused(RANKING, who_can="ENISA's triage staff.")  # as the API's ranking (403)
    return _ranking_page(request, ar)


@login_required
@require_POST
def request_engage(request, pk):
    ar = selectors.request_visible_to(request.user, pk)
    if not policy.capabilities(request.user).ranking:
        raise PageRefused(RANKING, who_can="ENISA's triage staff.")
    form = EngageForm(request.POST)
    if form.is_valid():
        try:
            engagement = services.engage_provider(actor=request.user, request=ar, **form.service_arguments())
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except workflow.TransitionRefused as exc:
            return _ranking_page(request, ar, status=409, engage_error=[exc.refusal])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{engagement.provider.name} engaged: it must answer by "
                                      f"{display.when(engagement.respond_by)}.")
            return redirect(reverse("reserve:request_ranking", args=[ar.pk]) + "#engagements")
    errors = [f"{form.fields[name].label or name}: {e}" if name != "__all__" and name != "provider" else e
              for name, errs in form.errors.items() for e in errs]
    code = request.POST.get("provider", "")
    name = organisation_names([code]).get(code, code)  # the provider by name, as the messages name it
    errors = [e if not name or name in e else f"{name}: {e}" for e in errors]
    return _ranking_page(request, ar, status=400, engage_error=errors, engage_provider=code)


# --- Engagements (providers) --------------------------------------------------------------------------------


@login_required
@require_GET
def engagement_list(request):
    """A provider sees its own engagements only; ENISA and the requester those of the requests they see."""
    rows = (
        selectors.engagements_visible_to(request.user)
        .select_related("provider", "request__requester_organisation__member_state")
        .annotate(logged_days=Sum("work_logs__person_days"))
        .order_by("-offered_at", "-id")
    )
    status = request.GET.get("status", "")
    if status in EngagementStatus.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, ENGAGEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    listed = [{"engagement": e, "clock": _clock(e.respond_by, met_at=e.responded_at, now=now)} for e in page]
    return _render(request, "reserve/engagement_list.html", {
        "page": page, "rows": listed, "status": status, "statuses": EngagementStatus.choices,
        "query": f"status={status}" if status else "",
    })


def _render_engagement(request, engagement: Engagement, *, status: int = 200, **overrides):
    user = request.user
    engagement = selectors.engagement_visible_to(user, engagement.pk)
    ar = engagement.request
    actions = policy.engagement_actions(user, engagement)
    is_provider = Role.PROVIDER in policy.engagement_roles_for(user, engagement)
    is_requester = Role.REQUESTER in policy.roles_for(user, ar)
    running = engagement.status == EngagementStatus.ACCEPTED and ar.status == RequestStatus.DEPLOYED
    logs = list(engagement.work_logs.select_related("logged_by"))
    logged = sum((w.person_days for w in logs), start=0)
    context = {
        "engagement": engagement, "ar": ar, "actions": actions, "is_provider": is_provider,
        "clock": _clock(engagement.respond_by, met_at=engagement.responded_at),
        "services": [Service(s).label for s in engagement.services if s in Service.values],
        "logs": logs, "logged": logged,
        "booked_width": round(min(100, 100 * float(logged) / engagement.person_days), 1) if engagement.person_days else 0,
        "updates": list(engagement.updates.select_related("author", "organisation")),
        "work_form": WorkLogForm(initial={"day": timezone.localdate()}) if policy.may_log_work(user, engagement)
        else None,
        "agreement_form": _agreement_form(engagement) if "confirm_agreement" in actions else None,
        "work_waits_for_agreement": is_provider and running and not engagement.agreement_in_force,
        "update_form": UpdateForm() if running and (is_provider or is_requester) else None,
        "decline_form": ReasonForm(prefix="decline", label="Why you decline") if "decline" in actions else None,
        "cancel_form": ReasonForm(prefix="cancel", label="Why the offer is cancelled") if "cancel" in actions else None,
        "action_error": None,
    }
    context.update(overrides)
    return _render(request, "reserve/engagement_detail.html", context, status=status)


def _agreement_form(engagement: Engagement, data=None) -> AgreementForm:
    """Prefilled with what the other side confirmed: the second confirmation names the same agreement."""
    initial = {"template_reference": engagement.agreement_template, "agreement_date": engagement.agreement_date}
    return AgreementForm(data, initial={k: v for k, v in initial.items() if v})


@login_required
@require_GET
def engagement_detail(request, pk):
    return _render_engagement(request, selectors.engagement_visible_to(request.user, pk))


@engagement_action
def engagement_accept(request, engagement):
    services.accept_engagement(actor=request.user, engagement=engagement)
    messages.success(request, "Engagement accepted: you are deployed. Log your work and post updates here.")
    return redirect(_engagement_url(engagement))


def _engagement_reason(request, engagement, *, prefix, label, service, message):
    form = ReasonForm(request.POST, prefix=prefix, label=label)
    if form.is_valid():
        try:
            service(actor=request.user, engagement=engagement, reason=form.cleaned_data["reason"])
        except workflow.TransitionRefused:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            if prefix == "decline":  # the provider no longer sees the request nor this engagement's page
                return redirect("reserve:engagement_list")
            return redirect(_engagement_url(engagement))
    return _render_engagement(request, engagement, status=400, **{f"{prefix}_form": form})


@engagement_action
def engagement_decline(request, engagement):
    return _engagement_reason(request, engagement, prefix="decline", label="Why you decline",
                              service=services.decline_engagement,
                              message="Engagement declined: ENISA is told and the next provider is proposed.")


@engagement_action
def engagement_cancel(request, engagement):
    return _engagement_reason(request, engagement, prefix="cancel", label="Why the offer is cancelled",
                              service=services.cancel_engagement, message="Offer cancelled.")


@engagement_action
def engagement_confirm_agreement(request, engagement):
    """The provider or the user confirms the specific agreement (CSoA Art. 16); work may start once both did."""
    form = _agreement_form(engagement, request.POST)
    if form.is_valid():
        try:
            updated = services.confirm_agreement(actor=request.user, engagement=engagement, **form.cleaned_data)
        except workflow.TransitionRefused:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Specific agreement confirmed: work may start." if updated.agreement_in_force
                             else "Specific agreement confirmed: waiting for the other side's confirmation.")
            return redirect(_engagement_url(engagement, "agreement"))
    return _render_engagement(request, engagement, status=400, agreement_form=form)


@engagement_action
def engagement_log_work(request, engagement):
    form = WorkLogForm(request.POST)
    if form.is_valid():
        try:
            services.log_work(actor=request.user, engagement=engagement, **form.cleaned_data)
        except workflow.TransitionRefused:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Work logged.")
            return redirect(_engagement_url(engagement, "work"))
    return _render_engagement(request, engagement, status=400, work_form=form)


@engagement_action
def engagement_post_update(request, engagement):
    form = UpdateForm(request.POST)
    if form.is_valid():
        try:
            services.post_update(actor=request.user, engagement=engagement, text=form.cleaned_data["text"])
        except workflow.TransitionRefused:
            raise
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Update posted.")
            return redirect(_engagement_url(engagement, "updates"))
    return _render_engagement(request, engagement, status=400, update_form=form)


# --- After-action report -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def request_report(request, pk):
    """The requester's summary report after the support (CSoA Art. 16), due within the report clock."""
    ar = _role_page(request, pk, Role.REQUESTER)
    clock = selectors.deadlines_of(ar).filter(clock=Clock.AFTER_ACTION_REPORT).first()
    form = ReportForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.submit_report(actor=request.user, request=ar, **form.cleaned_data)
            except workflow.TransitionRefused as exc:
                form.add_error(None, exc.refusal)
                status = 409
            except PermissionDenied as exc:
                return _forbidden(request, exc)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = 400
            else:
                messages.success(request, "After-action report submitted to the contracting authority and the "
                                          "Commission.")
                return redirect(_detail_url(ar, "report"))
        else:
            status = 400
    return _render(request, "reserve/report_form.html", {
        "ar": ar, "form": form, "clock": _deadline(clock) if clock else None,
        "may_report": "report" in policy.request_actions(request.user, ar),
    }, status=status)


# --- Provider registry (ENISA) ----------------------------------------------------------------------------------


@login_required
@require_GET
def provider_list(request):
    if not policy.capabilities(request.user).registry_view:
        raise PageRefused("Only ENISA, the contracting authority and the Commission see the whole provider "
                          "registry.", who_can=AUTHORITY_SIDE)
    profiles = list(selectors.provider_profiles_visible_to(request.user).order_by("organisation__name"))
    today = timezone.localdate()
    rows = []
    for p in profiles:
        capacity = next((c for c in p.capacities.all() if c.period_start <= today <= c.period_end), None)
        valid = (p.certification_status in ENGAGEABLE_CERTIFICATION and p.certified_from and p.certified_until
                 and p.certified_from <= today <= p.certified_until)
        rows.append({"profile": p, "capacity": capacity, "certification_valid": valid,
                     "services": [Service(s).label for s in p.services if s in Service.values]})
    return _render(request, "reserve/provider_list.html", {
        "rows": rows, "may_edit": policy.capabilities(request.user).registry_edit,
    })


def _registry_admin(request):
    if not policy.capabilities(request.user).registry_edit:
        raise PageRefused("Only ENISA keeps the provider registry.",
                          who_can="ENISA's triage staff and its network administrators.")


@login_required
@require_http_methods(["GET", "POST"])
def provider_new(request):
    """ENISA registers a provider organisation in the Reserve, with its first committed period if given."""
    _registry_admin(request)
    post = request.POST if request.method == "POST" else None
    form = ProviderForm(post)
    capacity_form = CapacityForm(post, optional=True)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() & capacity_form.is_valid():
            try:
                with transaction.atomic():  # the profile and its first period, or neither
                    profile = services.register_provider(actor=request.user, organisation=form.cleaned_data["organisation"],
                                                         **form.profile_fields())
                    if capacity_form.given():
                        try:
                            services.set_capacity(actor=request.user, profile=profile, **capacity_form.cleaned_data)
                        except ValidationError as exc:
                            add_service_errors(capacity_form, exc)
                            raise
            except PermissionDenied:
                raise Http404("Not found.") from None
            except ValidationError as exc:
                if not capacity_form.errors:
                    add_service_errors(form, exc)
            else:
                messages.success(request, f"{profile.organisation.name} registered in the Reserve.")
                return redirect("reserve:provider_edit", code=profile.organisation.code)
    return _render(request, "reserve/provider_form.html", {
        "form": form, "capacity_form": capacity_form, "profile": None,
    }, status=status)


def _capacity_rows(profile: ProviderProfile) -> list[dict]:
    rows = []
    for capacity in profile.capacities.order_by("period_start"):
        booked = selectors.booked_person_days(profile.organisation_id, capacity)
        rows.append({"capacity": capacity, "booked": booked, "free": max(0, capacity.person_days - booked)})
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def provider_edit(request, code):
    _registry_admin(request)
    profile = get_object_or_404(selectors.provider_profiles_visible_to(request.user), organisation__code=code)
    form = ProviderForm(request.POST if request.method == "POST" else None, profile=profile)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.update_provider(actor=request.user, profile=profile, **form.profile_fields())
            except PermissionDenied:
                raise Http404("Not found.") from None
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Profile of {profile.organisation.name} saved.")
                return redirect("reserve:provider_edit", code=code)
    return _render(request, "reserve/provider_form.html", {
        "form": form, "profile": profile, "capacities": _capacity_rows(profile), "capacity_form": CapacityForm(),
    }, status=status)


@login_required
@require_POST
def provider_capacity(request, code):
    """Record (or change) the person-days committed for a period."""
    _registry_admin(request)
    profile = get_object_or_404(selectors.provider_profiles_visible_to(request.user), organisation__code=code)
    capacity_form = CapacityForm(request.POST)
    if capacity_form.is_valid():
        try:
            services.set_capacity(actor=request.user, profile=profile, **capacity_form.cleaned_data)
        except PermissionDenied:
            raise Http404("Not found.") from None
        except ValidationError as exc:
            add_service_errors(capacity_form, exc)
        else:
            messages.success(request, "Committed capacity saved.")
            return redirect(reverse("reserve:provider_edit", args=[code]) + "#capacity")
    return _render(request, "reserve/provider_form.html", {
        "form": ProviderForm(profile=profile), "profile": profile, "capacities": _capacity_rows(profile),
        "capacity_form": capacity_form,
    }, status=400)


# --- Dashboard (ENISA and the Commission) --------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request):
    """Requests by status, time to decision against the legal clock, capacity per provider, requests per state."""
    user = request.user
    if not policy.capabilities(user).dashboard:
        raise PageRefused("Only ENISA, the contracting authority and the Commission follow the Reserve dashboard.",
                          who_can=AUTHORITY_SIDE)
    by_status = selectors.requests_by_status(user)
    status_bars = _bars([(label, by_status.get(value, 0)) for value, label in RequestStatus.choices])
    for bar, value in zip(status_bars, RequestStatus.values, strict=True):
        bar["value"] = value
    times = selectors.decision_times(user)
    scale = max(times.clock, times.median or timedelta()) or times.clock
    decision = {
        "times": times,
        "median_text": _duration(times.median) if times.median is not None else None,
        "clock_text": _duration(times.clock),
        "median_width": round(100 * times.median / scale, 1) if times.median is not None else 0,
        "clock_x": min(99.4, round(100 * times.clock / scale, 1)),  # the 48-hour mark stays inside the chart
        "within_share": round(100 * times.within_clock / times.decided) if times.decided else None,
        "late": times.decided - times.within_clock,
    }
    capacity = []
    for row in selectors.capacity_overview():
        committed, booked = row["committed"], row["booked"]
        capacity.append({**row, "free": max(0, committed - booked),
                         "share": round(100 * booked / committed) if committed else None,
                         "width": round(min(100, 100 * booked / committed), 1) if committed else 0})
    per_state = selectors.requests_per_member_state(user)
    return _render(request, "reserve/dashboard.html", {
        "status_bars": status_bars, "total": sum(by_status.values()), "decision": decision,
        "capacity": capacity, "state_bars": _bars([(r["member_state"], r["requests"]) for r in per_state]),
        "today": timezone.localdate(),
    })
