"""Shapes of the Reserve over the API: inputs checked for type here, content rules in the services; outputs plain.

Inputs name things by code (organisations, sectors, member states); the services
validate the content the CSoA asks for and name each offending field. Outputs are
read-only serializers over rows the selectors already limited to what the caller sees.
"""

from datetime import timezone as dt_timezone
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from csoa_portal.api import fields

from incidents.api.serializers import CodeField
from incidents.models import Sector
from incidents.vocabulary import EntityType
from liaison.api.exercises import ExerciseField
from liaison.models import MemberState, Organisation
from reserve.vocabulary import (
    CertificationStatus,
    ClearanceLevel,
    DecisionOutcome,
    MAX_COMMITTED_PERSON_DAYS,
    MAX_PERSON_DAYS,
    ImpactLevel,
    MeasuresLevel,
    Recommendation,
    Service,
    SpillOverRisk,
    Urgency,
)
from reserve.selectors import OPEN_FOR_TRIAGE
from reserve.workflow import EngagementStatus, RequestStatus

UTC = dt_timezone.utc


def _codes(model, **kwargs):
    return CodeField(slug_field="code", queryset=model.objects.all(), **kwargs)


def _choice(choices, **kwargs):
    return serializers.ChoiceField(choices=choices, required=False, allow_blank=True, **kwargs)


# --- Inputs ---------------------------------------------------------------------------------------

class RequestContentSerializer(serializers.Serializer):
    """The content of a request (CSoA Art. 15(4)); every field optional while it is a draft.

    Only the fields sent are set. Submitting checks that everything the CSoA requires is there.
    """

    affected_entity = serializers.CharField(max_length=200, required=False, allow_blank=True)
    entity_type = _choice(EntityType.choices, help_text="NIS2 class of the affected entity.")
    sector = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                   help_text="NIS2 sector or sub-sector code, e.g. energy.electricity.")
    incidents = serializers.ListField(child=serializers.IntegerField(), required=False,
                                      help_text="Ids of the incidents the request concerns; each must be visible to you.")
    impact_description = serializers.CharField(required=False, allow_blank=True)
    impact_level = _choice(ImpactLevel.choices)
    planned_use = serializers.CharField(required=False, allow_blank=True)
    services = serializers.ListField(child=serializers.ChoiceField(choices=Service.choices), required=False)
    person_days = serializers.IntegerField(min_value=1, max_value=MAX_PERSON_DAYS, required=False, allow_null=True,
                                           help_text="Estimated effort in person-days.")
    window_start = fields.DateField(required=False, allow_null=True)
    window_end = fields.DateField(required=False, allow_null=True)
    mitigation_measures = serializers.CharField(required=False, allow_blank=True)
    measures_level = _choice(MeasuresLevel.choices)
    measures_confirmed = serializers.BooleanField(
        required=False, help_text="The requester confirms that all appropriate mitigation measures were taken (Art. 15(2)).")
    other_support = serializers.CharField(required=False, allow_blank=True,
                                          help_text="Incident-response contracts, insurance … or \"none\".")
    urgency = _choice(Urgency.choices)
    languages = serializers.ListField(child=serializers.CharField(max_length=8), required=False,
                                      help_text="Working languages, ISO 639-1 (e.g. de, en).")
    spill_over_risk = _choice(SpillOverRisk.choices)
    security_clearance = _choice(ClearanceLevel.choices, help_text="Security clearance the deployed staff must hold "
                                 "(CSoA Art. 17(2)); empty when none is needed. Only providers with it are matched.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class RequestCreateSerializer(RequestContentSerializer):
    organisation = _codes(Organisation, required=False,
                          help_text="The requesting organisation's code; defaults to the caller's organisation.")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, allow_blank=True)


class QuestionSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=8000, allow_blank=True)


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=20000, allow_blank=True)


class AssessInputSerializer(serializers.Serializer):
    complete = serializers.BooleanField()
    recommendation = serializers.ChoiceField(choices=Recommendation.choices)
    reasons = serializers.CharField(max_length=8000, allow_blank=True)
    missing = serializers.ListField(child=serializers.CharField(max_length=500), required=False, default=list,
                                    help_text="What is missing or unclear (required when incomplete).")


class DecideInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
    reasons = serializers.CharField(max_length=8000, allow_blank=True)


class EngageInputSerializer(serializers.Serializer):
    """Engage a provider for the whole request (default) or a share of it."""

    provider = _codes(Organisation, help_text="The provider organisation's code.")
    services = serializers.ListField(child=serializers.ChoiceField(choices=Service.choices), required=False,
                                     allow_null=True, default=None)
    person_days = serializers.IntegerField(min_value=1, max_value=MAX_PERSON_DAYS, required=False, allow_null=True,
                                           default=None)
    window_start = fields.DateField(required=False, allow_null=True, default=None)
    window_end = fields.DateField(required=False, allow_null=True, default=None)


class AgreementInputSerializer(serializers.Serializer):
    template_reference = serializers.CharField(max_length=100, help_text="Reference of ENISA's specific-agreement "
                                                                        "template used (CSoA Art. 16).")
    agreement_date = fields.DateField(help_text="The date of the specific agreement.")
    liability_accepted = serializers.BooleanField(help_text="Must be true: the liability terms are accepted.")


class WorkLogInputSerializer(serializers.Serializer):
    day = fields.DateField()
    person_days = serializers.DecimalField(max_digits=6, decimal_places=1, min_value=Decimal("0.1"),
                                           help_text="Days worked, e.g. 1.5 (at most one decimal).")
    activity = serializers.CharField(max_length=8000, allow_blank=True)


class UpdateInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000, allow_blank=True)


class AfterActionReportInputSerializer(serializers.Serializer):
    service_provided = serializers.CharField(max_length=20000, allow_blank=True)
    results = serializers.CharField(max_length=20000, allow_blank=True)
    lessons_learned = serializers.CharField(max_length=20000, allow_blank=True)


class ProviderProfileInputSerializer(serializers.Serializer):
    """A provider's profile as ENISA registers it (CSoA Art. 17(2)); on PATCH every field is optional."""

    services = serializers.ListField(child=serializers.ChoiceField(choices=Service.choices))
    sectors = _codes(Sector, many=True, required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=8))
    member_states = _codes(MemberState, many=True, help_text="Member states it can deploy to; EU for the EUIBAs.")
    certification_status = serializers.ChoiceField(choices=CertificationStatus.choices, required=False)
    certified_from = fields.DateField(required=False, allow_null=True)
    certified_until = fields.DateField(required=False, allow_null=True)
    security_clearances = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    conflicts_of_interest = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                                  help_text="Entities or organisation codes it declared a conflict with.")
    response_hours = serializers.IntegerField(min_value=1, max_value=24 * 30,
                                              help_text="Committed time to accept or decline an engagement.")
    is_active = serializers.BooleanField(required=False)


class ProviderRegisterSerializer(ProviderProfileInputSerializer):
    organisation = _codes(Organisation, help_text="Code of an organisation of the reserve_provider kind.")


