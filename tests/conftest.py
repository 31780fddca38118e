"""Shared fixtures: a small network (DE, FR, PT, ENISA, a provider) and signed-in clients."""

import importlib
import os
import uuid

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.db.models.signals import post_migrate
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from liaison import services
from liaison.models import Organisation, User
from tests import factories, snapshots

# Every URLconf module (and the libraries they import, stix2 and pymisp among them) imported now, not
# first inside a test with frozen time: a datetime subclass defined while freezegun runs (stix2's
# STIXdatetime) stays bound to freezegun's fake class and breaks every later test that uses it.
importlib.import_module(settings.ROOT_URLCONF)

FULL_MODE = bool(os.environ.get("REDIS_URL"))


def pytest_configure(config):
    """A pytest-xdist controller collects no test folder: the audit-chain summary is registered here for it."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        from tests.security.conftest import register

        register(config)


@pytest.fixture(autouse=True, scope="session")
def _flush_by_delete():
    """A transactional test empties the tables after it with DELETE instead of TRUNCATE on PostgreSQL.

    TRUNCATE gives each of the ~150 tables and their indexes new files: about a second after every such test
    on a slow disk. DELETE of the few rows a test wrote, in the flush's one transaction, leaves the same empty
    tables; Django's foreign keys are DEFERRABLE INITIALLY DEFERRED there, so the order does not matter. With
    sequences to reset or a cascade to follow, Django's TRUNCATE as before.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture(autouse=True)
