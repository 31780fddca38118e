"""PostgreSQL connections dropped under a running portal: 503 with a clear message, no half-written incident, recovery.

The portal runs as deployed, under uvicorn in a subprocess, with persistent connections
(``DATABASE_CONN_MAX_AGE``) so that recovery relies on Django's health checks and not on a
fresh connection per request. Its PostgreSQL backends carry their own ``application_name``;
the test cuts exactly those with ``pg_terminate_backend`` (the machine's PostgreSQL itself is
never restarted). To cut a request *inside* its transaction, the test holds a lock the write
needs, waits until the server's backend is blocked on it, then terminates that backend.
"""

import json
import random
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg2
import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from csoa_portal.models import AuditEntry, IdempotencyRecord
from incidents.models import Deadline, Incident, IncidentGroupObjectPermission, Share
from liaison.models import Event, EventAudience
from tests.conftest import verified_client
from tests.fault.conftest import connect_params, needs_full_mode
from tests.fault.servers import SERVER_APPLICATION_NAME
from tests.fault.workers import wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

NIS2_CLOCKS_AT_REPORT = {"early_warning", "notification", "final_report"}
# Where a create is cut: the lock that holds it there, and what it has written by then.
CUT_POINTS = {
    "audit entry (incident, member states and grants written)":
        f"LOCK TABLE {AuditEntry._meta.db_table} IN EXCLUSIVE MODE",
    "deadlines (incident, grants and audit entry written)":
        f"LOCK TABLE {Deadline._meta.db_table} IN EXCLUSIVE MODE",
    "event (all but the event written)":
        f"LOCK TABLE {Event._meta.db_table} IN EXCLUSIVE MODE",
}


@pytest.fixture
def portal(portal_servers, broker):
    """The portal with persistent database connections, as a production deployment may run it."""
    return portal_servers(broker, DATABASE_CONN_MAX_AGE="60")


@pytest.fixture
def soc(network, token_for, portal):
    """de-csirt's SOC tooling against the running portal."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token_for(network['orgs']['de-csirt'], 'read,write')}"
    yield session
    session.close()


def _server_backends(*, blocked_by: int | None = None) -> list[int]:
    query = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
             + (" AND %s = ANY(pg_blocking_pids(pid))" if blocked_by else ""))
    with connection.cursor() as cursor:
        cursor.execute(query, [SERVER_APPLICATION_NAME, *([blocked_by] if blocked_by else [])])
        return [row[0] for row in cursor.fetchall()]


def _cut_server_connections() -> int:
    """pg_terminate_backend on every backend of the portal process, each waited for until it ended (the cut is
    complete before the next request); how many there were."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s", [SERVER_APPLICATION_NAME])
        return cursor.fetchone()[0]


def _holding(statement: str):
    """Another session runs ``statement`` in an open transaction (``.rollback()`` releases it)."""
    conn = psycopg2.connect(**connect_params())
    with conn.cursor() as cursor:
        cursor.execute(statement)
    return conn


def _rows() -> dict[str, int]:
    """Row counts of everything a report writes."""
    return {
        "incidents": Incident.objects.count(),
        "member states": Incident.affected_member_states.through.objects.count(),
        "grants": IncidentGroupObjectPermission.objects.count(),
        "shares": Share.objects.count(),
        "deadlines": Deadline.objects.count(),
        "audit entries": AuditEntry.objects.count(),
        "events": Event.objects.count(),
        "event audiences": EventAudience.objects.count(),
        "idempotency keys": IdempotencyRecord.objects.count(),
    }


def _assert_complete(incident: Incident, clocks=NIS2_CLOCKS_AT_REPORT) -> None:
    """Everything a report writes, all there: the other half of all-or-nothing."""
    assert set(incident.affected_member_states.values_list("code", flat=True)) == {"DE"}
    grants = set(IncidentGroupObjectPermission.objects.filter(content_object=incident)
                 .values_list("group__name", "permission__codename"))
    assert {perm for _, perm in grants} >= {"view_incident", "change_incident"}, grants
    assert set(incident.deadlines.values_list("clock", flat=True)) == set(clocks)
    assert AuditEntry.objects.filter(action="incident.created", object_id=str(incident.pk)).count() == 1
    event = Event.objects.get(kind="incident.created", subject_id=str(incident.pk))
    assert EventAudience.objects.filter(event=event).exists()


