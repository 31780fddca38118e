"""The provider registry: ENISA registers Reserve providers and keeps their profiles and capacity."""

from datetime import date

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from liaison.events import Audience, record_event
from liaison.models import Organisation, User
from liaison.roles import Community, OrganisationKind, role_group_name
from liaison.roles import Role as NetworkRole
from reserve.models import ProviderCapacity, ProviderProfile
from reserve.policy import is_registry_admin
from reserve.selectors import booked_person_days
from reserve.vocabulary import CertificationStatus, normalise_languages, normalise_services

PROFILE_FIELDS = frozenset({
    "services", "sectors", "languages", "member_states", "certification_status", "certified_from", "certified_until",
    "security_clearances", "conflicts_of_interest", "response_hours", "is_active",
})
_M2M = ("sectors", "member_states")


def _check_admin(actor: User) -> None:
    if not is_registry_admin(actor):
        raise PermissionDenied("Only ENISA's network admins and triage staff keep the provider registry.")


def _text_list(value, field: str) -> list[str]:
    if isinstance(value, str):
        value = [line for line in value.splitlines()]
    if not isinstance(value, (list, tuple)):
        raise ValidationError({field: "Give a list of texts."})
    return [str(v).strip() for v in value if str(v).strip()]


def _clean(values: dict) -> tuple[dict, dict]:
    """Normalise profile fields; every problem is collected under its field name."""
    errors, clean = {}, {}
    for name, value in values.items():
        try:
            if name == "services":
                clean[name] = normalise_services(value)
                if not clean[name]:
                    errors[name] = "Choose at least one service the provider offers."
            elif name == "languages":
                clean[name] = normalise_languages(value)
                if not clean[name]:
                    errors[name] = "Give at least one working language (ISO 639-1, e.g. en)."
            elif name in ("security_clearances", "conflicts_of_interest"):
                clean[name] = _text_list(value, name)
            elif name == "member_states":
                clean[name] = list(value or [])
                if not clean[name]:
                    errors[name] = "Choose at least one member state the provider can deploy to."
            elif name == "certification_status" and value not in CertificationStatus.values:
                errors[name] = f"Unknown status {value!r}; use one of {', '.join(CertificationStatus.values)}."
            else:
                clean[name] = value
        except ValidationError as exc:
            errors.update(exc.message_dict)
        except ValueError as exc:
            errors[name] = str(exc)
    return clean, errors


def _validate(profile: ProviderProfile, errors: dict) -> None:
    if profile.certification_status in (CertificationStatus.CERTIFIED, CertificationStatus.VETTED):
        if profile.certified_from is None:
            errors.setdefault("certified_from", "Say from when the certification or vetting is valid.")
        if profile.certified_until is None:
            errors.setdefault("certified_until", "Say until when the certification or vetting is valid.")
    if profile.certified_from and profile.certified_until and profile.certified_until < profile.certified_from:
        errors.setdefault("certified_until", "The validity ends before it starts.")
    if profile.response_hours is None or profile.response_hours < 1:
        errors.setdefault("response_hours", "Give the committed response time in whole hours (at least 1).")
    try:
        profile.full_clean(exclude=["organisation", *[k for k in errors]])
    except ValidationError as exc:
        errors.update({k: v for k, v in exc.message_dict.items() if k not in errors})
    if errors:
        raise ValidationError(errors)


def _event(kind: str, profile: ProviderProfile, *, actor, changed=()) -> None:
    groups = [profile.organisation.group.name, role_group_name(NetworkRole.ENISA_TRIAGE), Community.NETWORK_ADMINS]
    for name in groups:
        Group.objects.get_or_create(name=name)
    record_event(kind=kind, subject=profile, subject_type="reserve_provider", subject_id=str(profile.pk), actor=actor,
                 payload={"provider": profile.organisation.code, "changed": sorted(changed)},
                 audience=Audience(groups=groups))


def _snapshot(profile: ProviderProfile) -> dict:
    return audit.snapshot(profile, exclude=["updated_by", "created_at", "updated_at"])


