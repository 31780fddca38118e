"""What the portal accepts from outside, class by class; the entry points call these rules.

SOC tooling, scripts and people in a hurry send anything. Each class of hostile input is
refused once, where it enters, with a 4xx naming the field, before anything reads it further
or writes it anywhere:

- **nesting**: JSON (API bodies, websocket messages) at most ``MAX_DEPTH`` levels deep;
  deeper, Python's parser runs out of stack.
- **text**: no NUL character (PostgreSQL refuses it after validation passed, SQLite would
  store it: the two modes must answer alike) and no lone UTF-16 surrogate (not a character:
  it has no UTF-8 form, so the database driver or the response's encoder fails on it).
- **numbers**: JSON integers within 64 bits (the widest column and id the portal has), no
  infinite numbers; a number written in text is ASCII digits (``is_digits``: ``"²".isdigit()``
  is true, and ``int("²")`` fails).
- **dates and date-times**: from ``EARLIEST`` to before ``LATEST``, so every instant has a
  UTC form and the clocks computed from it (deadlines, windows) stay representable; a UTC
  offset of at most 14 hours, the widest time zone (Python takes up to 24, PostgreSQL
  refused ``+18:48`` in a query: a 500).

Where each is applied: ``csoa_portal.api.parsers`` (API bodies), ``csoa_portal.middleware.
InputGuardMiddleware`` (paths, query parameters, form fields), the date fields of the API
(``csoa_portal.api.fields``), of the filters (``csoa_portal.api.filters``) and of the pages
(``csoa_portal.forms``), ``liaison.consumers`` (websocket messages) and the observable
import (``incidents.services``, ``incidents.forms``). Two more classes have one place each:
malformed URLs ``incidents.observables`` (the one URL parser), query parameters repeated
where one value is expected the middleware. ``docs/security.md`` lists the tests.

Pure functions: no ORM, no request.
"""

import json
import math
import re
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from django.core.exceptions import ValidationError

UTC = dt_timezone.utc
MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # exclusive

BODY = "body"  # the field name of a problem with the JSON document itself
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
OUT_OF_RANGE = f"Out of range: give a date from {EARLIEST:%Y-%m-%d} to {LATEST - timedelta(days=1):%Y-%m-%d}."
MAX_OFFSET = timedelta(hours=14)
BAD_OFFSET = "Not a time zone: give a UTC offset from -14:00 to +14:00."
TOO_DEEP = f"The JSON is nested more than {MAX_DEPTH} levels deep."


class TooDeep(ValueError):
    """The JSON is nested deeper than ``MAX_DEPTH``: the document as a whole is refused."""

    def __init__(self):
        super().__init__(TOO_DEEP)


class InvalidInput(ValueError):
    """Values of one input that break a rule, by field: ``{"content.summary": ["…"]}``."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items()))
        self.fields = fields


# --- text ------------------------------------------------------------------------------------

def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be text the portal keeps, or None."""
    match = _BAD_CHARACTER.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Contains a NUL character (U+0000); text may not hold one."
    return f"Contains a lone UTF-16 surrogate (U+{ord(match.group()):04X}), which is not a character."


def is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` and ``\\d`` also take ``²`` and other digits ``int()`` refuses."""
    return text.isascii() and text.isdigit()


def printable(name) -> str:
    """A field name safe to show and to encode: the refused characters written as ``\\uXXXX``."""
    return _BAD_CHARACTER.sub(lambda m: f"\\u{ord(m.group()):04x}", str(name))


# --- JSON -------------------------------------------------------------------------------------

def _path(parent: str, key) -> str:
    key = printable(key)
    return f"{parent}.{key}" if parent else key


def json_problems(data) -> dict[str, list[str]]:
    """Every value of parsed JSON that breaks a rule, named by its path as the API names fields.

    ``{"early_warning": {"summary": "a\\x00"}}`` gives ``{"early_warning.summary": [...]}``;
    list items are named by index (``incidents.0``), a bad name of an object by itself.
    Raises TooDeep beyond ``MAX_DEPTH`` levels. Iterative: no recursion to exhaust.
    """
    problems: dict[str, list[str]] = {}
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, bool) or value is None:
            problem = None
        elif isinstance(value, int):
            problem = None if INT64_MIN <= value <= INT64_MAX else (
                "Out of range: integers are limited to 64 bits (-9223372036854775808 to 9223372036854775807).")
        elif isinstance(value, float):
            problem = None if math.isfinite(value) else "Not a finite number."
        else:
            problem = None
            if depth >= MAX_DEPTH:
                raise TooDeep()
            if isinstance(value, dict):
                for key, item in value.items():
                    if key_problem := text_problem(key):
                        problems.setdefault(_path(path, key), []).append(f"This name: {key_problem}")
                    stack.append((item, _path(path, key), depth + 1))
            elif isinstance(value, list):
                stack.extend((item, _path(path, index), depth + 1) for index, item in enumerate(value))
        if problem:
            problems.setdefault(path or BODY, []).append(problem)
    return dict(sorted(problems.items()))


def check_json(data):
    """``data`` if it keeps every rule; else TooDeep or InvalidInput naming each offending value."""
    problems = json_problems(data)
    if problems:
        raise InvalidInput(problems)
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number.")


def loads(text: str):
    """Parse a JSON document and check it: ValueError (not JSON), TooDeep or InvalidInput."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:  # far deeper than MAX_DEPTH: the parser ran out of stack first
        raise TooDeep() from None
    return check_json(data)


# --- dates and date-times -------------------------------------------------------------------------

def date_problem(value: date | datetime) -> str | None:
    """Why this date or date-time is outside the portal's range (aware date-times compared in UTC), or None."""
    if isinstance(value, datetime):
        if value.utcoffset() is not None and abs(value.utcoffset()) > MAX_OFFSET:
            return BAD_OFFSET
        if value.utcoffset() is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # 0001-01-01T00:00:00+14:00 has no UTC form
                return OUT_OF_RANGE
        inside = EARLIEST <= value.replace(tzinfo=UTC) < LATEST
    else:
        inside = EARLIEST.date() <= value < LATEST.date()
    return None if inside else OUT_OF_RANGE


def validate_date_in_range(value) -> None:
    """A Django validator (forms, DRF and django-filter fields run it) for ``date_problem``."""
    if isinstance(value, date) and (problem := date_problem(value)):
        raise ValidationError(problem, code="out_of_range")