class ProviderUpdateSerializer(ProviderProfileInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class CapacityInputSerializer(serializers.Serializer):
    period_start = fields.DateField()
    period_end = fields.DateField()
    person_days = serializers.IntegerField(min_value=0, max_value=MAX_COMMITTED_PERSON_DAYS)


# --- Outputs --------------------------------------------------------------------------------------

class ReserveDeadlineSerializer(serializers.Serializer):
    clock = serializers.CharField()
    label = serializers.CharField(source="get_clock_display")
    due_at = serializers.DateTimeField(default_timezone=UTC)
    met_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    seconds_left = serializers.SerializerMethodField(help_text="Until due; negative when overdue; null once met.")
    overdue = serializers.SerializerMethodField()

    def _now(self):
        return self.context.setdefault("now", timezone.now())

    def get_seconds_left(self, obj) -> int | None:
        if obj.met_at is not None:
            return None
        return int((obj.due_at - self._now()).total_seconds())

    def get_overdue(self, obj) -> bool:
        return obj.met_at is None and obj.due_at < self._now()


class RequestListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField(help_text="One of: " + ", ".join(RequestStatus.values) + ".")
    requester_organisation = serializers.CharField(source="requester_organisation.code")
    member_state = serializers.CharField(source="requester_organisation.member_state.code", allow_null=True,
                                         default=None)
    affected_entity = serializers.CharField()
    urgency = serializers.CharField()
    priority_score = serializers.IntegerField(allow_null=True, help_text="As computed at the last triage step.")
    submitted_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    decided_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    created_at = serializers.DateTimeField(default_timezone=UTC)
    updated_at = serializers.DateTimeField(default_timezone=UTC)
    version = serializers.IntegerField()
    exercise = ExerciseField()


class LinkedIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    crisis_level = serializers.IntegerField()


class InformationRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    asked_by = serializers.EmailField(source="asked_by.email")
    asked_at = serializers.DateTimeField(default_timezone=UTC)
    answer = serializers.CharField()
    answered_by = serializers.EmailField(source="answered_by.email", allow_null=True, default=None)
    answered_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)


class AssessmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    complete = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    recommendation = serializers.CharField()
    reasons = serializers.CharField()
    priority_score = serializers.IntegerField()
    priority_explanation = serializers.CharField()
    assessed_by = serializers.EmailField(source="assessed_by.email")
    assessed_at = serializers.DateTimeField(default_timezone=UTC)


class RequestDecisionSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    reasons = serializers.CharField()
    organisation = serializers.CharField(source="organisation.code")
    decided_by = serializers.EmailField(source="decided_by.email")
    decided_at = serializers.DateTimeField(default_timezone=UTC)


class AfterActionReportSerializer(serializers.Serializer):
    service_provided = serializers.CharField()
    results = serializers.CharField()
    lessons_learned = serializers.CharField()
    submitted_by = serializers.EmailField(source="submitted_by.email")
    submitted_at = serializers.DateTimeField(default_timezone=UTC)


class AgreementSerializer(serializers.Serializer):
    template_reference = serializers.CharField(source="agreement_template")
    date = serializers.DateField(source="agreement_date", allow_null=True)
    provider_confirmed_at = serializers.DateTimeField(source="provider_agreed_at", default_timezone=UTC,
                                                      allow_null=True)
    user_confirmed_at = serializers.DateTimeField(source="user_agreed_at", default_timezone=UTC, allow_null=True)
    in_force = serializers.BooleanField(source="agreement_in_force")


class EngagementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id")
    reference = serializers.CharField(source="request.reference")
    provider = serializers.CharField(source="provider.code")
    provider_name = serializers.CharField(source="provider.name")
    status = serializers.CharField(help_text="One of: " + ", ".join(EngagementStatus.values) + ".")
    services = serializers.ListField(child=serializers.CharField())
    person_days = serializers.IntegerField(help_text="Capacity booked for this engagement.")
    logged_days = serializers.DecimalField(max_digits=8, decimal_places=1, default=None, allow_null=True,
                                           coerce_to_string=True)
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    rank = serializers.IntegerField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    offered_by = serializers.EmailField(source="offered_by.email", allow_null=True, default=None,
                                        help_text="Empty when the portal proposed the next provider.")
    offered_at = serializers.DateTimeField(default_timezone=UTC)
    respond_by = serializers.DateTimeField(default_timezone=UTC)
    responded_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    decline_reason = serializers.CharField()
    completed_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    agreement = serializers.SerializerMethodField(help_text="The specific agreement (CSoA Art. 16): work may be "
                                                            "logged once both sides confirmed it (in_force).")
    actions = serializers.SerializerMethodField()

    def get_agreement(self, obj) -> AgreementSerializer:
        return AgreementSerializer(obj).data

    def get_actions(self, obj) -> list[str]:
        return self.context.get("engagement_actions", {}).get(obj.pk, [])


