"""Shapes of incidents over the API: inputs validated here, outputs plain and read-only.

Inputs name things by their stable codes (member states, sectors, categories,
organisations) and the services do the rest; outputs render prefetched rows.
"""

from datetime import timezone as dt_timezone

from django.db import router
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from csoa_portal import rows
from csoa_portal.api import fields, reuse

from incidents import clocks, selectors
from incidents.models import (
    Alert,
    Incident,
    IncidentCategory,
    Observable,
    Report,
    Sector,
    TimelineEntry,
)
from incidents.selectors import deadline_now, tag_names
from incidents.tags import MAX_TAG_LENGTH, MAX_TAGS
from incidents.vocabulary import (
    SITUATION_TAXONOMY,
    TLP,
    EntityType,
    Severity,
    Significance,
    SignificanceGround,
)
from liaison.api.exercises import ExerciseField
from liaison.models import MemberState, Organisation, User
from liaison.roles import Community

UTC = dt_timezone.utc


class CodeField(serializers.SlugRelatedField):
    """A related row named by its code; an unknown code is a 400 saying which code.

    A code of a whole table (``_codes``) is read with SQL built once per model and database:
    compiling the ORM's ``get(code=…)`` cost four times the database's answer, once per code of
    every report (issue 16). A restricted queryset keeps the ORM's ``get``.
    """

    default_error_messages = {"does_not_exist": "Unknown code {value!r}.", "invalid": "Give a code as text."}

    def to_internal_value(self, data):
        if isinstance(data, str) and self.slug_field == "code" and self.queryset.model is MemberState:
            data = data.upper()
        if isinstance(data, str) and self._whole_table_by_code:
            return self._by_code(data)
        return super().to_internal_value(data)

    @cached_property
    def _whole_table_by_code(self) -> bool:
        """Codes of a whole table, unique: what ``csoa_portal.rows`` reads without the ORM (decided once per field)."""
        return (self.slug_field == "code" and not self.queryset.query.has_filters()
                and self.queryset.model._meta.get_field("code").unique)

    def _by_code(self, code: str):
        model = self.queryset.model
        try:
            found = rows.fetch(model, using=router.db_for_read(model), code=code)
        except (TypeError, ValueError):  # what the database driver refuses to send (a NUL byte)
            self.fail("invalid")
        if not found:
            self.fail("does_not_exist", slug_name=self.slug_field, value=code)
        return found[0]


def _codes(model, **kwargs):
    return CodeField(slug_field="code", queryset=model.objects.all(), **kwargs)


_TAGS_HELP = ('Machine tags of the controlled vocabularies (MISP taxonomies): rsit:<class> or rsit:<class>="<type>", '
              'nis:impact-severity="red", nis:impact-outlook=…, nis:nature-root-cause=…, nis:nature-severity=…; or '
              'plain words (free tags). An unknown vocabulary is refused naming the tag. tlp:<label> is the label '
              'itself: it may be sent only as the current (or new) label.')


def _tags_field(**kwargs):
    return serializers.SerializerMethodField(
        help_text="Machine tags, the TLP label first (tlp:amber), then rsit:, nis: and free tags.", **kwargs)


