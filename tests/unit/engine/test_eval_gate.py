"""Fails when any entity type's F1 (or assertion accuracy) drops more than 2 points below the baseline."""

import json

import pytest
from healthai_server.engine import ClinicalEngine
from healthai_server.evaluation.clinical import default_golden_dir, main, regressions, run


def test_golden_set_does_not_regress(engine: ClinicalEngine) -> None:
    directory = default_golden_dir()
    baseline = json.loads((directory / "baseline.json").read_text(encoding="utf-8"))
    report = run(engine, directory)
    assert regressions(report, baseline, tolerance=0.02) == []


def test_eval_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload["types"]) == {"conditions", "medications", "vitals", "allergies"}
