"""The network: member states, organisations, people and their roles; the event log."""

import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.timezone import now

from liaison.roles import OrganisationKind, Role


def validate_time_zone(value: str) -> None:
    """An IANA zone name that this server knows (``zoneinfo``)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(f"{value!r} is not an IANA time zone, e.g. Europe/Berlin.") from None


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractBaseUser, PermissionsMixin):
    """A person (or an organisation's API service account) who uses the portal; e-mail is the login."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(
        max_length=64, default="Europe/Brussels", help_text="Times on pages are shown in this zone."
    )
    email_notifications = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Service accounts stand behind an organisation's API tokens; they never log in.
    is_service_account = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def primary_membership(self):
        """The first membership, used to label who acted in audit entries and page headers."""
        cached = getattr(self, "_primary_membership", None)
        if cached is None:
            cached = (
                self.memberships.select_related("organisation__member_state").order_by("id").first()
            )
            self._primary_membership = cached
        return cached

    @property
    def primary_organisation_code(self):
        membership = self.primary_membership
        return membership.organisation.code if membership else None


class MemberState(models.Model):
    """A participant of the network: an EU member state, a DEP-associated third country, or the EUIBAs."""

    class Kind(models.TextChoices):
        EU_MEMBER = "eu_member", "EU member state"
        DEP_ASSOCIATED = "dep_associated", "DEP-associated third country"
        EUIBA = "euiba", "EU institutions, bodies, offices and agencies"

    code = models.CharField(
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166 alpha-2 code in capitals, e.g. DE.")],
        help_text="ISO 3166 alpha-2 code (EU for the EU institutions).",
    )
    name = models.CharField(max_length=100)
    eu_label = models.CharField(
        max_length=2, blank=True, help_text="The code used in EU texts when it differs (EL for Greece)."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The zone its legal periods are counted in (NIS2 Art. 23(4)(d) "one month"); data, not code:
    # ENISA sets it for each participant it adds.
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone],
        help_text="IANA time zone its calendar-month deadlines are counted in, e.g. Europe/Berlin.",
    )
    # CSoA Art. 14(3)(c), Art. 19: a DEP-associated third country's competent authorities may request Reserve
    # support only where its association agreement provides for it. ENISA records that here; off until it does.
    reserve_eligible = models.BooleanField(
        default=False, verbose_name="eligible for the Reserve under its association agreement",
        help_text="DEP-associated third countries only (CSoA Art. 19): set by ENISA when the country's association "
                  "agreement to the Digital Europe Programme provides for Reserve support.",
    )
    is_active = models.BooleanField(default=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="member_state")

    class Meta:
        ordering = ["code"]

    def clean(self):
        super().clean()
        if self.reserve_eligible and self.kind != self.Kind.DEP_ASSOCIATED:
            raise ValidationError({"reserve_eligible": (
                "Only a DEP-associated third country carries this flag (CSoA Art. 19): EU member states and "
                "the EU institutions are Reserve users by CSoA Art. 14(3)(a) and (b).")})

    def __str__(self):
        return f"{self.display_code} — {self.name}"

    @property
    def display_code(self):
        return self.eu_label or self.code


class CouncilPresidency(models.Model):
    """Which member state holds the Presidency of the Council, and when (data ENISA keeps current).

    The Presidency alone activates and deactivates the political level (IPCR), and its
    representative chairs EU-CyCLONe (NIS2 Art. 16(2)): the Blueprint's bodies in charge resolve
    to this state's authorities on the day they act.
    """

    member_state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="presidencies",
                                     limit_choices_to={"kind": "eu_member"})
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="The last day of the Presidency (inclusive).")

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                   name="presidency_ends_after_start"),
            models.UniqueConstraint(fields=["starts_on"], name="one_presidency_per_start"),
        ]
        verbose_name_plural = "Council presidencies"

    def __str__(self):
        return f"{self.member_state.name} ({self.starts_on:%Y-%m-%d} – {self.ends_on:%Y-%m-%d})"

    def clean(self):
        super().clean()
        if self.member_state_id and self.member_state.kind != MemberState.Kind.EU_MEMBER:
            raise ValidationError({"member_state": "Only an EU member state holds the Council Presidency."})
        if self.starts_on and self.ends_on:
            if self.ends_on < self.starts_on:
                raise ValidationError({"ends_on": "The Presidency ends on or after the day it starts."})
            overlapping = CouncilPresidency.objects.filter(starts_on__lte=self.ends_on, ends_on__gte=self.starts_on)
            if overlapping.exclude(pk=self.pk).exists():
                raise ValidationError("Presidencies cannot overlap: one member state holds it at a time.")


