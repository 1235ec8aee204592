"""Reviewed notes as evaluation data: `healthai-server eval export-reviews --out DIR`.

Each completed review task becomes gold in the golden-set format (gold/<task>.json with
[start, end, attributes] entries), built from what was extracted and what the reviewer
decided: accepted items as extracted, corrected items as corrected, rejected items left
out, added items put in. Items the task did not flag were shown to the reviewer and not
overridden, so they count as accepted. The note's text (notes/<task>.txt) is written only
while the retention policy keeps it; `healthai-server eval --golden DIR` scores the notes
that have text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthai.v1 import clinical_pb2, review_service_pb2

from healthai_server.domain.clinical import EntityType, VitalKind
from healthai_server.domain.review import ReviewDecisionKind, ReviewTaskContent
from healthai_server.evaluation.clinical import VITAL_ABBREVIATIONS

_LISTS = {
    EntityType.CONDITION: ("conditions", "conditions", "condition"),
    EntityType.MEDICATION: ("medications", "medications", "medication"),
    EntityType.VITAL_SIGN: ("vital_signs", "vitals", "vital_sign"),
    EntityType.ALLERGY: ("allergies", "allergies", "allergy"),
}


@dataclass(frozen=True, slots=True)
class ExportSummary:
    tasks: int
    with_text: int


def _enum(enum_type: Any, value: int, prefix: str) -> str:
    return str(enum_type.Name(value)).removeprefix(prefix)


def _attrs(kind: EntityType, item: Any) -> dict[str, Any]:
    if kind is EntityType.CONDITION:
        attrs: dict[str, Any] = {}
        codes = [c.code for c in item.codings if "icd-10" in c.system]
        if codes:
            attrs["code"] = codes[0]
        a = item.assertion
        for axis, enum_type, prefix in (
            ("certainty", clinical_pb2.Certainty, "CERTAINTY_"),
            ("conditionality", clinical_pb2.Conditionality, "CONDITIONALITY_"),
            ("association", clinical_pb2.Association, "ASSOCIATION_"),
            ("temporality", clinical_pb2.Temporality, "TEMPORALITY_"),
        ):
            value = getattr(a, axis)
            if value:
                attrs[axis] = _enum(enum_type, value, prefix).lower()
        return attrs
    if kind is EntityType.MEDICATION:
        attrs = {"name": item.name}
        if item.HasField("dose"):
            attrs["dose"] = [item.dose.value, item.dose.unit]
        if item.route:
            attrs["route"] = _enum(clinical_pb2.Route, item.route, "ROUTE_")
        if item.HasField("frequency") and item.frequency.code:
            attrs["freq"] = item.frequency.code
        if item.status:
            attrs["status"] = _enum(clinical_pb2.MedicationStatus, item.status, "MEDICATION_STATUS_")
        return attrs
    if kind is EntityType.VITAL_SIGN:
        vital = VitalKind[_enum(clinical_pb2.VitalKind, item.kind, "VITAL_KIND_")]
        return {"kind": VITAL_ABBREVIATIONS[vital], "value": item.quantity.value}
    return {"substance": item.substance}


def gold_for(content: ReviewTaskContent) -> dict[str, Any]:
    data = clinical_pb2.ClinicalData.FromString(content.data_wire)
    decided = {(d.item_type, d.index): d for d in content.decisions if d.kind is not ReviewDecisionKind.ADD}
    gold: dict[str, Any] = {"source": "review", "review_task": content.task.name, "nka": data.no_known_allergies}
    for kind, (field, key, oneof) in _LISTS.items():
        entries: list[list[Any]] = []
        for index, item in enumerate(getattr(data, field)):
            decision = decided.get((kind, index))
            if decision is not None and decision.kind is ReviewDecisionKind.REJECT:
                continue
            chosen = item
            if decision is not None and decision.kind is ReviewDecisionKind.CORRECT:
                chosen = getattr(review_service_pb2.ReviewedItem.FromString(decision.item_wire), oneof)
            entries.append([chosen.span.start, chosen.span.end, _attrs(kind, chosen)])
        for added in content.decisions:
            if added.kind is ReviewDecisionKind.ADD and added.item_type is kind:
                item = getattr(review_service_pb2.ReviewedItem.FromString(added.item_wire), oneof)
                entries.append([item.span.start, item.span.end, _attrs(kind, item)])
        gold[key] = entries
    return gold


def export(contents: Sequence[ReviewTaskContent], out: Path) -> ExportSummary:
    (out / "gold").mkdir(parents=True, exist_ok=True)
    (out / "notes").mkdir(parents=True, exist_ok=True)
    with_text = 0
    for content in contents:
        task_id = content.task.id
        (out / "gold" / f"{task_id}.json").write_text(json.dumps(gold_for(content), indent=1) + "\n", encoding="utf-8")
        if content.note_text:
            (out / "notes" / f"{task_id}.txt").write_text(content.note_text, encoding="utf-8")
            with_text += 1
    return ExportSummary(len(contents), with_text)


async def _export_from_database(out: Path, tenant: str | None) -> ExportSummary:
    from healthai_server.backends.assembly import cache_encryptor
    from healthai_server.config import load_settings
    from healthai_server.storage import migrate
    from healthai_server.storage.db import Database
    from healthai_server.storage.review_tasks import ReviewTaskStore

    settings = load_settings()
    db = Database(settings.effective_database_url)
    try:
        await asyncio.to_thread(migrate.upgrade, db.engine)
        store = ReviewTaskStore(db, cache_encryptor(settings.effective_cache_key_file))
        return export(await store.completed(tenant), out)
    finally:
        db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthai-server eval export-reviews", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for gold/ and notes/")
    parser.add_argument("--tenant", default=None, help="only this tenant's reviews (default: all)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    summary = asyncio.run(_export_from_database(args.out, args.tenant))
    print(
        f"exported {summary.tasks} reviewed notes to {args.out} ({summary.with_text} with text; "
        f"score them with: healthai-server eval --golden {args.out})",
        file=sys.stderr,
    )
    return 0