def _report(title: str) -> str:
    return json.dumps({"title": title, "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                       "severity": "high", "affected_member_states": ["DE"]})


def _assert_503_json(response, *, outcome_unknown_allowed: bool = False) -> str:
    """The 503 in the error shape: "not completed, retry", or (a cut at the COMMIT) "not known whether it was saved"."""
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    if outcome_unknown_allowed and error["code"] == "outcome_unknown":
        assert "not known whether it was saved" in error["message"] and "Idempotency-Key" in error["message"]
    else:
        assert (error["status"], error["code"]) == (503, "database_unavailable")
        assert "database is not available" in error["message"] and "retry" in error["message"].lower()
    assert response.headers["Retry-After"] == "5"
    return error["code"]


def test_api_create_cut_mid_transaction_is_503_leaves_nothing_and_its_retry_creates_it_once(portal, soc):
    started_as = portal.pid
    # A connection cut while idle is found by the health check: the next request does not even notice.
    assert soc.get(f"{portal.url}/api/v1/incidents/").status_code == 200
    assert _cut_server_connections() >= 1
    assert soc.get(f"{portal.url}/api/v1/incidents/").status_code == 200

    for where, statement in CUT_POINTS.items():
        title, key = f"Cut at the {where}", str(uuid.uuid4())
        body = _report(title)  # a retry sends the very same request
        before = _rows()
        lock = _holding(statement)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(soc.post, f"{portal.url}/api/v1/incidents/", data=body, timeout=30,
                                  headers={"Content-Type": "application/json", "Idempotency-Key": key})
            blocked = wait_for(lambda: _server_backends(blocked_by=lock.get_backend_pid()), timeout=15,
                               what=f"the create to block at the {where}")
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [blocked])
            response = pending.result(timeout=30)
        lock.rollback()
        lock.close()

        _assert_503_json(response)
        assert _rows() == before, f"cut at the {where}: something of the interrupted create was left"
        assert not Incident.objects.filter(title=title).exists()

        retried = soc.post(f"{portal.url}/api/v1/incidents/", data=body, timeout=30,
                           headers={"Content-Type": "application/json", "Idempotency-Key": key})
        assert retried.status_code == 201, retried.text
        assert "Idempotent-Replayed" not in retried.headers  # created now: the cut one left no claim
        (incident,) = Incident.objects.filter(title=title)
        _assert_complete(incident)

    assert portal.alive() and portal.pid == started_as, "the portal was restarted"


def test_page_cut_mid_transaction_shows_the_503_page_and_the_resubmitted_form_reports_once(portal, network):
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME,
                        verified_client(network["people"]["de_analyst"]).cookies[settings.SESSION_COOKIE_NAME].value)
    form = browser.get(f"{portal.url}/incidents/new/", timeout=30)
    assert form.status_code == 200, form.text[:2000]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    fields = {"csrfmiddlewaretoken": csrf, "organisation": "de-csirt", "title": "Reported from the page",
              "aware_at": (timezone.now() - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"), "tlp": "amber",
              "severity": "high", "affected_member_states": ["DE"], "summary": "Substation control lost."}
    before = _rows()

    lock = _holding(CUT_POINTS["event (all but the event written)"])
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(browser.post, f"{portal.url}/incidents/new/", data=fields, timeout=30,
                              allow_redirects=False)
        blocked = wait_for(lambda: _server_backends(blocked_by=lock.get_backend_pid()), timeout=15,
                           what="the page's report to block on the event log")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [blocked])
        page = pending.result(timeout=30)
    lock.rollback()
    lock.close()

    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert "cannot reach its database" in page.text and "check whether it was saved" in page.text
    assert "<title>Temporarily unavailable" in page.text and "Traceback" not in page.text
    assert page.headers["Retry-After"] == "5"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert _rows() == before, "something of the interrupted report was left"

    again = browser.post(f"{portal.url}/incidents/new/", data=fields, timeout=30, allow_redirects=False)
    assert again.status_code == 302, again.text[:2000]
    (incident,) = Incident.objects.filter(title="Reported from the page")
    _assert_complete(incident, NIS2_CLOCKS_AT_REPORT | {"initial_response"})  # the early warning starts Art. 23(5)
    assert incident.reports.filter(kind="early_warning").count() == 1
    assert browser.get(f"{portal.url}{again.headers['Location']}", timeout=30).status_code == 200


