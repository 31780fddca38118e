"""Import a MISP event or a STIX 2.1 bundle into an incident: all or nothing, with a report per item.

The file is read by ``incidents.imports`` (pure); here every candidate is checked as any
observable is (``timeline._clean_row``: TLP, seen-window, note) and its tags against the
portal's vocabularies, and only when no item is an error are the new ones added, in one
transaction, audited and told like a CSV upload (``observables.added``). A value already on the
incident is reported "already present" and left as it is; a value twice in the file is added
once, with the stricter TLP, the union of tags and the wider seen-window.

TLP: a candidate without one takes the incident's (the label its source chose for everything
in it); one less strict than the incident is raised to the incident's (an observable is never
less restricted than its incident), and the report says so.

Tags: a ``tlp:`` tag is the label, not a tag; a tag of the portal's controlled vocabularies
(``rsit:``, ``nis:``) is kept when the vocabulary holds it, a plain word becomes a free tag;
any other (MISP galaxies, taxonomies the portal does not have) is not kept, and the report
names it: it does not make the item an error, since most MISP events carry such tags.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction

from csoa_portal import audit
from incidents import imports
from incidents.imports import Item, Parsed
from incidents.models import Incident, Observable, Tag, TagVocabulary
from incidents.observables import InvalidObservable
from incidents.policy import may_add_observables
from incidents.services.common import _lock_for_edit, _touch
from incidents.services.timeline import _child_event, _clean_row, _stricter, _widen
from incidents.tags import MAX_TAGS, InvalidTag, canonical, namespace_of
from incidents.vocabulary import FREE_TAGS, TLP
from liaison.models import User

REFUSED = "Only the reporting organisation's editors add observables to this incident."


@dataclass
class ImportReport:
    format: str
    imported: bool = False
    created: int = 0
    items: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def failed(self) -> int:
        return self.count("error")

    def as_dict(self) -> dict:
        return {
            "format": self.format, "imported": self.imported, "created": self.created,
            "present": self.count("present"), "duplicates": self.count("duplicate"), "failed": self.failed,
            "errors": self.errors, "notes": self.notes, "items": [item.as_dict() for item in self.items],
        }


def import_file(*, actor: User, incident: Incident, content: bytes, format: str | None = None) -> ImportReport:
    """Read the file (``format`` misp, stix, or None to recognise it) and import it into the incident, or nothing.

    The permission is asked before the file is read: the OASIS validator takes seconds on a big bundle.
    """
    if not may_add_observables(actor, incident):
        raise PermissionDenied(REFUSED)
    return import_observables(actor=actor, incident=incident, parsed=imports.parse(content, format))


@transaction.atomic
def import_observables(*, actor: User, incident: Incident, parsed: Parsed) -> ImportReport:
    """Add every candidate of ``parsed`` that is new to the incident, or none if any item is an error."""
    if not may_add_observables(actor, incident):
        raise PermissionDenied(REFUSED)
    incident = _lock_for_edit(actor, incident, None)
    report = ImportReport(format=parsed.format, items=parsed.items, errors=list(parsed.errors), notes=list(parsed.notes))
    if report.errors:
        report.items = []
        return report
    if not report.items:
        report.errors.append("The file holds no attribute or indicator to import.")
        return report
    tags = _TagMap()
    rows: dict[tuple[str, str], dict] = {}
    firsts: dict[tuple[str, str], Item] = {}
    for item in report.items:
        if item.outcome == "error":
            continue
        candidate = item.candidate
        tlp = candidate.tlp or incident.tlp
        if TLP.rank(tlp) < TLP.rank(incident.tlp):
            item.notes.append(f"The file says {TLP(tlp).label}; raised to the incident's {TLP(incident.tlp).label}.")
            tlp = incident.tlp
        candidate.tlp = tlp
        try:
            data = _clean_row({"type": candidate.type, "value": candidate.value, "tlp": tlp, "note": candidate.note,
                               "first_seen": candidate.first_seen, "last_seen": candidate.last_seen}, incident)
        except InvalidObservable as exc:
            item.refuse(str(exc))
            continue
        candidate.tags, dropped = tags.keep(candidate.tags)
        item.notes += dropped
        key = (data["type"], data["value"])
        if key in rows:
            first = firsts[key]
            item.outcome, item.reason = "duplicate", f"The same {data['type']} as item {first.index}: added once."
            _merge(rows[key], first, data, candidate.tags)
            continue
        rows[key], firsts[key] = {**data, "tags": list(candidate.tags)}, item
    for key in _present(incident, list(rows)):
        item = firsts[key]
        item.outcome, item.reason = "present", "Already an observable of this incident: left as it is."
        del rows[key]
    if report.failed:
        return report
    _create(actor, incident, rows, tags)
    report.imported, report.created = True, len(rows)
    return report


def _merge(row: dict, first: Item, data: dict, tags: list[str]) -> None:
    """A value twice in the file: its stricter TLP, all its tags, the wider seen-window."""
    if TLP.rank(data["tlp"]) > TLP.rank(row["tlp"]):
        row["tlp"] = first.candidate.tlp = data["tlp"]
    row["tags"] += [t for t in tags if t not in row["tags"]]
    first.candidate.tags = list(row["tags"])
    _widen(row, data)


def _present(incident: Incident, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    wanted, found = set(keys), set()
    for start in range(0, len(keys), 500):
        values = [value for _, value in keys[start:start + 500]]
        found |= {k for k in incident.observables.filter(value__in=values).values_list("type", "value") if k in wanted}
    return found


class _TagMap:
    """Which tag names the portal keeps: read once per import, free tags created only when the import happens."""

    def __init__(self):
        self.vocabularies = {v.namespace: v for v in TagVocabulary.objects.all()}
        self.controlled = set(Tag.objects.exclude(vocabulary__free=True).values_list("name", flat=True))
        self.new_free: set[str] = set()

    def keep(self, names: list[str]) -> tuple[list[str], list[str]]:
        kept, notes = [], []
        for raw in names:
            try:
                name = canonical(raw)
            except InvalidTag as exc:
                notes.append(f"Tag not kept: {exc}")
                continue
            namespace = namespace_of(name)
            vocabulary = self.vocabularies.get(namespace)
            if name in kept:
                continue
            if namespace == "tlp":
                continue  # the label, read by the parser
            if vocabulary is None:
                notes.append(f"Tag {raw!r} not kept: the portal has no {namespace!r} vocabulary.")
            elif vocabulary.free:
                kept.append(name)
                self.new_free.add(name)
            elif name in self.controlled:
                kept.append(name)
            else:
                notes.append(f"Tag {raw!r} not kept: not in the {vocabulary.name} ({namespace}) vocabulary.")
        if len(kept) > MAX_TAGS:
            notes.append(f"Only the first {MAX_TAGS} tags kept; {len(kept) - MAX_TAGS} more not kept.")
            kept = kept[:MAX_TAGS]
        return kept, notes

    def rows(self, names: set[str]) -> dict[str, Tag]:
        free = self.vocabularies.get(FREE_TAGS)
        missing = (self.new_free & names) - set(Tag.objects.filter(name__in=self.new_free & names)
                                                .values_list("name", flat=True))
        if missing and free is not None:
            Tag.objects.bulk_create([Tag(name=n, vocabulary=free, label=n) for n in sorted(missing)],
                                    ignore_conflicts=True)
        return {t.name: t for t in Tag.objects.filter(name__in=names)}


def _create(actor: User, incident: Incident, rows: dict[tuple[str, str], dict], tags: _TagMap) -> None:
    if not rows:
        return
    Observable.objects.bulk_create(
        [Observable(incident=incident, created_by=actor, **{k: v for k, v in row.items() if k != "tags"})
         for row in rows.values()], batch_size=1000)
    tagged = {key: row["tags"] for key, row in rows.items() if row["tags"]}
    if tagged:
        tag_rows = tags.rows({name for names in tagged.values() for name in names})
        ids = {}
        keys = list(tagged)
        for start in range(0, len(keys), 500):
            values = [value for _, value in keys[start:start + 500]]
            ids.update({(t, v): pk for pk, t, v in incident.observables.filter(value__in=values)
                        .values_list("pk", "type", "value")})
        through = Observable.tags.through
        through.objects.bulk_create([through(observable_id=ids[key], tag_id=tag_rows[name].pk)
                                     for key, names in tagged.items() for name in names if name in tag_rows],
                                    batch_size=1000)
    _touch(incident)
    # As a CSV upload: values stricter than the incident in an entry of their own, about one of them, so the
    # audit log shows them only to those their label allows; and their event to their organisation only.
    stricter = [key for key, row in rows.items() if _stricter(incident, row["tlp"])]
    wider = [key for key in rows if key not in set(stricter)]
    audit.record(actor=actor, action="observables.imported", obj=incident,
                 after={"created": len(rows), "values": [f"{t}:{v}" for t, v in wider[:1000]]})
    if stricter:
        first = incident.observables.filter(type=stricter[0][0], value=stricter[0][1]).first()
        audit.record(actor=actor, action="observables.added_restricted", obj=first,
                     after={"created": len(stricter), "values": [f"{t}:{v}" for t, v in stricter[:1000]]})
    for restricted, created in ((False, len(wider)), (True, len(stricter))):
        if created:
            _child_event("observables.added", incident, actor=actor, payload={"created": created, "merged": 0},
                         author_organisation=incident.reporting_organisation, restricted=restricted)
