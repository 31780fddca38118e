"""Benchmark: concurrent audited writers, next to the same transactions unaudited.

    .venv/bin/python bench/audit_writers.py --size small|full

Full mode only (PostgreSQL; ``BENCH_DATABASE_NAME``, default csoa_bench_audit_writers).
Eight writer threads, each with its own connection, run transactions that append one audit
entry (``csoa_portal.audit.record``) and then hold the transaction open for 20 ms, standing
for the rest of a service's work (its other rows, the Event, building the answer). Measured:
each transaction from BEGIN until its after-commit callbacks (the sealer among them) are
done, and the writers' throughput. Baseline: the same transactions without the audit entry.
For comparison, the previous design is emulated: the chain's head row locked in the writer's
transaction until its commit, which made every audited write wait for every other.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_audit_writers")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZES = {"small": {"writers": 8, "transactions": 15}, "full": {"writers": 8, "transactions": 60}}
HOLD = 0.020  # seconds each transaction stays open after its audit entry


def run_writers(writers: int, transactions: int, body) -> tuple[list[float], float]:
    """Per-transaction seconds (BEGIN to after-commit callbacks done) and the wall time of all writers."""
    from django.db import connection, transaction

    samples: list[float] = []
    lock = threading.Lock()
    start_line = threading.Barrier(writers)

    def writer(n: int) -> None:
        try:
            start_line.wait()
            for i in range(transactions):
                began = time.perf_counter()
                with transaction.atomic():
                    body(n, i)
                    time.sleep(HOLD)
                took = time.perf_counter() - began
                with lock:
                    samples.append(took)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    args = parser.parse_args()
    writers, transactions = SIZES[args.size]["writers"], SIZES[args.size]["transactions"]

    common.setup_django()
    from django.db import connection

    from csoa_portal import audit
    from csoa_portal.models import AuditHead

    def audited(n, i):
        audit.record(actor=None, action="bench.write", object_type="bench", object_id=f"{n}-{i}")

    def head_locked(n, i):  # the previous design: the head row held until the commit
        AuditHead.objects.select_for_update().get_or_create(id=1)
        audited(n, i)

    def unaudited(n, i):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    # The database is this benchmark's own; an earlier run's entries may be under another clone's audit key.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE csoa_portal_auditentry, csoa_portal_audithead")
    common.progress(f"{writers} writers × {transactions} transactions, each held {HOLD * 1000:.0f} ms")
    count = writers * transactions
    baseline, baseline_wall = run_writers(writers, transactions, unaudited)
    samples, wall = run_writers(writers, transactions, audited)
    previous, previous_wall = run_writers(writers, transactions, head_locked)
    audit.seal_pending()
    report = audit.verify_chain()
    assert report.ok and report.pending == 0, report

    rows = [
        common.summary(f"audited transaction, {writers} concurrent writers", samples, baseline),
        common.rate_row(f"audited transactions per second, {writers} writers", count, wall, count, baseline_wall),
        common.summary(f"previous design (head row locked until commit), {writers} writers", previous, baseline),
        common.rate_row(f"previous design: transactions per second, {writers} writers", count, previous_wall,
                        count, baseline_wall),
    ]
    title = (f"Concurrent audited writers ({args.size}; each transaction held {HOLD * 1000:.0f} ms; "
             "baseline = the same transactions without an audit entry)")
    common.print_table(title, rows)
    print(f"\nAudit chain verified: {report.checked} entries sealed, none waiting.")
    path = common.write_results(f"audit_writers_{args.size}", {"title": title, "rows": rows})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