class RequestDetailSerializer(RequestListSerializer):
    spoc_organisation = serializers.CharField(source="spoc_organisation.code", allow_null=True, default=None)
    entity_type = serializers.CharField()
    sector = serializers.CharField(source="sector.code", allow_null=True, default=None)
    incidents = serializers.SerializerMethodField(help_text="Linked incidents you may see.")
    impact_description = serializers.CharField()
    impact_level = serializers.CharField()
    planned_use = serializers.CharField()
    services = serializers.ListField(child=serializers.CharField())
    person_days = serializers.IntegerField(allow_null=True)
    window_start = serializers.DateField(allow_null=True)
    window_end = serializers.DateField(allow_null=True)
    mitigation_measures = serializers.CharField()
    measures_level = serializers.CharField()
    measures_confirmed = serializers.BooleanField()
    other_support = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    spill_over_risk = serializers.CharField()
    security_clearance = serializers.CharField(help_text="Empty when no security clearance is needed.")
    requester_submitted_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    closed_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    missing = serializers.SerializerMethodField(help_text="What a draft still lacks before it can be submitted.")
    actions = serializers.SerializerMethodField(help_text="Workflow actions you may take now.")
    deadlines = serializers.SerializerMethodField()
    information_requests = serializers.SerializerMethodField()
    assessments = serializers.SerializerMethodField(help_text="Shown to the contracting authority's side only.")
    decision = serializers.SerializerMethodField()
    engagements = serializers.SerializerMethodField(help_text="A provider sees only its own engagement.")
    report = serializers.SerializerMethodField(help_text="The after-action report; not shown to providers.")

    def _c(self, name, default=None):
        return self.context.get(name, default)

    def get_incidents(self, obj) -> LinkedIncidentSerializer(many=True):
        return LinkedIncidentSerializer(self._c("incidents", []), many=True).data

    def get_missing(self, obj) -> dict[str, str]:
        return self._c("missing", {})

    def get_actions(self, obj) -> list[str]:
        return self._c("actions", [])

    def get_deadlines(self, obj) -> ReserveDeadlineSerializer(many=True):
        return ReserveDeadlineSerializer(self._c("deadlines", []), many=True, context=self.context).data

    def get_information_requests(self, obj) -> InformationRequestSerializer(many=True):
        return InformationRequestSerializer(self._c("information_requests", []), many=True).data

    def get_assessments(self, obj) -> AssessmentSerializer(many=True):
        return AssessmentSerializer(self._c("assessments", []), many=True).data

    def get_decision(self, obj) -> RequestDecisionSerializer(allow_null=True):
        decision = self._c("decision")
        return RequestDecisionSerializer(decision).data if decision else None

    def get_engagements(self, obj) -> EngagementSerializer(many=True):
        return EngagementSerializer(self._c("engagements", []), many=True, context=self.context).data

    def get_report(self, obj) -> AfterActionReportSerializer(allow_null=True):
        report = self._c("report")
        return AfterActionReportSerializer(report).data if report else None


class FactorSerializer(serializers.Serializer):
    name = serializers.CharField()
    points = serializers.IntegerField()
    max_points = serializers.IntegerField()
    reason = serializers.CharField()


class BesideSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="crisis_level or urgency.")
    value = serializers.CharField()
    reason = serializers.CharField()


class PrioritySerializer(serializers.Serializer):
    score = serializers.IntegerField(help_text="0–100, only the five criteria of CSoA Art. 16 (reserve.priority).")
    explanation = serializers.CharField(help_text="One reason per factor with its points, strongest first.")
    factors = FactorSerializer(many=True)
    crisis_level = serializers.IntegerField(help_text="Highest crisis level of the linked incidents: shown beside "
                                                      "the score, no points; orders equal scores.")
    urgency = serializers.CharField(help_text="The requester's declared urgency: shown beside the score, no points; "
                                              "orders equal scores after the crisis level.")
    beside = BesideSerializer(many=True, help_text="What is shown beside the score, with why it adds no points.")


