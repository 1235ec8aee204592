"""Stage 1: structural validation of a model's answer against a JSON schema.

A deliberately small validator for the subset of JSON Schema our tool schemas use (type,
enum, required, properties, additionalProperties, items, minimum/maximum, maxLength,
maxItems). It is fast (no schema compilation), has no dependency, and its messages name
the path and the expectation, never the offending value (which may quote the note).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}

MAX_ERRORS = 20


def _type_ok(value: Any, expected: str) -> bool:
    if expected in {"integer", "number"} and isinstance(value, bool):
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[expected])


def validate(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """Errors as "path: problem" strings; empty when the instance conforms."""
    errors: list[str] = []
    _check(instance, schema, "$", errors)
    return errors[:MAX_ERRORS]


def _check(value: Any, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if len(errors) >= MAX_ERRORS:
        return
    expected = schema.get("type")
    if expected is not None:
        allowed = [expected] if isinstance(expected, str) else list(expected)
        if not any(_type_ok(value, t) for t in allowed):
            errors.append(f"{path}: expected {' or '.join(allowed)}, got {_json_type(value)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        shown = ", ".join(repr(v) for v in schema["enum"][:12])
        errors.append(f"{path}: must be one of {shown}")
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: must be <= {schema['maximum']}")
    elif isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']} characters")
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                _check(item, items, f"{path}[{index}]", errors)
    elif isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                errors.append(f"{path}: missing required property {key!r}")
        if schema.get("additionalProperties") is False:
            for key in value:
                if key not in properties:
                    errors.append(f"{path}: unexpected property {str(key)[:40]!r}")
        for key, sub in properties.items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}", errors)


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _type_ok(value, name):
            return name
    return type(value).__name__
