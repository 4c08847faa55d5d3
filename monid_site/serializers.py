"""Serializer fields every part of the API shares."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string and nothing else: DRF's CharField would quietly turn 42 into "42"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.OBJECT)
class JsonObjectField(serializers.Field):
    """A JSON object, taken as parsed: DRF's DictField copies it key by key (and JSONField encodes it again),
    which costs as much as the object is large, before anything has checked its size."""

    default_error_messages = {"invalid": "Expected a JSON object, not {kind}."}
    KINDS = {
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true or false",
        type(None): "null",
    }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid", kind=self.KINDS[type(data)])
        return data

    def to_representation(self, value):
        return value


def utc_text(value):
    """ISO 8601 in UTC with milliseconds and a Z, as the reference writes every time (None stays None)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class TimestampField(serializers.DateTimeField):
    def to_representation(self, value):
        return utc_text(value)


class StrictSerializer(serializers.Serializer):
    """An input serializer that names unknown fields instead of ignoring them, nested ones included."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {"body": f"unknown field(s) {', '.join(unknown)}; send only {', '.join(self.fields)}."}
            )
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer and nothing else in a JSON body: DRF's IntegerField would take "5" (and 5.0) for 5."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number and nothing else: DRF's FloatField would take "0.5" (and true) too."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false and nothing else: DRF's BooleanField would take "yes", 1 and "on" too."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