class Organisation(models.Model):
    code = models.CharField(
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
                "Use lower-case letters, digits and hyphens, e.g. de-csirt.",
            )
        ],
        help_text="Stable short code used by SOC tooling and scripts.",
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    member_state = models.ForeignKey(
        MemberState,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        help_text="The member state it serves (country of establishment for providers).",
    )
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="organisation")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["kind", "member_state"])]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person's role in an organisation; a person may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["organisation__code", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="unique_membership_role")
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} at {self.organisation.code}"


class Event(models.Model):
    """The append-only log of everything that happened: outbox of the live channel and replay source.

    The id is monotonically increasing; clients resume with ``?after=<id>``.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=now, db_index=True)
    kind = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    payload = models.JSONField(default=dict)
    audience = models.ManyToManyField(Group, through="EventAudience", related_name="events")
    published_at = models.DateTimeField(null=True, blank=True)
    # The exercise it happened in (null: live work); readers follow liaison.exercises.in_current.
    exercise = models.ForeignKey("Exercise", on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"]),
            # Plain: no query of kind is a LIKE, which db_index would index too on every event written.
            models.Index(fields=["kind"], name="event_kind_idx"),
            models.Index(
                fields=["id"], name="event_unpublished_idx", condition=models.Q(published_at__isnull=True)
            ),
        ]

    def __str__(self):
        return f"#{self.id} {self.kind} {self.subject_type}:{self.subject_id}"


class EventAudience(models.Model):
    """One group (organisation, member state, role or community) allowed to see an event."""

    # Each is indexed first by one of the two below; single-column indexes would only repeat them.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, db_index=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "group"], name="unique_event_audience")]
        indexes = [models.Index(fields=["group", "event"])]


class InboxCursor(models.Model):
    """How far a person has read their inbox of new items (events addressed to them)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="inbox_cursor")
    last_read_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=now)


def time_scale_problem(value) -> str:
    """Why ``value`` is not an exercise time scale, or "" (the form and the service say the same)."""
    from decimal import Decimal, InvalidOperation

    from liaison.exercise_time import MAX_TIME_SCALE

    try:
        scale = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return f"{value!r} is not a number: give exercise minutes per real minute, e.g. 6."
    if not scale.is_finite() or scale <= 0:
        return "The time scale is more than 0 (exercise minutes per real minute; 1 is real time)."
    if scale > MAX_TIME_SCALE:
        return f"The time scale is at most {MAX_TIME_SCALE} (one exercise day per real minute)."
    if scale != scale.quantize(Decimal("0.01")):
        return "Give the time scale with at most two decimals, e.g. 2.5."
    return ""


def validate_time_scale(value) -> None:
    problem = time_scale_problem(value)
    if problem:
        raise ValidationError(problem)


class Exercise(models.Model):
    """A drill run in the real portal (Cyber Europe, Blue OLEx, CySOPex, a national drill).

    Every root object of work (incident, Reserve request, situation report, public warning,
    review, lesson, Event) carries ``exercise`` (null: live work); reads filter on it through
    ``liaison.exercises.in_current`` so exercise and live work never meet (docs/exercises.md).
    """

    class Kind(models.TextChoices):
        CYBER_EUROPE = "cyber_europe", "Cyber Europe"
        BLUE_OLEX = "blue_olex", "Blue OLEx"
        CYSOPEX = "cysopex", "CySOPex"
        NATIONAL = "national", "National drill"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        RUNNING = "running", "Running"
        ENDED = "ended", "Ended"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="owned_exercises",
                                     help_text="Who runs it: ENISA, or a national authority for a national drill.")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    participants = models.ManyToManyField(Organisation, related_name="exercises")
    controllers = models.ManyToManyField(User, related_name="controlled_exercises", blank=True)
    blueprint_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The Blueprint version it runs on (empty: the active one).")
    time_scale = models.DecimalField(
        max_digits=7, decimal_places=2, default=1, validators=[validate_time_scale],
        help_text="Exercise minutes per real minute: every clock of the exercise runs this much faster "
                  "(6: one exercise hour in 10 real minutes; 1: real time). More than 0, at most 1440.")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="exercise_ends_after_start"),
            models.CheckConstraint(condition=models.Q(time_scale__gt=0, time_scale__lte=1440),
                                   name="exercise_time_scale_in_range"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The exercise ends after it starts."})

    @property
    def time_scale_words(self) -> str:
        """"×6 (1 exercise hour = 10 real minutes)", or "" at real time."""
        from liaison.exercise_time import describe

        return describe(self.time_scale)

    @property
    def clock_now(self):
        """What the exercise's clock reads now (``liaison.exercise_time.exercise_clock``)."""
        from liaison.exercise_time import exercise_clock

        return exercise_clock(self, now())
