"""One observable at a time: add it from a form, change its note, TLP and tags, delete it; each audited.

Bulk adds (CSV, the API's list) are ``timeline.add_observables``. The reporting organisation's
editors write observables (``policy.may_edit_observable``); a recipient reads them only. An
observable labelled more strictly than its incident stays with the reporting organisation
(``selectors.observables_visible_to``): so do its audit entry and its event, and its label
never goes below the incident's.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from csoa_portal import audit
from incidents.models import Incident, Observable
from incidents.observables import InvalidObservable
from incidents.policy import may_edit_observable
from incidents.selectors import tag_names
from incidents.services.common import _lock_for_edit, _touch
from incidents.services.tags import apply_tags, resolve_tags
from incidents.services.timeline import _child_event, _clean_row, _stricter
from incidents.vocabulary import TLP
from liaison.models import User

MAX_NOTE = 2000
_UNSET = object()
_ROW_FIELDS = ("type", "tlp", "first_seen", "last_seen", "note")


def _snapshot(observable: Observable) -> dict:
    return audit.to_jsonable({
        "id": observable.pk, "type": observable.type, "value": observable.value, "tlp": observable.tlp,
        "note": observable.note, "first_seen": observable.first_seen, "last_seen": observable.last_seen,
        "tags": tag_names(observable),
    })


def _row_error(exc: InvalidObservable) -> ValidationError:
    """``_clean_row``'s message as a field error: ``tlp: …`` on tlp, a value's problem on value."""
    message = str(exc)
    field, _, rest = message.partition(": ")
    if field in _ROW_FIELDS and rest:
        return ValidationError({field: rest})
    if message.startswith("Unknown observable type"):
        return ValidationError({"type": message})
    if message.startswith(("first_seen", "last_seen")):
        return ValidationError({"last_seen": message})
    return ValidationError({"value": message})


@transaction.atomic
def add_observable(*, actor: User, incident: Incident, type: str, value: str, tlp: str | None = None,
                   note: str = "", tags=(), first_seen=None, last_seen=None) -> Observable:
    """Add one observable; a value already on the incident is refused (edit that one instead)."""
    incident = _lock_for_edit(actor, incident, None)
    try:
        data = _clean_row({"type": type, "value": value, "tlp": tlp, "note": note or "", "first_seen": first_seen,
                           "last_seen": last_seen}, incident)
    except InvalidObservable as exc:
        raise _row_error(exc) from None
    if incident.observables.filter(type=data["type"], value=data["value"]).exists():
        raise ValidationError({"value": f"{data['value']} is already an observable of this incident: edit it there."})
    tag_rows = resolve_tags(list(tags or ()), tlp=data["tlp"])
    observable = Observable.objects.create(incident=incident, created_by=actor, **data)
    observable.tags.set(tag_rows)
    _touch(incident)
    audit.record(actor=actor, action="observable.added", obj=observable, after=_snapshot(observable))
    _child_event("observables.added", incident, actor=actor, payload={"created": 1, "merged": 0},
                 author_organisation=incident.reporting_organisation, restricted=_stricter(incident, data["tlp"]))
    return observable


def _locked(actor: User, observable: Observable) -> tuple[Incident, Observable]:
    observable = Observable.objects.select_related("incident__reporting_organisation").get(pk=observable.pk)
    if not may_edit_observable(actor, observable):
        raise PermissionDenied("Only the reporting organisation changes its observables; a recipient reads them.")
    incident = _lock_for_edit(actor, observable.incident, None)
    return incident, Observable.objects.select_for_update().get(pk=observable.pk, incident=incident)


@transaction.atomic
def update_observable(*, actor: User, observable: Observable, note=_UNSET, tlp=_UNSET, tags=_UNSET) -> Observable:
    """Change the note, the TLP (never less restricted than the incident's) or the tags; all or nothing."""
    incident, observable = _locked(actor, observable)
    before = _snapshot(observable)
    if note is not _UNSET:
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise ValidationError({"note": f"Text of at most {MAX_NOTE} characters."})
        observable.note = note.strip()
    if tlp is not _UNSET:
        if tlp not in TLP.values:
            raise ValidationError({"tlp": f"Unknown TLP label {tlp!r}; use one of {', '.join(TLP.values)}."})
        if TLP.rank(tlp) < TLP.rank(incident.tlp):
            raise ValidationError({"tlp": f"An observable cannot be less restricted than its incident "
                                          f"({TLP(incident.tlp).label})."})
        observable.tlp = tlp
    tag_rows = resolve_tags(tags, tlp=observable.tlp) if tags is not _UNSET else None
    observable.save(update_fields=["note", "tlp"])
    if tag_rows is not None:
        apply_tags(observable, tag_rows)
    after = _snapshot(observable)
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return observable
    _touch(incident)
    audit.record(actor=actor, action="observable.updated", obj=observable, before=before, after=after)
    # Told to the incident's audience unless the observable was theirs to see neither before nor after.
    _child_event("observable.updated", incident, actor=actor,
                 payload={"observable_id": observable.pk, "changed": changed},
                 author_organisation=incident.reporting_organisation,
                 restricted=_stricter(incident, before["tlp"]) and _stricter(incident, observable.tlp))
    return observable


@transaction.atomic
def delete_observable(*, actor: User, observable: Observable) -> None:
    """Remove an observable (entered by mistake, a false positive); the audit log keeps what it was."""
    incident, observable = _locked(actor, observable)
    snapshot = _snapshot(observable)
    restricted = _stricter(incident, observable.tlp)
    if restricted:
        # Its content stays with its label: in an entry of its own (read by nobody once it is gone: fail closed).
        audit.record(actor=actor, action="observable.deleted", obj=observable, before=snapshot)
    else:
        audit.record(actor=actor, action="observable.deleted", obj=incident, before={"observable": snapshot})
    observable_id = observable.pk
    observable.delete()
    _touch(incident)
    _child_event("observable.deleted", incident, actor=actor, payload={"observable_id": observable_id},
                 author_organisation=incident.reporting_organisation, restricted=restricted)
