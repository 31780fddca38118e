"""Checking a MISP event the way MISP's own tooling does (shared by the export and feed tests)."""

import copy
import json
import warnings
from pathlib import Path

import jsonschema
import pymisp
from pymisp import MISPAttribute, MISPEvent, MISPObject

# MISP's JSON schema of an event (format/2.4/schema.json, shipped with PyMISP) predates these keys, which
# MISP and PyMISP's own ``to_feed`` write today; PyMISP's strict loading below checks them instead.
NEWER_THAN_THE_SCHEMA = {"Event": {"Object", "extends_uuid", "protected"}, "Tag": {"local", "relationship_type"},
                         "Attribute": {"first_seen", "last_seen"}}
SCHEMA = json.loads((Path(pymisp.__file__).parent / "data" / "schema.json").read_text())


def assert_valid_misp(document: dict) -> MISPEvent:
    """The event passes MISP's JSON schema, every attribute loads in PyMISP's strict mode (a known type, a
    category allowed for it, a valid distribution), every object matches its MISP template, and
    ``MISPEvent().load(..., validate=True)`` reads the whole; returns the loaded event."""
    assert set(document) == {"Event"}
    event = document["Event"]
    jsonschema.validate({"Event": _as_the_schema_knows(event)}, SCHEMA)
    for attribute in event.get("Attribute", []):
        MISPAttribute(strict=True).from_dict(**copy.deepcopy(attribute))
    for obj in event.get("Object", []):
        loaded = MISPObject(obj["name"], strict=True, standalone=False)
        loaded.from_dict(**copy.deepcopy(obj))
        assert loaded._validate()
        relations = set(loaded._definition["attributes"])
        for attribute in obj["Attribute"]:
            assert attribute["object_relation"] in relations
            MISPAttribute(strict=True).from_dict(**{k: v for k, v in copy.deepcopy(attribute).items()
                                                    if k != "object_relation"})
    loaded = MISPEvent()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        loaded.load(copy.deepcopy(document), validate=True)
    return loaded


def _as_the_schema_knows(event: dict) -> dict:
    def tags(item):
        return {**item, "Tag": [{k: v for k, v in tag.items() if k not in NEWER_THAN_THE_SCHEMA["Tag"]}
                                for tag in item.get("Tag", [])]}

    known = tags({k: v for k, v in event.items() if k not in NEWER_THAN_THE_SCHEMA["Event"]})
    known["Attribute"] = [tags({k: v for k, v in attribute.items() if k not in NEWER_THAN_THE_SCHEMA["Attribute"]})
                          for attribute in event.get("Attribute", [])]
    return known


def attribute_values(document: dict) -> dict[str, dict]:
    """Every attribute of the event (top-level and in objects) by value."""
    event = document["Event"]
    found = {a["value"]: a for a in event.get("Attribute", [])}
    for obj in event.get("Object", []):
        found |= {a["value"]: a for a in obj["Attribute"]}
    return found


def tag_names(item: dict) -> list[str]:
    return [tag["name"] for tag in item.get("Tag", [])]
