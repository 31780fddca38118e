"""STIX 2.1 export of an incident, built with the ``stix2`` library.

The incident becomes an ``incident`` SDO created by the reporting organisation's
``identity``; each observable an ``indicator`` (with a STIX pattern) related to it by
``indicates``. Every object carries the official TLP 2.0 marking definition of its
label (OASIS STIX 2.1 TLP 2.0 extension), and the bundle includes those definitions.
Ids are derived (uuid5) from the portal's ids so re-exports are stable.
"""

import uuid

import stix2

from incidents.models import Incident, Observable

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


def tlp_marking(label: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP2_IDS[label],
        created="2022-10-01T00:00:00.000Z",
        created_by_ref=TLP2_CREATED_BY,
        name=f"TLP:{label.upper()}",
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label}},
    )


def _id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{key}')}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def pattern_for(obs: Observable) -> str:
    value = _quote(obs.value)
    if obs.type == "ipv4" or (obs.type == "cidr" and ":" not in obs.value):
        return f"[ipv4-addr:value = '{value}']"
    if obs.type in ("ipv6", "cidr"):
        return f"[ipv6-addr:value = '{value}']"
    if obs.type == "domain":
        return f"[domain-name:value = '{value}']"
    if obs.type == "url":
        return f"[url:value = '{value}']"
    if obs.type == "email":
        return f"[email-addr:value = '{value}']"
    if obs.type in ("md5", "sha1", "sha256"):
        algorithm = {"md5": "MD5", "sha1": "'SHA-1'", "sha256": "'SHA-256'"}[obs.type]
        return f"[file:hashes.{algorithm} = '{value}']"
    if obs.type == "asn":
        return f"[autonomous-system:number = {int(obs.value[2:])}]"
    return f"[vulnerability:name = '{value}']"


def bundle_for(incident: Incident, observables) -> stix2.Bundle:
    """The incident and the given (already permission-filtered) observables as one bundle."""
    org = incident.reporting_organisation
    identity = stix2.Identity(
        id=_id("identity", f"org:{org.code}"), name=org.name, identity_class="organization",
        sectors=None, description=f"{org.get_kind_display()} ({org.code})",
        created="2020-01-01T00:00:00Z", modified="2020-01-01T00:00:00Z",
    )
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
    objects = [identity, stix_incident]
    for obs in observables:
        markings.setdefault(obs.tlp, tlp_marking(obs.tlp))
        indicator = stix2.Indicator(
            id=_id("indicator", f"{incident.pk}:{obs.pk}"), name=f"{obs.get_type_display()} {obs.value}"[:250],
            description=obs.note or None, pattern=pattern_for(obs), pattern_type="stix",
            valid_from=obs.first_seen or obs.created_at, created=obs.created_at, modified=obs.created_at,
            created_by_ref=identity.id, object_marking_refs=[TLP2_IDS[obs.tlp]],
        )
        relationship = stix2.Relationship(
            id=_id("relationship", f"{incident.pk}:{obs.pk}"), relationship_type="indicates",
            source_ref=indicator.id, target_ref=stix_incident.id, created=obs.created_at, modified=obs.created_at,
            created_by_ref=identity.id, object_marking_refs=[TLP2_IDS[obs.tlp]],
        )
        objects += [indicator, relationship]
    return stix2.Bundle(objects=[*markings.values(), *objects], allow_custom=False)
