"""Reading indicator files from other tools (a MISP event, a STIX 2.1 bundle) into candidate observables.

Pure: bytes in, a ``Parsed`` out (``report.py``), no ORM and no clock. What is imported, all
or nothing, is decided by ``incidents.services.imports``; the limits on hostile files are in
``report.py``.
"""

from incidents.imports.report import (  # noqa: F401
    MAX_IMPORT_BYTES, MAX_ITEMS, MAX_STIX_OBJECTS, MAX_STRING, Candidate, FileRefused, Item, Parsed, load_document,
)

FORMATS = {"misp": "MISP event", "stix": "STIX 2.1 bundle"}


def detect(document) -> str | None:
    """``stix`` for a bundle, ``misp`` for something shaped like a MISP event, else None."""
    if isinstance(document, dict):
        if document.get("type") == "bundle":
            return "stix"
        if "Event" in document or "info" in document or "Attribute" in document or "Object" in document:
            return "misp"
    return None


def parse(content: bytes, format: str | None = None) -> Parsed:
    """The file's items as candidate observables, with a report; ``format`` None guesses it from the content."""
    from incidents.imports import misp, stix

    if format not in (None, "", *FORMATS):
        return Parsed(format="", errors=[f"Unknown format {format!r}: use misp or stix."])
    try:
        document = load_document(content)
    except FileRefused as exc:
        return Parsed(format=format or "", errors=[str(exc)])
    if not format:
        format = detect(document)
        if format is None and isinstance(document, list):
            return Parsed(format="", errors=["The file is a JSON list; a MISP event or a STIX 2.1 bundle is an object."])
        if format is None:
            return Parsed(format="", errors=["This is neither a MISP event ({\"Event\": {…}}) nor a STIX 2.1 bundle "
                                             "({\"type\": \"bundle\", …}): nothing to import."])
    return (misp if format == "misp" else stix).parse(document)
