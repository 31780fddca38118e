"""Writes to the network: one function per intent, each audited with its Event.

Every function takes keyword-only arguments and an ``actor`` (None for the system),
validates with ``full_clean`` (raising ``ValidationError`` naming the field) and
writes nothing unless everything is valid.
"""

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone as dj_timezone

from csoa_portal import audit, tokens
from csoa_portal.models import ApiToken
from liaison.events import Audience, record_event
from liaison.groups import sync_user_groups
from liaison import policy
from liaison.models import CouncilPresidency, Exercise, InboxCursor, MemberState, Membership, Organisation, User
from liaison.policy import may_issue_token
from liaison.roles import (
    ROLE_ALLOWED_KINDS,
    Community,
    OrganisationKind,
    Role,
    member_state_group_name,
    org_group_name,
)

NETWORK_ADMINS = Audience(groups=[Community.NETWORK_ADMINS])


def _network_admins_group():
    Group.objects.get_or_create(name=Community.NETWORK_ADMINS)


def _org_audience(organisation: Organisation) -> Audience:
    return Audience(organisations=[organisation], groups=[Community.NETWORK_ADMINS])


# --- Member states ---------------------------------------------------------------------

# Apps to the left whose data is counted in a member state's zone (the NIS2 clocks) register here
# from their AppConfig.ready; a change of zone re-counts them in the same transaction.
_time_zone_followers: list = []


def follow_time_zone_changes(follower) -> None:
    """``follower(member_state)`` runs inside ``update_member_state`` when the state's zone changes."""
    if follower not in _time_zone_followers:
        _time_zone_followers.append(follower)



@transaction.atomic
def create_member_state(
    *, actor, code: str, name: str, kind: str, time_zone: str, eu_label: str = "",
    reserve_eligible: bool = False,
) -> MemberState:
    """A new participant; its time zone is part of it (the NIS2 month is counted there), never guessed."""
    code = (code or "").strip().upper()
    if MemberState.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A member state with code {code} already exists."})
    group, _ = Group.objects.get_or_create(name=member_state_group_name(code))
    member_state = MemberState(code=code, name=name, kind=kind, eu_label=eu_label.strip().upper(), group=group,
                               time_zone=(time_zone or "").strip(), reserve_eligible=bool(reserve_eligible))
    member_state.full_clean()
    member_state.save()
    _network_admins_group()
    audit.record(actor=actor, action="member_state.created", obj=member_state, after=audit.snapshot(member_state))
    record_event(
        kind="member_state.created",
        subject=member_state,
        actor=actor,
        payload={"code": member_state.code, "name": member_state.name},
        audience=NETWORK_ADMINS,
    )
    return member_state


@transaction.atomic
def update_member_state(
    *, actor, member_state: MemberState, name: str, kind: str, eu_label: str = "", is_active: bool = True,
    time_zone: str | None = None,
    reserve_eligible: bool | None = None,
) -> MemberState:
    """The code is the stable identifier SOC tooling relies on: it never changes.

    ``reserve_eligible`` (None: unchanged) is ENISA's record that a DEP-associated third country's
    association agreement provides for Reserve support (CSoA Art. 19); only that kind may carry it.
    """
    member_state = MemberState.objects.select_for_update().get(pk=member_state.pk)
    before = audit.snapshot(member_state)
    member_state.name, member_state.kind = name, kind
    member_state.eu_label, member_state.is_active = eu_label.strip().upper(), is_active
    zone_before = member_state.time_zone
    if time_zone is not None:
        member_state.time_zone = time_zone.strip()
    if reserve_eligible is not None:
        member_state.reserve_eligible = bool(reserve_eligible)
    member_state.full_clean()
    member_state.save()
    if member_state.time_zone != zone_before:
        for follower in _time_zone_followers:
            follower(member_state)
    audit.record(
        actor=actor, action="member_state.updated", obj=member_state, before=before, after=audit.snapshot(member_state)
    )
    _network_admins_group()
    record_event(
        kind="member_state.updated",
        subject=member_state,
        actor=actor,
        payload={"code": member_state.code, "name": member_state.name,
                 "reserve_eligible": member_state.reserve_eligible},
        audience=NETWORK_ADMINS,
    )
    # The kind decides community membership: recompute it for everyone concerned.
    for user in User.objects.filter(memberships__organisation__member_state=member_state).distinct():
        sync_user_groups(user)
    return member_state


