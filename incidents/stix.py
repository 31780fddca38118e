"""STIX 2.1 export of an incident, built with the ``stix2`` library.

The incident becomes an ``incident`` SDO created by the reporting organisation's
``identity``. Each observable becomes an ``indicator`` (with a STIX pattern over the cyber
observable it names), except a CVE, which is no cyber observable: it becomes a
``vulnerability`` (its ``cve`` external reference carries the id). Each is tied to the
incident by a ``related-to`` relationship (indicator → incident). STIX 2.1 suggests
``indicates`` only towards attack-pattern, campaign, infrastructure, intrusion-set, malware,
threat-actor and tool, and defines no relationship for the ``incident`` SDO; ``related-to``
is the common relationship any two SDOs may share (STIX 2.1 §4.1), so it says what the
portal knows (seen in this incident) and no more. Every indicator has a name and a
description (the analyst's note, else what it is and in which incident it was seen).

An observable's tags (machine tags ``rsit:…``, free words) are the ``labels`` of its indicator or
vulnerability, so an import (``incidents.imports.stix``) gives them back.

Every object carries the official TLP 2.0 marking definition of its label (OASIS STIX 2.1
TLP 2.0 extension, their official ids), and the bundle includes those definitions.

Ids: STIX 2.1 asks UUIDv4 of domain and relationship objects. Each exported object's id is
drawn once and stored (``stix_id`` on the incident, the observable, the timeline entry;
``stix_relationship_id`` on the observable; ``StixIdentity`` per organisation, drawn on its
first export), so re-exports give the same ids. The portal's own identity and the
extension-definition have fixed ids. Only the bundle id is new per export.

Each situation update the reader may see becomes a ``note`` on the incident, marked with its
own TLP label (an update stricter than its incident keeps its label) and created by its
author's organisation. Its NIS Cooperation Group assessment rides on the note as top-level
properties ``x_csoa_impact_severity``, ``x_csoa_impact_outlook``, ``x_csoa_root_cause`` and
``x_csoa_threat_severity`` (only those assessed), declared by the bundle's
``extension-definition`` (STIX 2.1 §7.3, a toplevel-property-extension), so the bundle is
valid STIX without "custom" content.

The bundle passes the OASIS validator (``stix2-validator``) in strict mode with no error and
no warning, for every TLP label and every observable type
(tests/incidents/test_stix_validator.py).

The few singleton objects are built and validated by ``stix2``; the per-observable
objects and relationships are written as plain dicts in exactly the shape ``stix2``
serialises, because building 20,000 validated ``stix2`` objects took seconds for an
incident with 10,000 observables (``stix2.parse`` in the tests checks the result).
"""

import json
import uuid
from collections.abc import Iterable
from datetime import UTC

import stix2
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from incidents.models import Incident, Observable, StixIdentity, TimelineEntry
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
SITUATION_PREFIX = "x_csoa_"
# Drawn once (UUIDv4) and fixed here: the portal as a system, and the definition of its situation properties.
PORTAL_IDENTITY = "identity--83e210c7-84af-4a27-89bb-866c98a64789"
SITUATION_EXTENSION = "extension-definition--eff0fc97-2eaf-4633-b392-2817fe3fc74b"


def tlp_marking(label: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP2_IDS[label],
        created="2022-10-01T00:00:00.000Z",
        created_by_ref=TLP2_CREATED_BY,
        name=f"TLP:{label.upper()}",
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label}},
    )


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def pattern_for(obs_type: str, raw_value: str) -> str:
    """The STIX pattern of an observable; a CVE has none (it is exported as a vulnerability)."""
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
    raise ValueError(f"{obs_type!r} observables have no STIX pattern.")


def _timestamp(value) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _uuid_text(value: str) -> str:
    """A stored UUID read as text: PostgreSQL gives it hyphenated, SQLite its 32 hex digits.

    Read as text because parsing 20,000 ``uuid.UUID`` objects was a fifth of a big export.
    """
    return value if len(value) == 36 else f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _as_dict(obj) -> dict:
    return json.loads(obj.serialize())


def identity_ids(organisations: Iterable) -> dict[int, str]:
    """``{organisation pk: "identity--…"}``; an organisation exported for the first time gets its UUIDv4 now.

    Drawing it is idempotent (one row per organisation, a concurrent export's row wins), so the
    export may run on any read path; it records no audit entry: an id is no change of the organisation.
    """
    wanted = {org.pk for org in organisations}
    stored = dict(StixIdentity.objects.filter(organisation__in=wanted).values_list("organisation_id", "stix_id"))
    if wanted - stored.keys():
        StixIdentity.objects.bulk_create([StixIdentity(organisation_id=pk) for pk in wanted - stored.keys()],
                                         ignore_conflicts=True)
        stored = dict(StixIdentity.objects.filter(organisation__in=wanted).values_list("organisation_id", "stix_id"))
    return {pk: f"identity--{stix_id}" for pk, stix_id in stored.items()}


