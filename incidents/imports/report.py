"""What an import makes of a file: candidate observables, one report line per item, and the limits on a file.

A file comes from outside (another CSIRT's MISP, a vendor's STIX feed) and may be malformed or
hostile. It is refused as a whole, naming the problem, when it is too big, not UTF-8, not JSON,
nested too deep, holds a NUL or a lone surrogate, a string longer than ``MAX_STRING`` or more
than ``MAX_ITEMS`` items; an item that cannot become an observable is reported by its position
and id, and then nothing is imported (``incidents.services.imports``).
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime

from csoa_portal import input_rules

# Below the request body limit (REQUEST_MAX_BODY_BYTES, 10 MiB), so the refusal names the file.
MAX_IMPORT_BYTES = 8 * 1024 * 1024
MAX_ITEMS = 10_000  # as many observables as one CSV upload or API call takes
# The OASIS validator takes seconds per thousand objects: a bundle is validated within a request.
MAX_STIX_OBJECTS = 2_000
MAX_STRING = 65_536  # no field the portal keeps is longer; a longer string is not an indicator file's
MAX_ERRORS_SHOWN = 50


class FileRefused(ValueError):
    """The file as a whole cannot be read; the message names why."""


@dataclass
class Candidate:
    """An observable as the file describes it; ``tlp`` None when the file gives none (the incident's then)."""

    type: str
    value: str
    tlp: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    note: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class Item:
    """One line of the report: an attribute of a MISP event, an indicator or vulnerability of a bundle.

    ``outcome``: ``import`` (added, or would be when another item fails), ``present`` (already an
    observable of the incident), ``duplicate`` (an earlier item of the file has it), ``error``.
    """

    index: int
    ref: str
    source: str
    value: str | None
    outcome: str = "import"
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    candidate: Candidate | None = None

    def refuse(self, reason: str) -> "Item":
        self.outcome, self.reason, self.candidate = "error", reason, None
        return self

    def as_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k != "candidate"}
        c = self.candidate
        data.update(type=c.type if c else None, observable=c.value if c else None, tlp=c.tlp if c else None,
                    tags=list(c.tags) if c else [])
        return data


@dataclass
class Parsed:
    format: str
    items: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # about the file as a whole
    notes: list[str] = field(default_factory=list)  # what the file holds that is not imported, and why


def load_document(content) -> object:
    """The file's JSON, checked against the portal's input rules and the limits above; else FileRefused."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if not isinstance(content, bytes | bytearray):
        raise FileRefused("Give the file's content.")
    if len(content) > MAX_IMPORT_BYTES:
        raise FileRefused(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.")
    if not content.strip():
        raise FileRefused("The file is empty.")
    try:
        text = bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("The file is not UTF-8 text.") from None
    try:
        document = input_rules.loads(text)
    except input_rules.TooDeep as exc:
        raise FileRefused(str(exc)) from None
    except input_rules.InvalidInput as exc:
        raise FileRefused(f"The file holds text the portal refuses: {_first(exc.fields)}") from None
    except ValueError as exc:
        raise FileRefused(f"The file is not JSON: {exc}.") from None
    if path := _too_long(document):
        raise FileRefused(f"{path}: a string longer than {MAX_STRING:,} characters.")
    return document


def _first(fields: dict[str, list[str]]) -> str:
    shown = [f"{name}: {' '.join(messages)}" for name, messages in list(fields.items())[:5]]
    return "; ".join(shown) + (f" (and {len(fields) - 5} more)" if len(fields) > 5 else "")


def _too_long(document) -> str | None:
    """The path of the first string (or name) longer than ``MAX_STRING``; iterative (depth is checked already)."""
    stack = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                return path or "the document"
        elif isinstance(value, dict):
            for key, item in value.items():
                if len(key) > MAX_STRING:
                    return f"{path}.{key[:20]}…" if path else f"{key[:20]}…"
                stack.append((item, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def kind_of(value) -> str:
    """A JSON value's kind in words, for "expected a list, got a number"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def shown(value, limit: int = 200) -> str | None:
    """A value as the report shows it: text cut to ``limit`` characters."""
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[:limit] + "…"