def _replayers_start_afresh():
    snapshots.begin_test()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Celery tasks run eagerly in tests, whatever the mode; worker tests opt out explicitly."""
    from csoa_portal.celery import app

    # The app reads Django settings under the CELERY_ namespace: set the key by that name.
    previous = app.conf.task_always_eager
    app.conf.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.CELERY_TASK_ALWAYS_EAGER = previous


@pytest.fixture(autouse=True)
def _isolated_channel_prefix(settings):
    """Each test talks to its own channels_redis keyspace on the shared Redis."""
    layers = settings.CHANNEL_LAYERS
    if layers["default"]["BACKEND"].startswith("channels_redis"):
        from channels.layers import channel_layers

        config = dict(layers["default"]["CONFIG"], prefix=f"test-{uuid.uuid4().hex[:8]}")
        settings.CHANNEL_LAYERS = {"default": dict(layers["default"], CONFIG=config)}
        channel_layers.backends.clear()
    yield
    if layers["default"]["BACKEND"].startswith("channels_redis"):
        _close_layer_loop_connections()


def _close_layer_loop_connections():
    """Production keeps one layer per process; tests make one each, and each would keep its own connections."""
    from channels.layers import channel_layers

    from liaison import layer_loop

    layer = channel_layers.backends.get("default")
    if layer is not None:
        layer_loop.release(layer)


# The data migrations a flush undoes, each with a model it fills (None: it only changes rows another one
# fills). Every listed model is empty after a flush and has rows after migrating.
VOCABULARY_MIGRATIONS = (
    ("liaison.migrations.0002_member_states", "liaison.MemberState"),
    ("liaison.migrations.0004_member_state_time_zone", None),
    ("liaison.migrations.0006_council_presidency", "liaison.CouncilPresidency"),
    ("incidents.migrations.0002_vocabularies", "incidents.Sector"),
    ("incidents.migrations.0005_default_blueprint", "incidents.Blueprint"),
    ("incidents.migrations.0009_blueprint_v2_bodies_in_charge", None),
    ("incidents.migrations.0012_tags_tasks", "incidents.TagVocabulary"),
)


def seed_vocabularies() -> None:
    """Re-apply the data migrations (idempotently) where a flush removed their rows."""
    from django.apps import apps

    if all(apps.get_model(model).objects.exists() for _, model in VOCABULARY_MIGRATIONS if model):
        return
    for migration, _ in VOCABULARY_MIGRATIONS:
        importlib.import_module(migration).forwards(apps, None)


def _reseed_after_flush(sender, **kwargs):
    """A transactional test's flush ends with ``post_migrate``: the vocabularies come back committed.

    Otherwise every later test would re-create them inside its own transaction (with new ids each
    time, so nothing built on them could be recorded once and replayed: tests/snapshots.py).
    """
    if sender is LAST_APP_WITH_MODELS:
        seed_vocabularies()


LAST_APP_WITH_MODELS = [config for config in django_apps.get_app_configs() if config.models_module][-1]
post_migrate.connect(_reseed_after_flush, dispatch_uid="tests.conftest.reseed_after_flush")


@pytest.fixture
def vocabularies(db):
    """The data-migration vocabularies (member states, community groups), there in every test.

    Migrating seeds them and a flush re-seeds them (``_reseed_after_flush``); checked here all
    the same, since a test may have emptied them by hand.
    """
    seed_vocabularies()


NETWORK_ORGANISATIONS = {
    "de-csirt": ("national_csirt", "DE", "CERT-Bund"),
    "de-authority": ("crisis_authority", "DE", "BSI crisis management"),
    "fr-csirt": ("national_csirt", "FR", "CERT-FR"),
    "pt-csirt": ("national_csirt", "PT", "CERT.PT"),
    "enisa": ("enisa", None, "ENISA"),
    "ec": ("commission", None, "European Commission"),
    "cert-eu": ("cert_eu", "EU", "CERT-EU"),
    "provider-acme": ("reserve_provider", "DE", "ACME Incident Response"),
}
NETWORK_PEOPLE = {
    "de_analyst": ("analyst@de-csirt.example", "de-csirt", ["analyst"]),
    "de_admin": ("admin@de-csirt.example", "de-csirt", ["org_admin"]),
    "de_liaison": ("liaison@de-authority.example", "de-authority", ["liaison_officer"]),
    "fr_analyst": ("analyst@fr-csirt.example", "fr-csirt", ["analyst"]),
    "pt_analyst": ("analyst@pt-csirt.example", "pt-csirt", ["analyst"]),
    "enisa_admin": ("admin@enisa.example", "enisa", ["org_admin"]),
    "enisa_triage": ("triage@enisa.example", "enisa", ["enisa_triage"]),
    "provider": ("staff@acme.example", "provider-acme", ["provider_staff"]),
}
_network_replayer = snapshots.Replayer()


def _build_network() -> dict:
    orgs = {code: factories.organisation(code, kind, ms, name) for code, (kind, ms, name) in NETWORK_ORGANISATIONS.items()}
    people = {key: factories.person(email, orgs[org], roles) for key, (email, org, roles) in NETWORK_PEOPLE.items()}
    return {"orgs": orgs, "people": people}


def _fetch_network() -> dict:
    orgs = {o.code: o for o in Organisation.objects.filter(code__in=NETWORK_ORGANISATIONS).select_related("member_state")}
    users = {u.email: u for u in User.objects.filter(email__in=[email for email, _, _ in NETWORK_PEOPLE.values()])}
    return {"orgs": {code: orgs[code] for code in NETWORK_ORGANISATIONS},
            "people": {key: users[email] for key, (email, _, _) in NETWORK_PEOPLE.items()}}


@pytest.fixture
def network(vocabularies):
    """Organisations of three member states and the EU level, each with typical people.

    Built through the services the first time on a database state, replayed after (tests/snapshots.py).
    """
    return _network_replayer(_build_network, _fetch_network)


def verified_client(user) -> Client:
    """A browser session that has passed password and TOTP."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def login():
    return verified_client


@pytest.fixture
def token_for(db):
    """Issue a real API token: ``token_for(org, "read,write")`` returns the plain text."""

    def issue(organisation, scopes="read,write", days=30):
        _, raw = services.issue_api_token(actor=None, organisation=organisation, name="test tool", scopes=scopes, days=days)
        return raw

    return issue
