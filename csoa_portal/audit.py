"""The tamper-evident audit log: every write appends one keyed entry, chained after commit.

A writer inserts its entry in its own transaction and takes no shared lock: the entry
carries ``content_hash``, an HMAC of its own content (its id included), so it is keyed from
the moment it exists, and it lives and dies with its change. Right after the commit a sealer
(``seal_pending``, in a short transaction of its own, the only holder of the ``AuditHead``
row) numbers the committed entries without gaps (``seq``) and chains them: each ``hash``
covers the entry's content, its content hash and the previous entry's hash. Editing,
removing or reordering a sealed entry breaks the chain at a point ``verify_chain`` names;
editing an entry still waiting to be sealed breaks its content hash.

The chain's order is the order of sealing, not of ids: an entry committed after one with a
higher id (a longer transaction) is sealed after it. Nothing waits for the sealer: if it is
lost (the process died after the commit), the sweep seals what is left (``seal_audit_log``),
and ``verify_chain`` reports entries waiting longer than ``SEAL_GRACE`` as late.

The hashes are HMAC-SHA256 under a key kept outside the database (``AUDIT_HMAC_KEY`` in
production; a generated file under ``var/`` in embedded and development mode): someone
who can write the database but not read the key cannot edit or insert an entry, sealed or
not, nor recompute the chain after an edit, because every hash they compute fails verification.

Entries record who did what to which object for the whole network, but their content
(``object_repr``, ``before``, ``after``) belongs to the object: ``readable_entry_ids``
tells which entries a viewer may read in full, from read checks the apps register
(``register_read_check``), so this module never imports them.
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from csoa_portal import background, inserts, rows
from csoa_portal.context import current_origin
from csoa_portal.models import AuditEntry, AuditHead

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# An entry waiting longer than this to be sealed means the sealer is not running (sweep down).
SEAL_GRACE = timedelta(minutes=5)
# Entries chained per sealing transaction; after a commit, at most this many batches, so that
# a request never lingers on a backlog or on others' entries (the next commit or the sweep
# seals the rest). Sealers after a commit step aside when another is at work rather than
# queue behind it: measured with bench/audit_writers.py, queueing cost more than it saved.
SEAL_BATCH = 200
SEAL_BATCHES_AFTER_COMMIT = 10
# The background sealer, once woken, lets this long pass before it seals, so that the commits of
# that moment are chained together: a sealing costs about five queries and a transaction whether it
# chains one entry or fifty, and under a crisis load it ran once per report (issue 16). Nobody waits
# for a seal (the entry is committed, and its content hash keyed, before it): a quarter second
# chains five times as many entries per sealing as 50 ms did.
SEAL_DELAY_SECONDS = 0.25

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


# The fields an entry's content consists of (the writer's keyed hash and the chain hash both cover them).
_CONTENT_FIELDS = ("actor_id", "actor_email", "organisation_code", "via", "token_id", "session_ref", "ip_address",
                   "action", "object_type", "object_id", "object_repr", "before", "after")


def _content_fields(entry: AuditEntry) -> dict:
    return {"created_at": entry.created_at.isoformat(), **{name: getattr(entry, name) for name in _CONTENT_FIELDS}}


def _content_payload(entry: AuditEntry) -> dict:
    """What the writer vouches for: the entry's own content, its row id included (a copy is no entry)."""
    return {"id": entry.id, **_content_fields(entry)}


def _entry_payload(entry: AuditEntry) -> dict:
    payload = {"seq": entry.seq, **_content_fields(entry), "prev_hash": entry.prev_hash}
    # Entries sealed after commit (sealed_at set) also chain their content hash and sealing
    # time; entries chained by their writer before that (and the historical model of
    # migration 0004) hash exactly the fields above.
    sealed_at = getattr(entry, "sealed_at", None)
    if sealed_at is not None:
        payload["content_hash"] = entry.content_hash
        payload["sealed_at"] = sealed_at.isoformat()
    return payload


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


