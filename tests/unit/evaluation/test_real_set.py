"""The real-text set: offsets-only gold, a corpus outside the repository, and its CI gate."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from healthai_server.engine import ClinicalEngine
from healthai_server.evaluation.clinical import main, regressions, run_real
from healthai_server.evaluation.real_set import (
    RealSetError,
    default_corpus_dir,
    default_real_dir,
    load_notes,
    note_digest,
    part_ids,
    parts,
)

NOTE = "ALLERGIES: Penicillin.\nMEDICATIONS: Lisinopril 10 mg daily for hypertension.\n"


def _make_set(tmp_path: Path, gold: dict[str, object], text: str = NOTE) -> tuple[Path, Path]:
    real_dir, corpus = tmp_path / "real", tmp_path / "corpus"
    (real_dir / "gold").mkdir(parents=True)
    (corpus / "notes").mkdir(parents=True)
    (real_dir / "split.json").write_text(json.dumps({"dev": ["n-1"], "blind": ["n-2"]}), encoding="utf-8")
    (corpus / "notes" / "n-1.txt").write_text(text, encoding="utf-8")
    (real_dir / "gold" / "n-1.json").write_text(json.dumps(gold), encoding="utf-8")
    return real_dir, corpus


def _gold(text: str = NOTE) -> dict[str, object]:
    start = text.index("Lisinopril")
    condition = text.index("hypertension")
    allergy = text.index("Penicillin")
    return {
        "note_sha256": note_digest(text),
        "conditions": [[condition, condition + 12, {"code": "I10"}]],
        "medications": [[start, start + 10, {"name": "lisinopril", "dose": [10, "mg"]}]],
        "vitals": [],
        "allergies": [[allergy, allergy + 10, {"substance": "penicillin"}]],
        "nka": False,
    }


def test_offsets_gold_is_scored_against_the_note_read_from_the_corpus(tmp_path: Path) -> None:
    real_dir, corpus = _make_set(tmp_path, _gold())
    report = run_real(ClinicalEngine(), real_dir, corpus, "dev")
    assert report.notes == 1
    assert report.counts["medications"].tp == 1
    assert report.counts["allergies"].tp == 1
    assert report.counts["medications"].fp == 0


def test_a_changed_corpus_note_is_refused_rather_than_scored_on_shifted_spans(tmp_path: Path) -> None:
    real_dir, corpus = _make_set(tmp_path, _gold())
    (corpus / "notes" / "n-1.txt").write_text("X" + NOTE, encoding="utf-8")
    with pytest.raises(RealSetError, match="differs"):
        list(load_notes(real_dir, corpus, "dev"))


def test_missing_corpus_and_unknown_part_are_clear_errors(tmp_path: Path) -> None:
    real_dir, _corpus = _make_set(tmp_path, _gold())
    with pytest.raises(RealSetError, match="corpus not found"):
        list(load_notes(real_dir, tmp_path / "nowhere", "dev"))
    with pytest.raises(RealSetError, match="unknown part"):
        part_ids(real_dir, "test")
    assert part_ids(real_dir, "all") == ["n-1", "n-2"]


def test_cli_reports_a_missing_corpus_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--set", "real", "--corpus", str(tmp_path)]) == 2
    assert "corpus not found" in capsys.readouterr().err


def test_gold_converter_stores_offsets_and_digest_only(tmp_path: Path) -> None:
    scripts = Path(__file__).resolve().parents[3] / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        from real_gold_check import check_note
        from real_gold_convert import convert
    finally:
        sys.path.remove(str(scripts))
    written: dict[str, object] = {
        "conditions": [["hypertension", 0, {"code": "I10"}]],
        "medications": [["Lisinopril", 0, {}]],
    }
    assert check_note("n-1", written, NOTE) == []
    stored = convert(written, NOTE)
    assert stored["conditions"] == [[NOTE.index("hypertension"), NOTE.index("hypertension") + 12, {"code": "I10"}]]
    assert "Lisinopril" not in json.dumps(stored)
    assert stored["note_sha256"] == note_digest(NOTE)
    assert check_note("n-1", {"medications": [["Lisinopril", 1, {}]]}, NOTE) != []


def test_agreement_matches_annotators_like_the_evaluator_matches_the_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripts = Path(__file__).resolve().parents[3] / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        from real_gold_agreement import main as agreement_main
    finally:
        sys.path.remove(str(scripts))
    (tmp_path / "corpus" / "notes").mkdir(parents=True)
    (tmp_path / "corpus" / "notes" / "n-1.txt").write_text(NOTE, encoding="utf-8")
    first: dict[str, object] = {
        "conditions": [["hypertension", 0, {"code": "I10", "temporality": "past"}]],
        "medications": [["Lisinopril", 0, {}]],
        "allergies": [["Penicillin", 0, {}]],
    }
    # B marks a wider span of the same condition with another code and the default assertion,
    # and misses the allergy.
    second: dict[str, object] = {
        "conditions": [["for hypertension", 0, {"code": "I11.9"}]],
        "medications": [["Lisinopril 10 mg", 0, {}]],
    }
    for name, gold in (("a", first), ("b", second)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "n-1.json").write_text(json.dumps(gold), encoding="utf-8")
    code = agreement_main([str(tmp_path / "a"), str(tmp_path / "b"), "--corpus", str(tmp_path / "corpus")])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["notes"] == 1
    assert report["conditions"] == {"f1": 1.0, "matched": 1, "only_a": 0, "only_b": 0}
    assert report["allergies"] == {"f1": 0.0, "matched": 0, "only_a": 1, "only_b": 0}
    assert report["assertion_agreement"] == 0.0 and report["code_agreement"] == 0.0


def _corpus_or_skip() -> Path:
    corpus = default_corpus_dir()
    if not (corpus / "notes").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the real-text corpus is missing under CI: {corpus}")
        pytest.skip(f"real-text corpus not found at {corpus}")
    return corpus


@pytest.mark.parametrize("part", parts(default_real_dir()))
def test_real_set_does_not_regress(part: str) -> None:
    """The 2-point rule of the golden set, per part of the real set."""
    corpus = _corpus_or_skip()
    real_dir = default_real_dir()
    baseline_path = real_dir / f"baseline-{part}.json"
    if not baseline_path.exists():
        pytest.skip(f"no baseline for the {part} part yet")
    report = run_real(ClinicalEngine(), real_dir, corpus, part)
    assert report.notes == json.loads(baseline_path.read_text(encoding="utf-8"))["notes"]
    assert regressions(report, json.loads(baseline_path.read_text(encoding="utf-8")), tolerance=0.02) == []


def test_a_new_dangerous_confusion_is_a_regression(tmp_path: Path) -> None:
    """A medication reported as an allergy (or an allergen as a medication) may never grow."""
    real_dir, corpus = _make_set(tmp_path, _gold())
    report = run_real(ClinicalEngine(), real_dir, corpus, "dev")
    baseline = report.to_dict()
    assert regressions(report, baseline) == []
    report.medication_as_allergy += 1
    assert regressions(report, baseline) == ["medication as allergy: 1 > baseline 0"]
