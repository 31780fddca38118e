"""A STIX 2.1 bundle, validated by the OASIS validator, read into candidate observables.

The bundle must pass ``stix2validator`` (STIX 2.1, default options: errors refuse the file,
warnings do not) before anything is read; before the validator sees it, the bundle's shape is
checked (the validator answers a non-object in ``objects`` with a Python error).

An ``indicator`` whose pattern is one comparison of a cyber observable the portal knows
(``[ipv4-addr:value = '…']``, ``[domain-name:value = '…']``, ``[file:hashes.'SHA-256' = '…']``,
``[autonomous-system:number = 64500]`` …) becomes an observable, and so does a
``vulnerability`` with a ``cve`` external reference. A pattern with AND, OR, several
observations or qualifiers, or of another pattern language, is an error of its item: it says
more than one value can. Other objects (identities, relationships, notes, the incident) are
counted in the report's notes, not imported.

TLP: an object's TLP 2.0 (or STIX 2.0 TLP) marking in ``object_marking_refs``, never less
strict than the bundle's (the strictest marking of its ``report``, ``grouping`` or
``incident``, which play the part of MISP's event); none at all: the incident's. ``labels``
become tags; the description, the note.
"""

import re
from collections import Counter

from stix2validator import ValidationOptions, validate_parsed_json

from incidents.imports.report import MAX_ERRORS_SHOWN, MAX_STIX_OBJECTS, Candidate, Item, Parsed, kind_of, shown
from incidents.observables import InvalidObservable, ObservableType, normalise
from incidents.stix import TLP2_IDS
from incidents.vocabulary import TLP

# STIX 2.0's TLP marking definitions (stix2.TLP_WHITE … TLP_RED), still common in 2.1 bundles.
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}
KNOWN_MARKINGS = {marking: label for label, marking in TLP2_IDS.items()} | TLP1_IDS
CONTAINERS = ("report", "grouping", "incident")

_STRING = r"'((?:[^'\\]|\\.)*)'"
_SIMPLE = re.compile(r"^\[\s*([a-z0-9-]+):([A-Za-z0-9_.'-]+)\s*=\s*(?:" + _STRING + r"|(\d+))\s*\]$", re.DOTALL)
_HASHES = {"md5": ObservableType.MD5, "sha1": ObservableType.SHA1, "sha-1": ObservableType.SHA1,
           "sha256": ObservableType.SHA256, "sha-256": ObservableType.SHA256}
_VALUE_OF = {"domain-name": ObservableType.DOMAIN, "url": ObservableType.URL, "email-addr": ObservableType.EMAIL}


class _Wrong(ValueError):
    pass


