"""The tamper-evident audit log: every write appends one hash-chained entry.

Each entry's hash covers its content and the previous entry's hash, and entries are
numbered without gaps (``seq``), so editing, removing or reordering any entry breaks
the chain at a point ``verify_chain`` names. Writers serialise on the ``AuditHead``
row; the entry is written in the caller's transaction, so a rolled-back change leaves
no entry and an entry never exists without its change.
"""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from csoa_portal.context import current_origin
from csoa_portal.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64

# Fields never copied into before/after snapshots.
_SECRET_FIELDS = frozenset({"password", "secret_hash", "key", "token"})


def to_jsonable(value):
    """Normalise a snapshot to plain JSON so the stored copy hashes like the original."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(instance: models.Model, *, fields=None, exclude=()) -> dict:
    """A JSON-ready picture of a model instance for before/after, without secrets."""
    data = model_to_dict(instance, fields=fields, exclude=[*exclude, *_SECRET_FIELDS])
    for key, value in list(data.items()):
        if isinstance(value, models.Model):
            data[key] = value.pk
        elif isinstance(value, (list, tuple)):
            data[key] = [v.pk if isinstance(v, models.Model) else v for v in value]
    if instance.pk is not None:
        data["id"] = instance.pk
    return to_jsonable(data)


def _entry_payload(entry: AuditEntry) -> dict:
    return {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_email": entry.actor_email,
        "organisation_code": entry.organisation_code,
        "via": entry.via,
        "token_id": entry.token_id,
        "session_ref": entry.session_ref,
        "ip_address": entry.ip_address,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }


def compute_hash(entry: AuditEntry) -> str:
    canonical = json.dumps(_entry_payload(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _object_type(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
    organisation_code: str = "",
) -> AuditEntry:
    """Append an entry; call inside the service's transaction."""
    origin = current_origin()
    if obj is not None:
        object_type = object_type or _object_type(obj)
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id, actor_email = actor.pk, actor.email
        organisation_code = (
            organisation_code or origin.organisation_code or (getattr(actor, "primary_organisation_code", "") or "")
        )
    else:
        actor_id, actor_email = None, ""
        organisation_code = organisation_code or origin.organisation_code
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        entry = AuditEntry(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor_id=actor_id,
            actor_email=actor_email,
            organisation_code=organisation_code or "",
            via=origin.via,
            token_id=origin.token_id,
            session_ref=origin.session_ref,
            ip_address=origin.ip_address,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:200],
            before=to_jsonable(before) if before is not None else None,
            after=to_jsonable(after) if after is not None else None,
            prev_hash=head.hash,
        )
        entry.hash = compute_hash(entry)
        entry.save()
        head.seq, head.hash = entry.seq, entry.hash
        head.save(update_fields=["seq", "hash"])
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def verify_chain(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the chain from the first entry; stop at the first inconsistency."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    last = None
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            return ChainReport(
                False, checked, expected_seq, None, f"entry seq={expected_seq} is missing (next found: seq={entry.seq})"
            )
        if entry.prev_hash != prev_hash:
            return ChainReport(False, checked, entry.seq, entry.id, "its prev_hash does not match the previous entry")
        if compute_hash(entry) != entry.hash:
            return ChainReport(False, checked, entry.seq, entry.id, "its content does not match its hash (edited)")
        prev_hash = entry.hash
        expected_seq += 1
        checked += 1
        last = entry
    head = AuditHead.objects.filter(id=1).first()
    head_seq = head.seq if head else 0
    head_hash = head.hash if head else GENESIS_HASH
    last_seq = last.seq if last else 0
    if head_seq != last_seq or head_hash != prev_hash:
        return ChainReport(
            False,
            checked,
            last_seq + 1,
            None,
            f"the chain ends at seq={last_seq} but the head records seq={head_seq} (newest entries removed)",
        )
    return ChainReport(True, checked)
