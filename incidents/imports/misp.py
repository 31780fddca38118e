"""A MISP event (``{"Event": {…}}`` or the bare event) read with PyMISP into candidate observables.

The event's own fields are loaded by ``MISPEvent().load(…, metadata_only=True)`` and each
attribute (of the event, or of one of its objects: a ``file`` object's md5, sha1, sha256) by
``MISPAttribute().from_dict``, the call ``MISPEvent.load`` makes for each; one at a time, so a
broken attribute is reported by its position and uuid instead of failing the whole event.
Before PyMISP sees anything, every container and field the portal reads is checked for its
JSON type: PyMISP answers a wrong type with whatever Python raises.

Types are mapped by ``incidents.misp_types.observable_type_for``; a type the portal has no
observable for is an error of its attribute. TLP: an attribute's is the strictest of its own
``tlp:`` tag and the event's (never less strict than the event's); a ``tlp:`` tag naming no
TLP 2.0 label is an error. Other tags travel as the candidate's tags; which of them the
portal's vocabularies hold is the service's question.
"""

from pymisp import MISPAttribute, MISPEvent

from incidents.imports.report import MAX_ITEMS, Candidate, Item, Parsed, kind_of, shown
from incidents.misp_types import IP_TYPES, OBSERVABLE_OF, TLP_OF_TAG, observable_type_for
from incidents.observables import InvalidObservable, normalise
from incidents.vocabulary import TLP

_KNOWN = ", ".join(sorted(IP_TYPES | OBSERVABLE_OF.keys(), key=str.lower))


class _Wrong(ValueError):
    """A field of the wrong JSON type; the message names its path."""


def _list_of_dicts(container: dict, key: str, path: str) -> list[dict]:
    value = container.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Wrong(f"{path}.{key}: expected a list, got {kind_of(value)}.")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _Wrong(f"{path}.{key}[{i}]: expected an object, got {kind_of(item)}.")
    return value


def tag_names(container: dict, path: str) -> list[str]:
    """The names of a MISP ``Tag`` list, checked: a list of objects each with a text ``name``."""
    names = []
    for i, tag in enumerate(_list_of_dicts(container, "Tag", path)):
        name = tag.get("name")
        if not isinstance(name, str):
            raise _Wrong(f"{path}.Tag[{i}].name: expected text, got {kind_of(name)}.")
        names.append(name)
    return names


def tlp_of(names: list[str]) -> str | None:
    """The strictest TLP among the ``tlp:`` tags; _Wrong naming a ``tlp:`` tag of no TLP 2.0 label."""
    labels = []
    for name in names:
        key = name.strip().lower()
        if not key.startswith("tlp:"):
            continue
        if key not in TLP_OF_TAG:
            raise _Wrong(f"Tag {name!r} names no TLP 2.0 label (tlp:clear, tlp:green, tlp:amber, "
                         f"tlp:amber+strict, tlp:red).")
        labels.append(TLP_OF_TAG[key])
    return max(labels, key=TLP.rank) if labels else None


def _event_of(document) -> dict:
    if isinstance(document, list):
        raise _Wrong("The file is a JSON list; a MISP event is an object: {\"Event\": {\"info\": …, \"Attribute\": […]}}.")
    if not isinstance(document, dict):
        raise _Wrong(f"The file is {kind_of(document)}; a MISP event is an object: {{\"Event\": {{…}}}}.")
    if document.get("type") == "bundle":
        raise _Wrong("This is a STIX bundle, not a MISP event: import it as STIX 2.1.")
    event = document.get("Event", document)
    if not isinstance(event, dict):
        raise _Wrong(f"Event: expected an object, got {kind_of(event)}.")
    if not any(key in event for key in ("info", "Attribute", "Object")):
        raise _Wrong("Not a MISP event: it has no info, no Attribute and no Object.")
    return event