class IncidentInputSerializer(serializers.Serializer):
    """Fields of a report: title, aware_at and tlp suffice to record it; with ``early_warning`` it is the NIS2
    early warning (Art. 23(4)(a)), recorded with the incident."""

    organisation = _codes(Organisation, required=False,
                          help_text="The reporting organisation's code; defaults to the caller's organisation.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    aware_at = fields.DateTimeField(help_text="When the entity became aware (ISO 8601 with zone); starts the NIS2 clocks.")
    tlp = serializers.ChoiceField(choices=TLP.choices, default=TLP.AMBER)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
    affected_member_states = _codes(MemberState, many=True, required=False, default=list)
    sectors = _codes(Sector, many=True, required=False, default=list)
    entity_type = serializers.ChoiceField(choices=EntityType.choices, required=False, allow_blank=True, default="")
    category = _codes(IncidentCategory, required=False, allow_null=True, default=None,
                      help_text="RSIT class/type, e.g. availability/ddos.")
    suspected_malicious = serializers.BooleanField(required=False, allow_null=True, default=None)
    cross_border_impact = serializers.BooleanField(required=False, allow_null=True, default=None)
    national_capacity_exceeded = serializers.BooleanField(required=False, default=False)
    technical_cooperation_requested = serializers.BooleanField(
        required=False, default=False,
        help_text="The reporter asks the CSIRTs Network for technical cooperation (Blueprint level 1).")
    significance = serializers.ChoiceField(
        choices=Significance.choices, required=False, allow_blank=True, default="",
        help_text="NIS2 Art. 23(3): significant (the mandatory clocks run), voluntary or near_miss (Art. 30: no "
                  "clock). Blank: not stated, treated as significant.")
    significance_grounds = serializers.ListField(
        child=serializers.ChoiceField(choices=SignificanceGround.choices), required=False, default=list,
        help_text="Why it is significant; at least one when significance is significant.")
    significance_explanation = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    early_warning = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, allow_null=True, default=None,
        help_text="The early warning's sections (summary required; indicators_of_compromise, threat_type, notes "
                  "optional). Given, the NIS2 early warning (Art. 23(4)(a)) is recorded with the incident, in one "
                  "transaction, and stops the 24-hour clock; its answers to the two questions are "
                  "suspected_malicious and cross_border_impact.")

    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS, required=False, default=list,
        help_text=_TAGS_HELP)

    def validate_aware_at(self, value):
        if timezone.is_naive(value):
            raise serializers.ValidationError("Give a time zone, e.g. 2026-11-23T08:00:00Z.")
        return value


class IncidentUpdateSerializer(IncidentInputSerializer):
    """The same fields, all optional; the reporting organisation never changes.

    ``tlp`` relabels under the TLP rules (only the originator lowers a label; a stricter one must allow
    the existing shares); ``tags`` replaces the incident's tags.
    """

    organisation = None
    early_warning = None  # reports are submitted at /incidents/{id}/reports/

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class EscalationPreviewSerializer(serializers.Serializer):
    """What the Blueprint engine does once the change is saved (``incidents.selectors.escalation_preview``)."""

    from_level = serializers.IntegerField(help_text="The crisis level before the change.")
    to_level = serializers.IntegerField(help_text="The level the engine moves the incident to once saved (the same "
                                                  "level when nothing escalates).")
    level_name = serializers.CharField()
    escalates = serializers.BooleanField()
    alerted = serializers.ListField(child=serializers.CharField(), help_text="The networks alerted, highest level "
                                    "first; levels are cumulative (0 → 2 alerts the CSIRTs Network too).")
    explanation = serializers.CharField(help_text="Which rules match and why; blank when nothing escalates.")
    proposed_level = serializers.IntegerField(allow_null=True, help_text="A level the engine only proposes.")
    proposal_decided_by = serializers.CharField(help_text="Who decides the proposed level.")
    message = serializers.CharField(help_text="The same in one sentence, as the edit form shows it.")


class IncidentDryRunSerializer(serializers.Serializer):
    """``PATCH …?dry_run=true``: what the change would do; nothing is saved."""

    dry_run = serializers.BooleanField()
    version = serializers.IntegerField(help_text="The version the preview was computed on (send it as If-Match).")
    changed = serializers.ListField(child=serializers.CharField(), help_text="The fields the change would set.")
    escalation = EscalationPreviewSerializer()


class DeadlineSerializer(serializers.Serializer):
    clock = serializers.CharField()
    sequence = serializers.IntegerField(help_text="The intermediate-report request's number (Art. 23(4)(c)); 0 "
                                                  "for every other clock.")
    label = serializers.CharField()
    due_at = serializers.DateTimeField(default_timezone=UTC)
    met_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    state = serializers.ChoiceField(choices=[s.value for s in clocks.State])


def _deadlines(incident: Incident, now) -> list[clocks.Deadline]:
    return [deadline_now(d, now) for d in incident.deadlines.all()]


class IncidentListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    tlp = serializers.CharField()
    severity = serializers.CharField()
    crisis_level = serializers.IntegerField()
    reporting_organisation = serializers.CharField(source="reporting_organisation.code")
    affected_member_states = serializers.SerializerMethodField()
    sectors = serializers.SerializerMethodField()
    category = serializers.CharField(source="category.code", allow_null=True, default=None)
    aware_at = serializers.DateTimeField(default_timezone=UTC)
    created_at = serializers.DateTimeField(default_timezone=UTC)
    updated_at = serializers.DateTimeField(default_timezone=UTC)
    version = serializers.IntegerField()
    next_deadline = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    tags = _tags_field()
    exercise = ExerciseField()

    def get_tags(self, obj) -> list[str]:
        return tag_names(obj)

    def get_affected_member_states(self, obj) -> list[str]:
        return [m.code for m in obj.affected_member_states.all()]

    def get_sectors(self, obj) -> list[str]:
        return [s.code for s in obj.sectors.all()]

    def _now(self):
        return self.context.setdefault("now", timezone.now())

    def _deadlines(self, obj) -> list[clocks.Deadline]:
        """The incident's deadlines at the call's ``now``, worked out once for the three fields that show them."""
        key = ("deadlines", obj.pk)
        if key not in self.context:
            self.context[key] = _deadlines(obj, self._now())
        return self.context[key]

    def get_next_deadline(self, obj) -> DeadlineSerializer(allow_null=True):
        upcoming = clocks.next_due(self._deadlines(obj))
        return reuse.render(DeadlineSerializer, upcoming) if upcoming else None

    def get_overdue(self, obj) -> bool:
        return bool(clocks.overdue(self._deadlines(obj)))


class ShareOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target_kind = serializers.CharField()
    label = serializers.CharField()
    shared_at = serializers.DateTimeField(default_timezone=UTC)


class NetworkConsentOrganisationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class NetworkConsentSerializer(serializers.Serializer):
    organisations = NetworkConsentOrganisationSerializer(
        many=True, help_text="Who will receive the incident if its originator agrees (empty: nobody is waiting).")


class NetworkConsentInputSerializer(serializers.Serializer):
    organisations = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="The codes you were shown (GET); if the waiting organisations changed since, nothing is shared.")


class CrossBorderTargetSerializer(serializers.Serializer):
    member_state = serializers.CharField(source="member_state.code", allow_null=True, default=None,
                                         help_text="Null for ENISA.")
    label = serializers.CharField()
    organisations = serializers.SerializerMethodField()
    informed_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)

    def get_organisations(self, obj) -> list[str]:
        return [o.code for o in obj.organisations]


class IncidentDetailSerializer(IncidentListSerializer):
    description = serializers.CharField()
    entity_type = serializers.CharField()
    suspected_malicious = serializers.BooleanField(allow_null=True)
    cross_border_impact = serializers.BooleanField(allow_null=True)
    national_capacity_exceeded = serializers.BooleanField()
    technical_cooperation_requested = serializers.BooleanField()
    ipcr_mode = serializers.CharField(help_text="At the political level (3): the IPCR mode the Council Presidency "
                                                "set (monitoring, information_sharing, full_activation); blank below.")
    level_proposals = serializers.SerializerMethodField(
        help_text="Levels proposed to the body that declares them (EU-CyCLONe or the engine propose level 3).")
    significance = serializers.CharField(help_text="NIS2 Art. 23(3); blank: not stated, treated as significant.")
    significance_grounds = serializers.ListField(child=serializers.CharField())
    significance_explanation = serializers.CharField()
    handled_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    final_report_awaits_handling = serializers.SerializerMethodField(
        help_text="NIS2 Art. 23(4)(e): a progress report was given while ongoing; the final report is due one "
                  "month after the incident is marked handled.")
    cross_border = serializers.SerializerMethodField(
        help_text="NIS2 Art. 23(6): each other affected member state (and ENISA), who receives it there and when "
                  "it was informed; informed_at null is not informed.")
    deadlines = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()
    shares = serializers.SerializerMethodField()

    def get_deadlines(self, obj) -> DeadlineSerializer(many=True):
        return reuse.render_many(DeadlineSerializer, self._deadlines(obj))

    def get_final_report_awaits_handling(self, obj) -> bool:
        facts = self.context.get("clock_facts") or selectors.clock_facts(obj)
        return clocks.final_report_awaits_handling(facts)

    def get_cross_border(self, obj) -> CrossBorderTargetSerializer(many=True):
        return cross_border_items(obj)

    def get_reports(self, obj) -> list[dict]:
        return report_items(obj)

    def get_level_proposals(self, obj) -> "LevelProposalSerializer(many=True)":
        held = getattr(obj, "_prefetched_objects_cache", {}).get("level_proposals")  # a new incident's: none
        proposals = held if held is not None else obj.level_proposals.select_related("proposed_by", "decided_by")
        return reuse.render_many(LevelProposalSerializer, proposals)

    def get_shares(self, obj) -> ShareOutputSerializer(many=True):
        """Shown to the originator only: recipients need not learn who else received it."""
        if not self.context.get("see_recipients"):
            return []
        return ShareOutputSerializer(obj.shares.all(), many=True).data


