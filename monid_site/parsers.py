import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonParser(JSONParser):
    """DRF's JSON parser, refusing what Python's json accepts but nothing downstream can store or send back:
    nesting deeper than the parser can follow, numbers too large for a float, unpaired surrogate escapes, and
    NUL characters (PostgreSQL's jsonb cannot hold them)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.")
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False)
            text.encode()
        except UnicodeEncodeError:
            raise ParseError("JSON parse error - a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff).")
        except ValueError:
            raise ParseError("JSON parse error - a number is too large (it would be Infinity).")
        if "\\u0000" in text and _has_nul(data):
            raise ParseError("JSON parse error - strings may not contain the NUL character (\\u0000).")
        return data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
