"""The audit-chain check that runs after every test (tests/security/conftest.py) catches tampering."""

import pytest
from django.db import connection

from csoa_portal import audit
from csoa_portal.models import AuditEntry
from tests.security.conftest import AuditChainBroken, AuditChainPlugin, verify_audit_chain


def test_the_check_is_registered_for_the_whole_session(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("audit-chain-after-each-test")

    assert isinstance(plugin, AuditChainPlugin)


def test_the_entries_of_real_writes_verify(network):
    assert verify_audit_chain() == AuditEntry.objects.count() > 10


def test_a_tampered_entry_is_caught(network):
    audit.seal_pending()
    entry = AuditEntry.objects.order_by("seq")[3]
    with connection.cursor() as cursor:  # what an attacker with database access would do
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET actor_email = %s WHERE id = %s",
                       ["someone-else@example.eu", entry.pk])

    with pytest.raises(AuditChainBroken, match=f"seq={entry.seq}.*edited"):
        verify_audit_chain()


def test_a_tampered_entry_is_caught_before_it_is_sealed(network):
    entry = AuditEntry.objects.filter(seq__isnull=True).order_by("id")[3]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET actor_email = %s WHERE id = %s",
                       ["someone-else@example.eu", entry.pk])

    with pytest.raises(AuditChainBroken, match=rf"id={entry.pk}, waiting to be sealed.*edited"):
        verify_audit_chain()
