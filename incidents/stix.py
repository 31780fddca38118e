"""STIX 2.1 export of an incident, built with the ``stix2`` library.

The incident becomes an ``incident`` SDO created by the reporting organisation's
``identity``; each observable an ``indicator`` (with a STIX pattern) related to it by
``indicates``. Every object carries the official TLP 2.0 marking definition of its
label (OASIS STIX 2.1 TLP 2.0 extension), and the bundle includes those definitions.
Ids are derived (uuid5) from the portal's ids so re-exports are stable.

Each situation update the reader may see becomes a ``note`` on the incident, marked with its
own TLP label (an update stricter than its incident keeps its label) and created by its
author's organisation. Its NIS Cooperation Group assessment rides on the note as top-level
properties ``x_csoa_impact_severity``, ``x_csoa_impact_outlook``, ``x_csoa_root_cause`` and
``x_csoa_threat_severity`` (only those assessed), declared by the bundle's
``extension-definition`` (STIX 2.1 §7.3, a toplevel-property-extension), so the bundle is
valid STIX without "custom" content.

The few singleton objects are built and validated by ``stix2``; the per-observable
indicators and relationships are written as plain dicts in exactly the shape ``stix2``
serialises, because building 20,000 validated ``stix2`` objects took seconds for an
incident with 10,000 observables (``stix2.parse`` in the tests checks the result).
"""

import hashlib
import json
import uuid
from datetime import UTC

import stix2
from django.db.models import QuerySet

from incidents.models import Incident, Observable, TimelineEntry
from incidents.observables import ObservableType
from incidents.vocabulary import SITUATION_TAXONOMY

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED_BY = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"
TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
NAMESPACE = uuid.UUID("6f1d3c1e-2b7a-4f55-9a55-0c5a0e6c5a11")
SITUATION_PREFIX = "x_csoa_"


def tlp_marking(label: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP2_IDS[label],
        created="2022-10-01T00:00:00.000Z",
        created_by_ref=TLP2_CREATED_BY,
        name=f"TLP:{label.upper()}",
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label}},
    )


