import json
from importlib import resources

import pytest
from healthai_server.domain.clinical import DRUGBANK_SYSTEM, MESH_SYSTEM
from healthai_server.engine import ClinicalEngine
from healthai_server.engine import resources as engine_resources
from healthai_server.engine.resources import RuleDataError, load_drug_ids


def test_drug_ids_file_holds_only_ids() -> None:
    raw = json.loads(resources.files("healthai_server.engine").joinpath("data", "drug_ids.json").read_text("utf-8"))
    generics = {e["g"] for e in engine_resources.load_json("drugs.json")["entries"]}
    assert raw, "drug_ids.json is empty"
    for generic, codes in raw.items():
        assert generic in generics
        assert set(codes) <= {"drugbank", "mesh"}
        if "drugbank" in codes:
            assert codes["drugbank"].startswith("DB") and len(codes["drugbank"]) == 7


def test_medication_and_allergy_get_drugbank_coding(engine: ClinicalEngine) -> None:
    data = engine.extract("MEDICATIONS: Lipitor 40 mg PO daily.\nALLERGIES: amoxicillin (rash)\n")
    (medication,) = data.medications
    assert medication.name == "atorvastatin"
    assert ("https://go.drugbank.com", "DB01076") in {(c.system, c.code) for c in medication.codings}
    (allergy,) = data.allergies
    assert (DRUGBANK_SYSTEM, "DB01060") in {(c.system, c.code) for c in allergy.codings}


def test_loader_maps_systems_and_rejects_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(name: str) -> dict[str, object]:
        assert name == "drug_ids.json"
        return {"warfarin": {"drugbank": "DB00682", "mesh": "D014859"}}

    monkeypatch.setattr(engine_resources, "load_json", fake)
    assert load_drug_ids() == {"warfarin": [(DRUGBANK_SYSTEM, "DB00682"), (MESH_SYSTEM, "D014859")]}
    monkeypatch.setattr(engine_resources, "load_json", lambda name: {"warfarin": {"rxnorm": "11289"}})
    with pytest.raises(RuleDataError):
        load_drug_ids()


def test_missing_file_gives_no_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> dict[str, object]:
        raise FileNotFoundError(name)

    monkeypatch.setattr(engine_resources, "load_json", missing)
    assert load_drug_ids() == {}
