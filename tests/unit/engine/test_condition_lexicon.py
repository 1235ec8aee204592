"""condition_lexicon.tsv: condition surfaces derived from ICD-10-CM (scripts/engine_build_condition_lexicon.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.resources import load_conditions

_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "engine_build_condition_lexicon.py"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_build_condition_lexicon", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_artefact_is_well_formed() -> None:
    text = resources.files("healthai_server.engine").joinpath("data", "condition_lexicon.tsv").read_text("utf-8")
    assert "simple-icd-10-cm 1.5.0" in text.splitlines()[1]
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    assert len(rows) >= 5_000
    surfaces = [row[0] for row in rows]
    assert surfaces == sorted(surfaces) and len(set(surfaces)) == len(surfaces)
    assert all(len(row) == 3 and all(row) for row in rows)


def test_normalisation_keeps_the_head_concept() -> None:
    module = _build_module()
    assert module.normalise("Pain, unspecified") == "pain"
    assert module.normalise("Aneurysm of unspecified site") == "aneurysm"
    assert module.normalise("Unspecified nystagmus") == "nystagmus"
    assert module.normalise("Pericardial effusion (noninflammatory)") == "pericardial effusion"
    assert module.normalise("Contusion of spleen, initial encounter") == "contusion of spleen"
    assert module.normalise("Hemorrhage, not elsewhere classified") == "hemorrhage"
    assert module.normalise("Pain in right knee") == "pain in knee"


def test_generic_icd_words_never_become_conditions_alone() -> None:
    module = _build_module()
    english = frozenset({"disorder", "condition", "other", "pain", "history"})
    for word in ("disorder", "condition", "injury", "history", "other", "status", "use"):
        assert not module.usable(word, english), word
    assert module.usable("pain", english)  # on the clinical allow-list
    surfaces = {s.lstrip("=").lower() for s, _ in load_conditions()}
    assert not {"disorder", "condition", "injury", "history", "status", "encounter"} & surfaces


def test_icd_surfaces_are_coded(engine: ClinicalEngine) -> None:
    data = engine.extract("ASSESSMENT: Nystagmus. Pericardial effusion. Dental caries. Pain score 3/10, prn pain.")
    codes = {c.span.text: (c.codings[0].code if c.codings else None) for c in data.conditions}
    assert codes == {"Nystagmus": "H55.00", "Pericardial effusion": "I31.39", "Dental caries": "K02.9"}


@pytest.mark.slow
def test_artefact_is_fresh() -> None:
    result = subprocess.run([sys.executable, str(_SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
