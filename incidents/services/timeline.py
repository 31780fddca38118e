"""The append-only timeline with its attachments, and observables in bulk."""

import hashlib
import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from csoa_portal import audit, input_rules
from incidents.models import Attachment, Incident, Observable, TimelineEntry
from incidents.observables import InvalidObservable, normalise
from incidents.services.common import _event, _lock_for_edit, _touch
from incidents.vocabulary import SITUATION_TAXONOMY, TLP
from liaison.events import Audience, record_event
from liaison.models import User
from liaison.policy import acting_memberships

# --- Timeline ----------------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
# Allowed attachment types, recognised by their first bytes, never by name or declared type.
_MAGIC = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
]


def sniff_content_type(head: bytes) -> str | None:
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the end is still text
            return None
    return "text/plain" if b"\x00" not in head else None


def _check_entry_tlp(incident: Incident, tlp: str) -> None:
    if tlp not in TLP.values:
        raise ValidationError({"tlp": f"Unknown TLP label {tlp!r}; use one of {', '.join(TLP.values)}."})
    if TLP.rank(tlp) < TLP.rank(incident.tlp):
        raise ValidationError({"tlp": f"An update cannot be less restricted than its incident ({TLP(incident.tlp).label})."})


def _check_taxonomy(kind: str, assessment: dict[str, str]) -> None:
    """Each assessment from its vocabulary, and only on a situation update (the NIS Cooperation Group's taxonomy)."""
    errors = {}
    for field, value in assessment.items():
        if not value:
            continue
        label, vocabulary = SITUATION_TAXONOMY[field]
        if kind != TimelineEntry.Kind.SITUATION:
            errors[field] = f"Only a situation update carries an assessment ({label.lower()}); post it as one."
        elif value not in vocabulary.values:
            errors[field] = f"Unknown {label.lower()} {value!r}; use one of {', '.join(vocabulary.values)}."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def add_timeline_entry(*, actor: User, incident: Incident, text: str, tlp: str | None = None,
                       kind: str = TimelineEntry.Kind.UPDATE, files=(), impact_severity: str = "",
                       impact_outlook: str = "", root_cause: str = "", threat_severity: str = "") -> TimelineEntry:
    """Append an update; anyone who may see the incident and acts for an organisation may post.

    A situation update may carry the NIS Cooperation Group's assessment (impact severity, its outlook
    for the next 6 hours, root cause, threat severity); blank is "not assessed".
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    membership = acting_memberships(actor).select_related("organisation").order_by("id").first()
    if membership is None:
        raise PermissionDenied("Only members of an organisation may post updates.")
    if kind not in (TimelineEntry.Kind.UPDATE, TimelineEntry.Kind.SITUATION):
        raise ValidationError({"kind": "Post an update or a situation update."})
    if not text or not text.strip():
        raise ValidationError({"text": "Write the update."})
    assessment = {"impact_severity": impact_severity or "", "impact_outlook": impact_outlook or "",
                  "root_cause": root_cause or "", "threat_severity": threat_severity or ""}
    _check_taxonomy(kind, assessment)
    tlp = tlp or incident.tlp
    _check_entry_tlp(incident, tlp)
    files = list(files)
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError({"files": f"At most {MAX_ATTACHMENTS} attachments per update."})
    checked = []
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError({"files": f"{upload.name} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB."})
        head = upload.read(2048)
        upload.seek(0)
        content_type = sniff_content_type(head)
        if content_type is None:
            raise ValidationError({"files": f"{upload.name}: only PDF, PNG, JPEG, GIF, ZIP and plain-text files are accepted."})
        checked.append((upload, content_type))
    entry = TimelineEntry.objects.create(incident=incident, kind=kind, author=actor, organisation=membership.organisation,
                                         text=text.strip(), tlp=tlp, **assessment)
    for upload, content_type in checked:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        attachment = Attachment(entry=entry, original_name=upload.name[:255], content_type=content_type,
                                size=upload.size, sha256=digest.hexdigest())
        attachment.file.save(f"{uuid.uuid4().hex}.bin", upload, save=False)  # never the uploaded name
        attachment.save()
    _touch(incident)
    audit.record(actor=actor, action="timeline.added", obj=entry, after={"incident": incident.pk, "kind": kind, "tlp": tlp,
                                                                       "attachments": len(checked), **assessment})
    _child_event("timeline.added", incident, actor=actor, payload={"entry_id": entry.pk, "kind": kind, **assessment},
                 author_organisation=membership.organisation, restricted=_stricter(incident, tlp))
    return entry


def _stricter(incident: Incident, tlp: str) -> bool:
    return TLP.rank(tlp) > TLP.rank(incident.tlp)


def _child_event(kind: str, incident: Incident, *, actor, payload: dict, author_organisation, restricted: bool) -> None:
    """A child labelled more strictly than its incident stays with its author's organisation, its event too
    (``selectors.timeline_visible_to``, ``observables_visible_to``): the incident's wider audience is not told."""
    if not restricted:
        _event(kind, incident, actor=actor, payload=payload)
        return
    record_event(kind=kind, subject=incident, actor=actor,
                 payload={"reference": incident.reference, "title": incident.title, "tlp": incident.tlp, **payload},
                 audience=Audience(organisations=[author_organisation]))


# --- Observables ---------------------------------------------------------------------------

MAX_OBSERVABLES_PER_CALL = 10_000


def _parse_time(raw, field: str):
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = parse_datetime(str(raw))
        except ValueError:  # well formed but no such moment, e.g. 2026-02-30T00:00:00Z
            value = None
        if value is None:
            raise InvalidObservable(f"{field}: {raw!r} is not an ISO 8601 date-time.")
    if timezone.is_naive(value):
        raise InvalidObservable(f"{field}: give a time zone (e.g. 2026-11-23T10:00:00Z).")
    if problem := input_rules.date_problem(value):
        raise InvalidObservable(f"{field}: {problem}")
    return value


