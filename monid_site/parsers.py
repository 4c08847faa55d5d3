import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant


class JsonParser(JSONParser):
    """DRF's JSON parser, refusing what Python's json accepts but nothing downstream can store or send back:
    nesting deeper than the parser can follow, numbers too large for a float, unpaired surrogate escapes, and
    NUL characters (PostgreSQL's jsonb cannot hold them).

    The body is parsed once and not encoded again to be checked, which took twice as long as parsing it: a number
    is checked as it is parsed, and a surrogate or a NUL can only come from a \\u escape, so only a body whose
    text has one is searched for them."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = stream.read().decode(get_encoding(parser_context or {}))
            data = json.loads(text, parse_constant=strict_constant, parse_float=_finite)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if ("\\ud" in text or "\\uD" in text) and not _encodable(data):
            raise ParseError("JSON parse error - a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff).")
        if "\\u0000" in text and _has_nul(data):
            raise ParseError("JSON parse error - strings may not contain the NUL character (\\u0000).")
        return data


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError("a number is too large (it would be Infinity).")
    return number


def _encodable(value) -> bool:
    """Whether every string is proper Unicode: a pair of surrogate escapes is one character, a lone one is not."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
