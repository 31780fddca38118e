"""MISP export of an incident, and the MISP feed of what an organisation may see; built with PyMISP.

The incident becomes a ``MISPEvent``: ``info`` its title, ``date`` the day the entity became aware,
``threat_level_id`` from the severity, ``analysis`` from the status, ``distribution`` from the TLP
(incidents/misp_types.py), created by (``Orgc``) the reporting organisation. Its tags: the ``tlp:``
tag of MISP's TLP 2.0 taxonomy, the RSIT tag of its category (``rsit:fraud="phishing"``), the NIS
Cooperation Group's ``nis:impact-sectors-impacted`` of its sectors, the ``nis:`` assessment of its
latest situation updates the reader may see (``nis:impact-severity``, ``nis:impact-outlook``,
``nis:nature-root-cause``, ``nis:nature-severity``: per field, the latest update that assessed it),
then the incident's own tags. Each observable the reader may see becomes an attribute of the MISP
type and category ``misp_types.ATTRIBUTE_OF`` names, with MISP's ``to_ids`` default for the type,
its note as ``comment``, its first and last seen, its own ``tlp:`` tag and distribution, and its
tags; a hash is an attribute of a MISP ``file`` object (one object per hash: the portal does not
know which hashes describe the same file).

The export is the feed's own format (``MISPEvent.to_feed``, distribution included), so the API's
download and the feed's ``<uuid>.json`` are the same document for the same reader.

Ids. MISP pulls a feed by event uuid and timestamp, so both must be stable:

- the event's uuid is ``Incident.misp_uuid``, drawn once and stored, because the feed serves
  ``<uuid>.json`` and must find the incident by it (an indexed lookup; a derived uuid cannot be
  looked up without computing it for every incident);
- an attribute's (and its ``file`` object's) uuid is derived, uuid5 under the fixed ``NAMESPACE``,
  from the observable's stored STIX id: stable for the observable's life, never looked up, so it
  needs no column, and distinct from the STIX id (the same uuid must not name two different objects
  in a MISP instance that imports both exports);
- ``Orgc.uuid`` is the organisation's STIX identity id (``stix.identity_ids``): one organisation,
  one uuid, in both exports (misp-stix maps ``Orgc`` to that identity too).

``timestamp`` is the incident's ``updated_at``: every change of the incident, its observables, its
tags or its timeline bumps it (``services.common._touch``), so MISP fetches exactly what changed.
Observables have no change time of their own, so every attribute carries the incident's timestamp
too: MISP updates an attribute only when its timestamp moved, and a changed note must arrive.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from pymisp import MISPEvent, MISPObject, MISPOrganisation, MISPTag

from incidents.misp_types import (
    ANALYSIS_OF, ATTRIBUTE_OF, DISTRIBUTION_OF, HASH_TYPES, THREAT_LEVEL_OF, TLP_TAG, TO_IDS_OF, assessment_tags,
    category_tag, sector_tag,
)
from incidents.models import Incident, Observable, TimelineEntry
from incidents.stix import _uuid_text, identity_ids
from incidents.vocabulary import SITUATION_TAXONOMY
from liaison.models import Organisation

# Drawn once (UUIDv4) and fixed here: the namespace of the uuid5s of attributes and objects.
NAMESPACE = uuid.UUID("5f0c8a43-5a7e-4d0b-9b53-2f6f1c3e9a71")
ASSESSED = tuple(SITUATION_TAXONOMY)


def attribute_uuid(stix_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"attribute:{stix_id}"))


def object_uuid(stix_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"file-object:{stix_id}"))


@dataclass(frozen=True)
class EventHead:
    """What the manifest says of an event, and the event's own fields: one builder for both."""

    uuid: str
    info: str
    date: date
    threat_level_id: int
    analysis: int
    distribution: int
    timestamp: datetime
    orgc_name: str
    orgc_uuid: str
    tags: tuple[str, ...]

    def manifest_entry(self) -> dict:
        """The entry of MISP's ``manifest.json`` (as ``MISPEvent.manifest`` writes it)."""
        return {
            "Orgc": {"name": self.orgc_name, "uuid": self.orgc_uuid},
            "Tag": [{"colour": "#ffffff", "local": False, "name": name, "relationship_type": ""} for name in self.tags],
            "info": self.info, "date": self.date.isoformat(), "analysis": self.analysis,
            "threat_level_id": self.threat_level_id, "timestamp": int(self.timestamp.timestamp()),
        }