@transaction.atomic
def register_provider(*, actor: User, organisation: Organisation, response_hours: int, services, languages,
                      member_states, sectors=(), certification_status: str = CertificationStatus.PENDING,
                      certified_from: date | None = None, certified_until: date | None = None,
                      security_clearances=(), conflicts_of_interest=(), is_active: bool = True) -> ProviderProfile:
    """Register an organisation of the provider kind in the Reserve with its profile (Art. 17(2))."""
    _check_admin(actor)
    if organisation.kind != OrganisationKind.RESERVE_PROVIDER:
        raise ValidationError({"organisation": f"{organisation.code} is not a Reserve provider organisation "
                                               "(kind reserve_provider)."})
    if ProviderProfile.objects.filter(organisation=organisation).exists():
        raise ValidationError({"organisation": f"{organisation.code} is already registered; update its profile."})
    clean, errors = _clean({
        "services": services, "languages": languages, "member_states": member_states, "sectors": sectors,
        "certification_status": certification_status, "certified_from": certified_from,
        "certified_until": certified_until, "security_clearances": security_clearances,
        "conflicts_of_interest": conflicts_of_interest, "response_hours": response_hours, "is_active": is_active,
    })
    m2m = {name: clean.pop(name, []) for name in _M2M}
    profile = ProviderProfile(organisation=organisation, updated_by=actor, **clean)
    _validate(profile, errors)
    profile.save()
    for name, values in m2m.items():
        getattr(profile, name).set(values)
    audit.record(actor=actor, action="provider.registered", obj=profile, organisation_code=organisation.code,
                 after=_snapshot(profile))
    _event("provider.registered", profile, actor=actor)
    return profile


@transaction.atomic
def update_provider(*, actor: User, profile: ProviderProfile, **changes) -> ProviderProfile:
    """Change a provider's profile: certification, capacity commitments and conflicts move over time."""
    _check_admin(actor)
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in sorted(unknown)})
    profile = ProviderProfile.objects.select_for_update(of=("self",)).select_related("organisation__group").get(
        pk=profile.pk)
    before = _snapshot(profile)
    clean, errors = _clean(changes)
    m2m = {name: clean.pop(name) for name in _M2M if name in clean}
    for name, value in clean.items():
        setattr(profile, name, value)
    _validate(profile, errors)
    profile.updated_by, profile.updated_at = actor, timezone.now()
    profile.save()
    for name, values in m2m.items():
        getattr(profile, name).set(values)
    after = _snapshot(profile)
    changed = [k for k in after if after[k] != before.get(k)]
    audit.record(actor=actor, action="provider.updated", obj=profile, organisation_code=profile.organisation.code,
                 before=before, after=after)
    _event("provider.updated", profile, actor=actor, changed=changed)
    return profile


@transaction.atomic
def set_capacity(*, actor: User, profile: ProviderProfile, period_start: date, period_end: date,
                 person_days: int) -> ProviderCapacity:
    """Record the person-days committed for a period; never below what is already booked in it."""
    _check_admin(actor)
    profile = ProviderProfile.objects.select_for_update(of=("self",)).select_related("organisation__group").get(
        pk=profile.pk)
    errors = {}
    if period_start is None:
        errors["period_start"] = "Give the first day of the period."
    if period_end is None:
        errors["period_end"] = "Give the last day of the period."
    elif period_start and period_end < period_start:
        errors["period_end"] = "The period ends before it starts."
    if not isinstance(person_days, int) or isinstance(person_days, bool) or person_days < 0:
        errors["person_days"] = "Give the committed person-days as a whole number ≥ 0."
    if errors:
        raise ValidationError(errors)
    overlapping = profile.capacities.filter(period_start__lte=period_end, period_end__gte=period_start).exclude(
        period_start=period_start)
    if overlapping.exists():
        other = overlapping.first()
        raise ValidationError({"period_start": f"The period overlaps the committed period {other.period_start} – "
                                               f"{other.period_end}; change that one instead."})
    row = profile.capacities.filter(period_start=period_start).first()
    before = audit.snapshot(row) if row else None
    row = row or ProviderCapacity(provider=profile, period_start=period_start)
    row.period_end, row.person_days = period_end, person_days
    if row.pk:
        booked = booked_person_days(profile.organisation_id, row)
        if person_days < booked:
            raise ValidationError({"person_days": f"{booked} person-days are already booked in this period: "
                                                  "the commitment cannot be lower."})
    row.full_clean()
    row.save()
    audit.record(actor=actor, action="provider.capacity_set", obj=row, organisation_code=profile.organisation.code,
                 before=before, after=audit.snapshot(row))
    _event("provider.updated", profile, actor=actor, changed=["capacity"])
    return row



@transaction.atomic
def remove_capacity(*, actor: User, capacity: ProviderCapacity) -> None:
    """Withdraw a committed period; refused while engagements are booked in it (they hold that capacity)."""
    _check_admin(actor)
    profile = ProviderProfile.objects.select_for_update(of=("self",)).select_related("organisation__group").get(
        pk=capacity.provider_id)
    capacity = ProviderCapacity.objects.get(pk=capacity.pk)
    booked = booked_person_days(profile.organisation_id, capacity)
    if booked:
        raise ValidationError({"person_days": (f"{booked} person-days are already booked in the period "
                                               f"{capacity.period_start} – {capacity.period_end}: "
                                               "it cannot be removed.")})
    before = audit.snapshot(capacity)
    capacity.delete()
    audit.record(actor=actor, action="provider.capacity_deleted", obj=capacity,
                 organisation_code=profile.organisation.code, before=before)
    _event("provider.updated", profile, actor=actor, changed=["capacity"])
