"""The console's small parts: note pieces, form parsing, field mapping, errors, start-up checks
(sessions: test_sessions.py)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from healthai.tls import TlsOptions
from healthai.v1 import clinical_pb2
from healthai_server.console.api import FIELD_SPECS, api_error, read_field, write_field
from healthai_server.console.app import note_text, run_console, session_keys, split_listen
from healthai_server.console.forms import MAX_ADDED, parse_decisions
from healthai_server.console.highlight import pieces
from healthai_server.console.model import Decision, ItemField, Reviewer, ReviewItem
from healthai_server.console.views import reviewer_from_token

from tests.unit.console.fakes import rpc_error


def item(start: int, end: int) -> ReviewItem:
    return ReviewItem("condition", 0, start, end, "", 0.5, (), (ItemField("name", "Name", ""),))


def test_pieces_cover_the_note_and_list_overlapping_items() -> None:
    text = "aspirin 81 mg daily"
    result = pieces(text, [item(0, 13), item(8, 13), item(50, 60)])
    assert "".join(p.text for p in result) == text
    assert [(p.start, p.end, p.items) for p in result] == [(0, 8, (0,)), (8, 13, (0, 1)), (13, 19, ())]
    assert pieces("", []) == []


def test_note_text_keeps_carriage_returns_and_escapes_markup() -> None:
    assert str(note_text("a\r\n<b>&")) == "a&#13;\n&lt;b&gt;&amp;"


def test_form_parsing_names_each_problem() -> None:
    parsed = parse_decisions(
        {
            "item-0-type": "condition",
            "item-0-index": "0",
            "item-0-flagged": "1",
            "item-1-type": "condition",
            "item-1-index": "1",
            "item-1-decision": "maybe",
            "item-2-type": "medication",
            "item-2-index": "x",
            "item-2-decision": "accept",
            "item-3-type": "medication",
            "item-3-index": "0",
            "item-3-decision": "correct",
            "item-3-field-name": "same",
            "item-3-was-name": "same",
            "item-4-type": "allergy",
            "item-4-index": "0",  # not flagged, no decision: skipped
            "add-0-type": "",
            "add-0-start": "5",
            "add-0-end": "3",
            "add-1-type": "",
            "add-1-start": "",
            "add-1-end": "",
            "add-1-text": "",
        }
    )
    fields = [name for name, _ in parsed.problems]
    assert fields == [
        "item-0-decision",
        "item-1-decision",
        "item-2-index",
        "item-3-decision",
        "add-0-type",
        "add-0-start",
    ]
    assert parsed.decisions == [] and parsed.additions == []
    assert parse_decisions({}).problems == [("items", "nothing to submit: decide on at least one item")]
    too_many = {f"add-{i}-type": "condition" for i in range(MAX_ADDED + 1)}
    assert parse_decisions(too_many).problems[0][0] == "items"
    ok = parse_decisions({"item-0-type": "vital_sign", "item-0-index": "2", "item-0-decision": "reject"})
    assert ok.decisions[0].decision is Decision.REJECT and ok.decisions[0].index == 2


def test_fields_read_and_write_enums_numbers_and_codes() -> None:
    specs = {spec.path: spec for spec in FIELD_SPECS["medication"]}
    medication = clinical_pb2.Medication(name="metformin")
    assert read_field(medication, specs["route"]) == "" and read_field(medication, specs["dose.value"]) == ""
    assert write_field(medication, specs["route"], "Intravenous") is None
    assert (
        medication.route == clinical_pb2.ROUTE_INTRAVENOUS and read_field(medication, specs["route"]) == "intravenous"
    )
    assert write_field(medication, specs["route"], "by pigeon") is not None
    assert write_field(medication, specs["route"], "") is None and medication.route == 0
    assert write_field(medication, specs["dose.value"], "nan") == "must be a number"
    assert (
        write_field(medication, specs["dose.value"], "2.5") is None
        and read_field(medication, specs["dose.value"]) == "2.5"
    )
    assert "unspecified" not in specs["route"].choices
    code = {spec.path: spec for spec in FIELD_SPECS["condition"]}["code"]
    condition = clinical_pb2.Condition(name="gout")
    condition.codings.add(system="http://snomed.info/sct", code="90560007")
    assert write_field(condition, code, "m10.9") is None
    assert read_field(condition, code) == "M10.9" and len(condition.codings) == 2
    assert write_field(condition, code, "") is None and [c.code for c in condition.codings] == ["90560007"]


def test_errors_map_to_what_the_page_explains() -> None:
    assert api_error(rpc_error(grpc.StatusCode.ABORTED, "stale")).kind == "stale"
    completed = api_error(
        rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION, "the review task is already completed", reason="REVIEW_TASK_COMPLETED"
        )
    )
    assert completed.kind == "completed" and completed.audit_id == "audit-123"
    by_reason = api_error(rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "x", reason="REVIEW_TASK_CLAIMED"))
    assert by_reason.kind == "claimed" and by_reason.reason == "REVIEW_TASK_CLAIMED"
    # The reason decides, never the wording: a message naming a state without its reason is generic.
    assert api_error(rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "already completed")).kind == "precondition"
    assert api_error(rpc_error(grpc.StatusCode.INTERNAL, "boom")).kind == "error"
    assert api_error(grpc.RpcError()).kind == "error"


def test_reviewer_from_a_token_that_is_not_a_jwt() -> None:
    assert reviewer_from_token("opaque-api-key") == (Reviewer("reviewer", ""), None)


def test_start_up_refuses_plain_http_off_loopback() -> None:
    assert split_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert split_listen("[::1]:8080") == ("::1", 8080)
    for bad in ("8080", "host:port", ":80"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            split_listen(bad)
    with pytest.raises(ValueError, match="plain HTTP"):
        run_console("0.0.0.0:8080", "127.0.0.1:50051", tls=TlsOptions())


def test_the_cli_refuses_plain_http_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    from healthai_server.cli import main

    assert main(["console", "--listen", "0.0.0.0:8080"]) == 2
    assert "plain HTTP" in capsys.readouterr().err


def test_session_keys_are_required_off_loopback_and_made_once_on_it(tmp_path: Path) -> None:
    dev_key = tmp_path / "dev" / "console-session.key"
    first = session_keys([], host="127.0.0.1", dev_key_file=dev_key)
    assert first == session_keys([], host="127.0.0.1", dev_key_file=dev_key)  # a restart keeps the key
    assert len(first[0]) == 32 and dev_key.stat().st_mode & 0o077 == 0
    with pytest.raises(ValueError, match="--session-key-file"):
        session_keys([], host="0.0.0.0", dev_key_file=dev_key)
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 16)
    with pytest.raises(ValueError, match="exactly 32 random bytes"):
        session_keys([dev_key, short], host="0.0.0.0", dev_key_file=dev_key)
    with pytest.raises(ValueError, match="No such file"):
        session_keys([tmp_path / "missing.key"], host="127.0.0.1", dev_key_file=dev_key)
    assert session_keys([dev_key, dev_key], host="10.0.0.5", dev_key_file=tmp_path / "unused") == first * 2
