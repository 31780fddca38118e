"""Tags as MISP machine tags, read and written the same way everywhere; pure, no ORM.

``canonical`` turns what a person or a SOC tool typed into the one spelling stored and
compared: ``RSIT:Malicious-Code = infected-system`` is ``rsit:malicious-code="infected-system"``,
``  Operation  X `` the free tag ``operation x``. Which namespaces exist and which tags each
controlled vocabulary holds is data (``TagVocabulary``, ``Tag``); the services check that.
"""

import re

from incidents.vocabulary import FREE_TAGS, TLP

MAX_TAG_LENGTH = 100
MAX_TAGS = 50
_NAME = re.compile(r"^[a-z0-9][a-z0-9.+_-]*$")
_FREE = re.compile(r"^[\w][\w .+/#@&-]*$")


class InvalidTag(ValueError):
    """The message names the tag and what is wrong with it."""


def canonical(raw) -> str:
    """The stored spelling of a tag; a free tag has no namespace (``free:x`` is ``x``)."""
    if not isinstance(raw, str):
        raise InvalidTag("A tag is text, e.g. rsit:malicious-code or ransomware.")
    text = " ".join(raw.split())
    if not text:
        raise InvalidTag("A tag cannot be empty.")
    if len(text) > MAX_TAG_LENGTH:
        raise InvalidTag(f"Tag {text[:40]!r}… is longer than {MAX_TAG_LENGTH} characters.")
    if ":" not in text:
        return _free(text)
    namespace, _, rest = text.partition(":")
    namespace = namespace.strip().lower()
    if namespace == FREE_TAGS:
        return _free(rest.strip())
    predicate, equals, value = rest.partition("=")
    predicate, value = predicate.strip().lower(), value.strip().strip('"').strip().lower()
    if not _NAME.match(namespace) or not _NAME.match(predicate) or (equals and not _NAME.match(value)):
        raise InvalidTag(f"Tag {text!r} is not a machine tag: write namespace:predicate or "
                         'namespace:predicate="value", e.g. rsit:malicious-code="infected-system".')
    return f'{namespace}:{predicate}="{value}"' if equals else f"{namespace}:{predicate}"


def _free(text: str) -> str:
    word = text.lower()
    if not word or not _FREE.match(word) or ":" in word:
        raise InvalidTag(f"Tag {text!r}: a free tag is words, digits and - . + / # @ & only.")
    return word


def namespace_of(name: str) -> str:
    """The vocabulary a canonical tag belongs to (``free`` for a plain word)."""
    return name.split(":", 1)[0] if ":" in name else FREE_TAGS


def tlp_of(name: str) -> str | None:
    """The TLP label a ``tlp:`` tag names, or None for another tag (an unknown label is None too)."""
    if not name.startswith("tlp:"):
        return None
    value = name.removeprefix("tlp:")
    return value if value in TLP.values else None


def tlp_tag(label: str) -> str:
    return f"tlp:{label}"
