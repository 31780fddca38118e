"""The inject form: the service (``scenarios.services``) checks the rest and names the field it refuses."""

import json

from django import forms

from scenarios import payloads, timing
from scenarios.models import Inject

PAYLOAD_HELP = "A JSON object; its fields depend on the kind (examples below the form)."


class InjectForm(forms.Form):
    kind = forms.ChoiceField(choices=Inject.Kind.choices)
    title = forms.CharField(max_length=200, help_text="What the controllers call it on the scenario.")
    organisation = forms.ModelChoiceField(queryset=None, label="Played by",
                                          help_text="The participating organisation that reports, requests or declines.")
    offset = forms.CharField(required=False, label="Exercise time after the start",
                             help_text="hours:minutes (02:30, or 1d 02:30); empty: released by hand.")
    payload = forms.CharField(widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}), help_text=PAYLOAD_HELP)

    def __init__(self, *args, exercise, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = exercise.participants.filter(is_active=True).order_by("name")

    def clean_offset(self):
        try:
            return timing.parse_offset(self.cleaned_data["offset"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_payload(self):
        try:
            return json.loads(self.cleaned_data["payload"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).") \
                from None

    @staticmethod
    def initial_for(inject: Inject) -> dict:
        return {"kind": inject.kind, "title": inject.title, "organisation": inject.organisation,
                "offset": timing.format_offset(inject.offset), "payload": json.dumps(inject.payload, indent=2)}


def examples() -> list[tuple[str, str, str]]:
    """(kind label, its fields, an example payload) for the form's help."""
    return [(Inject.Kind(kind).label,
             ", ".join(f"{name}{' (required)' if field.required else ''}" for name, field in spec.items()),
             json.dumps(payloads.EXAMPLES[kind], ensure_ascii=False))
            for kind, spec in payloads.SPECS.items()]