@dataclass
class ObservableBatchResult:
    created: int = 0
    merged: int = 0
    errors: list[dict] = dataclass_field(default_factory=list)


def _clean_row(row, incident: Incident) -> dict:
    if not isinstance(row, dict):
        raise InvalidObservable("Each row must be an object with type and value.")
    unknown = set(row) - {"type", "value", "tlp", "first_seen", "last_seen", "note"}
    if unknown:
        raise InvalidObservable(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    tlp = row.get("tlp") or incident.tlp
    if tlp not in TLP.values:
        raise InvalidObservable(f"tlp: unknown label {tlp!r}.")
    if TLP.rank(tlp) < TLP.rank(incident.tlp):
        raise InvalidObservable(f"tlp: cannot be less restricted than the incident ({TLP(incident.tlp).label}).")
    first_seen = _parse_time(row.get("first_seen"), "first_seen")
    last_seen = _parse_time(row.get("last_seen"), "last_seen")
    if first_seen and last_seen and first_seen > last_seen:
        raise InvalidObservable("first_seen is after last_seen.")
    note = row.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidObservable("note: text of at most 2000 characters.")
    return {"type": row.get("type"), "value": normalise(row.get("type"), row.get("value")), "tlp": tlp,
            "first_seen": first_seen, "last_seen": last_seen, "note": note}


@transaction.atomic
def add_observables(*, actor: User, incident: Incident, rows: list) -> ObservableBatchResult:
    """Add up to 10,000 observables: valid rows are kept, invalid ones reported by index.

    A value already on the incident (or twice in the batch) is merged: its seen-window widens.
    """
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"observables": "Give a non-empty list of observables."})
    if len(rows) > MAX_OBSERVABLES_PER_CALL:
        raise ValidationError({"observables": f"At most {MAX_OBSERVABLES_PER_CALL} observables per call; got {len(rows)}."})
    incident = _lock_for_edit(actor, incident, None)
    result = ObservableBatchResult()
    cleaned: dict[tuple[str, str], dict] = {}
    in_batch_merges: list[tuple[str, str]] = []
    for index, row in enumerate(rows):
        try:
            data = _clean_row(row, incident)
        except InvalidObservable as exc:
            value = row.get("value") if isinstance(row, dict) else None
            result.errors.append({"index": index, "value": value if isinstance(value, str) else None, "error": str(exc)})
            continue
        key = (data["type"], data["value"])
        if key in cleaned:
            _widen(cleaned[key], data)
            result.merged += 1
            in_batch_merges.append(key)
        else:
            cleaned[key] = data
    counts = {False: [0, 0], True: [0, 0]}  # restricted? -> [created, merged]
    existing = {}
    keys = list(cleaned)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for obs in incident.observables.filter(value__in=[v for _, v in chunk]):
            if (obs.type, obs.value) in cleaned:
                existing[(obs.type, obs.value)] = obs
    to_update = []
    for key in in_batch_merges:
        tlp = existing[key].tlp if key in existing else cleaned[key]["tlp"]
        counts[_stricter(incident, tlp)][1] += 1
    for key, obs in existing.items():
        data = cleaned.pop(key)
        if _widen_model(obs, data):
            to_update.append(obs)
        result.merged += 1
        counts[_stricter(incident, obs.tlp)][1] += 1
    for data in cleaned.values():
        counts[_stricter(incident, data["tlp"])][0] += 1
    Observable.objects.bulk_update(to_update, ["first_seen", "last_seen"], batch_size=500)
    Observable.objects.bulk_create(
        [Observable(incident=incident, created_by=actor, **data) for data in cleaned.values()], batch_size=1000
    )
    result.created = len(cleaned)
    if result.created or result.merged:
        _touch(incident)
        # The values of observables stricter than the incident go in an entry of their own, about one of
        # them: the audit log shows its content only to those the observable's label allows.
        stricter = [key for key, data in cleaned.items() if _stricter(incident, data["tlp"])]
        audit.record(actor=actor, action="observables.added", obj=incident,
                     after={"created": result.created, "merged": result.merged, "rejected": len(result.errors),
                            "values": [f"{t}:{v}" for t, v in [k for k in cleaned if k not in set(stricter)][:1000]]})
        if stricter:
            first = incident.observables.filter(type=stricter[0][0], value=stricter[0][1]).first()
            audit.record(actor=actor, action="observables.added_restricted", obj=first,
                         after={"created": len(stricter), "values": [f"{t}:{v}" for t, v in stricter[:1000]]})
        # Counted apart: observables stricter than the incident are news for their author's organisation only.
        for restricted in (False, True):
            created, merged = counts[restricted]
            if created or merged:
                _child_event("observables.added", incident, actor=actor, payload={"created": created, "merged": merged},
                             author_organisation=incident.reporting_organisation, restricted=restricted)
    return result


def _widen(target: dict, data: dict) -> None:
    for field, pick in (("first_seen", min), ("last_seen", max)):
        values = [v for v in (target[field], data[field]) if v]
        target[field] = pick(values) if values else None


def _widen_model(obs: Observable, data: dict) -> bool:
    before = (obs.first_seen, obs.last_seen)
    snapshot = {"first_seen": obs.first_seen, "last_seen": obs.last_seen}
    _widen(snapshot, data)
    obs.first_seen, obs.last_seen = snapshot["first_seen"], snapshot["last_seen"]
    return before != (obs.first_seen, obs.last_seen)