def parse(document) -> Parsed:
    parsed = Parsed(format="misp")
    try:
        event = _event_of(document)
        attributes = _list_of_dicts(event, "Attribute", "Event")
        objects = _list_of_dicts(event, "Object", "Event")
        entries = [(f"Event.Attribute[{i}]", None, raw) for i, raw in enumerate(attributes)]
        for j, obj in enumerate(objects):
            name = obj.get("name", "")
            if not isinstance(name, str):
                raise _Wrong(f"Event.Object[{j}].name: expected text, got {kind_of(name)}.")
            path = f"Event.Object[{j}]"
            entries += [(f"{path}.Attribute[{i}]", name or "object", raw)
                        for i, raw in enumerate(_list_of_dicts(obj, "Attribute", path))]
        if len(entries) > MAX_ITEMS:
            raise _Wrong(f"The event has {len(entries):,} attributes; at most {MAX_ITEMS:,} are imported at once.")
        event_tags = tag_names(event, "Event")
        event_tlp = tlp_of(event_tags)
    except _Wrong as exc:
        parsed.errors.append(str(exc))
        return parsed
    shell = MISPEvent()
    try:
        shell.load({k: v for k, v in event.items() if k not in ("Attribute", "Object")}, metadata_only=True)
    except Exception as exc:  # PyMISP raises what Python raises on a field it cannot read
        parsed.errors.append(f"Not a MISP event PyMISP can load: {shown(str(exc), 300)}")
        return parsed
    if event_tlp is None:
        parsed.notes.append("The event has no tlp: tag: its attributes take the incident's TLP, unless they carry "
                            "their own.")
    other = [name for name in event_tags if not name.strip().lower().startswith("tlp:")]
    if other:
        parsed.notes.append(f"The event's own tags describe the event, not its attributes, and are not imported: "
                            f"{', '.join(other[:20])}{' …' if len(other) > 20 else ''}.")
    parsed.items = [_item(n, path, obj_name, raw, event_tlp) for n, (path, obj_name, raw) in enumerate(entries, 1)]
    return parsed


def _item(index: int, path: str, obj_name: str | None, raw: dict, event_tlp: str | None) -> Item:
    misp_type, value, ref = raw.get("type"), raw.get("value"), raw.get("uuid")
    relation = raw.get("object_relation")
    label = misp_type if isinstance(misp_type, str) else "?"
    source = f"{obj_name} object: {relation if isinstance(relation, str) and relation else label}" if obj_name else label
    item = Item(index=index, ref=ref if isinstance(ref, str) else path, source=shown(source, 100), value=shown(value))
    for name, wanted in (("type", str), ("value", str), ("comment", str), ("uuid", str)):
        if name in raw and raw[name] is not None and not isinstance(raw[name], wanted):
            return item.refuse(f"{path}.{name}: expected text, got {kind_of(raw[name])}.")
    if not isinstance(misp_type, str) or not misp_type:
        return item.refuse(f"{path}: the attribute has no type.")
    if not isinstance(value, str):
        return item.refuse(f"{path}: the attribute has no value.")
    try:
        names = tag_names(raw, path)
        own_tlp = tlp_of(names)
    except _Wrong as exc:
        return item.refuse(str(exc))
    attribute = MISPAttribute()
    if misp_type not in attribute.known_types:
        return item.refuse(f"{misp_type!r} is not a MISP attribute type.")
    try:
        attribute.from_dict(**raw)
    except Exception as exc:  # PyMISP's refusal (a type and category that do not go together, a bad date…)
        return item.refuse(f"MISP refuses this attribute: {shown(str(exc), 300)}")
    for name in ("first_seen", "last_seen"):  # PyMISP skips a date-time it cannot read, with a log line only
        if raw.get(name) not in (None, "") and getattr(attribute, name, None) is None:
            return item.refuse(f"{path}.{name}: {shown(str(raw[name]), 60)!r} is not a date-time.")
    kind = observable_type_for(misp_type, value)
    if kind is None:
        return item.refuse(f"The portal has no observable type for MISP type {misp_type!r} (it takes {_KNOWN}).")
    try:
        normalised = normalise(kind, value)
    except InvalidObservable as exc:
        return item.refuse(str(exc))
    labels = [t for t in (own_tlp, event_tlp) if t]
    tlp = max(labels, key=TLP.rank) if labels else None
    if own_tlp and event_tlp and TLP.rank(own_tlp) < TLP.rank(event_tlp):
        item.notes.append(f"Its tag says {TLP(own_tlp).label}; the event's {TLP(event_tlp).label} is stricter and kept.")
    item.candidate = Candidate(
        type=kind, value=normalised, tlp=tlp, note=(attribute.comment or "").strip() if hasattr(attribute, "comment") else "",
        first_seen=getattr(attribute, "first_seen", None), last_seen=getattr(attribute, "last_seen", None),
        tags=[name for name in names if not name.strip().lower().startswith("tlp:")],
    )
    return item
