"""E-mail goes through the outbox: written with the change, sent after the commit, once per occasion and recipient.

The full-mode proof with a real worker and a Redis crash is tests/fault/test_outbox_worker.py;
these tests show the rules in-process (eager tasks, Django's locmem backend).
"""

from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from csoa_portal import outbox, tasks
from csoa_portal.models import OutboxEmail
from csoa_portal.sweep import run_sweep
from incidents import notifications, services
from incidents.models import Alert
from incidents.services.escalations import evaluate_incident

pytestmark = pytest.mark.django_db(transaction=True)


class RefusingBackend(BaseEmailBackend):
    """A mail server that is away."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def _escalate(network):
    """Level 2 at once: six organisations alerted, their people e-mailed."""
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title="Grid", aware_at=timezone.now() - timedelta(hours=1), tlp="amber",
                                    national_capacity_exceeded=True)


def _sent() -> Counter:
    return Counter((m.to[0], m.subject) for m in mail.outbox)


def test_alert_emails_are_written_to_the_outbox_and_sent_once_after_the_commit(network):
    _escalate(network)
    rows = OutboxEmail.objects.filter(dedupe_key__startswith="alert:")
    assert rows.exists() and not rows.filter(sent_at__isnull=True).exists()
    assert _sent() == Counter({(r.recipient, r.subject): 1 for r in rows})
    assert all(v == 1 for v in _sent().values())


def test_the_same_alert_notified_again_mails_nobody_twice(network):
    incident = _escalate(network)
    before = _sent()
    alert_ids = list(Alert.objects.filter(incident=incident).values_list("pk", flat=True))
    rows = OutboxEmail.objects.count()
    with transaction.atomic():
        notifications.email_alerts(alert_ids=alert_ids, kind="raised")  # a redelivered or repeated notification
    run_sweep()
    assert OutboxEmail.objects.count() == rows
    assert _sent() == before


def test_a_rolled_back_change_leaves_no_email(network):
    class Abort(Exception):
        pass

    mail.outbox.clear()
    with pytest.raises(Abort), transaction.atomic():
        incident = _escalate(network)
        evaluate_incident(incident_id=incident.pk)  # the engine escalates inside this transaction
        assert Alert.objects.filter(incident=incident).exists()
        assert OutboxEmail.objects.exists()  # written in the transaction…
        raise Abort
    run_sweep()
    assert not OutboxEmail.objects.exists()  # …and gone with it
    assert mail.outbox == []


def test_the_sweep_sends_what_the_lost_task_would_have_sent(network):
    mail.outbox.clear()
    with mock.patch.object(tasks.send_outbox, "delay"):  # the task never reaches a worker (Redis lost it)
        _escalate(network)
    waiting = list(OutboxEmail.objects.filter(sent_at__isnull=True))
    assert waiting and mail.outbox == []
    run_sweep()
    assert _sent() == Counter({(r.recipient, r.subject): 1 for r in waiting})
    run_sweep()
    assert len(mail.outbox) == len(waiting)
    assert not OutboxEmail.objects.filter(sent_at__isnull=True).exists()


def test_a_broker_outage_at_commit_fails_nothing_and_the_sweep_sends(network):
    mail.outbox.clear()
    with mock.patch.object(tasks.send_outbox, "delay", side_effect=ConnectionError("redis down")):
        incident = _escalate(network)
    assert incident.pk and mail.outbox == []
    run_sweep()
    assert len(mail.outbox) == OutboxEmail.objects.count() > 0


def test_a_failing_mail_server_is_retried_with_backoff_then_given_up_with_the_error_kept(settings, freezer):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_SECONDS = 30
    outbox.enqueue_email(key="notice:test:1:a@example.eu", recipient="a@example.eu", subject="s", body="b")
    row = OutboxEmail.objects.get()
    assert row.attempts == 1 and row.sent_at is None and "mail server down" in row.last_error
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=30)
    assert outbox.send_due() == 0 and OutboxEmail.objects.get().attempts == 1  # not due yet: left alone
    freezer.tick(timedelta(seconds=31))
    outbox.send_due()
    row.refresh_from_db()
    assert row.attempts == 2 and row.next_attempt_at == timezone.now() + timedelta(seconds=60)  # doubled
    freezer.tick(timedelta(seconds=61))
    outbox.send_due()
    row.refresh_from_db()
    assert row.attempts == 3 and row.gave_up and "ConnectionRefusedError" in row.last_error
    freezer.tick(timedelta(hours=2))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.send_due() == 0 and mail.outbox == []  # given up stays given up (visible in the admin)


def test_a_claimed_row_is_not_sent_by_another_sender_until_its_lease_ends(settings, freezer):
    """A sender that died after claiming (or after the server accepted) holds the row for one lease."""
    settings.OUTBOX_LEASE_SECONDS = 300
    with mock.patch.object(tasks.send_outbox, "delay"):
        outbox.enqueue_email(key="notice:test:2:b@example.eu", recipient="b@example.eu", subject="s", body="b")
    (claimed,) = outbox._claim(ids=None, now=timezone.now(), batch=10)  # then the sender is killed
    assert outbox.send_due() == 0 and mail.outbox == []
    freezer.tick(timedelta(seconds=301))
    assert outbox.send_due() == 1
    assert [m.to for m in mail.outbox] == [["b@example.eu"]]
    assert OutboxEmail.objects.get(pk=claimed.pk).attempts == 2


def test_sent_rows_are_purged_after_the_keeping_period(settings, freezer):
    settings.OUTBOX_KEEP_DAYS = 30
    outbox.enqueue_email(key="notice:test:3:c@example.eu", recipient="c@example.eu", subject="s", body="b")
    freezer.tick(timedelta(days=29))
    outbox.sweep_outbox()
    assert OutboxEmail.objects.count() == 1
    freezer.tick(timedelta(days=2))
    outbox.sweep_outbox()
    assert not OutboxEmail.objects.exists()


def test_keys_longer_than_the_column_still_tell_recipients_apart():
    occasion = "notice:test:" + "x" * 240
    sent = outbox.enqueue_emails([outbox.Mail(key=f"{occasion}:{who}@example.eu", recipient=f"{who}@example.eu",
                                              subject="s", body="b") for who in ("ann", "bob", "ann")])
    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.eu", "bob@example.eu"]
    assert all(len(k) <= 255 for k in OutboxEmail.objects.values_list("dedupe_key", flat=True))
