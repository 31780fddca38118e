"""E-mail through real Celery workers while Redis crashes: every e-mail delivered, none twice.

Issue 16: alert and notification e-mails go through the outbox table (written in the
transaction of the change, csoa_portal/outbox.py), so a Redis crash that loses the queued
``send_outbox`` tasks — and the evaluations that would raise more alerts — loses no e-mail.
The test runs a worker on a Redis of its own (``private_redis``; the machine's Redis is never
touched) with Django's file backend into a temporary directory, and reads back what was
delivered: every outbox row exactly once, by its ``Message-ID``.

1. The fast path: an escalation through the worker, its alert e-mails sent after the commit.
2. The worker stops; a share and an escalating report are committed, their tasks queued in
   Redis; Redis is SIGKILLed (a crash: nothing persisted) — those tasks are gone.
3. While Redis is down, another share is committed (its task cannot even be queued).
4. Redis comes back empty; a new worker starts (its start-up sweep) and beat runs: every
   e-mail is delivered exactly once; the same alerts notified again mail nobody twice.
"""

import email
import email.policy
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csoa_portal.models import OutboxEmail
from csoa_portal.outbox import message_id
from incidents import notifications, services
from incidents.models import Alert, Incident
from tests.factories import member_state
from tests.fault.conftest import needs_full_mode
from tests.fault.workers import wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

SWEEP_INTERVAL = 2  # seconds, for the beat of this test
SEPARATOR = "\n" + "-" * 79 + "\n"  # Django's file backend writes one after each message


def _delivered(directory: Path) -> Counter:
    """Message-IDs of every message the file backend wrote, with how often each was written."""
    ids: Counter = Counter()
    for path in directory.glob("*.log") if directory.exists() else ():
        for chunk in path.read_text(errors="replace").split(SEPARATOR):
            if chunk.strip():
                ids[email.message_from_string(chunk, policy=email.policy.default)["Message-ID"]] += 1
    return ids


def _report(network, title: str, **facts) -> Incident:
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title=title, aware_at=timezone.now() - timedelta(hours=1), severity="high",
                                    affected_member_states=[member_state("DE")], tlp="amber", **facts)


def _all_sent() -> bool:
    return OutboxEmail.objects.exists() and not OutboxEmail.objects.filter(sent_at__isnull=True).exists()


def _evaluated(incident: Incident) -> bool:
    return Incident.objects.filter(pk=incident.pk, evaluated_version=F("version")).exists()


def test_redis_crash_loses_no_email_and_delivers_none_twice(private_redis, private_celery, network, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_env = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
    orgs = network["orgs"]
    with private_celery.broker.sending():  # this process publishes to the private Redis
        # 1. The fast path through a worker.
        worker = private_celery.worker("worker-1", env=mail_env)
        first = _report(network, "Grid A", national_capacity_exceeded=True)
        wait_for(lambda: Alert.objects.filter(incident=first).exists() and _all_sent(), timeout=30,
                 what="the alert e-mails of the first escalation to be sent by the worker")
        fast = OutboxEmail.objects.count()
        assert fast > 0

        # 2. Tasks queued while no worker runs, then lost with Redis.
        worker.stop()
        services.share_incident(actor=network["people"]["de_analyst"], incident=first, organisations=[orgs["fr-csirt"]])
        second = _report(network, "Grid B", national_capacity_exceeded=True)  # its evaluation task is queued too
        assert OutboxEmail.objects.filter(sent_at__isnull=True).exists()
        assert not _evaluated(second)
        private_redis.kill()

        # 3. Written while Redis is down: the commit succeeds, the task cannot be queued.
        services.share_incident(actor=network["people"]["de_analyst"], incident=first, organisations=[orgs["pt-csirt"]])

        # 4. Redis is back, empty; a new worker and beat.
        private_redis.start()
        private_celery.worker("worker-2", env=mail_env)
        private_celery.beat(interval=SWEEP_INTERVAL)
        wait_for(lambda: _evaluated(second) and Alert.objects.filter(incident=second).exists() and _all_sent(),
                 timeout=30, what="the sweep to evaluate the lost escalation and send every e-mail")
        wait_for(lambda: len(_delivered(mail_dir)) == OutboxEmail.objects.count(), timeout=10,
                 what="every outbox row in the mail files")

        rows = list(OutboxEmail.objects.all())
        assert {r.dedupe_key.rsplit(":", 1)[0].split(":")[0] for r in rows} == {"alert", "share"}
        assert _delivered(mail_dir) == Counter({message_id(r): 1 for r in rows})  # every e-mail, each once

        # The same alerts notified again (a redelivered task, a repeated sweep) insert and send nothing.
        with transaction.atomic():
            notifications.email_alerts(alert_ids=list(Alert.objects.values_list("pk", flat=True)), kind="raised")
        time.sleep(2 * SWEEP_INTERVAL + 1)  # two more sweeps
        assert OutboxEmail.objects.count() == len(rows)
        assert _delivered(mail_dir) == Counter({message_id(r): 1 for r in rows})
        print(f"{len(rows)} e-mails ({fast} before the crash), each delivered once")
