"""The audit chain is no lock every write holds: writers append keyed entries, a sealer chains them after commit.

On the real PostgreSQL test database, with writers on connections of their own: a writer
does not wait for another writer's open transaction; a process killed between its commit
and the sealing leaves entries waiting (keyed, verified, not a broken chain) that the sweep
seals; many writers at once leave nothing unsealed and one gapless chain.
"""

import logging
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from csoa_portal import audit
from csoa_portal.models import AuditEntry
from csoa_portal.sweep import run_sweep
from tests.fault.conftest import needs_full_mode
from tests.fault.workers import process_env

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

# A portal process that commits three audited writes and is SIGKILLed right after its COMMIT,
# before its after-commit sealer runs (on-commit callbacks run in the order they were registered).
KILLED_AFTER_COMMIT = """
import os, signal
import django
django.setup()
from django.db import transaction
from csoa_portal import audit
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
    for n in range(3):
        audit.record(actor=None, action="test.killed_after_commit", object_type="test", object_id=str(n))
"""


def _record(action: str, object_id: str = "1") -> AuditEntry:
    return audit.record(actor=None, action=action, object_type="test", object_id=object_id)


def test_entries_of_a_process_killed_after_its_commit_wait_unbroken_until_the_sweep_seals_them(
        broker, db_session_url):
    _record("test.before")  # committed and sealed by its own after-commit sealer
    sealed = AuditEntry.objects.get(action="test.before").seq
    assert sealed is not None

    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT], timeout=60, capture_output=True, text=True,
                            env=process_env(broker=broker, database_url=db_session_url))
    assert killed.returncode == -9, killed.stderr

    waiting = list(AuditEntry.objects.filter(action="test.killed_after_commit").order_by("id"))
    assert len(waiting) == 3 and all(e.seq is None and e.content_hash for e in waiting), "committed, not sealed"
    report = audit.verify_chain()
    assert (report.ok, report.checked, report.pending, report.late) == (True, sealed, 3, 0)

    # Unsealed is not unprotected: an edit of a waiting entry's content is caught and named.
    victim = waiting[1]
    AuditEntry.objects.filter(pk=victim.pk).update(object_id="forged")
    report = audit.verify_chain()
    assert not report.ok and report.broken_id == victim.pk and report.broken_seq is None
    assert "waiting to be sealed" in report.where and "edited" in report.reason
    AuditEntry.objects.filter(pk=victim.pk).update(object_id=victim.object_id)

    assert run_sweep()["seal_audit_log"] == 3
    report = audit.verify_chain()
    assert (report.ok, report.checked, report.pending) == (True, sealed + 3, 0)
    assert [e.seq for e in AuditEntry.objects.filter(action="test.killed_after_commit").order_by("id")] == [
        sealed + 1, sealed + 2, sealed + 3]


def test_a_writer_does_not_wait_for_another_writers_open_transaction():
    first_recorded, release_first = threading.Event(), threading.Event()
    failures = []

    def first_writer():
        try:
            with transaction.atomic():
                _record("test.first")
                first_recorded.set()
                assert release_first.wait(30)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            failures.append(exc)
        finally:
            connection.close()

    before = audit.verify_chain().checked
    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert first_recorded.wait(30)
        with transaction.atomic():
            with connection.cursor() as cursor:  # a lock the first writer held would fail this write, not stall it
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            second = _record("test.second")
        # Committed (and sealed) while the first writer's transaction is still open.
        assert AuditEntry.objects.get(pk=second.pk).seq is not None
    finally:
        release_first.set()
        thread.join(30)
    assert not failures, failures

    first = AuditEntry.objects.get(action="test.first")
    second = AuditEntry.objects.get(pk=second.pk)
    # The chain's order is the order of commits (of sealing), not of ids.
    assert first.id < second.id and first.seq > second.seq
    report = audit.verify_chain()
    assert (report.ok, report.checked - before, report.pending) == (True, 2, 0)


def test_many_concurrent_writers_leave_nothing_unsealed_and_one_gapless_chain(caplog):
    caplog.set_level(logging.INFO, logger="csoa_portal.audit")
    writers, transactions, entries_each = 6, 15, 2

    def write(writer: int) -> None:
        try:
            for n in range(transactions):
                with transaction.atomic():
                    for k in range(entries_each):
                        _record("test.concurrent", f"{writer}-{n}-{k}")
        finally:
            connection.close()

    before = audit.verify_chain().checked
    started = time.monotonic()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    assert time.monotonic() - started < 60

    # No sweep ran: the after-commit sealers alone chained every entry; one stepped aside only for
    # another that looked again after its commit (unless that one reached its cap, which it says).
    if "audit sealer stopped after" not in caplog.text:
        assert not AuditEntry.objects.filter(seq__isnull=True).exists()
    audit.seal_pending()
    report = audit.verify_chain()
    assert (report.ok, report.checked - before, report.pending) == (True, writers * transactions * entries_each, 0)
    assert "sealing the audit log after a commit failed" not in caplog.text


def test_in_production_a_commit_wakes_the_sealer_thread_and_the_writer_does_not_seal(settings):
    settings.AUDIT_SEAL_IN_BACKGROUND = True
    with CaptureQueriesContext(connection) as writer_queries:
        entry = _record("test.background")
    assert not any("audithead" in q["sql"] for q in writer_queries.captured_queries), \
        "the committing thread sealed the chain itself"
    deadline = time.monotonic() + 10
    while AuditEntry.objects.get(pk=entry.pk).seq is None:
        assert time.monotonic() < deadline, "the sealer thread did not seal the committed entry"
        time.sleep(0.05)
    assert any(t.name == "audit-sealer" and t.is_alive() for t in threading.enumerate())
    report = audit.verify_chain()
    assert report.ok and report.pending == 0, report


def test_in_production_commits_close_together_are_chained_in_one_sealing(settings, monkeypatch):
    """The sealer thread waits SEAL_DELAY_SECONDS once woken: a burst of reports costs one sealing, not one each."""
    settings.AUDIT_SEAL_IN_BACKGROUND = True
    monkeypatch.setattr(audit._background_sealer, "delay", 0.5)  # the burst below fits it on a loaded machine too
    audit.seal_pending()
    entries = [_record("test.burst", str(n)) for n in range(5)]  # five commits, each waking the sealer
    ids = [entry.pk for entry in entries]
    deadline = time.monotonic() + 10
    while AuditEntry.objects.filter(pk__in=ids, seq__isnull=True).exists():
        assert time.monotonic() < deadline, "the sealer thread did not seal the committed entries"
        time.sleep(0.05)
    sealings = set(AuditEntry.objects.filter(pk__in=ids).values_list("sealed_at", flat=True))
    assert len(sealings) == 1, f"{len(sealings)} sealings for five commits made within the sealer's delay"
    assert audit.verify_chain().ok
