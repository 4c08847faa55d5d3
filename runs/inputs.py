"""What a run's input may be, checked before it costs anything: its size and nesting first, then its endpoint's
JSON Schema, each failure describing the failing value by its kind and size instead of repeating it.

jsonschema words a failure with repr() of the failing value, built as soon as the failure is found: for an array
of 60,000 items that is text the size of the array, for every failure of it, only to be cut short afterwards.
So the keywords that repeat a value are replaced here by ones that decide exactly as jsonschema's do (with
jsonschema's own helpers, whose version requirements.txt pins) and say "an array of 60,000 items is too long (at
most 100 items)". The other keywords (numbers, required, const, properties, $ref, allOf, if…) never repeat an
array, an object or a long string of the input, and stay jsonschema's.
"""

import json
import re

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema._utils import (
    equal,
    find_additional_properties,
    find_evaluated_item_indexes_by_schema,
    find_evaluated_property_keys_by_schema,
    uniq,
)

# An input nested deeper than this (arrays and objects in one another, the input object itself counting 1) is
# refused before its schema is read: no endpoint's input goes near it, and every step after would walk it.
INPUT_MAX_DEPTH = 32
SHOWN_CHARS = 40  # of a string or a number, in a message
SHOWN_NAMES = 10  # of the values of an enum, or the unexpected properties of an object, in a message
_ORIGINAL = Draft202012Validator.VALIDATORS


def input_text(value) -> str:
    """The input as compact JSON: how it is stored and sent, whatever spacing the client used. Its size is the
    size of this text in UTF-8."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def input_too_deep(value, text: str) -> bool:
    """Whether arrays and objects nest in `value` (whose input_text is `text`) more than INPUT_MAX_DEPTH deep.
    One with no more brackets than that cannot, and is not walked; any other is walked level by level, without
    recursion, and never further down than the limit: the cost is bounded by its size, whatever its shape."""
    if text.count("[") + text.count("{") <= INPUT_MAX_DEPTH:
        return False
    level = [value]
    for _ in range(INPUT_MAX_DEPTH):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return True


def size_text(size: int) -> str:
    """A size in bytes, exact and readable: "70,000 bytes (68.4 KiB)"."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size:,} bytes ({size / scale:.3g} {unit})"
    return f"{size:,} bytes"


def described(value) -> str:
    """A value as a failure names it: in a few words, whatever its size."""
    if isinstance(value, dict):
        return f"an object with {_count(len(value), 'property')}" if value else "an empty object"
    if isinstance(value, list):
        return f"an array of {_count(len(value), 'item')}" if value else "an empty array"
    if isinstance(value, str):
        return repr(value) if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]!r}… ({len(value):,} characters)"
    text = json.dumps(value)  # true, false, null, or a number (an integer of up to 4,300 digits: Python parses no more)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text):,} digits)"


def _count(number: int, unit: str) -> str:
    plural = unit.removesuffix("y") + "ies" if unit.endswith("y") else unit + "s"
    return f"{number:,} {unit if number == 1 else plural}"


def _listed(values: list) -> str:
    shown = ", ".join(described(value) for value in values[:SHOWN_NAMES])
    return shown if len(values) <= SHOWN_NAMES else f"{shown}, … ({len(values):,} in all)"


def _counted(kind: str, unit: str, most: bool):
    """maxItems, minLength and their kin: the value's size against the bound."""
    size = ("big", "small") if kind == "object" else ("long", "short")

    def keyword(validator, bound, instance, schema):
        if validator.is_type(instance, kind) and (len(instance) > bound if most else len(instance) < bound):
            yield ValidationError(
                f"{described(instance)} is too {size[0] if most else size[1]} "
                f"(at {'most' if most else 'least'} {_count(bound, unit)})"
            )

    return keyword


def _type(validator, types, instance, schema):
    types = [types] if isinstance(types, str) else types
    if not any(validator.is_type(instance, kind) for kind in types):
        yield ValidationError(f"{described(instance)} is not of type {' or '.join(map(repr, types))}")


def _enum(validator, enums, instance, schema):
    if all(not equal(each, instance) for each in enums):
        yield ValidationError(f"{described(instance)} is not one of {_listed(enums)}")


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re.search(pattern, instance):
        yield ValidationError(f"{described(instance)} does not match {described(pattern)}")


