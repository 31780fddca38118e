"""What each kind of inject says (its payload), checked when it is written: errors name ``payload.<field>``.

Pure: shapes and vocabularies only. Whether the codes exist, the referenced injects fit and
the real services accept it is checked by ``scenarios.services`` (when written, and again when
released: a real service's refusal fails the inject with its message).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from incidents.vocabulary import TLP, Severity

# The content of a Reserve request an inject may state (reserve.services.requests.CONTENT_FIELDS less the incidents,
# which come from the referenced inject). Checked by the Reserve's own service when released.
REQUEST_FIELDS = (
    "affected_entity", "entity_type", "sector", "impact_description", "impact_level", "planned_use",
    "services", "person_days", "window_start", "window_end", "mitigation_measures", "measures_level",
    "measures_confirmed", "other_support", "urgency", "languages", "spill_over_risk", "security_clearance",
)


@dataclass(frozen=True)
class Field:
    type: str  # text, choice, codes, bool, minutes, inject, value (left to the real service)
    required: bool = False
    choices: tuple = ()


INCIDENT = {
    "title": Field("text", True), "severity": Field("choice", choices=tuple(Severity.values)),
    "tlp": Field("choice", choices=tuple(TLP.values)), "description": Field("text"), "sectors": Field("codes"),
    "member_states": Field("codes"), "cross_border_impact": Field("bool"), "national_capacity_exceeded": Field("bool"),
    "suspected_malicious": Field("bool"), "aware_minutes_before": Field("minutes"),
}
SPECS: dict[str, dict[str, Field]] = {
    "incident": INCIDENT,
    "severity": {"incident_inject": Field("inject", True),
                 "severity": Field("choice", True, tuple(Severity.values)), "member_states": Field("codes"),
                 "cross_border_impact": Field("bool"), "national_capacity_exceeded": Field("bool")},
    "press": {"incident_inject": Field("inject", True), "headline": Field("text", True), "text": Field("text", True),
              "outlet": Field("text"), "tlp": Field("choice", choices=tuple(TLP.values))},
    "reserve_request": {"incident_inject": Field("inject", True), **{name: Field("value") for name in REQUEST_FIELDS}},
    "provider_declines": {"request_inject": Field("inject", True), "reason": Field("text", True)},
}
# The inject a kind refers to, and the kind that inject must be.
REFERENCES = {"incident_inject": "incident", "request_inject": "reserve_request"}

EXAMPLES = {
    "incident": {"title": "Ransomware at a hospital group", "severity": "high", "tlp": "amber",
                 "sectors": ["health"], "member_states": ["DE", "FR"], "cross_border_impact": True,
                 "aware_minutes_before": 30},
    "severity": {"incident_inject": 1, "severity": "critical", "national_capacity_exceeded": True},
    "press": {"incident_inject": 1, "outlet": "Tagesblatt", "headline": "Hospitals turn patients away",
              "text": "Three hospitals in Hesse report ..."},
    "reserve_request": {"incident_inject": 1, "affected_entity": "Klinikum Beispiel", "entity_type": "essential",
                        "sector": "health", "impact_description": "...", "impact_level": "severe",
                        "planned_use": "...", "services": ["incident_response"], "person_days": 20,
                        "mitigation_measures": "...", "measures_level": "substantial", "measures_confirmed": True,
                        "other_support": "none", "urgency": "immediate", "languages": ["de", "en"],
                        "spill_over_risk": "medium"},
    "provider_declines": {"request_inject": 4, "reason": "No forensic staff free this week."},
}


def _check(name: str, field: Field, value) -> str | None:
    """Why ``value`` is not good for ``field``, or None."""
    if field.type == "text":
        return None if isinstance(value, str) and value.strip() else "Write it as text."
    if field.type == "choice":
        return None if value in field.choices else f"Unknown value {value!r}; use one of {', '.join(field.choices)}."
    if field.type == "codes":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            return "Give a list of codes, e.g. [\"DE\", \"FR\"]."
        return None
    if field.type == "bool":
        return None if isinstance(value, bool) else "Write true or false."
    if field.type == "minutes":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 60 * 24 * 30
        return None if ok else "Give a whole number of minutes (0 to 43200)."
    if field.type == "inject":
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return None if ok else "Give the number of an earlier inject of this scenario."
    return None


def clean(kind: str, payload) -> dict:
    """The payload of an inject of ``kind``, or ValidationError naming every bad field (``payload.severity``)."""
    spec = SPECS.get(kind)
    if spec is None:
        raise ValidationError({"kind": f"Unknown kind of inject {kind!r}; use one of {', '.join(SPECS)}."})
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "Write the payload as a JSON object: {\"title\": …}."})
    errors = {}
    for name in sorted(set(payload) - set(spec)):
        errors[f"payload.{name}"] = f"Not a field of this kind of inject; use {', '.join(spec)}."
    for name, field in spec.items():
        if name not in payload or payload[name] in (None, ""):
            if field.required:
                errors[f"payload.{name}"] = "Required for this kind of inject."
            continue
        problem = _check(name, field, payload[name])
        if problem:
            errors[f"payload.{name}"] = problem
    if errors:
        raise ValidationError(errors)
    return {name: value for name, value in payload.items() if value not in (None, "")}
