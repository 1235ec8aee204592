"""Request validation: protovalidate rules from the protos, plus the server's configured
note-length limit, reported as field violations in words a caller can act on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import protovalidate
from google.protobuf.message import DecodeError, Message

from healthai_server.domain.errors import FieldViolation, InvalidRequest

_NOTE_ID_RULE = "must be 0-128 characters of A-Z a-z 0-9 . _ : -"
# protovalidate's own wording names regexes; these say what the caller should do.
_FRIENDLY: dict[tuple[str, str], str] = {
    ("text", "string.pattern"): "must contain at least one non-whitespace character",
    ("text", "required"): "is required: send the note text",
    ("note_id", "string.pattern"): _NOTE_ID_RULE,
    ("patient_ref", "string.pattern"): _NOTE_ID_RULE,
    ("mode", "enum.not_in"): "is required: choose REDACT, MASK or SURROGATE",
    ("mode", "enum.defined_only"): "must be one of REDACT, MASK or SURROGATE",
    ("start_time", "timestamp.gte_lte"): "must be between 1970-01-01 and 9999-12-31",
    ("end_time", "timestamp.gte_lte"): "must be between 1970-01-01 and 9999-12-31",
}


# Message-level (CEL) rules have no field path; name the field a caller should change.
_MESSAGE_RULE_FIELDS = {"usage.time_range": "end_time"}


def _field_path(violation: Any) -> str:
    # A message-level (CEL) violation has no field path at all: `field` is unset, not empty.
    field_path = getattr(violation.proto, "field", None)
    if field_path is None or not field_path.elements:
        return str(_MESSAGE_RULE_FIELDS.get(violation.proto.rule_id, violation.proto.rule_id))
    parts: list[str] = []
    for element in field_path.elements:
        part = element.field_name
        subscript = getattr(element, "subscript", None)
        if subscript is not None and getattr(subscript, "value", None) is not None:
            part += f"[{subscript.value}]"
        parts.append(part)
    return ".".join(parts)


class UndecodableRequest:
    """Stands in for a request whose bytes are not a valid message (corrupt wire format,
    invalid UTF-8 in a string field), so the call gets INVALID_ARGUMENT with an audit id
    from the chain instead of gRPC's UNKNOWN and an ERROR log line per call."""

    __slots__ = ("message_name",)

    def __init__(self, message_name: str) -> None:
        self.message_name = message_name


def tolerant_deserializer(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """Wrap a method's request deserializer so that undecodable bytes become UndecodableRequest."""
    if deserialize is None:
        return None
    message_name = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = message_name.full_name if message_name is not None else "the request message"

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except (DecodeError, UnicodeDecodeError, ValueError):
            return UndecodableRequest(name)

    return parse


class RequestValidator:
    """Build once at start-up (the first validation compiles the rules, about 10 ms)."""

    def __init__(self, max_note_chars: int) -> None:
        self._validator = protovalidate.Validator()
        self.max_note_chars = max_note_chars

    def warm_up(self, *messages: Message) -> None:
        for message in messages:
            self._validator.collect_violations(message)

    def violations(self, message: Message | UndecodableRequest) -> list[FieldViolation]:
        if isinstance(message, UndecodableRequest):
            return [FieldViolation("", f"the bytes sent are not a valid {message.message_name} message")]
        found: list[FieldViolation] = []
        for violation in self._validator.collect_violations(message):
            path = _field_path(violation)
            leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
            description = _FRIENDLY.get((leaf, violation.proto.rule_id), violation.proto.message)
            found.append(FieldViolation(path, description))
        text = getattr(message, "text", None)
        if isinstance(text, str) and len(text) > self.max_note_chars:
            found = [v for v in found if v.field != "text"]
            found.append(
                FieldViolation("text", f"is {len(text)} characters; this server accepts at most {self.max_note_chars}")
            )
        return found

    def check(self, message: Message | UndecodableRequest) -> None:
        violations = self.violations(message)
        if violations:
            raise InvalidRequest(violations, f"the request is invalid: {len(violations)} field violation(s)")