def _format(validator, format_, instance, schema):
    # The checker's own function: FormatChecker.check words its failure with repr(instance).
    checker = validator.format_checker
    if checker is None or format_ not in checker.checkers:
        return
    check, raises = checker.checkers[format_]
    try:
        conforms = check(instance)
    except raises:
        conforms = False
    if not conforms:
        yield ValidationError(f"{described(instance)} is not a valid {format_!r}")


def _unique_items(validator, unique, instance, schema):
    if unique and validator.is_type(instance, "array") and not uniq(instance):
        yield ValidationError(f"{described(instance)} has repeated items")


def _additional_properties(validator, allowed, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    extras = sorted(find_additional_properties(instance, schema))
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        yield ValidationError(
            f"Additional properties are not allowed ({_listed(extras)} "
            f"{'was' if len(extras) == 1 else 'were'} unexpected)"
        )


def _unevaluated_properties(validator, unevaluated, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    evaluated = find_evaluated_property_keys_by_schema(validator, instance, schema)
    failing = sorted(
        key
        for key in instance
        if key not in evaluated and next(validator.descend(instance[key], unevaluated, path=key), None) is not None
    )
    if failing:
        verdict = "allowed" if unevaluated is False else "valid under the given schema"
        yield ValidationError(f"Unevaluated properties are not {verdict} ({_listed(failing)})")


def _unevaluated_items(validator, unevaluated, instance, schema):
    if not validator.is_type(instance, "array"):
        return
    unexpected = len(instance) - len(set(find_evaluated_item_indexes_by_schema(validator, instance, schema)))
    if unexpected:
        yield ValidationError(
            f"Unevaluated items are not allowed ({_count(unexpected, 'item')} of {described(instance)})"
        )


def _items(validator, items, instance, schema):
    prefix = len(schema.get("prefixItems", []))
    if items is False and validator.is_type(instance, "array") and len(instance) > prefix:
        yield ValidationError(f"{described(instance)} is too long (at most {_count(prefix, 'item')})")
    else:
        yield from _ORIGINAL["items"](validator, items, instance, schema)


def _contains(validator, contains, instance, schema):
    # jsonschema's repeats the value only when no item matches; its other failures say how many did.
    matching = validator.evolve(schema=contains)
    if (
        validator.is_type(instance, "array")
        and schema.get("minContains", 1) > 0
        and not any(matching.is_valid(each) for each in instance)
    ):
        yield ValidationError(f"{described(instance)} does not contain items matching the given schema")
    else:
        yield from _ORIGINAL["contains"](validator, contains, instance, schema)


def _any_of(validator, any_of, instance, schema):
    errors = []
    for index, subschema in enumerate(any_of):
        found = list(validator.descend(instance, subschema, schema_path=index))
        if not found:
            return
        errors.extend(found)
    yield ValidationError(f"{described(instance)} is not valid under any of the given schemas", context=errors)


def _one_of(validator, one_of, instance, schema):
    subschemas, errors = enumerate(one_of), []
    for index, subschema in subschemas:
        found = list(validator.descend(instance, subschema, schema_path=index))
        if not found:
            break
        errors.extend(found)
    else:
        yield ValidationError(f"{described(instance)} is not valid under any of the given schemas", context=errors)
        return
    if any(validator.evolve(schema=each).is_valid(instance) for _, each in subschemas):
        yield ValidationError(f"{described(instance)} is valid under more than one of the given schemas")


def _not(validator, not_schema, instance, schema):
    if validator.evolve(schema=not_schema).is_valid(instance):
        yield ValidationError(f"{described(instance)} must not match the schema under 'not'")


ShortMessagesValidator = validators.extend(
    Draft202012Validator,
    validators={
        "maxItems": _counted("array", "item", most=True),
        "minItems": _counted("array", "item", most=False),
        "maxLength": _counted("string", "character", most=True),
        "minLength": _counted("string", "character", most=False),
        "maxProperties": _counted("object", "property", most=True),
        "minProperties": _counted("object", "property", most=False),
        "type": _type,
        "enum": _enum,
        "pattern": _pattern,
        "format": _format,
        "uniqueItems": _unique_items,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties,
        "unevaluatedItems": _unevaluated_items,
        "items": _items,
        "contains": _contains,
        "anyOf": _any_of,
        "oneOf": _one_of,
        "not": _not,
    },
)