# --- The Council Presidency -----------------------------------------------------------


@transaction.atomic
def save_presidency(*, actor, presidency: CouncilPresidency) -> CouncilPresidency:
    """ENISA keeps the rotation current: who holds the Presidency decides who may activate the political level."""
    created = presidency.pk is None
    before = None if created else audit.snapshot(CouncilPresidency.objects.select_for_update().get(pk=presidency.pk))
    presidency.full_clean()
    presidency.save()
    action = "council_presidency.created" if created else "council_presidency.updated"
    audit.record(actor=actor, action=action, obj=presidency, before=before, after=audit.snapshot(presidency))
    _network_admins_group()
    record_event(kind=action, subject=presidency, actor=actor, audience=NETWORK_ADMINS,
                 payload={"member_state": presidency.member_state.code, "starts_on": presidency.starts_on.isoformat(),
                          "ends_on": presidency.ends_on.isoformat()})
    return presidency


# --- Organisations ---------------------------------------------------------------------


@transaction.atomic
def create_organisation(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    member_state: MemberState | None = None,
    contact_email: str = "",
) -> Organisation:
    code = (code or "").strip()
    if Organisation.objects.filter(code=code).exists():
        raise ValidationError({"code": f"An organisation with code {code} already exists."})
    group, _ = Group.objects.get_or_create(name=org_group_name(code))
    organisation = Organisation(
        code=code, name=name, kind=kind, member_state=member_state, contact_email=contact_email, group=group
    )
    organisation.full_clean()
    check_organisation_kind(kind=kind, member_state=member_state)
    organisation.save()
    _network_admins_group()
    audit.record(
        actor=actor,
        action="organisation.created",
        obj=organisation,
        organisation_code=organisation.code,
        after=audit.snapshot(organisation),
    )
    record_event(
        kind="organisation.created",
        subject=organisation,
        actor=actor,
        payload={"code": organisation.code, "name": organisation.name, "kind": organisation.kind},
        audience=_org_audience(organisation),
    )
    return organisation


def check_organisation_kind(*, kind: str, member_state: MemberState | None, organisation: Organisation | None = None) -> None:
    """Refuse a kind without the member state it needs, or one its members' roles cannot hold.

    Public so that forms (Django admin included) show the same errors before saving.
    """
    eu_level = {OrganisationKind.ENISA, OrganisationKind.COMMISSION}
    if kind not in eu_level and kind != OrganisationKind.CROSS_BORDER_HUB and member_state is None:
        raise ValidationError({"member_state": "This kind of organisation belongs to a member state: choose one."})
    if organisation is None or organisation.pk is None:
        return
    invalid = [
        m
        for m in organisation.memberships.all()
        if m.role in ROLE_ALLOWED_KINDS and kind not in ROLE_ALLOWED_KINDS[m.role]
    ]
    if invalid:
        raise ValidationError(
            {"kind": f"{len(invalid)} member(s) hold roles this kind may not have (e.g. {invalid[0].get_role_display()})."}
        )