def _json_bytes(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_bytes(entry: AuditEntry) -> bytes:
    """The exact bytes an entry's chain hash covers."""
    return _json_bytes(_entry_payload(entry))


def content_bytes(entry: AuditEntry) -> bytes:
    """The exact bytes an entry's content hash covers."""
    return _json_bytes(_content_payload(entry))


def compute_hash(entry: AuditEntry) -> str:
    return hmac.new(hmac_key(), canonical_bytes(entry), hashlib.sha256).hexdigest()


def compute_content_hash(entry: AuditEntry) -> str:
    return hmac.new(hmac_key(), content_bytes(entry), hashlib.sha256).hexdigest()


def _content_hash_matches(entry: AuditEntry) -> bool:
    return bool(entry.content_hash) and hmac.compare_digest(compute_content_hash(entry), entry.content_hash)


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
    entry = AuditEntry(
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
    )
    with transaction.atomic(savepoint=False):  # the caller's transaction, or one of its own
        inserts.insert(entry)
        entry.content_hash = compute_content_hash(entry)  # covers the id, known once inserted
        rows.update(entry, "content_hash")
        _seal_after_commit_once()
    return entry


# --- Sealing: chaining committed entries, one sealer at a time -------------------------------


def _seal_after_commit_once() -> None:
    """Seal once this transaction commits; one sealer per transaction, however many entries it wrote.

    A callback registered earlier in this transaction is discarded only with a savepoint that
    also holds the current write, so finding it is enough. With ``AUDIT_SEAL_IN_BACKGROUND``
    (production) the commit only wakes the process's sealer thread: the request does not wait
    for the chain, and many commits close together cost one sealing.
    """
    connection = transaction.get_connection()
    if any(item[1] is _seal_soon for item in connection.run_on_commit):
        return
    transaction.on_commit(_seal_soon)


# One daemon thread per process seals when a commit wakes it (with its own connection). A process
# that dies while it seals loses nothing: the batch's transaction rolls back and the sweep seals
# the entries.
_background_sealer = background.BatchWorker("audit-sealer", lambda _: _seal_after_commit(),
                                            delay=SEAL_DELAY_SECONDS, setting="AUDIT_SEAL_IN_BACKGROUND")


def _seal_soon() -> None:
    _background_sealer.submit()


def _seal_after_commit() -> None:
    """Never fails the caller: its change and entry are committed; the sweep seals what is left."""
    try:
        seal_pending(max_batches=SEAL_BATCHES_AFTER_COMMIT, wait=False)
    except Exception:
        logger.warning("sealing the audit log after a commit failed; the sweep will seal it", exc_info=True)


def _lock_head(*, wait: bool, using: str) -> AuditHead | None:
    """The chain's head, locked until this transaction ends; None if another sealer holds it and not ``wait``."""
    found = rows.fetch_compiled(("audit: head", wait),
                                lambda: AuditHead.objects.select_for_update(skip_locked=not wait).filter(id=1),
                                using=using)
    if found:
        return found[0]
    if AuditHead.objects.using(using).filter(id=1).exists():
        return None  # locked: that sealer looks for pending entries again after its commit
    AuditHead.objects.using(using).get_or_create(id=1)  # a new or flushed database
    return _lock_head(wait=wait, using=using)


def _pending(batch_size: int, *, using: str) -> list[AuditEntry]:
    """The oldest ``batch_size`` committed entries not chained yet (SQL compiled once: every commit seals)."""
    return rows.fetch_compiled(("audit: pending", batch_size),
                               lambda: AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:batch_size],
                               using=using)


def _any_pending(*, using: str) -> bool:
    return rows.any_row("audit: any pending", lambda: AuditEntry.objects.filter(seq__isnull=True).values("id")[:1],
                        using=using)


def _seal_batch(batch_size: int, *, wait: bool) -> int | None:
    """Chain up to ``batch_size`` committed entries in id order; None if another sealer is at work."""
    using = router.db_for_write(AuditEntry)
    with transaction.atomic(using=using):
        head = _lock_head(wait=wait, using=using)
        if head is None:
            return None
        entries = _pending(batch_size, using=using)
        if not entries:
            return 0
        seq, prev_hash, now = head.seq, head.hash, timezone.now()
        for entry in entries:
            if not _content_hash_matches(entry):
                # Chained as found: verify_chain names it at its seq. Refusing would hide it in the queue.
                logger.error("audit entry id=%s does not match its keyed content hash; sealing it as found, "
                             "verify_audit will name it", entry.id)
            seq += 1
            entry.seq, entry.prev_hash, entry.sealed_at = seq, prev_hash, now
            entry.hash = compute_hash(entry)
            prev_hash = entry.hash
        # One UPDATE by id per entry, sent as one executemany: bulk_update's CASE per field and WHEN per
        # entry was half the sealer's CPU for the single entry a commit usually leaves (issue 16).
        rows.update_many(AuditEntry, using=using, names=_SEAL_FIELDS, where=("id",),
                         rows=[(*(getattr(entry, name) for name in _SEAL_FIELDS), entry.pk) for entry in entries])
        head.seq, head.hash = seq, prev_hash
        rows.update(head, "seq", "hash")
    return len(entries)


_SEAL_FIELDS = ("seq", "prev_hash", "hash", "sealed_at")