BURST_MIN, BURST_MAX = 20, 200


def test_connections_cut_at_random_during_a_burst_of_reports_leave_each_report_whole_once(portal, soc):
    """Cuts land anywhere (authentication, the transaction, the commit, the response): 201 or 503, never 500.

    A 503 "not completed" is true: the report is not there. A cut at the COMMIT answers
    "not known whether it was saved". Every 503 is retried with its Idempotency-Key, as the
    message says: each report then exists exactly once and complete, however its first
    attempt ended. (tests/fault/test_write_outcomes.py cuts each stage deterministically.)
    """
    stop, cuts = threading.Event(), []

    def cutter():
        rng = random.Random(7)
        while not stop.wait(rng.uniform(0.05, 0.4)):
            cuts.append(_cut_in_own_connection())

    # At least 20 reports, and more until one was cut: on a fast machine a report is over quickly and
    # most cuts find the server's connections idle, which the next request replaces unnoticed.
    titles = [f"Burst report {n}" for n in range(BURST_MAX)]
    keys = {title: str(uuid.uuid4()) for title in titles}
    bodies = {title: _report(title) for title in titles}  # a retry sends the very same request
    statuses: list[int] = []
    thread = threading.Thread(target=cutter, daemon=True)
    thread.start()
    try:
        for title in titles:
            if len(statuses) >= BURST_MIN and 503 in statuses:
                break
            response = _post_report(portal, soc, bodies[title], keys[title])
            statuses.append(response.status_code)
            if response.status_code == 503:
                code = _assert_503_json(response, outcome_unknown_allowed=True)
                if code == "database_unavailable":
                    assert not Incident.objects.filter(title=title).exists(), f"{title}: 'not completed' but saved"
    finally:
        stop.set()
        thread.join(timeout=10)

    titles = titles[:len(statuses)]
    assert set(statuses) <= {201, 503}, statuses
    assert 503 in statuses, f"no request was cut ({sum(cuts)} backends terminated): the burst proved nothing"
    replayed = 0
    for title, status in zip(titles, statuses, strict=True):  # the retries, once the database is reachable again
        if status == 201:
            continue
        for _ in range(5):
            response = _post_report(portal, soc, bodies[title], keys[title])
            if response.status_code != 503:
                break
            time.sleep(0.2)
        assert response.status_code == 201, response.text
        replayed += response.headers.get("Idempotent-Replayed") == "true"  # its COMMIT's answer was lost
    for title in titles:
        (incident,) = Incident.objects.filter(title=title)
        _assert_complete(incident)
    print(f"burst: {statuses.count(503)} of {len(titles)} reports cut ({sum(cuts)} backends terminated), "
          f"{replayed} of them committed (the retry replayed the first answer)")


def _post_report(portal, soc, body: str, key: str):
    return soc.post(f"{portal.url}/api/v1/incidents/", data=body, timeout=30,
                    headers={"Content-Type": "application/json", "Idempotency-Key": key})


def _cut_in_own_connection() -> int:
    """The cutter thread's own connection (Django's belongs to the test thread)."""
    conn = psycopg2.connect(**connect_params())
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND application_name = %s", [SERVER_APPLICATION_NAME])
            return cursor.fetchone()[0]
    finally:
        conn.close()
