"""BackendResult <-> bytes (JSON) for the result cache, driven by the dataclasses' type hints.

A payload that does not decode (an older format, a corrupted row) is a cache miss, never an error.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
from typing import Any, Union, get_args, get_origin, get_type_hints

from healthai_server.backends.base import BackendResult
from healthai_server.domain.clinical import as_domain

FORMAT_VERSION = 1


class UndecodablePayload(ValueError):
    """The payload is not a result this version can read."""


def encode_result(result: BackendResult) -> bytes:
    result = dataclasses.replace(result, data=as_domain(result.data))
    envelope = {"v": FORMAT_VERSION, "result": _encode(result)}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_result(payload: bytes) -> BackendResult:
    try:
        envelope = json.loads(payload)
        if envelope.get("v") != FORMAT_VERSION:
            raise UndecodablePayload("unknown cache format version")
        decoded = _decode(BackendResult, envelope["result"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UndecodablePayload(str(exc)) from exc
    assert isinstance(decoded, BackendResult)
    return decoded


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_encode(v) for v in value)
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        # Several alternatives decode as the first: the cache stores results in object form
        # (BackendResult.data is ClinicalData | EncodedClinicalData; encode_result decodes the latter).
        first = next(a for a in args if a is not type(None))
        return _decode(first, value)
    if origin is tuple:
        item = get_args(tp)[0]
        return tuple(_decode(item, v) for v in value)
    if origin is frozenset:
        item = get_args(tp)[0]
        return frozenset(_decode(item, v) for v in value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value})
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("expected a number")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise TypeError(f"expected {tp.__name__}")
        return value
    raise TypeError(f"cannot decode {tp!r}")
