"""Corrections become evaluation data: export reviewed notes as gold, score the engine on them,
and see each decision move the score the way it should."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from healthai.v1 import review_service_pb2
from healthai_server.domain.clinical import EntityType, ExtractionOptions, Span
from healthai_server.domain.review import ItemDecision, ItemRef, NewReviewTask, ReviewDecisionKind, ReviewReason
from healthai_server.engine import ClinicalEngine
from healthai_server.evaluation import clinical, reviews
from healthai_server.services import convert
from healthai_server.storage import migrate
from healthai_server.storage.crypto import FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.review_tasks import ReviewTaskStore

NOTE = "MEDICATIONS: metformin 500 mg PO BID.\nVITALS: HR 88.\nASSESSMENT: hypertension.\n"


@pytest.fixture(scope="module")
def engine() -> ClinicalEngine:
    return ClinicalEngine()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ReviewTaskStore]:
    db = Database(database_url)
    migrate.upgrade(db.engine)
    yield ReviewTaskStore(db, FieldEncryptor({"k": os.urandom(32)}, "k"))
    db.close()


async def decided(store: ReviewTaskStore, engine: ClinicalEngine, decision: ItemDecision) -> None:
    data = engine.extract(NOTE, ExtractionOptions())
    assert data.medications[0].dose is not None and data.medications[0].dose.value == 500
    task = await store.create(
        NewReviewTask(
            tenant="t1",
            note_id="",
            source_audit_id="a",
            reasons=(ReviewReason.LOW_CONFIDENCE,),
            items=(ItemRef(EntityType.MEDICATION, 0, (ReviewReason.LOW_CONFIDENCE,), 0.5),),
            item_counts={"medication": len(data.medications)},
            backend="local",
            model="engine",
            prompt_version="",
            note_text=NOTE,
            data_wire=convert.clinical_data_wire(data),
        )
    )
    claim = await store.claim("t1", task.id, "alice", 60)
    await store.submit("t1", task.id, "alice", claim.etag, [decision])


def corrected_dose(engine: ClinicalEngine, value: float) -> ItemDecision:
    medication = convert.medication_to_pb(engine.extract(NOTE, ExtractionOptions()).medications[0])
    medication.dose.value = value
    item = review_service_pb2.ReviewedItem(medication=medication)
    span = Span(medication.span.start, medication.span.end, medication.span.text)
    return ItemDecision(
        ReviewDecisionKind.CORRECT, EntityType.MEDICATION, 0, item.SerializeToString(), span, ("dose.value",)
    )


async def score(store: ReviewTaskStore, engine: ClinicalEngine, out: Path) -> clinical.Report:
    summary = reviews.export(await store.completed("t1"), out)
    assert summary.tasks == summary.with_text == 1
    return clinical.run(engine, out)


async def test_an_accepted_answer_scores_perfectly(
    store: ReviewTaskStore, engine: ClinicalEngine, tmp_path: Path
) -> None:
    await decided(store, engine, ItemDecision(ReviewDecisionKind.ACCEPT, EntityType.MEDICATION, 0))
    report = await score(store, engine, tmp_path)
    assert report.notes == 1 and report.counts["medications"].f1 == 1.0
    assert report.attributes["medications.dose"].value == 1.0


async def test_a_corrected_dose_is_scored_as_the_engine_s_error(
    store: ReviewTaskStore, engine: ClinicalEngine, tmp_path: Path
) -> None:
    await decided(store, engine, corrected_dose(engine, 1000))
    report = await score(store, engine, tmp_path)
    assert report.counts["medications"].f1 == 1.0  # still found
    assert report.attributes["medications.dose"].value == 0.0  # but the dose was wrong
    gold = json.loads(next((tmp_path / "gold").glob("*.json")).read_text())
    assert gold["medications"][0][2]["dose"] == [1000, "mg"]


async def test_a_rejected_item_becomes_a_false_positive(
    store: ReviewTaskStore, engine: ClinicalEngine, tmp_path: Path
) -> None:
    await decided(store, engine, ItemDecision(ReviewDecisionKind.REJECT, EntityType.MEDICATION, 0))
    report = await score(store, engine, tmp_path)
    assert report.counts["medications"].fp == 1 and report.counts["medications"].precision == 0.0


async def test_text_past_retention_is_not_exported_and_the_cli_runs(
    store: ReviewTaskStore, engine: ClinicalEngine, tmp_path: Path
) -> None:
    await decided(store, engine, ItemDecision(ReviewDecisionKind.ACCEPT, EntityType.MEDICATION, 0))
    contents = await store.completed("t1")
    erased = [type(c)(c.task, "", c.data_wire, c.decisions) for c in contents]
    assert reviews.export(erased, tmp_path).with_text == 0
    assert list((tmp_path / "notes").iterdir()) == [] and len(list((tmp_path / "gold").iterdir())) == 1
    assert clinical.main(["--golden", str(tmp_path), "--json"]) == 0