class ShareInputSerializer(serializers.Serializer):
    organisations = _codes(Organisation, many=True, required=False, default=list)
    member_states = _codes(MemberState, many=True, required=False, default=list)
    communities = serializers.ListField(
        child=serializers.ChoiceField(choices=["csirts-network", "eu-cyclone"]), required=False, default=list
    )
    people = serializers.SlugRelatedField(
        slug_field="email", queryset=User.objects.filter(is_active=True, is_service_account=False),
        many=True, required=False, default=list, help_text="E-mail addresses of named recipients (TLP:RED).",
    )

    def validate_communities(self, value):
        return [f"community:{name}" for name in value if f"community:{name}" in Community.LABELS]

    def validate(self, attrs):
        if not any(attrs.values()):
            raise serializers.ValidationError({"organisations": "Name at least one recipient."})
        return attrs


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReportInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    content = serializers.DictField(child=serializers.CharField(allow_blank=True))
    suspected_malicious = serializers.BooleanField(
        required=False, allow_null=True,
        help_text="Early warning only (NIS2 Art. 23(4)(a)): suspected unlawful or malicious cause? null: not known "
                  "yet. Omitted: the incident's current answer is recorded.")
    cross_border_impact = serializers.BooleanField(
        required=False, allow_null=True,
        help_text="Early warning only (NIS2 Art. 23(4)(a)): could it have a cross-border impact? null: not known yet.")


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    submitted_at = serializers.DateTimeField(default_timezone=UTC)
    submitted_by = serializers.EmailField(source="submitted_by.email")
    content = serializers.JSONField()


def _assessment(field: str, **kwargs) -> serializers.ChoiceField:
    label, vocabulary = SITUATION_TAXONOMY[field]
    return serializers.ChoiceField(choices=vocabulary.choices, allow_blank=True, label=label, **kwargs)


_ASSESSMENT_HELP = "NIS Cooperation Group taxonomy; a situation update only. Blank or absent: not assessed."


# What a POST to the timeline may add (settings.SPECTACULAR_SETTINGS names its enum: JSON and multipart share it).
TIMELINE_POST_KINDS = [TimelineEntry.Kind.UPDATE.value, TimelineEntry.Kind.SITUATION.value]


class TimelineInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False)
    kind = serializers.ChoiceField(choices=TIMELINE_POST_KINDS, default=TimelineEntry.Kind.UPDATE)
    impact_severity = _assessment("impact_severity", required=False, help_text=_ASSESSMENT_HELP)
    impact_outlook = _assessment("impact_outlook", required=False,
                                 help_text="The impact's outlook for the next 6 hours. " + _ASSESSMENT_HELP)
    root_cause = _assessment("root_cause", required=False, help_text=_ASSESSMENT_HELP)
    threat_severity = _assessment("threat_severity", required=False, help_text=_ASSESSMENT_HELP)


class TimelineUploadSerializer(TimelineInputSerializer):
    """The same update sent as multipart/form-data, with its attachments."""

    files = serializers.ListField(child=serializers.FileField(), required=False, max_length=5,
                                  help_text="Up to 5 files (PDF, PNG, JPEG, GIF, ZIP or plain text), 10 MiB each; "
                                            "recognised by their content, never by their name.")


class InitialResponseInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, help_text="The initial feedback given to the entity (NIS2 Art. "
                                                             "23(5)); stops the authority's 24-hour clock.")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class TimelineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField(default_timezone=UTC)
    author = serializers.EmailField(source="author.email")
    organisation = serializers.CharField(source="organisation.code")
    text = serializers.CharField()
    tlp = serializers.CharField()
    impact_severity = _assessment("impact_severity", help_text='"" when not assessed.')
    impact_outlook = _assessment("impact_outlook", help_text='"" when not assessed.')
    root_cause = _assessment("root_cause", help_text='"" when not assessed.')
    threat_severity = _assessment("threat_severity", help_text='"" when not assessed.')
    attachments = AttachmentSerializer(many=True, source="attachments.all",
                                       help_text="Download each at /incidents/{id}/attachments/{attachment_id}/.")


class ObservableRowSerializer(serializers.Serializer):
    """Documentation of one row; rows are validated one by one by the service, not here."""

    type = serializers.ChoiceField(choices=Observable._meta.get_field("type").choices)
    value = serializers.CharField()
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False)
    first_seen = fields.DateTimeField(required=False)
    last_seen = fields.DateTimeField(required=False)
    note = serializers.CharField(required=False)


class ObservableBulkInputSerializer(serializers.Serializer):
    observables = serializers.ListField(child=serializers.JSONField(), allow_empty=False, max_length=10_000,
                                        help_text="Up to 10,000 rows shaped like ObservableRow.")


class ObservableOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    value = serializers.CharField()
    tlp = serializers.CharField()
    first_seen = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    last_seen = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    note = serializers.CharField()
    tags = _tags_field()
    created_at = serializers.DateTimeField(default_timezone=UTC)

    def get_tags(self, obj) -> list[str]:
        return tag_names(obj)


class ObservableInputSerializer(serializers.Serializer):
    """Change an observable: send at least one field."""

    note = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False,
                                  help_text="No less restricted than the incident's label; a stricter label keeps "
                                            "the observable with your organisation.")
    tags = serializers.ListField(child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS,
                                 required=False, help_text="Replaces its tags. " + _TAGS_HELP)


class ObservableErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request, from 0.")
    value = serializers.CharField(allow_null=True)
    error = serializers.CharField()


class ObservableBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    merged = serializers.IntegerField(help_text="Rows that matched an observable already on the incident.")
    rejected = serializers.IntegerField()
    errors = ObservableErrorSerializer(many=True)


class ObservableSearchHitSerializer(serializers.Serializer):
    incident = serializers.IntegerField(source="incident_id")
    reference = serializers.CharField(source="incident.reference")
    title = serializers.CharField(source="incident.title")
    type = serializers.CharField()
    value = serializers.CharField()
    last_seen = serializers.DateTimeField(default_timezone=UTC, allow_null=True)


class CrisisLevelSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    network = serializers.CharField()
    alerted_groups = serializers.ListField(child=serializers.CharField())
    ack_minutes = serializers.IntegerField(allow_null=True)
    update_interval_minutes = serializers.IntegerField(allow_null=True)
    expected_reports = serializers.ListField(child=serializers.CharField())
    declare_bodies = serializers.ListField(child=serializers.CharField(),
                                           help_text="Bodies that declare the level (incidents/bodies.py).")
    deescalate_bodies = serializers.ListField(child=serializers.CharField())
    propose_bodies = serializers.ListField(child=serializers.CharField())
    declare_roles = serializers.ListField(child=serializers.CharField())
    modes = serializers.ListField(child=serializers.DictField(), help_text="IPCR modes (political level).")


class EscalationRuleSerializer(serializers.Serializer):
    code = serializers.CharField()
    target_level = serializers.IntegerField()
    conditions = serializers.ListField(child=serializers.DictField())
    automatic = serializers.BooleanField()
    description = serializers.CharField()


class BlueprintSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    title = serializers.CharField()
    activated_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    levels = CrisisLevelSerializer(many=True, source="levels.all")
    rules = EscalationRuleSerializer(many=True, source="rules.all")


class LevelChangeInputSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=0, max_value=9)
    reason = serializers.CharField(max_length=4000, allow_blank=True)


class DeclareInputSerializer(LevelChangeInputSerializer):
    ipcr_mode = serializers.CharField(required=False, allow_blank=True, default="", max_length=32,
                                      help_text="At the political level: the IPCR mode to start in (default: the "
                                                "level's first mode, monitoring).")


class ProposeInputSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=9)
    reason = serializers.CharField(max_length=4000, allow_blank=True)


class ProposalDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, allow_blank=True)
    ipcr_mode = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)


class IpcrModeInputSerializer(serializers.Serializer):
    ipcr_mode = serializers.CharField(max_length=32, allow_blank=True)
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class LevelProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    reference = serializers.CharField(source="incident.reference")
    level = serializers.IntegerField()
    rules = serializers.ListField(child=serializers.CharField())
    explanation = serializers.CharField()
    by_engine = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["open", "accepted", "declined"])
    decision_reason = serializers.CharField()
    decided_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    created_at = serializers.DateTimeField(default_timezone=UTC)


class EscalationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_level = serializers.IntegerField()
    to_level = serializers.IntegerField()
    rules = serializers.ListField(child=serializers.CharField())
    explanation = serializers.CharField()
    by_engine = serializers.BooleanField()
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    reason = serializers.CharField()
    blueprint_version = serializers.IntegerField()
    created_at = serializers.DateTimeField(default_timezone=UTC)


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    reference = serializers.CharField(source="incident.reference")
    level = serializers.IntegerField()
    organisation = serializers.CharField(source="organisation.code")
    state = serializers.CharField()
    created_at = serializers.DateTimeField(default_timezone=UTC)
    due_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    seen_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    answered_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    answered_by = serializers.EmailField(source="answered_by.email", allow_null=True, default=None)
    note = serializers.CharField()
    disclosure = serializers.ChoiceField(
        choices=Alert.Disclosure.choices,
        help_text="alerted_only: the incident is not shared with the organisation (ask the originator); "
                  "awaiting_consent: shared once the originator agrees; shared: the organisation may read it.")
    reason = serializers.CharField(source="escalation.explanation", help_text="Why the incident reached this level.")
    notice = serializers.SerializerMethodField(help_text="What applies, in words, and how to ask the originator.")
    originator = serializers.SerializerMethodField(help_text="The reporting organisation: code, name and contact.")

    def _disclosure(self, alert) -> dict:
        cache = self.context.setdefault("_disclosure", {})
        if alert.pk not in cache:
            cache[alert.pk] = selectors.alert_disclosure(alert)
        return cache[alert.pk]

    @extend_schema_field(serializers.CharField())
    def get_notice(self, alert) -> str:
        return self._disclosure(alert)["notice"]

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_originator(self, alert) -> dict:
        return self._disclosure(alert)["originator"]


class AlertAnswerSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# --- Tasks --------------------------------------------------------------------------------------------


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField(source="incident_id")
    reference = serializers.CharField(source="incident.reference")
    organisation = serializers.CharField(source="organisation.code", help_text="The organisation that owns it.")
    title = serializers.CharField()
    description = serializers.CharField()
    assignee = serializers.EmailField(source="assignee.email", allow_null=True, default=None,
                                      help_text="Null: anyone of the organisation.")
    due_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    done = serializers.BooleanField()
    done_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    overdue = serializers.SerializerMethodField()
    created_by = serializers.EmailField(source="created_by.email")
    created_at = serializers.DateTimeField(default_timezone=UTC)
    updated_at = serializers.DateTimeField(default_timezone=UTC)

    def get_overdue(self, obj) -> bool:
        return bool(obj.due_at and obj.done_at is None and obj.due_at < self.context.setdefault("now", timezone.now()))


class _TaskFields(serializers.Serializer):
    title = serializers.CharField(max_length=200, error_messages={
        "required": "Give the task a title: what is to be done.", "blank": "Give the task a title: what is to be done."})
    description = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    assignee = serializers.EmailField(allow_null=True, required=False,
                                      help_text="E-mail address of a member of the owning organisation; null: anyone.")
    due_at = serializers.DateTimeField(allow_null=True, required=False, help_text="ISO 8601 with its zone.")

    def validate_due_at(self, value):
        if value is not None and timezone.is_naive(value):
            raise serializers.ValidationError("Give a time zone, e.g. 2026-11-23T18:00:00Z.")
        return value


