"""Project-wide records: the tamper-evident audit log and API tokens."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """Who did what, from where, to which object; keyed when written, hash-chained when sealed.

    The writer stores the entry with ``content_hash`` (its own content under the audit key)
    in its transaction; the sealer (``csoa_portal.audit.seal_pending``) numbers committed
    entries (``seq``) and chains them (``prev_hash``, ``hash``) right after. An entry with
    no ``seq`` yet is waiting to be sealed. Entries sealed before content hashes existed
    have an empty ``content_hash``: the chain hash alone covers them.

    Deliberately free of foreign keys: deleting a user or an organisation must never
    rewrite history (and with it the chain).
    """

    seq = models.PositiveBigIntegerField(unique=True, null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    organisation_code = models.CharField(max_length=64, blank=True)
    via = models.CharField(max_length=16)  # session, token, command, system, admin
    token_id = models.BigIntegerField(null=True, blank=True)
    session_ref = models.CharField(max_length=16, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # Plain: the audit page filters by the exact code; db_index would add a LIKE index per entry written.
            models.Index(fields=["organisation_code"], name="auditentry_org_idx"),
            # The sealer's queue: stays as small as the entries not sealed yet.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="auditentry_unsealed"),
        ]
        permissions = [("browse_audit", "Can browse the audit log")]

    def __str__(self):
        number = f"#{self.seq}" if self.seq is not None else f"(unsealed, id {self.id})"
        return f"{number} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The chain's tip: locked by the sealer (never by writers) so entries are chained one batch at a time.

    Keeping the last seq and hash here also detects the deletion of the newest entries.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)


class ApiToken(models.Model):
    """A bearer token of an organisation's SOC tooling; only its SHA-256 is stored."""

    class Scope(models.TextChoices):
        READ = "read", "read"
        WRITE = "write", "write"

    name = models.CharField(max_length=100)
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.CASCADE, related_name="api_tokens")
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The organisation's service account the API acts as.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @property
    def is_active(self):
        return self.revoked_at is None and not self.is_expired

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The stored response of a POST sent with an ``Idempotency-Key``, replayed on retry.

    Scoped to the principal, so two organisations' tools cannot collide on a key.
    """

    # Indexed first in the unique (principal, key).
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    # The answer's headers a client acts on (``Location`` of what was created, ``ETag``), replayed with it.
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="unique_idempotency_key")]


class OutboxEmail(models.Model):
    """One e-mail to one recipient, written in the transaction of the change it tells about.

    The row, not a broker message, is the promise that the mail goes out: the task queued
    after the commit is only the fast path, and the sweep sends whatever a lost task left
    behind (csoa_portal/outbox.py). ``dedupe_key`` names the occasion and the recipient, so
    telling someone twice about the same alert inserts nothing the second time.
    """

    dedupe_key = models.CharField(max_length=255, unique=True)
    recipient = models.CharField(max_length=254)
    subject = models.TextField()
    body = models.TextField()
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When a sender may (next) claim it; a claim moves it one lease ahead. Null: sent, or given up.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outgoing e-mail"
        indexes = [models.Index(fields=["next_attempt_at"], condition=models.Q(sent_at__isnull=True),
                                name="outbox_email_due")]

    def __str__(self):  # the occasion, not the subject: it may carry what the reader of a log may not read
        return f"{self.recipient}: {self.dedupe_key}"

    @property
    def gave_up(self) -> bool:
        return self.sent_at is None and self.next_attempt_at is None
