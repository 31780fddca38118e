"""The audit log is hash-chained: any edit or removal is detected and named, before and after sealing."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from csoa_portal import audit
from csoa_portal.context import origin
from csoa_portal.models import AuditEntry
from liaison import services


@pytest.fixture
def audited_writes(network):
    """Real writes through the services: the network fixture plus a few more."""
    admin = network["people"]["enisa_admin"]
    org = services.create_organisation(actor=admin, code="nl-csirt", name="NCSC-NL", kind="national_csirt",
                                       member_state=network["orgs"]["de-csirt"].member_state)
    services.update_organisation(actor=admin, organisation=org, name="NCSC Netherlands", kind="national_csirt",
                                 member_state=org.member_state)
    audit.seal_pending()  # the test's transaction never commits: seal as the after-commit sealer would
    return AuditEntry.objects.count()


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_verify_audit_passes_on_real_writes(audited_writes, capsys):
    assert audited_writes > 10
    call_command("verify_audit")
    assert f"{audited_writes} entries verified" in capsys.readouterr().out


def test_verify_audit_fails_naming_an_edited_entry(audited_writes):
    victim = AuditEntry.objects.order_by("seq")[3]
    _raw(f"UPDATE {AuditEntry._meta.db_table} SET actor_email = %s WHERE id = %s", ["mallory@evil.example", victim.id])
    with pytest.raises(CommandError, match=rf"seq={victim.seq} \(id={victim.id}\).*edited"):
        call_command("verify_audit")


def test_verify_audit_fails_when_a_middle_entry_is_deleted(audited_writes):
    victim = AuditEntry.objects.order_by("seq")[2]
    _raw(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [victim.id])
    with pytest.raises(CommandError, match=rf"seq={victim.seq}.*missing"):
        call_command("verify_audit")


def test_verify_audit_fails_when_the_newest_entry_is_deleted(audited_writes):
    newest = AuditEntry.objects.order_by("-seq").first()
    _raw(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [newest.id])
    with pytest.raises(CommandError, match="newest entries removed"):
        call_command("verify_audit")


def test_verify_audit_fails_when_entries_are_rehashed_out_of_order(audited_writes):
    """Swapping the content of two entries (keeping their hashes) breaks the chain."""
    entries = list(AuditEntry.objects.order_by("seq"))
    first = entries[0]
    second = next(e for e in entries if e.action != first.action)
    _raw(f"UPDATE {AuditEntry._meta.db_table} SET action = %s WHERE id = %s", [second.action, first.id])
    _raw(f"UPDATE {AuditEntry._meta.db_table} SET action = %s WHERE id = %s", [first.action, second.id])
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit")


def test_audit_entry_records_origin_and_before_after(network):
    admin = network["people"]["enisa_admin"]
    org = network["orgs"]["fr-csirt"]
    with origin(via="token", token_id=42, ip_address="192.0.2.1", organisation_code="enisa"):
        services.update_organisation(actor=admin, organisation=org, name="ANSSI CERT-FR", kind=org.kind,
                                     member_state=org.member_state)
    entry = AuditEntry.objects.get(action="organisation.updated", object_id=str(org.pk))
    assert (entry.actor_email, entry.via, entry.token_id, entry.ip_address) == (admin.email, "token", 42, "192.0.2.1")
    assert entry.before["name"] == "CERT-FR" and entry.after["name"] == "ANSSI CERT-FR"
    assert entry.object_type == "liaison.organisation"


def test_a_rolled_back_write_leaves_no_audit_entry(network):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(actor=None, action="test.write", object_type="test", object_id="1")
        raise RuntimeError("the change fails after auditing")
    assert AuditEntry.objects.count() == before
    call_command("verify_audit")


# --- Keyed when written, chained after commit ---------------------------------------------------


def _record(action="test.write", object_id="1"):
    return audit.record(actor=None, action=action, object_type="test", object_id=object_id)


def test_entries_wait_keyed_until_the_sealer_chains_them_in_id_order(network):
    waiting = AuditEntry.objects.filter(seq__isnull=True).count()  # the test's transaction never commits
    sealed = AuditEntry.objects.count() - waiting
    assert waiting > 10
    report = audit.verify_chain()
    assert (report.ok, report.checked, report.pending, report.late) == (True, sealed, waiting, 0)

    assert audit.seal_pending(batch_size=7) == waiting  # several batches, each a transaction of its own
    report = audit.verify_chain()
    assert (report.ok, report.checked, report.pending) == (True, sealed + waiting, 0)
    assert list(AuditEntry.objects.order_by("seq").values_list("id", flat=True)) == list(
        AuditEntry.objects.order_by("id").values_list("id", flat=True))
    assert audit.seal_pending() == 0


def test_one_sealer_runs_after_each_commit_however_many_entries_it_wrote(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            entries = [_record(object_id=str(n)) for n in range(3)]
            assert all(AuditEntry.objects.get(pk=e.pk).seq is None for e in entries), "no chaining before the commit"
    assert [c for c in callbacks if c is audit._seal_soon] == [audit._seal_soon]
    assert all(AuditEntry.objects.get(pk=e.pk).seq is not None for e in entries)
    assert audit.verify_chain().pending == 0


def test_a_failing_sealer_fails_no_write_and_the_sweep_seals_what_it_left(db, django_capture_on_commit_callbacks,
                                                                           monkeypatch, caplog):
    from csoa_portal import sweep

    def killed(**kwargs):
        raise RuntimeError("the process died after its commit")

    monkeypatch.setattr(audit, "seal_pending", killed)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            entry = _record()
    assert "the sweep will seal it" in caplog.text
    assert AuditEntry.objects.get(pk=entry.pk).seq is None
    monkeypatch.undo()

    assert sweep._jobs["seal_audit_log"] is audit.seal_audit_log
    assert audit.seal_audit_log() >= 1
    assert AuditEntry.objects.get(pk=entry.pk).seq is not None and audit.verify_chain().ok


def test_verify_audit_fails_naming_an_edited_entry_waiting_to_be_sealed(network):
    victim = AuditEntry.objects.filter(seq__isnull=True).order_by("id")[3]
    _raw(f"UPDATE {AuditEntry._meta.db_table} SET action = %s WHERE id = %s", ["tampered", victim.id])
    with pytest.raises(CommandError, match=rf"id={victim.id}, waiting to be sealed.*edited"):
        call_command("verify_audit")


def test_verify_audit_fails_when_an_entry_is_copied(network):
    """A copy carries a valid content hash of another row: the id it covers gives it away."""
    original = AuditEntry.objects.filter(seq__isnull=True).order_by("id")[2]
    copy = AuditEntry.objects.get(pk=original.pk)
    copy.pk = None
    copy.save()
    with pytest.raises(CommandError, match=rf"id={copy.pk}, waiting to be sealed.*edited"):
        call_command("verify_audit")


def test_verify_audit_fails_when_a_forged_entry_was_sealed(network):
    """The sealer chains what it finds (a forged entry stuck in its queue would hide it); verification names it."""
    forged = AuditEntry.objects.create(created_at=timezone.now(), via="system", action="person.deleted",
                                       object_type="liaison.user", object_id="1", content_hash="0" * 64)
    audit.seal_pending()
    forged.refresh_from_db()
    assert forged.seq is not None
    with pytest.raises(CommandError, match=rf"seq={forged.seq} \(id={forged.id}\).*written without the audit key"):
        call_command("verify_audit")


def test_verify_audit_fails_when_entries_wait_too_long_to_be_sealed_and_seal_audit_seals_them(network, monkeypatch,
                                                                                               capsys):
    monkeypatch.setattr(audit, "SEAL_GRACE", timedelta(0))
    waiting = AuditEntry.objects.filter(seq__isnull=True).count()
    with pytest.raises(CommandError, match=rf"{waiting} entries have waited more than 0 minutes.*sweep is not running"):
        call_command("verify_audit")
    call_command("seal_audit")
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert f"Sealed {waiting} audit entries." in out and "Audit chain intact" in out


def test_verify_audit_counts_entries_waiting_to_be_sealed(network, capsys):
    waiting = AuditEntry.objects.filter(seq__isnull=True).count()
    call_command("verify_audit")
    assert f"{waiting} more waiting to be sealed, their content verified" in capsys.readouterr().out
