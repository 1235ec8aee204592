from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from healthai.v1 import deidentification_service_pb2, extraction_service_pb2, usage_service_pb2
from healthai_server.domain.errors import InvalidRequest
from healthai_server.validation_rules import RequestValidator

Req = extraction_service_pb2.ExtractClinicalDataRequest


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator(max_note_chars=50)


def fields(validator: RequestValidator, message: object) -> dict[str, str]:
    return {v.field: v.description for v in validator.violations(message)}  # type: ignore[arg-type]


def test_valid_request_passes(validator: RequestValidator) -> None:
    validator.check(Req(note_id="n-1", text="BP 120/80"))


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u00a0"])
def test_empty_or_whitespace_text(validator: RequestValidator, text: str) -> None:
    found = fields(validator, Req(text=text))
    assert "text" in found


def test_text_over_the_configured_limit_says_both_numbers(validator: RequestValidator) -> None:
    assert fields(validator, Req(text="x" * 51))["text"] == "is 51 characters; this server accepts at most 50"


def test_enum_and_id_rules(validator: RequestValidator) -> None:
    bad_kinds: list[Any] = [0, 42]  # 0 is UNSPECIFIED, 42 is not defined
    options = extraction_service_pb2.ExtractionOptions(entity_types=bad_kinds)
    found = fields(validator, Req(note_id="has space", text="ok", options=options))
    assert found["note_id"].startswith("must be 0-128 characters")
    assert "options.entity_types[0]" in found and "options.entity_types[1]" in found


def test_deid_mode_is_required(validator: RequestValidator) -> None:
    found = fields(validator, deidentification_service_pb2.DeidentifyNoteRequest(text="x"))
    assert found["mode"].startswith("is required")


def test_check_raises_with_all_violations(validator: RequestValidator) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validator.check(Req(note_id="?", text=" "))
    assert {v.field for v in caught.value.violations} == {"note_id", "text"}


def _usage(start_s: int, end_s: int) -> usage_service_pb2.GetUsageRequest:
    return usage_service_pb2.GetUsageRequest(
        start_time=timestamp_pb2.Timestamp(seconds=start_s),
        end_time=timestamp_pb2.Timestamp(seconds=end_s),
        group_by=usage_service_pb2.USAGE_GROUPING_DAY,
    )


@pytest.mark.parametrize(("start_s", "end_s"), [(100, 50), (100, 100)], ids=["end-before-start", "empty-range"])
def test_a_usage_range_that_does_not_move_forward_names_end_time(
    validator: RequestValidator, start_s: int, end_s: int
) -> None:
    """Issue 12.6: a message-level rule has no field path, and reading it used to raise (INTERNAL)."""
    assert [(v.field, v.description) for v in validator.violations(_usage(start_s, end_s))] == [
        ("end_time", "end_time must be after start_time")
    ]


@pytest.mark.parametrize(
    ("start_s", "end_s", "fields"),
    [
        (-62135596801, 0, ["start_time"]),
        (0, 253402300800, ["end_time"]),
        (10**12, 10**12 + 5, ["start_time", "end_time"]),
    ],
    ids=["before-year-1", "after-9999", "both"],
)
def test_out_of_range_timestamps_are_field_violations_not_internal(
    validator: RequestValidator, start_s: int, end_s: int, fields: list[str]
) -> None:
    """Issue 12.6: such timestamps passed validation, then ToDatetime raised in the servicer."""
    violations = validator.violations(_usage(start_s, end_s))
    assert [v.field for v in violations] == fields
    assert all(v.description == "must be between 1970-01-01 and 9999-12-31" for v in violations)
