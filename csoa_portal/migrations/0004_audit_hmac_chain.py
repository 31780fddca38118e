"""Re-key an existing audit chain from plain SHA-256 to HMAC-SHA256 (csoa_portal.audit).

Runs once when upgrading a portal whose log was chained before the key existed: each entry
is first verified under the old scheme (a chain that does not verify is refused, never
blessed), then re-chained under the key. A fresh database has no entries and needs no key.
"""

import hashlib
import hmac

from django.db import migrations

GENESIS_HASH = "0" * 64


def rekey(apps, schema_editor):
    from csoa_portal.audit import canonical_bytes, hmac_key

    AuditEntry = apps.get_model("csoa_portal", "AuditEntry")
    AuditHead = apps.get_model("csoa_portal", "AuditHead")
    entries = AuditEntry.objects.order_by("seq")
    if not entries.exists():
        return
    key = hmac_key()
    first = entries.first()
    if hmac.compare_digest(hmac.new(key, canonical_bytes(first), hashlib.sha256).hexdigest(), first.hash):
        return  # already keyed
    prev_old, prev_new = GENESIS_HASH, GENESIS_HASH
    for expected_seq, entry in enumerate(entries.iterator(chunk_size=2000), start=1):
        if entry.seq != expected_seq or entry.prev_hash != prev_old \
                or hashlib.sha256(canonical_bytes(entry)).hexdigest() != entry.hash:
            raise RuntimeError(
                f"The audit chain does not verify at seq={expected_seq}; refusing to re-key a broken chain. "
                "Investigate with the previous release's verify_audit first."
            )
        prev_old = entry.hash
        entry.prev_hash = prev_new
        entry.hash = hmac.new(key, canonical_bytes(entry), hashlib.sha256).hexdigest()
        AuditEntry.objects.filter(pk=entry.pk).update(prev_hash=entry.prev_hash, hash=entry.hash)
        prev_new = entry.hash
    AuditHead.objects.filter(id=1, hash=prev_old).update(hash=prev_new)


class Migration(migrations.Migration):
    dependencies = [("csoa_portal", "0003_idempotency")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
