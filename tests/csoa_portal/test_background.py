"""The daemon thread that does a commit's follow-up work for many commits at once (csoa_portal.background)."""

import threading
import time

from csoa_portal import background


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker thread did not get to it"
        time.sleep(0.01)


def test_items_added_within_the_delay_are_flushed_together_in_order():
    flushed = []
    worker = background.BatchWorker("test-batch", flushed.append, delay=0.3, setting="AFTER_COMMIT_IN_BACKGROUND")
    for n in range(5):
        worker.add([n])
    _wait_for(lambda: flushed)
    time.sleep(0.1)
    assert flushed == [[0, 1, 2, 3, 4]]
    worker.add([5])
    _wait_for(lambda: len(flushed) == 2)
    assert flushed[1] == [5]


def test_a_failing_flush_is_logged_and_the_thread_goes_on(caplog):
    seen = []

    def flush(items):
        seen.append(items)
        if items == ["bad"]:
            raise RuntimeError("Redis is down")

    worker = background.BatchWorker("test-failing", flush, delay=0.01, setting="AFTER_COMMIT_IN_BACKGROUND")
    worker.add(["bad"])
    _wait_for(lambda: seen)
    worker.add(["good"])
    _wait_for(lambda: len(seen) == 2)
    assert seen == [["bad"], ["good"]]
    assert any("test-failing" in r.getMessage() and "the sweep will do it" in r.getMessage() for r in caplog.records)
    assert sum(t.name == "test-failing" and t.is_alive() for t in threading.enumerate()) == 1


def test_drain_hands_over_what_is_pending_in_the_calling_thread(db):
    """At process exit the pending work is done, not left to the sweep."""
    flushed = []
    worker = background.BatchWorker("test-drain", lambda items: flushed.append((threading.current_thread(), items)),
                                    delay=60, setting="AFTER_COMMIT_IN_BACKGROUND")
    worker.add(["a", "b"])
    worker.drain()
    assert flushed == [(threading.current_thread(), ["a", "b"])]
    worker.drain()
    assert len(flushed) == 1, "nothing pending: nothing flushed"


def test_submit_flushes_in_the_caller_unless_the_workers_setting_turns_the_thread_on(settings):
    """Embedded mode and the tests see a commit's follow-up done when the request returns; production does not wait."""
    flushed = []
    worker = background.BatchWorker("test-submit", lambda items: flushed.append((threading.current_thread(), items)),
                                    delay=0.01, setting="AFTER_COMMIT_IN_BACKGROUND")
    settings.AFTER_COMMIT_IN_BACKGROUND = False
    worker.submit(["now"])
    assert flushed == [(threading.current_thread(), ["now"])]

    settings.AFTER_COMMIT_IN_BACKGROUND = True
    worker.submit(["later"])
    _wait_for(lambda: len(flushed) == 2)
    thread, items = flushed[1]
    assert items == ["later"] and thread is not threading.current_thread() and thread.name == "test-submit"
