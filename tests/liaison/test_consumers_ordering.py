"""Transactions commit out of id order: the stream never skips the event that commits late.

PostgreSQL only (marked ``full``): SQLite serialises writers, so there ids always commit in
order and a hole can never fill later.
"""

import asyncio
import os
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction

from tests.liaison.test_consumers import caught_up, events, open_stream, record, silent

POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")

pytestmark = [
    pytest.mark.full,
    pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL: concurrent writers commit out of id order"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.timeout(60),
]


class _Rollback(Exception):
    pass


class HeldTransaction:
    """Another database connection writes an event, then keeps its transaction open until released."""

    def __init__(self, write):
        self._write = write
        self._written = threading.Event()
        self._finish = threading.Event()
        self._commit = True
        self.event_id = None
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            with transaction.atomic():
                self.event_id = self._write().id
                self._written.set()
                self._finish.wait(30)
                if not self._commit:
                    raise _Rollback
        except _Rollback:
            pass
        except Exception as exc:  # surfaced by the test
            self.error = exc
        finally:
            self._written.set()
            connection.close()

    def __enter__(self):
        self._thread.start()
        assert self._written.wait(10) and self.error is None, self.error
        return self

    def release(self, *, commit: bool = True) -> None:
        self._commit = commit
        self._finish.set()
        self._thread.join(10)
        assert self.error is None, self.error

    def __exit__(self, *exc):
        if self._thread.is_alive():
            self.release(commit=False)


async def test_event_committed_late_with_a_lower_id_is_sent_first_then_the_newer_one(network, token_for):
    de_csirt = network["orgs"]["de-csirt"]
    stream = await open_stream(token=await database_sync_to_async(token_for)(de_csirt, "read"))
    await caught_up(stream)

    from tests.liaison.test_consumers import _record

    with HeldTransaction(lambda: _record(de_csirt, subject_id="1")) as slow:
        fast = await record(de_csirt, subject_id="2")
        assert slow.event_id < fast.id
        # 11 is committed and announced, but 10 may still commit: nothing is sent yet.
        assert await silent(stream, timeout=1.0)
        await asyncio.to_thread(slow.release)

    assert [e["id"] for e in await events(stream, 2)] == [slow.event_id, fast.id]
    assert await silent(stream)
    await stream.disconnect()


async def test_rolled_back_lower_id_does_not_hold_the_stream_back(network, token_for):
    de_csirt = network["orgs"]["de-csirt"]
    stream = await open_stream(token=await database_sync_to_async(token_for)(de_csirt, "read"))
    await caught_up(stream)

    from tests.liaison.test_consumers import _record

    with HeldTransaction(lambda: _record(de_csirt, subject_id="3")) as doomed:
        kept = await record(de_csirt, subject_id="4")
        assert await silent(stream, timeout=0.5)
        await asyncio.to_thread(doomed.release, commit=False)

    # Far sooner than the grace period (10 s): no transaction is left that could fill the hole.
    (received,) = await events(stream, 1, timeout=5)
    assert received["id"] == kept.id
    await stream.disconnect()


async def test_hole_older_than_the_grace_period_is_crossed_even_while_others_write(network, token_for, settings):
    settings.EVENT_GAP_GRACE_SECONDS = 2.0
    de_csirt, pt_csirt = network["orgs"]["de-csirt"], network["orgs"]["pt-csirt"]
    stream = await open_stream(token=await database_sync_to_async(token_for)(de_csirt, "read"))
    await caught_up(stream)

    from tests.liaison.test_consumers import _record

    with HeldTransaction(lambda: _record(de_csirt, subject_id="3")) as doomed:
        await asyncio.to_thread(doomed.release, commit=False)  # a hole
    with HeldTransaction(lambda: _record(pt_csirt, subject_id="5")):  # someone else mid-transaction
        kept = await record(de_csirt, subject_id="4")
        assert await silent(stream, timeout=0.5)  # the hole might still be filled
        (received,) = await events(stream, 1)  # … until the event after it is older than the grace period
        assert received["id"] == kept.id
    await stream.disconnect()
