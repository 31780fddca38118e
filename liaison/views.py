"""Browser pages of the network: dashboard, directory, network management, API tokens.

Views stay thin: forms validate, ``liaison.services`` writes (audited, with its Event),
``liaison.selectors`` reads. A page a person may not use says why and who can (403,
``PageRefused``): the directory's organisations are public, so naming their admins
reveals nothing. A token of another organisation stays a plain 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from csoa_portal.models import ApiToken
from csoa_portal.views import PageRefused
from liaison import policy, selectors, services
from liaison.dashboard import panels_for
from liaison.exercises import SESSION_KEY as EXERCISE_SESSION_KEY
from liaison.exercises import exercise_links
from liaison.forms import (
    ExerciseForm,
    MemberStateForm,
    OrganisationFilterForm,
    OrganisationForm,
    PersonCreateForm,
    PersonUpdateForm,
    RoleForm,
    TokenCreateForm,
    TokenOrganisationForm,
    add_service_errors,
)
from liaison.models import MemberState, Membership, Organisation, User
from liaison.roles import Role

ORGANISATIONS_PER_PAGE = 50


def _render_form(request, template, context, form):
    """Re-render an invalid POST with 400 so clients and tests see the refusal."""
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, template, context, status=status)


NETWORK_ADMINS = "ENISA's organisation admins, the network administrators."


def _network_admin_only(request):
    if not policy.is_network_admin(request.user):
        raise PageRefused("Only the network administrators manage member states and organisations.",
                          who_can=NETWORK_ADMINS)


def _organisation(code: str) -> Organisation:
    return get_object_or_404(selectors.organisations(), code=code)


def _admins_in_words(organisations) -> str:
    admins = selectors.organisation_admins(organisations)
    if not admins:
        return "nobody yet: ask ENISA's network administrators to name an organisation admin."
    return "; ".join(f"{a.get_full_name()} <{a.email}>" for a in admins) + "; and " + NETWORK_ADMINS


def _managed_organisation(request, code: str) -> Organisation:
    """An organisation whose people the user administers; another one (public in the directory): 403 naming its admins."""
    organisation = _organisation(code)
    if not selectors.administered_organisations(request.user).filter(pk=organisation.pk).exists():
        raise PageRefused(f"Only the organisation admins of {organisation.name} manage its people.",
                          who_can=_admins_in_words([organisation]))
    return organisation


# --- Dashboard ------------------------------------------------------------------------------


@login_required
def dashboard(request):
    """One page per role, with everyone's inbox of new items on top."""
    inbox, unread = selectors.inbox_for(request.user)
    return render(request, "liaison/dashboard.html", {
        "inbox": inbox, "inbox_unread": unread, "panels": panels_for(request.user),
    })


@login_required
@require_POST
def inbox_read(request):
    try:
        up_to = int(request.POST.get("up_to", ""))
    except ValueError:
        return HttpResponseBadRequest("up_to must be an event id.")
    services.mark_inbox_read(actor=request.user, up_to_event_id=up_to)
    return redirect("liaison:dashboard")


# --- Directory (all signed-in users) ---------------------------------------------------------


@login_required
def directory(request):
    states = list(selectors.member_states())
    groups = [
        (label, [ms for ms in states if ms.kind == kind]) for kind, label in MemberState.Kind.choices
    ]
    form = OrganisationFilterForm(request.GET or None)
    orgs = selectors.organisations()
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            orgs = orgs.filter(Q(name__icontains=data["q"]) | Q(code__icontains=data["q"]))
        if data["kind"]:
            orgs = orgs.filter(kind=data["kind"])
        if data["member_state"]:
            orgs = orgs.filter(member_state=data["member_state"])
    page = Paginator(orgs, ORGANISATIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "liaison/directory.html",
        {"state_groups": groups, "form": form, "page": page, "query": query.urlencode(),
         "may_run_exercises": policy.may_create_exercises(request.user)},
        status=400 if form.errors else 200,  # an unknown member state or kind names the field
    )


