"""drug_lexicon.tsv: the generated breadth of the drug lexicon (scripts/engine_build_drug_lexicon.py)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.resources import load_drugs

_ROOT = Path(__file__).resolve().parents[3]
_SCRIPT = _ROOT / "scripts" / "engine_build_drug_lexicon.py"


def _lines() -> list[str]:
    text = resources.files("healthai_server.engine").joinpath("data", "drug_lexicon.tsv").read_text("utf-8")
    return text.splitlines()


def test_artefact_is_well_formed_and_names_its_source_and_licence() -> None:
    lines = _lines()
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "drug-named-entity-recognition 2.0.9" in header
    assert "CC0" in header and "CC BY-SA" in header
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    assert len(rows) >= 3000
    generics = [row[0] for row in rows]
    assert generics == sorted(generics) and len(set(generics)) == len(generics)
    for generic, drugbank, names in rows:
        assert re.fullmatch(r"[a-z][a-z0-9'/ -]*[a-z0-9]", generic), generic
        assert drugbank == "" or re.fullmatch(r"DB\d{5}", drugbank), generic
        assert names and all(name == name.lower().strip() and len(name) >= 4 for name in names.split("|")), generic


def test_english_words_and_clinical_words_are_not_drug_names() -> None:
    phrases, _ = load_drugs()
    single = {surface.lower() for surface, _ in phrases if " " not in surface}
    for word in ("iron", "contrast", "valve", "water", "sodium", "calcium", "alcohol", "blood"):
        assert word not in single, word
    # oxygen and saline are curated medications since round 3 (ANNOTATION.md), guarded against
    # their measurement senses ("oxygen saturation"): test_real_text_round3.py


def test_breadth_resolves_real_brands_and_combinations(engine: ClinicalEngine) -> None:
    text = (
        "MEDICATIONS: Cardura, Flomax, Proscar, Lupron, Levitra, Premarin, Tricor, Chantix, CellCept, Rapamune, "
        "dapsone, ganciclovir, sirolimus, digoxin, folic acid, Vicodin, Darvocet, NyQuil, Metamucil, Lantus, "
        "Xalatan eye drops, bacitracin ointment.\n"
    )
    names = [m.name for m in engine.extract(text).medications]
    assert names == [
        "doxazosin", "tamsulosin", "finasteride", "leuprolide", "vardenafil", "conjugated estrogens",
        "fenofibrate", "varenicline", "mycophenolate", "sirolimus", "dapsone", "ganciclovir", "sirolimus",
        "digoxin", "folic acid", "hydrocodone/acetaminophen", "propoxyphene/acetaminophen",
        "acetaminophen/dextromethorphan/doxylamine", "psyllium", "insulin glargine", "latanoprost", "bacitracin",
    ]  # fmt: skip


def test_usable_names_guard() -> None:
    spec = importlib.util.spec_from_file_location("engine_build_drug_lexicon", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    english = frozenset({"valve"})
    assert module._usable("flomax", english, frozenset())
    assert not module._usable("valve", english, frozenset())  # an English word
    assert not module._usable("at 10", english, frozenset())  # dosing text
    assert not module._usable("sone", english, frozenset({"sone"}))  # a condition's name
    assert module._generic("Abacavir, Dolutegravir, and Lamivudine") == "abacavir-dolutegravir-lamivudine"
    assert module._generic("Insulin Aspart (rDNA origin)") == "insulin aspart"


@pytest.mark.skipif(
    importlib.util.find_spec("drug_named_entity_recognition") is None,
    reason="the source package is installed only where the lexicon is rebuilt (.venv-bench)",
)
def test_artefact_is_fresh() -> None:
    result = subprocess.run([sys.executable, str(_SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
