"""Work a commit hands to a daemon thread of its process, done for many commits at once.

What follows a commit — sealing the audit chain, publishing the new events, queueing the
Blueprint engine's evaluations — need not hold the request: the change is committed, and the
sweep does any of it that a dying process leaves undone (entries unsealed, events with no
``published_at``, incidents with ``evaluated_version < version``). Done by one thread per
process after a short delay, the commits of that delay cost one sealing, one channel-layer
hop with one ``published_at`` update, and one broker message, instead of one each.

Production only: each worker names the setting that turns it on (``AFTER_COMMIT_IN_BACKGROUND``,
``AUDIT_SEAL_IN_BACKGROUND``), and ``submit`` asks it, so a caller never chooses; embedded
mode and the tests do the same work in the request, where its effects can be read as soon
as the request returns.
"""

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

T = TypeVar("T")

_workers: "weakref.WeakSet[BatchWorker]" = weakref.WeakSet()  # drained at exit; a discarded one is forgotten


class BatchWorker(Generic[T]):
    """Items added by any thread, handed in one list to ``flush`` by a daemon thread.

    ``flush`` must not raise for a failure the sweep repairs; if it does, the items are logged
    and dropped (the sweep finds them). The thread starts on first use in each process (after
    a fork too), and what is pending when the process exits normally is flushed then.
    """

    def __init__(self, name: str, flush: Callable[[list[T]], None], *, delay: float, setting: str):
        self.name, self.flush, self.delay, self.setting = name, flush, delay, setting
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._items: list[T] = []
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        _workers.add(self)

    def submit(self, items: Iterable[T] = ()) -> None:
        """Hand ``items`` to the thread when the worker's setting says so; otherwise flush them now, here."""
        if getattr(settings, self.setting):
            self.add(items)
        else:
            self.flush(list(items))

    def add(self, items=()) -> None:
        """Queue ``items`` (none: only wake the thread) and make sure the thread runs."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                if self._pid != os.getpid():
                    self._items = []  # a forked child: its parent flushes its own
                self._pid, self._wakeup = os.getpid(), threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._wakeup,), name=self.name,
                                                daemon=True)
                self._thread.start()
            self._items.extend(items)
        self._wakeup.set()

    def _take(self) -> list[T]:
        with self._lock:
            items, self._items = self._items, []
        return items

    def _run(self, wakeup: threading.Event) -> None:
        while True:
            wakeup.wait()
            time.sleep(self.delay)  # commits meanwhile only add items and set the event again
            wakeup.clear()
            self._flush(self._take())

    def _flush(self, items: list[T]) -> None:
        close_old_connections()  # before and after, as around a request: CONN_MAX_AGE decides
        try:
            self.flush(items)
        except Exception:
            logger.warning("%s: work after commit failed; the sweep will do it", self.name, exc_info=True)
        finally:
            close_old_connections()

    def drain(self) -> None:
        """Flush what is pending now, in the calling thread (process exit, tests)."""
        if self._pid == os.getpid():
            items = self._take()
            if items or self._wakeup.is_set():
                self._wakeup.clear()
                self._flush(items)


@atexit.register
def _drain_all() -> None:
    for worker in _workers:
        try:
            worker.drain()
        except Exception:  # the interpreter is going away; the sweep does the rest
            logger.warning("%s: flushing at exit failed", worker.name, exc_info=True)
