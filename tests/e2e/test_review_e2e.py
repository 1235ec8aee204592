"""The review queue through a real server: routing on extraction, a reviewer's token, two
reviewers racing, bad decisions refused with clear statuses, the note-text read audited."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2
from healthai.v1 import (
    clinical_pb2,
    common_pb2,
    extraction_service_pb2,
    extraction_service_pb2_grpc,
    review_service_pb2,
    review_service_pb2_grpc,
)

from tests.e2e.server import ServerProcess, running_server

NOTE = "MEDICATIONS: metformin 500 mg PO BID.\nHPI: denies chest pain. History of hypertension.\n"


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("review-state"),
        review_routing="true",
        review_thresholds='{"default": 0.0}',
        review_lease_s="60",
    ) as process:
        yield process


def token(server: ServerProcess, subject: str, roles: str = "reviewer", tenant: str = "dev") -> str:
    result = server.healthai_server("token", "--roles", roles, "--subject", subject, "--tenant", tenant)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def auth(value: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {value}"),)


def test_a_requested_review_is_queued_claimed_once_decided_and_audited(review_server: ServerProcess) -> None:
    alice, bob = token(review_server, "alice"), token(review_server, "bob")
    other_tenant = token(review_server, "eve", tenant="other")
    with grpc.insecure_channel(review_server.addr) as channel:
        extract = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        review = review_service_pb2_grpc.ReviewServiceStub(channel)
        plain = extract.ExtractClinicalData(
            extraction_service_pb2.ExtractClinicalDataRequest(text=NOTE), metadata=auth(review_server.dev_token)
        )
        assert plain.review_task == ""  # nothing under the threshold, nothing flagged, not asked
        response = extract.ExtractClinicalData(
            extraction_service_pb2.ExtractClinicalDataRequest(
                text=NOTE, note_id="n-1", options=extraction_service_pb2.ExtractionOptions(request_review=True)
            ),
            metadata=auth(review_server.dev_token),
        )
        name = response.review_task
        assert name.startswith("tenants/dev/reviewTasks/")

        with pytest.raises(grpc.RpcError) as denied:
            review.ListReviewTasks(
                review_service_pb2.ListReviewTasksRequest(), metadata=auth(token(review_server, "c", "clinician"))
            )
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
        listed = review.ListReviewTasks(review_service_pb2.ListReviewTasksRequest(), metadata=auth(alice))
        task = next(t for t in listed.tasks if t.name == name)
        assert review_service_pb2.REVIEW_REASON_REQUESTED in task.reasons and task.backend == "local"
        assert task.state == review_service_pb2.REVIEW_TASK_STATE_PENDING

        # Two reviewers race with the same etag: exactly one wins.
        outcomes: list[object] = []

        def claim(who: str) -> None:
            try:
                outcomes.append(
                    review.ClaimReviewTask(
                        review_service_pb2.ClaimReviewTaskRequest(name=name, etag=task.etag), metadata=auth(who)
                    )
                )
            except grpc.RpcError as error:
                outcomes.append(error.code())

        threads = [threading.Thread(target=claim, args=(who,)) for who in (alice, bob)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if isinstance(o, review_service_pb2.ClaimReviewTaskResponse)]
        assert len(winners) == 1
        assert next(o for o in outcomes if not isinstance(o, review_service_pb2.ClaimReviewTaskResponse)) in (
            grpc.StatusCode.ABORTED,
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        claimed = winners[0].task
        holder = alice if claimed.claimed_by == "alice" else bob

        got = review.GetReviewTask(review_service_pb2.GetReviewTaskRequest(name=name), metadata=auth(holder))
        assert got.note_text == NOTE and got.data.medications[0].name.lower() == "metformin"
        with pytest.raises(grpc.RpcError) as hidden:
            review.GetReviewTask(review_service_pb2.GetReviewTaskRequest(name=name), metadata=auth(other_tenant))
        assert hidden.value.code() is grpc.StatusCode.NOT_FOUND

        med = clinical_pb2.Medication()
        med.CopyFrom(got.data.medications[0])
        med.dose.value = 1000
        bad = clinical_pb2.Medication()
        bad.CopyFrom(med)
        bad.span.text = "insulin"
        decisions = [
            review_service_pb2.ItemDecision(
                kind=review_service_pb2.REVIEW_DECISION_KIND_ACCEPT,
                item_type=clinical_pb2.ENTITY_TYPE_CONDITION,
                index=i,
            )
            for i in range(len(got.data.conditions))
        ]

        def correction(item: clinical_pb2.Medication) -> review_service_pb2.ItemDecision:
            return review_service_pb2.ItemDecision(
                kind=review_service_pb2.REVIEW_DECISION_KIND_CORRECT,
                item_type=clinical_pb2.ENTITY_TYPE_MEDICATION,
                index=0,
                item=review_service_pb2.ReviewedItem(medication=item),
                update_mask=field_mask_pb2.FieldMask(paths=["dose.value"]),
            )

        with pytest.raises(grpc.RpcError) as invalid:
            review.SubmitReviewDecision(
                review_service_pb2.SubmitReviewDecisionRequest(
                    name=name, etag=claimed.etag, decisions=[*decisions, correction(bad)]
                ),
                metadata=auth(holder),
            )
        assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as stale:
            review.SubmitReviewDecision(
                review_service_pb2.SubmitReviewDecisionRequest(
                    name=name, etag=task.etag, decisions=[*decisions, correction(med)]
                ),
                metadata=auth(holder),
            )
        assert stale.value.code() is grpc.StatusCode.ABORTED
        done = review.SubmitReviewDecision(
            review_service_pb2.SubmitReviewDecisionRequest(
                name=name, etag=claimed.etag, decisions=[*decisions, correction(med)]
            ),
            metadata=auth(holder),
        )
        assert done.task.state == review_service_pb2.REVIEW_TASK_STATE_COMPLETED
        remaining = review.ListReviewTasks(review_service_pb2.ListReviewTasksRequest(), metadata=auth(alice))
        assert name not in [t.name for t in remaining.tasks]
        assert common_pb2.ErrorReason.Name(common_pb2.ERROR_REASON_ABORTED) == "ERROR_REASON_ABORTED"

    # The read of note text is in the audit trail (which task, never the text).
    with sqlite3.connect(review_server.state_dir / "healthai.db") as conn:
        rows = conn.execute("SELECT details FROM audit_events WHERE method LIKE '%GetReviewTask'").fetchall()
    details = [json.loads(r[0]) for r in rows]
    assert any(d.get("note_text_read") and d.get("review_task") == name.rsplit("/", 1)[-1] for d in details)
    assert all("metformin" not in r[0] for r in rows)


def test_the_cli_lists_claims_shows_and_decides(review_server: ServerProcess) -> None:
    carol = token(review_server, "carol")
    names = []
    for _ in range(3):
        extracted = review_server.healthai("extract", "-", "--review", "--format", "json", stdin=NOTE)
        assert extracted.returncode == 0, extracted.stderr
        names.append(json.loads(extracted.stdout)["review_task"])
    listed = review_server.healthai("review", "list", "--reason", "requested", token=carol)
    assert listed.returncode == 0, listed.stderr
    assert all(name in listed.stdout for name in names)
    denied = review_server.healthai("review", "list", token=token(review_server, "c", "clinician"))
    assert denied.returncode == 1 and "PERMISSION_DENIED" in denied.stderr

    decided = []
    for command in (
        ["correct", "--item", "medication/0", "--set", "dose.value=1000"],
        ["reject", "--item", "medication/0"],
        ["accept"],
    ):
        claimed = review_server.healthai("review", "next", token=carol)
        assert claimed.returncode == 0, claimed.stderr
        name = claimed.stdout.split()[0]
        shown = review_server.healthai("review", "show", name, token=carol)
        assert shown.returncode == 0 and "metformin" in shown.stdout and "medication/0" in shown.stdout
        result = review_server.healthai("review", command[0], name, *command[1:], token=carol)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith("completed")
        decided.append(name)
    again = review_server.healthai("review", "accept", decided[0], token=carol)
    assert again.returncode == 1 and "FAILED_PRECONDITION" in again.stderr
    bad = review_server.healthai(
        "review", "correct", decided[0], "--item", "medication/0", "--set", "nope=1", token=carol
    )
    assert bad.returncode == 2
    completed = review_server.healthai("review", "list", "--state", "completed", "--format", "json", token=carol)
    assert {t["name"] for t in json.loads(completed.stdout)["tasks"]} >= set(decided)


def test_reviewed_notes_export_as_gold_and_evaluate(
    review_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("reviewed")
    exported = review_server.healthai_server("eval", "export-reviews", "--out", str(out), "--tenant", "dev")
    assert exported.returncode == 0, exported.stderr
    golds = [json.loads(p.read_text()) for p in (out / "gold").glob("*.json")]
    assert len(golds) >= 4 and len(list((out / "notes").glob("*.txt"))) == len(golds)
    assert any(m[2].get("dose") == [1000, "mg"] for g in golds for m in g["medications"])  # the CLI's correction
    scored = review_server.healthai_server("eval", "--golden", str(out), "--json")
    assert scored.returncode == 0, scored.stderr
    report = json.loads(scored.stdout)
    assert report["notes"] == len(golds)
