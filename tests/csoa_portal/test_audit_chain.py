"""The audit log is hash-chained: any edit or removal is detected and named."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

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