@transaction.atomic
def update_organisation(
    *,
    actor,
    organisation: Organisation,
    name: str,
    kind: str,
    member_state: MemberState | None,
    contact_email: str = "",
    is_active: bool = True,
) -> Organisation:
    """The code never changes: it is the organisation's identifier for SOC tooling."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    before = audit.snapshot(organisation)
    organisation.name, organisation.kind, organisation.member_state = name, kind, member_state
    organisation.contact_email, organisation.is_active = contact_email, is_active
    organisation.full_clean()
    check_organisation_kind(kind=kind, member_state=member_state, organisation=organisation)
    organisation.save()
    audit.record(
        actor=actor,
        action="organisation.updated",
        obj=organisation,
        organisation_code=organisation.code,
        before=before,
        after=audit.snapshot(organisation),
    )
    record_event(
        kind="organisation.updated",
        subject=organisation,
        actor=actor,
        payload={"code": organisation.code, "name": organisation.name, "kind": organisation.kind},
        audience=_org_audience(organisation),
    )
    for user in User.objects.filter(memberships__organisation=organisation).distinct():
        sync_user_groups(user)
    return organisation


# --- People ----------------------------------------------------------------------------


@transaction.atomic
def create_person(
    *,
    actor,
    email: str,
    full_name: str,
    organisation: Organisation,
    roles: list[str],
    password: str | None = None,
    timezone: str = "Europe/Brussels",
) -> User:
    """Create a person with their first roles; without a password they cannot log in yet."""
    email = User.objects.normalize_email(email or "").strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": f"Someone with the e-mail {email} already exists."})
    if not roles:
        raise ValidationError({"roles": "Give the person at least one role."})
    user = User(email=email, full_name=full_name, timezone=timezone)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit.record(
        actor=actor,
        action="person.created",
        obj=user,
        organisation_code=organisation.code,
        after=audit.snapshot(user, fields=["email", "full_name", "timezone", "is_active"]),
    )
    for role in roles:
        add_membership(actor=actor, user=user, organisation=organisation, role=role)
    return user


@transaction.atomic
def update_person(*, actor, user: User, full_name: str, timezone: str, is_active: bool) -> User:
    fields = ["email", "full_name", "timezone", "is_active"]
    user = User.objects.select_for_update().get(pk=user.pk)
    before = audit.snapshot(user, fields=fields)
    user.full_name, user.timezone, user.is_active = full_name, timezone, is_active
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name", "timezone", "is_active"])
    audit.record(actor=actor, action="person.updated", obj=user, before=before, after=audit.snapshot(user, fields=fields))
    return user


ACCOUNT_FIELDS = ["email", "full_name", "timezone", "is_active", "is_staff", "is_superuser", "is_service_account"]


@transaction.atomic
def save_account(*, actor, user: User, permissions=None) -> User:
    """An administrator's edit of a person's account in the admin, or a new account from its add form.

    The admin's form has validated the fields (and hashed a new person's password);
    ``permissions``, when given, replace the person's direct model permissions. Roles, and
    so groups, change only through ``add_membership`` / ``remove_membership``.
    """
    created = user.pk is None
    fields = [*ACCOUNT_FIELDS, "user_permissions"]
    before = None
    if not created:
        before = audit.snapshot(User.objects.select_for_update().get(pk=user.pk), fields=fields)
    user.save()
    if permissions is not None:
        user.user_permissions.set(permissions)
    audit.record(actor=actor, action="person.created" if created else "person.updated", obj=user,
                 before=before, after=audit.snapshot(user, fields=fields))
    return user


@transaction.atomic
def save_password(*, actor, user: User) -> User:
    """Store the password an administrator set on ``user`` (already hashed, or made unusable)."""
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="person.password_set", obj=user)
    return user


@transaction.atomic
def add_membership(*, actor, user: User, organisation: Organisation, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}. Choose one of: {', '.join(Role.values)}."})
    allowed = ROLE_ALLOWED_KINDS.get(role)
    if allowed is not None and organisation.kind not in allowed:
        raise ValidationError(
            {"role": f"The role {Role(role).label} cannot be held in a {organisation.get_kind_display()}."}
        )
    membership, created = Membership.objects.get_or_create(user=user, organisation=organisation, role=role)
    if not created:
        return membership
    sync_user_groups(user)
    audit.record(
        actor=actor,
        action="membership.added",
        obj=membership,
        organisation_code=organisation.code,
        after={"user": user.email, "organisation": organisation.code, "role": role},
    )
    record_event(
        kind="membership.added",
        subject=membership,
        actor=actor,
        payload={"user": user.email, "organisation": organisation.code, "role": role},
        audience=_org_audience(organisation),
    )
    return membership


@transaction.atomic
def remove_membership(*, actor, membership: Membership) -> None:
    organisation, user = membership.organisation, membership.user
    data = {"user": user.email, "organisation": organisation.code, "role": membership.role}
    membership_id = membership.pk
    audit.record(
        actor=actor,
        action="membership.removed",
        obj=membership,
        organisation_code=organisation.code,
        before=data,
    )
    membership.delete()
    sync_user_groups(user)
    record_event(
        kind="membership.removed",
        subject_type="membership",
        subject_id=str(membership_id),
        actor=actor,
        payload=data,
        audience=_org_audience(organisation),
    )


# --- API tokens ------------------------------------------------------------------------


def service_account_for(organisation: Organisation) -> User:
    """The principal behind an organisation's tokens: sees what the organisation sees."""
    email = f"api+{organisation.code}@service.csoa-portal.invalid"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, full_name=f"{organisation.name} (API)", is_service_account=True)
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, organisation=organisation, role=Role.SOC_TOOLING)
        sync_user_groups(user)
    return user


