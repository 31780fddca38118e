"""The tamper-evident audit log: every write appends one hash-chained entry.

Each entry's hash covers its content and the previous entry's hash, and entries are
numbered without gaps (``seq``), so editing, removing or reordering any entry breaks
the chain at a point ``verify_chain`` names. Writers serialise on the ``AuditHead``
row; the entry is written in the caller's transaction, so a rolled-back change leaves
no entry and an entry never exists without its change.

The hashes are HMAC-SHA256 under a key kept outside the database (``AUDIT_HMAC_KEY`` in
production; a generated file under ``var/`` in embedded and development mode): someone
who can write the database but not read the key cannot edit an entry and recompute the
chain after it, because every hash they compute fails verification.

Entries record who did what to which object for the whole network, but their content
(``object_repr``, ``before``, ``after``) belongs to the object: ``readable_entry_ids``
tells which entries a viewer may read in full, from read checks the apps register
(``register_read_check``), so this module never imports them.
"""

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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


_key_cache: dict[str, bytes] = {}


def _read_or_create_key_file(path: Path) -> bytes:
    """The embedded-mode key: created once, readable by the portal's user only (0600)."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")  # mkstemp creates it 0600
    try:
        os.write(fd, secrets.token_hex(32).encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)  # atomic and refuses to replace: concurrent first uses agree on one key
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_bytes().strip()


def hmac_key() -> bytes:
    """The chain's key: ``AUDIT_HMAC_KEY`` if set (required in production), else the key file."""
    configured = getattr(settings, "AUDIT_HMAC_KEY", "")
    if configured:
        return configured.encode("utf-8")
    path = Path(settings.AUDIT_HMAC_KEY_FILE)
    cache_key = str(path)
    if cache_key not in _key_cache:
        key = _read_or_create_key_file(path)
        if len(key) < 32:
            raise ImproperlyConfigured(f"The audit key file {path} is too short; remove it to generate a new one.")
        _key_cache[cache_key] = key
    return _key_cache[cache_key]


def canonical_bytes(entry: AuditEntry) -> bytes:
    """The exact bytes an entry's hash covers."""
    return json.dumps(_entry_payload(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_hash(entry: AuditEntry) -> str:
    return hmac.new(hmac_key(), canonical_bytes(entry), hashlib.sha256).hexdigest()


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
            return ChainReport(
                False, checked, entry.seq, entry.id,
                "its content does not match its keyed hash (edited, or rehashed without the audit key)",
            )
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


# --- Who may read an entry's content ------------------------------------------------------
#
# Actor, action, object reference and time of every entry are shown to whoever may browse
# the log; the content (object_repr, before, after) only to those who may read the object.

# object type ("app_label.model_name") -> function(user, object ids) -> the ids the user may read.
ReadCheck = Callable[[object, set[str]], set[str]]
_read_checks: dict[str, ReadCheck] = {}
_guarded_apps: set[str] = set()

REDACTED = "[redacted: you may not read this object]"


def register_read_check(object_type: str, check: ReadCheck) -> None:
    """Apps say who may read the content of their objects' audit entries (from AppConfig.ready)."""
    _read_checks[object_type.lower()] = check
    _guarded_apps.add(object_type.split(".", 1)[0].lower())


def guard_app(app_label: str) -> None:
    """Entries of this app's object types without a read check are redacted for everyone (fail closed)."""
    _guarded_apps.add(app_label.lower())


def numeric_ids(ids: Iterable[str]) -> list[int]:
    return [int(i) for i in ids if str(i).isdigit()]


def via_parent(object_type: str, parent_field: str, parent_check: ReadCheck) -> ReadCheck:
    """A child's content is readable by those who may read its parent (one query for all ids).

    ``parent_field`` is the child's foreign-key column, e.g. ``incident_id``. The model is
    looked up by label when asked, so the registering app needs no import here.
    """

    def check(user, ids: set[str]) -> set[str]:
        model = apps.get_model(object_type)
        pairs = list(model._default_manager.filter(pk__in=numeric_ids(ids)).values_list("pk", parent_field))
        readable_parents = parent_check(user, {str(parent) for _, parent in pairs if parent is not None})
        return {str(pk) for pk, parent in pairs if str(parent) in readable_parents}

    return check


def readable_object_ids(user, object_type: str, ids: set[str]) -> set[str]:
    object_type = (object_type or "").lower()
    check = _read_checks.get(object_type)
    if check is not None:
        return set(check(user, set(ids)))
    if object_type.split(".", 1)[0] in _guarded_apps:
        return set()  # an unregistered type of an app that guards its content: nobody reads it here
    return set(ids)  # network and account records: readable by whoever may browse the log


def readable_entry_ids(user, entries: Iterable[AuditEntry]) -> set[int]:
    """Which of these entries the user may read in full; one check per object type."""
    by_type: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        by_type.setdefault((entry.object_type or "").lower(), []).append(entry)
    readable: set[int] = set()
    for object_type, group in by_type.items():
        if not object_type:
            readable.update(e.id for e in group)
            continue
        ids = readable_object_ids(user, object_type, {e.object_id for e in group})
        readable.update(e.id for e in group if e.object_id in ids)
    return readable


def redact(entry: AuditEntry) -> AuditEntry:
    """Blank an entry's content in memory for display (never saved: the chain stays intact)."""
    entry.redacted = True
    entry.object_repr = REDACTED
    entry.before = None if entry.before is None else REDACTED
    entry.after = None if entry.after is None else REDACTED
    return entry


def redact_unreadable(user, entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    entries = list(entries)
    readable = readable_entry_ids(user, entries)
    for entry in entries:
        if entry.id in readable:
            entry.redacted = False
        else:
            redact(entry)
    return entries
