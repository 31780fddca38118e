"""The audit chain, verified over everything the suite writes.

A test database keeps nothing between tests (each test is rolled back, or flushed when it
commits), so a check once the suite has finished would find an empty log. Instead this
conftest registers a plugin for the whole session, for every test of every folder: after
each test that used the database, and before its data is rolled back or flushed, the
audit log that test wrote on top of the migrated database is verified as the test left it
(``csoa_portal.audit.verify_chain``, what ``manage.py verify_audit`` runs: the chain and the
keyed content of entries waiting to be sealed), then sealed (a test's own transaction never
commits, so its after-commit sealer never ran) and verified again as one chain. A broken chain
fails that test's teardown, naming the first broken entry; the terminal summary says how
many tests' chains (and entries) were verified.

The plugin is active whenever this folder is collected, as in the full run of CI.
"""

from dataclasses import dataclass, field

import pytest
from pytest_django.plugin import blocking_manager_key

from csoa_portal.audit import seal_pending, verify_chain  # bound now: a test may monkeypatch the module's names

# Tests that break the chain on purpose, to prove that the verification notices.
DELIBERATELY_BROKEN = (
    "tests/csoa_portal/test_audit_chain.py::test_verify_audit_fails_",
    "tests/liaison/test_audit_browser.py::test_verify_chain_button_reports_intact_and_broken_chains",
    "tests/security/test_audit_chain_plugin.py::test_a_tampered_entry_is_caught",
)
DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


class AuditChainBroken(AssertionError):
    pass


def verify_audit_chain() -> int:
    """The number of entries verified once all are sealed; raises AuditChainBroken naming the first broken entry."""
    report = verify_chain()
    if report.ok:
        seal_pending()
        report = verify_chain()
    if not report.ok:
        raise AuditChainBroken(f"audit chain broken at entry {report.where}: {report.reason}")
    return report.checked


@dataclass(eq=False)  # a plugin object must stay hashable
class AuditChainPlugin:
    tests: int = 0
    entries: int = 0
    unreadable: list = field(default_factory=list)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        """Before the test's fixtures are torn down (and its data rolled back or flushed)."""
        broken = None
        if self._uses_database(item) and not item.nodeid.startswith(DELIBERATELY_BROKEN):
            try:
                self._verify(item)
            except AuditChainBroken as exc:
                broken = exc  # raised once the fixtures are torn down, so the next test starts clean
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001
                # The test left no readable database (a fault test cut it, its transaction is
                # aborted, a browser loop holds the thread): nothing to verify, nothing to report.
                self.unreadable.append((item.nodeid, type(exc).__name__))
        result = yield
        if broken is not None:
            raise broken
        return result

    @staticmethod
    def _uses_database(item) -> bool:
        return bool(item.get_closest_marker("django_db")) or bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))

    def _verify(self, item) -> None:
        with item.config.stash[blocking_manager_key].unblock():
            checked = verify_audit_chain()
        self.tests += 1
        self.entries += checked

    def pytest_sessionfinish(self, session):
        """A pytest-xdist worker hands its counts to the controller, which prints the summary."""
        if hasattr(session.config, "workeroutput"):
            session.config.workeroutput["audit_chain"] = [self.tests, self.entries, self.unreadable]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        tests, entries, unreadable = getattr(node, "workeroutput", {}).get("audit_chain", (0, 0, []))
        self.tests += tests
        self.entries += entries
        self.unreadable += unreadable

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line(
            f"audit chain verified after {self.tests} tests that used the database "
            f"({self.entries} entries in all; {len(self.unreadable)} left no readable database)"
        )


def register(config) -> None:
    """On each process that runs tests, and on a pytest-xdist controller (tests/conftest.py), which runs none
    but sums the workers' counts."""
    if not config.pluginmanager.has_plugin("audit-chain-after-each-test"):
        config.pluginmanager.register(AuditChainPlugin(), "audit-chain-after-each-test")


def pytest_configure(config):
    register(config)
