"""The audit chain is keyed: whoever can write the database cannot rewrite it.

The hashes are HMAC-SHA256 under a key outside the database. An attacker who edits an
entry and recomputes every later hash (with plain SHA-256, or with a key of their own)
is caught at the edited entry by ``verify_audit`` and the /audit/ chain report. Each
attack runs in a savepoint rolled back before the test ends, leaving the chain intact.
"""

import hashlib
import hmac
import os
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from csoa_portal import audit
from csoa_portal.models import AuditEntry, AuditHead
from liaison import services


class _Undo(Exception):
    pass


@pytest.fixture
def audited_writes(network):
    admin = network["people"]["enisa_admin"]
    services.update_organisation(actor=admin, organisation=network["orgs"]["pt-csirt"], name="CERT.PT renamed",
                                 kind="national_csirt", member_state=network["orgs"]["pt-csirt"].member_state)
    audit.seal_pending()  # the test's transaction never commits: seal as the after-commit sealer would
    return AuditEntry.objects.count()


def _rewrite_from(victim_seq: int, digest, *, edit=True, legacy=False):
    """Edit one entry, then recompute its keyed hashes and every later one's (and the head) with ``digest``.

    ``legacy``: as chained before entries carried a content hash (and were sealed by their writer).
    """
    prev = None
    for entry in AuditEntry.objects.order_by("seq"):
        if entry.seq < victim_seq:
            prev = entry.hash
            continue
        if entry.seq == victim_seq and edit:
            entry.actor_email = "mallory@evil.example"
        if legacy:
            entry.content_hash, entry.sealed_at = "", None
        else:
            entry.content_hash = digest(audit.content_bytes(entry))
        entry.prev_hash = prev or audit.GENESIS_HASH
        entry.hash = digest(audit.canonical_bytes(entry))
        AuditEntry.objects.filter(pk=entry.pk).update(actor_email=entry.actor_email, prev_hash=entry.prev_hash,
                                                       hash=entry.hash, content_hash=entry.content_hash,
                                                       sealed_at=entry.sealed_at)
        prev = entry.hash
        last_seq = entry.seq
    AuditHead.objects.filter(id=1).update(seq=last_seq, hash=prev)


def _plain_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _attackers_key(data: bytes) -> str:
    return hmac.new(b"a key the attacker chose", data, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("digest", [_plain_sha256, _attackers_key], ids=["plain-sha256", "attackers-key"])
def test_verify_audit_detects_an_edit_with_every_later_hash_recomputed(audited_writes, digest):
    victim = AuditEntry.objects.order_by("seq")[3]
    with pytest.raises(_Undo), transaction.atomic():
        _rewrite_from(victim.seq, digest)
        with pytest.raises(CommandError, match=rf"seq={victim.seq} \(id={victim.id}\).*audit key"):
            call_command("verify_audit")
        raise _Undo
    assert audit.verify_chain().ok  # the savepoint undid the attack


def test_audit_page_chain_report_detects_the_rehashed_edit(network, audited_writes, login):
    client = login(network["people"]["enisa_admin"])
    victim = AuditEntry.objects.order_by("seq")[2]
    with pytest.raises(_Undo), transaction.atomic():
        _rewrite_from(victim.seq, _plain_sha256)
        report = client.post(reverse("audit:verify")).context["report"]
        assert not report.ok and report.broken_seq == victim.seq
        raise _Undo


def test_the_same_chain_rehashed_with_the_real_key_verifies(audited_writes):
    """The control: only the key makes a rewrite pass, so the key is what protects the log."""
    key = audit.hmac_key()
    with pytest.raises(_Undo), transaction.atomic():
        _rewrite_from(2, lambda data: hmac.new(key, data, hashlib.sha256).hexdigest())
        assert audit.verify_chain().ok
        raise _Undo


def test_embedded_mode_generates_a_private_key_file_once(tmp_path):
    path = tmp_path / "var" / "audit_hmac.key"
    with override_settings(AUDIT_HMAC_KEY="", AUDIT_HMAC_KEY_FILE=path):
        first = audit.hmac_key()
        assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
        audit._key_cache.clear()
        assert audit.hmac_key() == first and len(first) >= 32
    other = tmp_path / "other.key"
    with override_settings(AUDIT_HMAC_KEY="", AUDIT_HMAC_KEY_FILE=other):
        assert audit.hmac_key() != first  # each installation its own key


def test_the_environment_key_takes_precedence_over_the_file(tmp_path):
    with override_settings(AUDIT_HMAC_KEY="k" * 48, AUDIT_HMAC_KEY_FILE=tmp_path / "unused.key"):
        assert audit.hmac_key() == b"k" * 48
    assert not (tmp_path / "unused.key").exists()


def test_a_legacy_sha256_chain_is_rekeyed_by_the_migration_and_a_broken_one_refused(audited_writes):
    from importlib import import_module

    from django.apps import apps

    rekey = import_module("csoa_portal.migrations.0004_audit_hmac_chain").rekey
    with pytest.raises(_Undo), transaction.atomic():
        _rewrite_from(1, _plain_sha256, edit=False, legacy=True)  # the chain of an installation from before the key
        assert not audit.verify_chain().ok
        rekey(apps, None)
        assert audit.verify_chain().ok
        raise _Undo
    with pytest.raises(_Undo), transaction.atomic():
        _rewrite_from(1, _plain_sha256, edit=False, legacy=True)
        AuditEntry.objects.filter(seq=2).update(actor_email="mallory@evil.example")  # edited after hashing
        with pytest.raises(RuntimeError, match="seq=2; refusing to re-key a broken chain"):
            rekey(apps, None)
        raise _Undo
