"""Fault-injection fixtures: real Celery worker and beat processes, the portal served by uvicorn,
a Redis of the test's own, all on the real PostgreSQL test database.

Only in full mode: these processes must see the rows the test commits (the same PostgreSQL
test database) and take their tasks from a real broker. Every process a test starts is
stopped at its teardown, and its database backends are ended.
"""

import os

import psycopg2
import pytest
from django.db import connection

from tests.fault.servers import SERVER_APPLICATION_NAME, PortalServer, RedisServer
from tests.fault.workers import APPLICATION_NAME, Broker, CeleryProcesses, database_url, process_env

FULL_MODE = bool(os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL"))

needs_full_mode = pytest.mark.skipif(
    not FULL_MODE,
    reason="fault tests run real servers and Celery processes: set DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)",
)


def pytest_collection_modifyitems(config, items):
    """Every fault test is ``serial``: its servers, workers and Redis restarts must not share the machine's
    services with another test process."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.serial)


@pytest.fixture
def broker():
    """This test's own keyspace on the fault-test Redis database; this process publishes to it."""
    keyspace = Broker.beside(os.environ["REDIS_URL"])
    keyspace.flush()
    with keyspace.sending():
        yield keyspace
    keyspace.flush()


@pytest.fixture(autouse=True)
def _tasks_run_in_process(request):
    """Overrides the suite-wide eager mode: here every task goes through the real broker."""
    if FULL_MODE:
        request.getfixturevalue("broker")
    yield


@pytest.fixture
def db_session_url(transactional_db):
    """The test database's URL: committed rows are what the worker reads."""
    return database_url(connection.settings_dict)


@pytest.fixture
def celery_processes(broker, db_session_url, tmp_path):
    """Start workers and beat on demand; all are SIGKILLed at teardown, their backends ended."""
    processes = CeleryProcesses(broker=broker, database_url=db_session_url, directory=tmp_path)
    yield processes
    processes.stop_all()
    print(processes.logs())  # shown by pytest when the test failed
    end_backends(APPLICATION_NAME)


@pytest.fixture
def worker(celery_processes):
    """One ready prefork worker (concurrency 1), as in production."""
    return celery_processes.worker()


@pytest.fixture
def row_lock():
    """Hold ``SELECT … FOR UPDATE`` on one incident from another connection, in an open transaction."""
    held = []

    def lock(incident_id: int):
        conn = psycopg2.connect(**connect_params())
        held.append(conn)
        with conn.cursor() as cursor:
            cursor.execute("SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE", [incident_id])
        return conn  # conn.rollback() releases it

    yield lock
    for conn in held:
        conn.close()


def connect_params() -> dict:
    s = connection.settings_dict
    return {k: v for k, v in {"dbname": s["NAME"], "user": s.get("USER"), "password": s.get("PASSWORD"),
                              "host": s.get("HOST"), "port": s.get("PORT")}.items() if v}


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free port, which the test may kill and restart."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def private_celery(private_redis, db_session_url, tmp_path):
    """Workers and beat (started on demand) whose broker is ``private_redis``."""
    processes = CeleryProcesses(broker=Broker(private_redis.url), database_url=db_session_url, directory=tmp_path)
    yield processes
    processes.stop_all()
    print(processes.logs())  # shown by pytest when the test failed
    end_backends(APPLICATION_NAME)


@pytest.fixture
def portal_servers(db_session_url, tmp_path):
    """``start(broker, **env)`` serves the portal from a subprocess on the test database; stopped at teardown."""
    started: list[PortalServer] = []

    def start(broker: Broker, *, name: str = "portal", **extra_env: str) -> PortalServer:
        url = database_url(connection.settings_dict, application_name=SERVER_APPLICATION_NAME)
        server = PortalServer(env=process_env(broker=broker, database_url=url, **extra_env), directory=tmp_path,
                              name=name)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
        print(f"--- {server.name} log ---\n{server.log()[-6000:]}")  # shown by pytest when the test failed
    end_backends(SERVER_APPLICATION_NAME)


def end_backends(application_name: str) -> None:
    """A SIGKILLed process leaves its PostgreSQL backend behind until it next writes to the socket."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s", [application_name])