class TaskInputSerializer(_TaskFields):
    organisation = _codes(Organisation, required=False,
                          help_text="The owning organisation's code; defaults to the caller's organisation.")


class TaskUpdateSerializer(_TaskFields):
    """Send at least one field; ``done`` true completes the task, false opens it again."""

    title = serializers.CharField(max_length=200, required=False, error_messages={
        "blank": "Give the task a title: what is to be done."})
    done = serializers.BooleanField(required=False)


class TagSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The machine tag, as sent and filtered on.")
    label = serializers.CharField()


class TagVocabularySerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    free = serializers.BooleanField(help_text="Any plain word is a tag of it.")
    tags = serializers.SerializerMethodField(help_text="Its tags (none listed for the free tags).")

    def get_tags(self, obj) -> TagSerializer(many=True):
        return [] if obj.free else TagSerializer(obj.tags.all(), many=True).data


class IncidentUpdatedSerializer(IncidentDetailSerializer):
    """The incident after a PATCH, with what the Blueprint engine does now that it is saved."""

    escalation = EscalationPreviewSerializer(read_only=True, help_text="The crisis level the saved change moves the "
                                             "incident to (the engine applies it right after the commit).")


class ImportUploadSerializer(serializers.Serializer):
    """A MISP event or STIX 2.1 bundle sent as multipart/form-data."""

    file = serializers.FileField(help_text="The MISP event ({\"Event\": {…}} or the bare event) or the STIX 2.1 "
                                           "bundle, as JSON; up to 8 MiB.")
    format = serializers.ChoiceField(choices=["misp", "stix"], required=False,
                                     help_text="misp or stix; left out, it is recognised from the content.")


class ImportJsonSerializer(serializers.Serializer):
    """The same as a JSON body: the document itself, or wrapped to name its format."""

    format = serializers.ChoiceField(choices=["misp", "stix"], required=False)
    content = serializers.JSONField(help_text="The MISP event or STIX bundle. A body without content is read as the "
                                              "document itself, its format recognised.")


class ImportItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position among the file's attributes (or indicators and "
                                               "vulnerabilities), from 1.")
    ref = serializers.CharField(help_text="The attribute's uuid or the STIX object's id (else its path in the file).")
    source = serializers.CharField(help_text="The MISP type (\"file object: md5\" inside an object) or the STIX pattern.")
    value = serializers.CharField(allow_null=True, help_text="The value as the file gives it (cut at 200 characters).")
    outcome = serializers.ChoiceField(choices=["import", "present", "duplicate", "error"],
                                      help_text="import: added (or would be, had no item failed); present: already "
                                                "an observable of the incident; duplicate: an earlier item has it; "
                                                "error: see reason.")
    reason = serializers.CharField(allow_blank=True)
    notes = serializers.ListField(child=serializers.CharField(), help_text="Tags not kept, a TLP raised, …")
    type = serializers.CharField(allow_null=True, help_text="The observable type it becomes.")
    observable = serializers.CharField(allow_null=True, help_text="The normalised value it becomes.")
    tlp = serializers.CharField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())


class ImportReportSerializer(serializers.Serializer):
    format = serializers.CharField()
    imported = serializers.BooleanField(help_text="All or nothing: false means no observable was added.")
    created = serializers.IntegerField()
    present = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Items that are errors; any makes the import add nothing.")
    errors = serializers.ListField(child=serializers.CharField(), help_text="Problems of the file as a whole.")
    notes = serializers.ListField(child=serializers.CharField(), help_text="What the file holds that is not "
                                                                          "imported, and why.")
    items = ImportItemSerializer(many=True)


def cross_border_items(incident) -> list:
    """Who receives the incident in each affected state, if two or more are (the detail's ``cross_border``;
    the answer to a report too)."""
    if len(rows.related(incident, "affected_member_states")) < 2:  # prefetched: count() would query
        return []
    return CrossBorderTargetSerializer(selectors.cross_border_targets(incident), many=True).data


def report_items(incident) -> list[dict]:
    """The reports an incident received, oldest first (the detail's ``reports``; the answer to a report too)."""
    return [{"id": r.pk, "kind": r.kind, "submitted_at": r.submitted_at.astimezone(UTC).isoformat()}
            for r in rows.related(incident, "reports")]