class QueueItemSerializer(RequestListSerializer):
    position = serializers.IntegerField()
    entity_type = serializers.CharField()
    priority = PrioritySerializer()
    response_clock = ReserveDeadlineSerializer(source="response_deadline", allow_null=True,
                                        help_text="The contracting authority's response clock (48 h by default).")


class QueueQuerySerializer(serializers.Serializer):
    """The triage queue's filters; a bad value is a 400 naming the parameter."""

    status = serializers.ChoiceField(choices=[(v, RequestStatus(v).label) for v in OPEN_FOR_TRIAGE], required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    member_state = serializers.CharField(required=False, help_text="The requesting organisation's member state.")


class QueueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = QueueItemSerializer(many=True)


class RankedSerializer(serializers.Serializer):
    provider = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())


class ExcludedSerializer(serializers.Serializer):
    provider = serializers.CharField()
    name = serializers.CharField()
    code = serializers.CharField(help_text="service, language, member_state, capacity, certification, conflict "
                                           "or inactive: the first that applies.")
    codes = serializers.ListField(child=serializers.CharField(), help_text="Every exclusion that applies.")
    reason = serializers.CharField()


class NeedSerializer(serializers.Serializer):
    services = serializers.ListField(child=serializers.CharField())
    sector = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    member_state = serializers.CharField()
    window_start = serializers.DateField(allow_null=True)
    window_end = serializers.DateField(allow_null=True)
    person_days = serializers.IntegerField(allow_null=True)


class RankingSerializer(serializers.Serializer):
    request = serializers.IntegerField()
    reference = serializers.CharField()
    need = NeedSerializer()
    ranked = RankedSerializer(many=True)
    excluded = ExcludedSerializer(many=True)


class WorkLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    engagement = serializers.IntegerField(source="engagement_id")
    day = serializers.DateField()
    person_days = serializers.DecimalField(max_digits=6, decimal_places=1)
    activity = serializers.CharField()
    logged_by = serializers.EmailField(source="logged_by.email")
    logged_at = serializers.DateTimeField(default_timezone=UTC)


class DeploymentUpdateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    engagement = serializers.IntegerField(source="engagement_id")
    organisation = serializers.CharField(source="organisation.code")
    author = serializers.EmailField(source="author.email")
    text = serializers.CharField()
    created_at = serializers.DateTimeField(default_timezone=UTC)


class CapacitySerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    person_days = serializers.IntegerField(help_text="Committed person-days in the period.")
    booked = serializers.IntegerField(required=False, help_text="Booked by engagements starting in the period "
                                                                "(detail view only).")


class ProviderSerializer(serializers.Serializer):
    code = serializers.CharField(source="organisation.code")
    name = serializers.CharField(source="organisation.name")
    member_state = serializers.CharField(source="organisation.member_state.code", allow_null=True, default=None)
    services = serializers.ListField(child=serializers.CharField())
    sectors = serializers.SerializerMethodField()
    languages = serializers.ListField(child=serializers.CharField())
    member_states = serializers.SerializerMethodField()
    certification_status = serializers.CharField()
    certified_from = serializers.DateField(allow_null=True)
    certified_until = serializers.DateField(allow_null=True)
    security_clearances = serializers.ListField(child=serializers.CharField())
    conflicts_of_interest = serializers.ListField(child=serializers.CharField())
    response_hours = serializers.IntegerField()
    is_active = serializers.BooleanField()
    capacities = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(default_timezone=UTC)

    def get_sectors(self, obj) -> list[str]:
        return sorted(s.code for s in obj.sectors.all())

    def get_member_states(self, obj) -> list[str]:
        return sorted(m.code for m in obj.member_states.all())

    def get_capacities(self, obj) -> CapacitySerializer(many=True):
        booked = self.context.get("booked", {})
        rows = []
        for c in obj.capacities.all():
            row = {"period_start": c.period_start, "period_end": c.period_end, "person_days": c.person_days}
            if c.pk in booked:
                row["booked"] = booked[c.pk]
            rows.append(row)
        return CapacitySerializer(rows, many=True).data