def _identity(org, identity_id: str) -> stix2.Identity:
    return stix2.Identity(
        id=identity_id, name=org.name, identity_class="organization",
        sectors=None, description=f"{org.get_kind_display()} ({org.code})",
        created="2020-01-01T00:00:00Z", modified="2020-01-01T00:00:00Z",
    )


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
        id=f"note--{entry.stix_id}", created=entry.created_at, modified=entry.created_at,
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
    situations = [] if situation_updates is None else list(
        situation_updates.filter(kind=TimelineEntry.Kind.SITUATION).select_related("organisation").order_by("created_at", "id"))
    organisations = {org.pk: org, **{entry.organisation_id: entry.organisation for entry in situations}}
    identities = identity_ids(organisations.values())
    markings = {incident.tlp: tlp_marking(incident.tlp)}
    stix_incident = stix2.Incident(
        id=f"incident--{incident.stix_id}", name=f"{incident.reference} {incident.title}",
        description=incident.description or None, created=incident.created_at, modified=incident.updated_at,
        created_by_ref=identities[org.pk], object_marking_refs=[TLP2_IDS[incident.tlp]],
        external_references=[{"source_name": "csoa-portal", "external_id": incident.reference}],
        labels=[f"severity:{incident.severity}", f"status:{incident.status}"]
        + ([f"rsit:{incident.category.code}"] if incident.category_id else []),
        allow_custom=False,
    )
    objects = [_as_dict(_identity(org, identities[org.pk])), _as_dict(stix_incident)]
    identity_id, incident_id = identities[org.pk], stix_incident.id
    if situations:
        objects += _situation_extension()
        exported = {org.pk}
        for entry in situations:
            if entry.organisation_id not in exported:
                exported.add(entry.organisation_id)
                objects.append(_as_dict(_identity(entry.organisation, identities[entry.organisation_id])))
            if entry.tlp not in markings:
                markings[entry.tlp] = tlp_marking(entry.tlp)
            objects.append(_as_dict(_situation_note(entry, incident_id, identities[entry.organisation_id])))
    type_labels, reference = dict(ObservableType.choices), incident.reference
    tags: dict[int, list[str]] = {}
    for observable_id, name in Observable.tags.through.objects.filter(observable__in=observables.values("pk")) \
            .order_by("tag__name").values_list("observable_id", "tag__name"):
        tags.setdefault(observable_id, []).append(name)
    rows = observables.order_by("pk").annotate(
        stix=Cast("stix_id", TextField()), link=Cast("stix_relationship_id", TextField()),
    ).values_list("pk", "type", "value", "note", "tlp", "first_seen", "created_at", "stix", "link")
    for pk, obs_type, value, note, tlp, first_seen, created_at, stix_id, link_id in rows.iterator(chunk_size=2000):
        if tlp not in markings:
            markings[tlp] = tlp_marking(tlp)
        created = _timestamp(created_at)
        marking = [TLP2_IDS[tlp]]
        common = {"spec_version": "2.1", "created_by_ref": identity_id, "created": created, "modified": created}
        stix_id = _uuid_text(stix_id)
        if obs_type == ObservableType.CVE:
            source = {
                "type": "vulnerability", **common, "id": f"vulnerability--{stix_id}", "name": value,
                "description": note or f"{value}, recorded in incident {reference}.",
                "external_references": [{"source_name": "cve", "external_id": value}],
                "object_marking_refs": marking,
            }
        else:
            source = {
                "type": "indicator", **common, "id": f"indicator--{stix_id}",
                "name": f"{type_labels[obs_type]} {value}"[:250],
                "description": note or f"{type_labels[obs_type]} seen in incident {reference}: {value}",
                "pattern": pattern_for(obs_type, value), "pattern_type": "stix", "pattern_version": "2.1",
                "valid_from": _timestamp(first_seen or created_at),
                "object_marking_refs": marking,
            }
        if pk in tags:
            source["labels"] = tags[pk]
        relationship = {
            "type": "relationship", **common, "id": f"relationship--{_uuid_text(link_id)}",
            "relationship_type": "related-to", "source_ref": source["id"], "target_ref": incident_id,
            "object_marking_refs": marking,
        }
        objects += [source, relationship]
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [*(_as_dict(m) for m in markings.values()), *objects],
    }


def serialize(bundle: dict, *, pretty: bool = False) -> str:
    return json.dumps(bundle, indent=4 if pretty else None, ensure_ascii=False)