def seal_pending(*, batch_size: int = SEAL_BATCH, max_batches: int | None = None, wait: bool = True) -> int:
    """Chain the committed entries waiting to be sealed; returns how many this call sealed.

    Call it outside a transaction: each batch is a short transaction of its own holding the
    head. Entries of transactions still open are invisible here and sealed by a later call.
    With ``wait=False`` a call finding another sealer at work leaves to it: that sealer looks
    for pending entries once more after its commit, so an entry whose own sealer stepped
    aside is not left behind (unless that sealer reached ``max_batches``, which it logs: the
    next commit or the sweep seals it). Safe on any number of processes at once.
    """
    sealed = batches = 0
    while max_batches is None or batches < max_batches:
        count = _seal_batch(batch_size, wait=wait)
        if count is None:
            break
        sealed += count
        batches += 1
        if count < batch_size and not _any_pending(using=router.db_for_write(AuditEntry)):
            break
    else:
        logger.info("audit sealer stopped after %s batches (%s entries); the next commit or the sweep seals the rest",
                    batches, sealed)
    return sealed


def seal_audit_log() -> int:
    """The sweep's job: seal whatever the after-commit sealers left (a process killed after its commit)."""
    return seal_pending()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int  # sealed entries verified along the chain
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    pending: int = 0  # entries waiting to be sealed whose content hash verified
    late: int = 0  # of which waiting longer than SEAL_GRACE: the sealer is not running
    oldest_pending_at: datetime | None = None

    @property
    def where(self) -> str:
        if self.broken_seq is None and self.broken_id is not None:
            return f"id={self.broken_id}, waiting to be sealed"
        return f"seq={self.broken_seq}" + (f" (id={self.broken_id})" if self.broken_id else "")


class _ChainWalk:
    """Walks sealed entries in seq order, carrying the expected seq and previous hash between calls."""

    def __init__(self):
        self.checked = 0
        self.last_seq = 0
        self.prev_hash = GENESIS_HASH

    def over(self, entries, chunk_size: int) -> ChainReport | None:
        for entry in entries.iterator(chunk_size=chunk_size):
            expected_seq = self.last_seq + 1
            if entry.seq != expected_seq:
                return ChainReport(False, self.checked, expected_seq, None,
                                   f"entry seq={expected_seq} is missing (next found: seq={entry.seq})")
            if entry.prev_hash != self.prev_hash:
                return ChainReport(False, self.checked, entry.seq, entry.id,
                                   "its prev_hash does not match the previous entry")
            if not hmac.compare_digest(compute_hash(entry), entry.hash):
                return ChainReport(False, self.checked, entry.seq, entry.id,
                                   "its content does not match its keyed hash (edited, or rehashed without the audit key)")
            if entry.sealed_at is not None and not _content_hash_matches(entry):
                return ChainReport(False, self.checked, entry.seq, entry.id,
                                   "its content does not match the keyed hash it was written with "
                                   "(edited before it was sealed, or written without the audit key)")
            self.prev_hash = entry.hash
            self.last_seq = entry.seq
            self.checked += 1
        return None


def verify_chain(*, chunk_size: int = 2000, grace: timedelta | None = None) -> ChainReport:
    """Walk the chain from the first entry, then the entries waiting to be sealed; stop at the first inconsistency.

    Safe while writers and sealers run: the head is read after the walk, and entries sealed
    in between (the head can only grow) are walked up to it.
    """
    walk = _ChainWalk()
    sealed = AuditEntry.objects.filter(seq__isnull=False).order_by("seq")
    if broken := walk.over(sealed, chunk_size):
        return broken
    head = AuditHead.objects.filter(id=1).first()
    head_seq = head.seq if head else 0
    head_hash = head.hash if head else GENESIS_HASH
    if head_seq > walk.last_seq and (broken := walk.over(sealed.filter(seq__gt=walk.last_seq, seq__lte=head_seq),
                                                          chunk_size)):
        return broken
    if head_seq != walk.last_seq or head_hash != walk.prev_hash:
        why = "newest entries removed" if head_seq > walk.last_seq else "the head was moved"
        return ChainReport(
            False,
            walk.checked,
            walk.last_seq + 1,
            None,
            f"the chain ends at seq={walk.last_seq} but the head records seq={head_seq} ({why})",
        )
    pending = late = 0
    oldest = None
    cutoff = timezone.now() - (SEAL_GRACE if grace is None else grace)
    for entry in AuditEntry.objects.filter(seq__isnull=True).order_by("id").iterator(chunk_size=chunk_size):
        if not _content_hash_matches(entry):
            return ChainReport(False, walk.checked, None, entry.id,
                               "its content does not match the keyed hash it was written with "
                               "(edited, or written without the audit key)", pending=pending)
        pending += 1
        oldest = entry.created_at if oldest is None else min(oldest, entry.created_at)
        late += entry.created_at < cutoff
    return ChainReport(True, walk.checked, pending=pending, late=late, oldest_pending_at=oldest)


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
