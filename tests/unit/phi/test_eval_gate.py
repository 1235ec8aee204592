"""Fails when PHI detection on the golden set drops below the committed baseline."""

from __future__ import annotations

import json

import pytest
from healthai_server.domain.phi import DeidentificationPolicy
from healthai_server.evaluation.phi import (
    EVAL_KEY,
    GATE_SETS,
    POLICIES,
    default_golden_file,
    evaluate,
    evaluate_all_sets,
    main,
)
from healthai_server.phi import Deidentifier

MARGIN = 0.005


def test_golden_set_meets_baseline_and_targets() -> None:
    golden = default_golden_file()
    baseline = json.loads((golden.parent / "baseline.json").read_text())
    notes = json.loads(golden.read_text(encoding="utf-8"))["notes"]
    assert len(notes) >= 60
    report = evaluate(notes, Deidentifier(secret_key=EVAL_KEY, include_organizations=True).detect)
    result = report.as_dict()
    assert result["recall"] >= baseline["recall"] - MARGIN
    assert result["precision"] >= baseline["precision"] - MARGIN
    assert result["leaked_notes"] <= baseline["leaked_notes"] + 1
    for phi_type, recall in baseline["by_type_recall"].items():
        assert result["by_type"][phi_type]["recall"] >= recall - 2 * MARGIN - 0.01, phi_type
    # The targets.
    assert result["recall"] >= 0.99
    assert result["by_type"]["name"]["recall"] >= 0.98
    assert result["precision"] >= 0.90


def test_cli_prints_a_report(capsys: object) -> None:
    assert main(["--json"]) == 0


@pytest.mark.parametrize("set_name", ["blind4", "blind5", "blind6", "blind7", "blind8"])
@pytest.mark.parametrize("policy", ["precision", "recall_first"])
def test_a_retired_blind_set_does_not_fall_below_its_one_blind_measurement(policy: str, set_name: str) -> None:
    """blind4, blind5, blind7 and blind8 (rounds 1-4) were measured once, blind (issue 11), then retired; blind6
    was measured blind once before round 3, which then tuned on it."""
    golden = default_golden_file().parent / f"{set_name}.json"
    data = json.loads(golden.read_text(encoding="utf-8"))
    record = data["_measured_once"]
    measured = record.get("after", record)[f"{policy}_policy"]
    deid = Deidentifier(secret_key=EVAL_KEY, include_organizations=True)
    chosen = DeidentificationPolicy(policy)
    result = evaluate(data["notes"], lambda text: deid.detect(text, chosen)).as_dict()
    assert result["safe_harbor"]["recall"] >= measured["safe_harbor"]["recall"] - MARGIN
    assert result["precision"] >= measured["precision"] - MARGIN
    assert result["safe_harbor"]["leaked_notes"] <= measured["safe_harbor"]["leaked_notes"] + 1


@pytest.fixture(scope="module")
def all_sets() -> dict[str, dict[str, dict[str, float]]]:
    return evaluate_all_sets(default_golden_file().parent)


@pytest.mark.parametrize("name", GATE_SETS)
@pytest.mark.parametrize("policy", POLICIES)
def test_every_set_and_policy_holds_its_committed_baseline(
    all_sets: dict[str, dict[str, dict[str, float]]], name: str, policy: str
) -> None:
    """data/golden/phi/baselines.json (written by `eval-phi --all-sets --update-baseline`)."""
    baseline = json.loads((default_golden_file().parent / "baselines.json").read_text())[name][policy]
    result = all_sets[name][policy]
    assert result["safe_harbor_recall"] >= baseline["safe_harbor_recall"] - MARGIN
    assert result["name_recall"] >= baseline["name_recall"] - MARGIN
    assert result["precision"] >= baseline["precision"] - MARGIN
    assert result["safe_harbor_leaked_notes"] <= baseline["safe_harbor_leaked_notes"] + 1


def test_all_sets_cli_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--all-sets"]) == 0
    assert "blind4" in capsys.readouterr().out