def event_head(*, misp_uuid, title: str, aware_at: datetime, severity: str, status: str, tlp: str,
               updated_at: datetime, orgc_name: str, orgc_uuid: str, category_code: str | None,
               sector_codes: Iterable[str], assessment: dict[str, str], tag_names: Iterable[str]) -> EventHead:
    """The event's head from plain values (pure): the single export and the manifest both build it here."""
    tags = [TLP_TAG[tlp]]
    if category_code:
        tags.append(category_tag(category_code))
    tags += [tag for code in sorted(sector_codes) if (tag := sector_tag(code))]
    tags += assessment_tags(assessment)
    tags += sorted(name for name in tag_names if not name.startswith("tlp:"))
    return EventHead(
        uuid=_uuid_text(str(misp_uuid)), info=title, date=aware_at.astimezone(UTC).date(),
        threat_level_id=THREAT_LEVEL_OF.get(severity, 4), analysis=ANALYSIS_OF.get(status, 0),
        distribution=DISTRIBUTION_OF[tlp], timestamp=updated_at, orgc_name=orgc_name, orgc_uuid=orgc_uuid,
        tags=tuple(dict.fromkeys(tags)),
    )


def latest_assessment(rows: Iterable[tuple]) -> dict[str, str]:
    """Per field, the value of the newest row that assessed it; ``rows`` are ``(field values…)`` newest first."""
    found: dict[str, str] = {}
    for values in rows:
        for field, value in zip(ASSESSED, values):
            if value and field not in found:
                found[field] = value
    return found


def _assessed(entries: QuerySet[TimelineEntry]) -> QuerySet[TimelineEntry]:
    """Situation updates that assessed anything."""
    return entries.filter(kind=TimelineEntry.Kind.SITUATION).exclude(**{field: "" for field in ASSESSED})


def _orgc_uuids(organisation_ids: Iterable[int]) -> dict[int, str]:
    return {pk: identity.removeprefix("identity--")
            for pk, identity in identity_ids(Organisation(pk=pk) for pk in set(organisation_ids)).items()}


def head_of(incident: Incident, situation_updates: QuerySet[TimelineEntry]) -> EventHead:
    """The head of one incident's event; ``situation_updates`` are the entries the reader may see."""
    org = incident.reporting_organisation
    assessment = latest_assessment(_assessed(situation_updates).order_by("-created_at", "-id").values_list(*ASSESSED))
    return event_head(
        misp_uuid=incident.misp_uuid, title=incident.title, aware_at=incident.aware_at, severity=incident.severity,
        status=incident.status, tlp=incident.tlp, updated_at=incident.updated_at, orgc_name=org.name,
        orgc_uuid=_orgc_uuids([org.pk])[org.pk],
        category_code=incident.category.code if incident.category_id else None,
        sector_codes=incident.sectors.values_list("code", flat=True), assessment=assessment,
        tag_names=incident.tags.values_list("name", flat=True),
    )


def _tag(name: str, cache: dict[str, MISPTag]) -> MISPTag:
    """One ``MISPTag`` per name, shared by every attribute carrying it (10,000 attributes, five labels)."""
    if name not in cache:
        tag = MISPTag()
        tag.from_dict(name=name, colour="#ffffff", local=False, relationship_type="")
        cache[name] = tag
    return cache[name]


def event_for(incident: Incident, observables: QuerySet[Observable],
              situation_updates: QuerySet[TimelineEntry]) -> MISPEvent:
    """The incident as a MISP event, with the given observables and the assessment of the given updates.

    Both are already permission-filtered by the caller (``observables_visible_to``,
    ``timeline_visible_to``), exactly as for the STIX export. Observables are read as plain rows.
    """
    head = head_of(incident, situation_updates)
    event = MISPEvent()
    event.uuid, event.info, event.date = head.uuid, head.info, head.date
    event.threat_level_id, event.analysis, event.distribution = head.threat_level_id, head.analysis, head.distribution
    event.timestamp = event.publish_timestamp = head.timestamp
    event.published = True
    orgc = MISPOrganisation()
    orgc.from_dict(name=head.orgc_name, uuid=head.orgc_uuid)
    event.Orgc = orgc
    tags: dict[str, MISPTag] = {}
    for name in head.tags:
        event.add_tag(_tag(name, tags))

    observables = observables.order_by("pk")
    tagged: dict[int, list[str]] = {}
    for observable_id, name in Observable.tags.through.objects.filter(
            observable__in=observables.values("pk")).values_list("observable_id", "tag__name").order_by("tag__name"):
        tagged.setdefault(observable_id, []).append(name)
    rows = observables.annotate(stix=Cast("stix_id", TextField())).values_list(
        "pk", "type", "value", "note", "tlp", "first_seen", "last_seen", "stix")
    for pk, obs_type, value, note, tlp, first_seen, last_seen, stix_id in rows.iterator(chunk_size=2000):
        misp_type, category = ATTRIBUTE_OF[obs_type]
        stix_id = _uuid_text(stix_id)
        attribute = {
            "type": misp_type, "value": value, "category": category, "to_ids": TO_IDS_OF[obs_type],
            "comment": note, "uuid": attribute_uuid(stix_id), "distribution": DISTRIBUTION_OF[tlp],
            "timestamp": head.timestamp, "disable_correlation": False,
            "Tag": [_tag(name, tags) for name in
                    [TLP_TAG[tlp], *(name for name in tagged.get(pk, ()) if not name.startswith("tlp:"))]],
        }
        if first_seen:
            attribute["first_seen"] = first_seen
        if last_seen:
            attribute["last_seen"] = last_seen
        if obs_type in HASH_TYPES:
            file_object = MISPObject("file", standalone=False)
            file_object.uuid, file_object.distribution = object_uuid(stix_id), DISTRIBUTION_OF[tlp]
            file_object.timestamp, file_object.comment = head.timestamp, ""
            for seen in ("first_seen", "last_seen"):
                if seen in attribute:
                    setattr(file_object, seen, attribute[seen])
            file_object.add_attribute(misp_type, **attribute)
            event.add_object(file_object)
        else:
            event.add_attribute(**attribute)
    return event


