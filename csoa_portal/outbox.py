"""Durable, once-only e-mail: an outbox table written in the caller's transaction, sent after the commit.

Why a table and not a task per message: a task lives only in the broker, and a Redis crash
(or a worker killed before it acknowledged) loses it, and with it the alert e-mail of a
crisis. Here the service that raises an alert writes the e-mails as rows in its own
transaction (rolled back with it, committed with it); after the commit ``send_outbox`` is
queued as the fast path, and the sweep sends every row whose time has come, so a lost task
delays a message by one sweep interval and loses none.

Once only, per occasion and recipient: ``dedupe_key`` is unique and a second enqueue of the
same key inserts nothing (``alert:<id>:raised:<e-mail>`` — re-notifying an alert never mails
anyone twice).

Once only, per row: a sender claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` and, in
the same short transaction, moves them one lease ahead (``next_attempt_at = now + lease``)
and counts the attempt; it sends after that commit and stamps ``sent_at`` when the mail
server accepted the message. Overlapping senders (the task and the sweep, two sweeps) never
claim the same row, and no row lock is held while talking to the mail server. The one
window left: a sender that dies after the server accepted a message and before ``sent_at``
is committed. Its row comes due again when the lease ends and is sent a second time — we
prefer one duplicate in that rare crash to losing an alert (the other choice, stamping
before sending, loses the message instead); the copy carries the same ``Message-ID``, so
mail clients can tell it is the same message. The lease is longer than a batch can take
(``OUTBOX_BATCH`` × ``EMAIL_TIMEOUT``), so a slow but living sender is never overtaken.

A failed send is retried with exponential backoff; after ``OUTBOX_MAX_ATTEMPTS`` the row is
given up (``next_attempt_at`` null, ``last_error`` kept) and shown as such in the admin.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csoa_portal.models import OutboxEmail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    key: str  # the occasion and the recipient: the same key is mailed once
    recipient: str
    subject: str
    body: str
    html: str = ""


def occasion(prefix: str) -> str:
    """A key prefix for an occasion with no natural identity of its own (each call is a new occasion)."""
    return f"{prefix}:{uuid.uuid4().hex}"


def _column_key(key: str) -> str:
    """Keys longer than the column keep their start and end in a digest, so two recipients never collide."""
    if len(key) <= 255:
        return key
    return f"{key[:190]}:{hashlib.sha256(key.encode()).hexdigest()}"


def _lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def _backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour between attempts."""
    return timedelta(seconds=min(settings.OUTBOX_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 3600))


# Filters every e-mail passes before it is written (``filter(mails, exercise) -> mails``), registered by the apps
# from their AppConfig.ready: liaison marks an exercise's e-mail and keeps it to the exercise's participants.
_mail_filters: list = []


def register_mail_filter(mail_filter) -> None:
    if mail_filter not in _mail_filters:
        _mail_filters.append(mail_filter)


def enqueue_emails(mails: list[Mail], *, exercise=None) -> int:
    """Write the e-mails in the caller's transaction; send them once it commits.

    ``exercise``: the id of the exercise the e-mails are about, when the caller knows it from the object (a
    task, the sweep); None leaves it to the work's context (``liaison.exercises``).

    A key already in the outbox is skipped (``INSERT … ON CONFLICT DO NOTHING``). Returns how
    many rows the call asked for (duplicates included), like a send would.
    """
    for mail_filter in _mail_filters:
        mails = mail_filter(list(mails), exercise)
    if not mails:
        return 0
    unique = {_column_key(m.key): m for m in mails}
    OutboxEmail.objects.bulk_create(
        [OutboxEmail(dedupe_key=key, recipient=m.recipient, subject=m.subject, body=m.body, html=m.html)
         for key, m in unique.items()],
        ignore_conflicts=True,
    )
    keys = list(unique)
    transaction.on_commit(lambda: _dispatch(keys))
    return len(unique)


def enqueue_email(*, key: str, recipient: str, subject: str, body: str, html: str = "", exercise=None) -> int:
    return enqueue_emails([Mail(key=key, recipient=recipient, subject=subject, body=body, html=html)],
                          exercise=exercise)


def _dispatch(keys: list[str]) -> None:
    """After the commit: the fast path. A broker outage only delays the mail until the next sweep."""
    from csoa_portal import tasks  # tasks import this module

    try:
        ids = list(OutboxEmail.objects.filter(dedupe_key__in=keys, sent_at__isnull=True).values_list("pk", flat=True))
        if ids:
            tasks.send_outbox.delay(ids)
    except Exception:
        logger.warning("could not queue the sending of %d e-mails; the sweep will send them", len(keys),
                       exc_info=True)


def _claim(*, ids: list[int] | None, now, batch: int) -> list[OutboxEmail]:
    with transaction.atomic():
        due = (OutboxEmail.objects.select_for_update(skip_locked=True)
               .filter(sent_at__isnull=True, next_attempt_at__lte=now))
        if ids is not None:
            due = due.filter(pk__in=ids)
        rows = list(due.order_by("next_attempt_at", "pk")[:batch])
        if rows:
            OutboxEmail.objects.filter(pk__in=[r.pk for r in rows]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + _lease())
    return rows


def message_id(row: OutboxEmail) -> str:
    """The same on every attempt: a copy resent after a crash is recognisably the same message."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "csoa-portal.invalid"
    return f"<outbox.{row.pk}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"


def _send_one(row: OutboxEmail, connection) -> None:
    message = EmailMultiAlternatives(row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.recipient],
                                     connection=connection, headers={"Message-ID": message_id(row)})
    if row.html:
        message.attach_alternative(row.html, "text/html")
    message.send(fail_silently=False)


def send_due(*, ids: list[int] | None = None, now=None, batch: int | None = None) -> int:
    """Send the due rows (only ``ids`` if given), a claimed batch at a time; returns how many were sent."""
    now = now or timezone.now()
    batch = batch or settings.OUTBOX_BATCH
    sent = 0
    connection = get_connection(fail_silently=False)
    try:
        while rows := _claim(ids=ids, now=now, batch=batch):
            for row in rows:
                try:
                    _send_one(row, connection)
                except Exception as exc:  # the server refused or is away: try again later, up to a limit
                    attempts = row.attempts + 1
                    gave_up = attempts >= settings.OUTBOX_MAX_ATTEMPTS
                    OutboxEmail.objects.filter(pk=row.pk, sent_at__isnull=True).update(
                        last_error=f"{type(exc).__name__}: {exc}"[:2000],
                        next_attempt_at=None if gave_up else timezone.now() + _backoff(attempts))
                    (logger.error if gave_up else logger.warning)(
                        "e-mail %s to %s failed (attempt %d%s): %s", row.pk, row.recipient, attempts,
                        ", given up" if gave_up else "", exc)
                    continue
                OutboxEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now(), next_attempt_at=None)
                sent += 1
            if len(rows) < batch:
                break
    finally:
        try:
            connection.close()
        except Exception:
            logger.warning("closing the mail connection failed", exc_info=True)
    return sent


def sweep_outbox() -> int:
    """Sweep job: send what no task sent (lost with Redis, its worker killed), retry what failed."""
    sent = send_due()
    keep = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    OutboxEmail.objects.filter(sent_at__lt=keep).delete()
    return sent