def _id(kind: str, key: str) -> str:
    """``kind--uuid5(NAMESPACE, "kind:key")``, computed without building UUID objects (hot in big exports)."""
    digest = bytearray(hashlib.sha1(NAMESPACE.bytes + f"{kind}:{key}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{kind}--{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def pattern_for(obs_type: str, raw_value: str) -> str:
    value = _quote(raw_value)
    if obs_type == "ipv4" or (obs_type == "cidr" and ":" not in raw_value):
        return f"[ipv4-addr:value = '{value}']"
    if obs_type in ("ipv6", "cidr"):
        return f"[ipv6-addr:value = '{value}']"
    if obs_type == "domain":
        return f"[domain-name:value = '{value}']"
    if obs_type == "url":
        return f"[url:value = '{value}']"
    if obs_type == "email":
        return f"[email-addr:value = '{value}']"
    if obs_type in ("md5", "sha1", "sha256"):
        algorithm = {"md5": "MD5", "sha1": "'SHA-1'", "sha256": "'SHA-256'"}[obs_type]
        return f"[file:hashes.{algorithm} = '{value}']"
    if obs_type == "asn":
        return f"[autonomous-system:number = {int(raw_value[2:])}]"
    return f"[vulnerability:name = '{value}']"


def _timestamp(value) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_dict(obj) -> dict:
    return json.loads(obj.serialize())


def _identity(org) -> stix2.Identity:
    return stix2.Identity(
        id=_id("identity", f"org:{org.code}"), name=org.name, identity_class="organization",
        sectors=None, description=f"{org.get_kind_display()} ({org.code})",
        created="2020-01-01T00:00:00Z", modified="2020-01-01T00:00:00Z",
    )


PORTAL_IDENTITY = _id("identity", "csoa-portal")
SITUATION_EXTENSION = _id("extension-definition", "situation-taxonomy:1")


def _situation_extension() -> list[dict]:
    """The portal's identity and the extension-definition declaring the ``x_csoa_`` properties of situation notes."""
    portal = stix2.Identity(id=PORTAL_IDENTITY, name="CSoA Portal", identity_class="system",
                            created="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z")
    lines = [f"{SITUATION_PREFIX}{field}: {label}, one of {', '.join(vocabulary.values)}; absent when not assessed."
             for field, (label, vocabulary) in SITUATION_TAXONOMY.items()]
    definition = stix2.ExtensionDefinition(
        id=SITUATION_EXTENSION, created_by_ref=PORTAL_IDENTITY, created="2026-01-01T00:00:00Z",
        modified="2026-01-01T00:00:00Z", name="CSoA Portal situation assessment", version="1.0.0",
        extension_types=["toplevel-property-extension"],
        extension_properties=[f"{SITUATION_PREFIX}{field}" for field in SITUATION_TAXONOMY],
        description="The NIS Cooperation Group's taxonomy on a situation update (a note on the incident).",
        schema="Top-level properties of a note, each a string: " + " ".join(lines),
    )
    return [_as_dict(portal), _as_dict(definition)]


def _situation_note(entry: TimelineEntry, incident_id: str, identity_id: str) -> stix2.Note:
    assessed = {f"{SITUATION_PREFIX}{field}": getattr(entry, field) for field in SITUATION_TAXONOMY
                if getattr(entry, field)}
    return stix2.Note(
        id=_id("note", f"situation:{entry.pk}"), created=entry.created_at, modified=entry.created_at,
        created_by_ref=identity_id, abstract="Situation update", content=entry.text, object_refs=[incident_id],
        object_marking_refs=[TLP2_IDS[entry.tlp]],
        extensions={SITUATION_EXTENSION: {"extension_type": "toplevel-property-extension"}}, **assessed,
    )


def bundle_for(incident: Incident, observables: QuerySet[Observable],
               situation_updates: QuerySet[TimelineEntry] | None = None) -> dict:
    """The incident, the given observables and situation updates as one bundle (a JSON-ready dict).

    Both are already permission-filtered by the caller (``observables_visible_to``,
    ``timeline_visible_to``); only the situation updates among the entries are exported.
    Observables are read as plain rows: model instances cost more than the export itself.
    """
    org = incident.reporting_organisation
    identity = _identity(org)
    markings = {incident.tlp: tlp_marking(incident.tlp)}
    stix_incident = stix2.Incident(
        id=_id("incident", str(incident.pk)), name=f"{incident.reference} {incident.title}",
        description=incident.description or None, created=incident.created_at, modified=incident.updated_at,
        created_by_ref=identity.id, object_marking_refs=[TLP2_IDS[incident.tlp]],
        external_references=[{"source_name": "csoa-portal", "external_id": incident.reference}],
        labels=[f"severity:{incident.severity}", f"status:{incident.status}"]
        + ([f"rsit:{incident.category.code}"] if incident.category_id else []),
        allow_custom=False,
    )
    objects = [_as_dict(identity), _as_dict(stix_incident)]
    identity_id, incident_id = identity.id, stix_incident.id
    situations = [] if situation_updates is None else list(
        situation_updates.filter(kind=TimelineEntry.Kind.SITUATION).select_related("organisation").order_by("created_at", "id"))
    if situations:
        objects += _situation_extension()
        identities = {org.pk: identity}
        for entry in situations:
            if entry.organisation_id not in identities:
                identities[entry.organisation_id] = _identity(entry.organisation)
                objects.append(_as_dict(identities[entry.organisation_id]))
            if entry.tlp not in markings:
                markings[entry.tlp] = tlp_marking(entry.tlp)
            objects.append(_as_dict(_situation_note(entry, incident_id, identities[entry.organisation_id].id)))
    type_labels = dict(ObservableType.choices)
    rows = observables.order_by("pk").values_list("pk", "type", "value", "note", "tlp", "first_seen", "created_at")
    for pk, obs_type, value, note, tlp, first_seen, created_at in rows.iterator(chunk_size=2000):
        if tlp not in markings:
            markings[tlp] = tlp_marking(tlp)
        created = _timestamp(created_at)
        common = {"spec_version": "2.1", "created_by_ref": identity_id, "created": created, "modified": created}
        indicator = {
            "type": "indicator", **common, "id": _id("indicator", f"{incident.pk}:{pk}"),
            "name": f"{type_labels[obs_type]} {value}"[:250], "pattern": pattern_for(obs_type, value), "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": _timestamp(first_seen or created_at),
            "object_marking_refs": [TLP2_IDS[tlp]],
        }
        if note:
            indicator["description"] = note
        relationship = {
            "type": "relationship", **common, "id": _id("relationship", f"{incident.pk}:{pk}"),
            "relationship_type": "indicates", "source_ref": indicator["id"], "target_ref": incident_id,
            "object_marking_refs": [TLP2_IDS[tlp]],
        }
        objects += [indicator, relationship]
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [*(_as_dict(m) for m in markings.values()), *objects],
    }


def serialize(bundle: dict, *, pretty: bool = False) -> str:
    return json.dumps(bundle, indent=4 if pretty else None, ensure_ascii=False)