TOKEN_REFUSED = (
    "Only an organisation admin of {org} may create its API tokens: a token reads everything "
    "{org} may read. Ask one of its organisation admins, or an operator (manage.py issue_token)."
)


@transaction.atomic
def issue_api_token(
    *, actor, organisation: Organisation, name: str, scopes, days: int = tokens.DEFAULT_DAYS
) -> tuple[ApiToken, str]:
    """Create a token for the organisation's SOC tooling; the plain text is returned once.

    Refused with ``PermissionDenied`` (nothing written) unless ``may_issue_token``.
    """
    if not may_issue_token(actor, organisation):
        raise PermissionDenied(TOKEN_REFUSED.format(org=organisation.code))
    principal = service_account_for(organisation)
    token, raw = tokens.create_token(
        actor=actor, organisation=organisation, principal=principal, name=name, scopes=scopes, days=days
    )
    record_event(
        kind="token.created",
        subject=token,
        actor=actor,
        payload={"name": token.name, "organisation": organisation.code, "scopes": token.scopes},
        audience=Audience(organisations=[organisation]),
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, actor, token: ApiToken) -> ApiToken:
    was_active = token.revoked_at is None
    token = tokens.revoke_token(actor=actor, token=token)
    if was_active:
        record_event(
            kind="token.revoked",
            subject=token,
            actor=actor,
            payload={"name": token.name, "organisation": token.organisation.code},
            audience=Audience(organisations=[token.organisation]),
        )
    return token


def mark_inbox_read(*, actor: User, up_to_event_id: int) -> None:
    """Bookkeeping of what a person has read, like a token's last use: no audit entry, no Event."""
    InboxCursor.objects.update_or_create(
        user=actor, defaults={"last_read_event_id": max(0, int(up_to_event_id)), "updated_at": dj_timezone.now()}
    )


# --- Exercises ---------------------------------------------------------------------------------


def _exercise_event(**fields) -> None:
    """Running exercises is network administration: its Events are live work, whatever the actor works in."""
    from liaison.exercises import using_exercise

    with using_exercise(None):
        record_event(**fields)


def _exercise_audience(exercise: Exercise) -> Audience:
    return Audience(organisations=list(exercise.participants.all()) + [exercise.organisation])


def _time_scale(value):
    """The exercise's time scale as a Decimal (``None``: real time), or ValidationError naming the problem."""
    from decimal import Decimal

    from liaison.models import time_scale_problem

    if value is None or value == "":
        return Decimal(1)
    problem = time_scale_problem(value)
    if problem:
        raise ValidationError({"time_scale": problem})
    return Decimal(str(value))


def _check_exercise(*, exercise: Exercise, participants, controllers) -> None:
    """The exercise, its participants and controllers are all valid, or ValidationError naming the field."""
    exercise.full_clean(exclude=["participants", "controllers"])
    owner = exercise.organisation
    if owner.kind != OrganisationKind.ENISA and exercise.kind != Exercise.Kind.NATIONAL:
        raise ValidationError({"kind": "Only ENISA runs Cyber Europe, Blue OLEx and CySOPex; a national authority "
                                       "runs national drills."})
    codes = sorted(str(o) for o in participants if not getattr(o, "pk", None) or not o.is_active)
    if codes:
        raise ValidationError({"participants": f"Not an active organisation of the network: {', '.join(codes)}."})
    if exercise.kind == Exercise.Kind.NATIONAL:
        foreign = sorted(o.code for o in participants
                         if o.kind != OrganisationKind.ENISA and o.member_state_id != owner.member_state_id)
        if foreign:
            raise ValidationError({"participants": "A national drill takes organisations of its member state (and "
                                                   f"ENISA) only, not {', '.join(foreign)}."})
    orgs = {o.pk for o in participants} | {owner.pk}
    outside = sorted(u.email for u in controllers
                     if not Membership.objects.filter(user=u, organisation_id__in=orgs).exists())
    if outside:
        raise ValidationError({"controllers": "Controllers work for a participating organisation: "
                                              f"{', '.join(outside)} does not."})
    if exercise.blueprint_version is not None and not blueprint_version_exists(exercise.blueprint_version):
        raise ValidationError({"blueprint_version": f"There is no Blueprint version {exercise.blueprint_version}."})


_blueprint_versions: list = []


def follow_blueprint_versions(exists) -> None:
    """``exists(version) -> bool``: the incidents app says which Blueprint versions there are (liaison cannot ask)."""
    _blueprint_versions[:] = [exists]