def _shape(document) -> list[dict]:
    if isinstance(document, list):
        raise _Wrong("The file is a JSON list; a STIX 2.1 bundle is an object: {\"type\": \"bundle\", \"objects\": […]}.")
    if not isinstance(document, dict):
        raise _Wrong(f"The file is {kind_of(document)}; a STIX 2.1 bundle is an object: {{\"type\": \"bundle\", …}}.")
    if "Event" in document or "Attribute" in document:
        raise _Wrong("This is a MISP event, not a STIX bundle: import it as MISP.")
    if document.get("type") != "bundle":
        raise _Wrong("Not a STIX 2.1 bundle: its type is not \"bundle\".")
    objects = document.get("objects", [])
    if not isinstance(objects, list):
        raise _Wrong(f"objects: expected a list, got {kind_of(objects)}.")
    if len(objects) > MAX_STIX_OBJECTS:
        raise _Wrong(f"The bundle has {len(objects):,} objects; at most {MAX_STIX_OBJECTS:,} are read at once "
                     f"(split it).")
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict):
            raise _Wrong(f"objects[{i}]: expected an object, got {kind_of(obj)}.")
        for name in ("type", "id"):
            if not isinstance(obj.get(name), str):
                raise _Wrong(f"objects[{i}].{name}: expected text, got {kind_of(obj.get(name))}.")
        refs = obj.get("object_marking_refs", [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise _Wrong(f"objects[{i}].object_marking_refs: expected a list of ids.")
    return objects


def _validate(document) -> list[str]:
    try:
        result = validate_parsed_json(document, ValidationOptions(version="2.1"))
    except Exception as exc:  # the validator's own failure on a shape it did not expect
        return [f"The OASIS validator could not read the bundle: {shown(str(exc), 300)}"]
    results = result if isinstance(result, list) else [result]
    errors = [str(e) for r in results for e in r.errors]
    if len(errors) > MAX_ERRORS_SHOWN:
        errors = errors[:MAX_ERRORS_SHOWN] + [f"… and {len(errors) - MAX_ERRORS_SHOWN} more."]
    return [f"STIX validator: {e}" for e in errors]


def _markings(objects: list[dict]) -> dict[str, str]:
    """Marking id -> TLP label: the official ids and the bundle's own TLP marking definitions."""
    known = dict(KNOWN_MARKINGS)
    for obj in objects:
        if obj["type"] != "marking-definition" or obj["id"] in known:
            continue
        label = None
        for ext in (obj.get("extensions") or {}).values():
            if isinstance(ext, dict) and isinstance(ext.get("tlp_2_0"), str):
                label = ext["tlp_2_0"].lower()
        definition = obj.get("definition")
        if obj.get("definition_type") == "tlp" and isinstance(definition, dict) and isinstance(definition.get("tlp"), str):
            label = definition["tlp"].lower()
        if label is not None:
            known[obj["id"]] = TLP.CLEAR if label == "white" else label
    return known


def _tlp(obj: dict, markings: dict[str, str]) -> str | None:
    labels = [markings[ref] for ref in obj.get("object_marking_refs", []) if ref in markings]
    if unknown := [label for label in labels if label not in TLP.values]:
        raise _Wrong(f"A TLP marking names no TLP 2.0 label: {unknown[0]!r}.")
    return max(labels, key=TLP.rank) if labels else None


def parse(document) -> Parsed:
    parsed = Parsed(format="stix")
    try:
        objects = _shape(document)
    except _Wrong as exc:
        parsed.errors.append(str(exc))
        return parsed
    parsed.errors = _validate(document)
    if parsed.errors:
        return parsed
    markings = _markings(objects)
    try:
        bundle_tlp = max((t for obj in objects if obj["type"] in CONTAINERS if (t := _tlp(obj, markings))),
                         key=TLP.rank, default=None)
    except _Wrong as exc:
        parsed.errors.append(str(exc))
        return parsed
    if bundle_tlp is None:
        parsed.notes.append("The bundle has no report, grouping or incident marked with a TLP: objects without a "
                            "TLP marking take the incident's TLP.")
    others = Counter(obj["type"] for obj in objects if obj["type"] not in ("indicator", "vulnerability"))
    if others:
        parsed.notes.append("Not imported (no observable): " + ", ".join(f"{n} {t}" for t, n in sorted(others.items()))
                            + ".")
    wanted = [obj for obj in objects if obj["type"] in ("indicator", "vulnerability")]
    parsed.items = [_item(n, obj, markings, bundle_tlp) for n, obj in enumerate(wanted, 1)]
    return parsed


def _item(index: int, obj: dict, markings: dict[str, str], bundle_tlp: str | None) -> Item:
    pattern = obj.get("pattern")
    item = Item(index=index, ref=obj["id"], source=shown(pattern if obj["type"] == "indicator" else "vulnerability", 300),
                value=None)
    try:
        own = _tlp(obj, markings)
        kind, raw = _indicator(obj) if obj["type"] == "indicator" else _vulnerability(obj)
        item.value = shown(raw)
        value = normalise(kind, raw)
    except (_Wrong, InvalidObservable) as exc:
        return item.refuse(str(exc))
    labels = [t for t in (own, bundle_tlp) if t]
    if own and bundle_tlp and TLP.rank(own) < TLP.rank(bundle_tlp):
        item.notes.append(f"Marked {TLP(own).label}; the bundle's {TLP(bundle_tlp).label} is stricter and kept.")
    tags = obj.get("labels") or []
    description = obj.get("description") or ""
    item.candidate = Candidate(type=kind, value=value, tlp=max(labels, key=TLP.rank) if labels else None,
                               note=description.strip(), tags=[t for t in tags if isinstance(t, str)])
    return item


def _indicator(obj: dict) -> tuple[str, str]:
    if obj.get("pattern_type") != "stix":
        raise _Wrong(f"A {obj.get('pattern_type')!r} pattern says no single value: not importable.")
    match = _SIMPLE.match(obj["pattern"].strip())
    if not match:
        raise _Wrong("Not one comparison of one value (AND, OR, several observations or qualifiers): "
                     "not importable as an observable.")
    object_type, path, text, number = match.groups()
    if text is not None:
        text = re.sub(r"\\(.)", r"\1", text)
    if object_type == "autonomous-system" and path == "number" and number is not None:
        return ObservableType.ASN, f"AS{number}"
    if text is None:
        raise _Wrong(f"{object_type}:{path} compared with a number: not importable.")
    if object_type in ("ipv4-addr", "ipv6-addr") and path == "value":
        if "/" in text:
            return ObservableType.CIDR, text
        return (ObservableType.IPV4 if object_type == "ipv4-addr" else ObservableType.IPV6), text
    if object_type in _VALUE_OF and path == "value":
        return _VALUE_OF[object_type], text
    if object_type == "file" and path.startswith("hashes."):
        algorithm = path.removeprefix("hashes.").strip("'").lower()
        if algorithm in _HASHES:
            return _HASHES[algorithm], text
    raise _Wrong(f"The portal has no observable type for {object_type}:{path} (it takes ipv4-addr, ipv6-addr, "
                 f"domain-name, url, email-addr and autonomous-system values, and MD5, SHA-1 and SHA-256 file hashes).")


def _vulnerability(obj: dict) -> tuple[str, str]:
    for ref in obj.get("external_references") or []:
        if isinstance(ref, dict) and ref.get("source_name") == "cve" and isinstance(ref.get("external_id"), str):
            return ObservableType.CVE, ref["external_id"]
    raise _Wrong("A vulnerability without a cve external reference: no CVE identifier to import.")