def as_feed(event: MISPEvent) -> dict:
    """The event in MISP's feed format, ``{"Event": {...}}``, distribution included."""
    return event.to_feed(with_distribution=True)


def serialize(document: dict, *, pretty: bool = False) -> str:
    return json.dumps(document, indent=4 if pretty else None, ensure_ascii=False)


# --- The feed: many incidents, a constant number of queries ------------------------------------------


def manifest_for(incidents: QuerySet[Incident], situation_entries: QuerySet[TimelineEntry]) -> dict:
    """MISP's ``manifest.json`` of these incidents: ``{event uuid: {info, date, analysis, threat_level_id,
    timestamp, Orgc, Tag}}``, the same heads the events carry.

    ``incidents`` are the reader's (``incidents_visible_to``), ``situation_entries`` the timeline entries
    they may see across incidents (``timeline_entries_visible_to``). Five queries whatever the count:
    the incidents' plain rows, their sectors, their tags, the assessed situation updates, the identities.
    """
    rows = list(incidents.order_by().values_list(
        "pk", "misp_uuid", "title", "aware_at", "severity", "status", "tlp", "updated_at",
        "reporting_organisation_id", "reporting_organisation__name", "category__code"))
    ids = incidents.order_by().values("pk")
    sectors: dict[int, list[str]] = {}
    for incident_id, code in Incident.sectors.through.objects.filter(incident__in=ids).values_list(
            "incident_id", "sector__code"):
        sectors.setdefault(incident_id, []).append(code)
    tag_names: dict[int, list[str]] = {}
    for incident_id, name in Incident.tags.through.objects.filter(incident__in=ids).values_list(
            "incident_id", "tag__name"):
        tag_names.setdefault(incident_id, []).append(name)
    assessed: dict[int, list[tuple]] = {}
    for incident_id, *values in _assessed(situation_entries.filter(incident__in=ids)).order_by(
            "incident_id", "-created_at", "-id").values_list("incident_id", *ASSESSED):
        assessed.setdefault(incident_id, []).append(values)
    orgc = _orgc_uuids(row[8] for row in rows)
    manifest = {}
    for pk, misp_uuid, title, aware_at, severity, status, tlp, updated_at, org_id, org_name, category in rows:
        head = event_head(
            misp_uuid=misp_uuid, title=title, aware_at=aware_at, severity=severity, status=status, tlp=tlp,
            updated_at=updated_at, orgc_name=org_name, orgc_uuid=orgc[org_id], category_code=category,
            sector_codes=sectors.get(pk, ()), assessment=latest_assessment(assessed.get(pk, ())),
            tag_names=tag_names.get(pk, ()),
        )
        manifest[head.uuid] = head.manifest_entry()
    return manifest


def hashes_csv(incidents: QuerySet[Incident], observables: QuerySet[Observable]) -> Iterator[str]:
    """MISP's ``hashes.csv``: a line ``<md5 of the attribute's value>,<event uuid>`` per attribute.

    ``observables`` are those the reader may see across incidents (``observable_entries_visible_to``);
    one streamed query. MISP reads it to tell which feed events hold a value without fetching them
    (the format PyMISP's ``tools/feed.py`` writes).
    """
    rows = observables.filter(incident__in=incidents.order_by().values("pk")).order_by("incident_id", "pk") \
        .annotate(event=Cast("incident__misp_uuid", TextField())).values_list("value", "event")
    for value, event in rows.iterator(chunk_size=5000):
        yield f"{hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()},{_uuid_text(event)}\n"


def incident_by_event_uuid(incidents: QuerySet[Incident], raw: str) -> Incident | None:
    """The reader's incident whose event uuid is ``raw``, or None (also for text that is no uuid)."""
    try:
        value = uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None
    return incidents.select_related("reporting_organisation", "category").filter(misp_uuid=value).first()
