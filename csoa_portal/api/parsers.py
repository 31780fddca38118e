"""The API's one body parser: JSON, checked against the portal's input rules before any view reads it."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from csoa_portal import input_rules


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus ``csoa_portal.input_rules`` for the whole document.

    Nested more than ``MAX_DEPTH`` levels: 400 ``parse_error`` (before, Python's parser ran
    out of stack: a 500). A NUL or lone surrogate in any string or name, an integer beyond
    64 bits, an infinite number: 400 naming each by its path (``content.summary``,
    ``incidents.0``), whichever field would have read it, so no view, serializer or service
    sees them.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {input_rules.TOO_DEEP}") from None
        try:
            return input_rules.check_json(data)
        except input_rules.TooDeep as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except input_rules.InvalidInput as exc:
            raise ValidationError(exc.fields) from None