@login_required
def organisation_detail(request, code):
    organisation = _organisation(code)
    can_manage = selectors.administered_organisations(request.user).filter(pk=organisation.pk).exists()
    context = {
        "organisation": organisation,
        "people": selectors.organisation_people(organisation),
        "can_manage": can_manage,
        "is_network_admin_here": policy.is_network_admin(request.user),
    }
    if can_manage:
        context["role_form"] = RoleForm()
    return render(request, "liaison/organisation_detail.html", context)


@login_required
def member_state_detail(request, code):
    member_state = get_object_or_404(MemberState, code=code.upper())
    organisations = member_state.organisations.order_by("code")
    return render(
        request, "liaison/member_state_detail.html", {"member_state": member_state, "organisations": organisations}
    )


# --- Network management (network admins) -----------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def member_state_create(request):
    _network_admin_only(request)
    form = MemberStateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ms = services.create_member_state(
                actor=request.user, code=data["code"], name=data["name"], kind=data["kind"], eu_label=data["eu_label"],
                time_zone=data["time_zone"],
                reserve_eligible=data["reserve_eligible"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Member state {ms.code} created.")
            return redirect("liaison:member_state", code=ms.code)
    return _render_form(request, "liaison/member_state_form.html", {"form": form}, form)


@login_required
@require_http_methods(["GET", "POST"])
def member_state_edit(request, code):
    _network_admin_only(request)
    member_state = get_object_or_404(MemberState, code=code.upper())
    initial = {f: getattr(member_state, f) for f in ("name", "kind", "eu_label", "time_zone", "is_active",
                                                     "reserve_eligible")}
    form = MemberStateForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member_state(actor=request.user, member_state=member_state, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Member state {member_state.code} saved.")
            return redirect("liaison:member_state", code=member_state.code)
    return _render_form(
        request, "liaison/member_state_form.html", {"form": form, "member_state": member_state}, form
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request):
    _network_admin_only(request)
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.create_organisation(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Organisation {organisation.code} created.")
            return redirect("liaison:organisation", code=organisation.code)
    return _render_form(request, "liaison/organisation_form.html", {"form": form}, form)


@login_required
@require_http_methods(["GET", "POST"])
def organisation_edit(request, code):
    _network_admin_only(request)
    organisation = _organisation(code)
    initial = {f: getattr(organisation, f) for f in ("name", "kind", "member_state", "contact_email", "is_active")}
    form = OrganisationForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_organisation(actor=request.user, organisation=organisation, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Organisation {organisation.code} saved.")
            return redirect("liaison:organisation", code=organisation.code)
    return _render_form(
        request, "liaison/organisation_form.html", {"form": form, "organisation": organisation}, form
    )


# --- People (network admins, and org admins for their own organisation) ------------------------


@login_required
@require_http_methods(["GET", "POST"])
def person_add(request, code):
    organisation = _managed_organisation(request, code)
    form = PersonCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.create_person(actor=request.user, organisation=organisation, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, f"{person.email} added. They set a password and enrol their second factor before signing in."
            )
            return redirect("liaison:organisation", code=organisation.code)
    return _render_form(request, "liaison/person_form.html", {"form": form, "organisation": organisation}, form)


def _person_of(organisation: Organisation, user_id: int) -> User:
    """A person of the organisation (service accounts are managed through tokens, not here)."""
    return get_object_or_404(
        User.objects.filter(memberships__organisation=organisation, is_service_account=False).distinct(), pk=user_id
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, code, user_id):
    organisation = _managed_organisation(request, code)
    person = _person_of(organisation, user_id)
    initial = {"full_name": person.full_name, "timezone": person.timezone, "is_active": person.is_active}
    form = PersonUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if person == request.user and not form.cleaned_data["is_active"]:
            form.add_error("is_active", "You cannot deactivate yourself.")
        else:
            try:
                services.update_person(actor=request.user, user=person, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{person.email} saved.")
                return redirect("liaison:organisation", code=organisation.code)
    return _render_form(
        request, "liaison/person_edit.html", {"form": form, "organisation": organisation, "person": person}, form
    )


@login_required
@require_POST
def role_add(request, code, user_id):
    organisation = _managed_organisation(request, code)
    person = _person_of(organisation, user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.add_membership(actor=request.user, user=person, organisation=organisation, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    if form.errors:
        context = {
            "organisation": organisation,
            "person": person,
            "form": PersonUpdateForm(
                initial={"full_name": person.full_name, "timezone": person.timezone, "is_active": person.is_active}
            ),
            "role_form": form,
        }
        return render(request, "liaison/person_edit.html", context, status=400)
    messages.success(request, f"Role added to {person.email}.")
    return redirect("liaison:organisation", code=organisation.code)


@login_required
@require_POST
def role_remove(request, code, membership_id):
    organisation = _managed_organisation(request, code)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "organisation").filter(
            organisation=organisation, user__is_service_account=False
        ),
        pk=membership_id,
    )
    if membership.user == request.user and membership.role == Role.ORG_ADMIN:
        messages.error(request, "You cannot remove your own organisation admin role; ask another admin.")
    else:
        services.remove_membership(actor=request.user, membership=membership)
        messages.success(request, f"Removed {membership.get_role_display()} from {membership.user.email}.")
    return redirect("liaison:organisation", code=organisation.code)


# --- API tokens -----------------------------------------------------------------------------


def _token_organisation(request, managed):
    """The organisation whose tokens are shown: ``?org=`` if administered, else the user's first."""
    code = request.POST.get("org") or request.GET.get("org")
    if code:
        return get_object_or_404(managed, code=code)
    own = managed.filter(memberships__user=request.user, memberships__role=Role.ORG_ADMIN).first()
    return own or managed.first()


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """List and create the organisation's tokens; the plain token is rendered once, in the POST answer."""
    managed = selectors.administered_organisations(request.user)
    organisation = _token_organisation(request, managed)
    if organisation is None:
        own = [m.organisation for m in selectors.memberships_of(request.user)]
        raise PageRefused("Only your organisation's admins manage API tokens.", who_can=_admins_in_words(own))
    # Network admins see and revoke every organisation's tokens, but create them only where
    # they are an organisation admin (services.may_issue_token): elsewhere the form is not
    # shown and a POST is refused with 403 and the reason; the organisation is in the
    # directory anyway, so saying so reveals nothing.
    may_create = policy.may_issue_token(request.user, organisation)
    form = TokenCreateForm(request.POST or None)
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.issue_api_token(actor=request.user, organisation=organisation, **form.cleaned_data)
        except PermissionDenied as refusal:
            form.add_error(None, str(refusal))
            status = 403
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # The secret must not linger in any cache: csoa_portal.middleware.PrivateResponseMiddleware.
            return render(request, "liaison/token_created.html", {"token": token, "raw": raw})
    context = {
        "organisation": organisation,
        "tokens": selectors.tokens_of(organisation).order_by("-created_at"),
        "form": form,
        "may_create": may_create,
        "create_refusal": None if may_create else services.TOKEN_REFUSED.format(org=organisation.code),
        "org_form": TokenOrganisationForm(initial={"org": organisation.code}, queryset=managed)
        if policy.is_network_admin(request.user)
        else None,
    }
    if status is not None:
        return render(request, "liaison/tokens.html", context, status=status)
    return _render_form(request, "liaison/tokens.html", context, form)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id):
    managed = selectors.administered_organisations(request.user)
    token = get_object_or_404(
        ApiToken.objects.select_related("organisation", "created_by").filter(organisation__in=managed), pk=token_id
    )
    if request.method == "POST":
        services.revoke_api_token(actor=request.user, token=token)
        messages.success(request, f"Token “{token.name}” revoked: SOC tooling using it is refused from now on.")
        return redirect(f"{reverse('liaison:tokens')}?org={token.organisation.code}")
    return render(request, "liaison/token_revoke.html", {"token": token})


# --- Exercises --------------------------------------------------------------------------------

EXERCISE_MANAGERS = ("Crisis managers and organisation admins of ENISA (or of a national authority, for a "
                     "national drill).")


@login_required
@require_POST
def exercise_switch(request):
    """The top bar's switch: live work, or an exercise the person takes part in (else 403, nothing changed)."""
    chosen = (request.POST.get("exercise") or "").strip()
    if not chosen:
        request.session.pop(EXERCISE_SESSION_KEY, None)
        messages.info(request, "You are working in live work.")
        return redirect("liaison:dashboard")
    try:
        exercise = selectors.exercise_for(request.user, chosen)
    except selectors.ExerciseRefused as refused:
        raise PageRefused(str(refused), who_can="The people of the exercise's participating organisations.") from None
    request.session[EXERCISE_SESSION_KEY] = exercise.pk
    messages.warning(request, f"You are now working in the exercise {exercise.name}: nothing you do here is live.")
    return redirect(_local_next(request) or "liaison:dashboard")


def _local_next(request) -> str | None:
    """``next`` when it is a path on this site (an exercise object's page), else None."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                                  require_https=request.is_secure()):
        return target
    return None


@login_required
def exercises(request):
    found = list(selectors.exercises_visible_to(request.user))
    links = exercise_links(request.user, found)
    return render(request, "liaison/exercises.html", {
        "exercises": [(exercise, links.get(exercise.pk, [])) for exercise in found],
        "may_create": policy.may_create_exercises(request.user),
    })


def _managed_exercise(request, pk):
    exercise = get_object_or_404(selectors.exercises_visible_to(request.user), pk=pk)
    if not policy.may_manage_exercise(request.user, exercise):
        raise PageRefused("Only the organisation that runs this exercise changes it.", who_can=EXERCISE_MANAGERS)
    return exercise


def _exercise_fields(data) -> dict:
    fields = {key: data[key] for key in ("name", "kind", "starts_at", "ends_at", "participants", "controllers",
                                         "blueprint_version")}
    return {**fields, "time_scale": 1 if data.get("time_scale") is None else data["time_scale"]}  # empty: real time


@login_required
@require_http_methods(["GET", "POST"])
def exercise_create(request):
    owners = policy.exercise_owner_organisations(request.user)
    if not owners:
        raise PageRefused("You do not run exercises.", who_can=EXERCISE_MANAGERS)
    form = ExerciseForm(request.POST or None, owners=owners, initial={"organisation": owners[0]})
    if request.method == "POST" and form.is_valid():
        try:
            exercise = services.create_exercise(actor=request.user, organisation=form.cleaned_data["organisation"],
                                                **_exercise_fields(form.cleaned_data))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Exercise {exercise.name} planned.")
            return redirect("liaison:exercises")
    return _render_form(request, "liaison/exercise_form.html", {"form": form}, form)


@login_required
@require_http_methods(["GET", "POST"])
def exercise_edit(request, pk):
    exercise = _managed_exercise(request, pk)
    initial = {"organisation": exercise.organisation, "name": exercise.name, "kind": exercise.kind,
               "starts_at": exercise.starts_at, "ends_at": exercise.ends_at,
               "participants": exercise.participants.all(), "controllers": exercise.controllers.all(),
               "blueprint_version": exercise.blueprint_version, "time_scale": exercise.time_scale}
    form = ExerciseForm(request.POST or None, owners=[exercise.organisation], initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_exercise(actor=request.user, exercise=exercise, **_exercise_fields(form.cleaned_data))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Exercise {exercise.name} saved.")
            return redirect("liaison:exercises")
    return _render_form(request, "liaison/exercise_form.html", {"form": form, "exercise": exercise}, form)


@login_required
@require_POST
def exercise_archive(request, pk):
    exercise = services.archive_exercise(actor=request.user, exercise=_managed_exercise(request, pk))
    messages.success(request, f"Exercise {exercise.name} archived: nobody works in it any more.")
    return redirect("liaison:exercises")


@login_required
@require_POST
def exercise_delete(request, pk):
    exercise = _managed_exercise(request, pk)
    try:
        services.delete_exercise(actor=request.user, exercise=exercise)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
        return redirect("liaison:exercises")
    if request.session.get(EXERCISE_SESSION_KEY) == exercise.pk:
        request.session.pop(EXERCISE_SESSION_KEY, None)
    messages.success(request, f"Exercise {exercise.name} and everything done in it deleted; live work is untouched.")
    return redirect("liaison:exercises")