def blueprint_version_exists(version: int) -> bool:
    return all(exists(version) for exists in _blueprint_versions)


def _exercise_after(exercise: Exercise) -> dict:
    return {**audit.snapshot(exercise), "participants": sorted(exercise.participants.values_list("code", flat=True)),
            "controllers": sorted(exercise.controllers.values_list("email", flat=True))}


@transaction.atomic
def create_exercise(*, actor, organisation: Organisation, name: str, kind: str, starts_at, ends_at,
                    participants, controllers=(), blueprint_version: int | None = None, time_scale=1) -> Exercise:
    """A new exercise run by ``organisation`` (which always takes part); planned until it is started.

    ``time_scale``: exercise minutes per real minute (6: one exercise hour in 10 real minutes), the speed of
    every clock of the exercise (``liaison.exercise_time``).
    """
    if actor is not None and organisation not in policy.exercise_owner_organisations(actor):
        raise PermissionDenied("Crisis managers and organisation admins of ENISA (or of a national authority, for "
                               "a national drill) create exercises.")
    participants, controllers = list(participants), list(controllers)
    exercise = Exercise(organisation=organisation, name=(name or "").strip(), kind=kind, starts_at=starts_at,
                        ends_at=ends_at, blueprint_version=blueprint_version, time_scale=_time_scale(time_scale),
                        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _check_exercise(exercise=exercise, participants=participants, controllers=controllers)
    exercise.save()
    exercise.participants.set({*participants, organisation})
    exercise.controllers.set(controllers)
    audit.record(actor=actor, action="exercise.created", obj=exercise, after=_exercise_after(exercise))
    _exercise_event(kind="exercise.created", subject=exercise, actor=actor,
                 payload={"name": exercise.name, "kind": exercise.kind}, audience=_exercise_audience(exercise))
    return exercise


def _managed(actor, exercise: Exercise) -> None:
    if actor is not None and not policy.may_manage_exercise(actor, exercise):
        raise PermissionDenied("Only the crisis managers and organisation admins of the organisation that runs "
                               "this exercise change it.")


@transaction.atomic
def update_exercise(*, actor, exercise: Exercise, name: str, kind: str, starts_at, ends_at, participants,
                    controllers=(), blueprint_version: int | None = None, status: str | None = None,
                    time_scale=None) -> Exercise:
    """``time_scale`` None keeps the exercise's; a new scale applies to clocks started from then on."""
    exercise = Exercise.objects.select_for_update().get(pk=exercise.pk)
    _managed(actor, exercise)
    before = _exercise_after(exercise)
    participants, controllers = list(participants), list(controllers)
    exercise.name, exercise.kind, exercise.starts_at, exercise.ends_at = (name or "").strip(), kind, starts_at, ends_at
    exercise.blueprint_version = blueprint_version
    if time_scale is not None:
        exercise.time_scale = _time_scale(time_scale)
    if status is not None:
        exercise.status = status
    _check_exercise(exercise=exercise, participants=participants, controllers=controllers)
    exercise.save()
    exercise.participants.set({*participants, exercise.organisation})
    exercise.controllers.set(controllers)
    audit.record(actor=actor, action="exercise.updated", obj=exercise, before=before, after=_exercise_after(exercise))
    _exercise_event(kind="exercise.updated", subject=exercise, actor=actor,
                 payload={"name": exercise.name, "status": exercise.status}, audience=_exercise_audience(exercise))
    return exercise


@transaction.atomic
def archive_exercise(*, actor, exercise: Exercise) -> Exercise:
    """Archived: nobody works in it any more (its data stays until it is deleted)."""
    exercise = Exercise.objects.select_for_update().get(pk=exercise.pk)
    _managed(actor, exercise)
    before = audit.snapshot(exercise)
    exercise.status = Exercise.Status.ARCHIVED
    exercise.save(update_fields=["status"])
    audit.record(actor=actor, action="exercise.archived", obj=exercise, before=before, after=audit.snapshot(exercise))
    _exercise_event(kind="exercise.archived", subject=exercise, actor=actor, payload={"name": exercise.name},
                 audience=_exercise_audience(exercise))
    return exercise


# What the clock does to an exercise's status (the sweep job ``exercise_status``): planned → running at its start,
# running → ended once its end has passed (planned → ended when the whole window passed unseen). Never backwards, and
# never out of ``archived``. The end itself still belongs to the exercise: an inject due at ``ends_at`` is released
# (scenarios.policy.release_refusal), so "ended" is set strictly after it.
_STATUS_DUE = {"started": Exercise.Status.RUNNING, "ended": Exercise.Status.ENDED}


def _due_statuses(now) -> models.Q:
    return (models.Q(status=Exercise.Status.PLANNED, starts_at__lte=now)
            | models.Q(status=Exercise.Status.RUNNING, ends_at__lt=now))


def advance_exercise_statuses(*, now=None, batch: int | None = None) -> int:
    """The sweep: start the planned exercises whose start has come and end the running ones whose end has passed,
    a committed batch at a time (rows claimed with SKIP LOCKED, so overlapping sweeps act once). Idempotent: an
    exercise in the status its window calls for is not touched. Returns how many changed."""
    from csoa_portal import sweep

    now = now or dj_timezone.now()
    return sweep.in_batches(lambda size: _advance_batch(now=now, size=size), batch=batch)


def _advance_batch(*, now, size: int) -> int:
    with transaction.atomic():
        rows = list(Exercise.objects.select_for_update(skip_locked=True, of=("self",)).filter(_due_statuses(now))
                    .select_related("organisation").order_by("starts_at", "pk")[:size])
        for exercise in rows:
            _advance(exercise, now)
    return len(rows)


def _advance(exercise: Exercise, now) -> None:
    """One exercise to the status its window calls for at ``now``, audited, with its Event (the system acts)."""
    before = audit.snapshot(exercise)
    verb = "started" if exercise.status == Exercise.Status.PLANNED and now <= exercise.ends_at else "ended"
    exercise.status = _STATUS_DUE[verb]
    exercise.save(update_fields=["status"])
    audit.record(actor=None, action=f"exercise.{verb}", obj=exercise, before=before, after=audit.snapshot(exercise))
    _exercise_event(kind=f"exercise.{verb}", subject=exercise, actor=None,
                    payload={"name": exercise.name, "status": exercise.status,
                             "at": (exercise.starts_at if verb == "started" else exercise.ends_at).isoformat()},
                    audience=_exercise_audience(exercise))


def _exercise_models() -> list:
    """The models with an ``exercise`` key, the apps furthest left first (they point at those to their right)."""
    from django.apps import apps

    order = ["scenarios", "awareness", "reserve", "incidents", "liaison"]
    found = [m for m in apps.get_models() if any(f.name == "exercise" for f in m._meta.concrete_fields)]
    return sorted(found, key=lambda m: order.index(m._meta.app_label) if m._meta.app_label in order else -1)


def _delete_exercise_rows(queryset, exercise_id: int, depth: int = 0) -> None:
    """Delete the rows; what protects them is deleted first, if it is of the same exercise (else refuse)."""
    from django.db.models import ProtectedError

    from liaison.exercises import exercise_of

    while True:
        try:
            queryset.delete()
            return
        except ProtectedError as protected:
            blockers = list(protected.protected_objects)
            live = [b for b in blockers if exercise_of(b) != exercise_id]
            if live or depth > 10:
                raise ValidationError({"exercise": "Live work refers to this exercise's objects "
                                                   f"({', '.join(sorted({str(b) for b in live})[:5])}); nothing "
                                                   "was deleted."}) from None
            for blocker in blockers:
                _delete_exercise_rows(type(blocker).objects.filter(pk=blocker.pk), exercise_id, depth + 1)


@transaction.atomic
def delete_exercise(*, actor, exercise: Exercise) -> None:
    """The exercise and everything done in it; live work is never touched. The audit chain keeps its entries."""
    exercise = Exercise.objects.select_for_update().get(pk=exercise.pk)
    _managed(actor, exercise)
    before = _exercise_after(exercise)
    audience = _exercise_audience(exercise)
    counts = {}
    for model in _exercise_models():
        rows = model.objects.filter(exercise=exercise)
        counts[model._meta.label] = rows.count()
        _delete_exercise_rows(rows, exercise.pk)
    audit.record(actor=actor, action="exercise.deleted", obj=exercise, before=before, after={"deleted": counts})
    pk, name = exercise.pk, exercise.name
    exercise.delete()
    _exercise_event(kind="exercise.deleted", subject_type="exercise", subject_id=str(pk), actor=actor,
                 payload={"name": name}, audience=audience)
