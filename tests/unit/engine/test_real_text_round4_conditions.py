"""Round-4 condition classes, pinned with sentences written for this test: participles of
one-word findings ("swollen" from swelling, "distended" from distension), "painful" as pain and
"metastasis" as a secondary malignant neoplasm."""

from __future__ import annotations

from healthai_server.engine import ClinicalEngine


def _found(engine: ClinicalEngine, text: str) -> dict[str, str | None]:
    return {c.span.text.lower(): (c.codings[0].code if c.codings else None) for c in engine.extract(text).conditions}


def test_participles_of_one_word_findings(engine: ClinicalEngine) -> None:
    found = _found(engine, "Her right wrist is swollen. The belly looks distended today.")
    assert found["swollen"] == "R60.9"
    assert found["distended"] == "R14.0"


def test_a_participle_after_non_is_no_finding(engine: ClinicalEngine) -> None:
    assert "distended" not in _found(engine, "Abdomen soft, non-distended.")


def test_painful_and_metastasis(engine: ClinicalEngine) -> None:
    found = _found(engine, "The left heel is painful on walking. CT shows a metastasis in the liver.")
    assert found["painful"] == "R52"
    assert found["metastasis"] == "C79.9"
