"""Every ICD-10-CM code of the curated lexicon is a billable FY2026 code (simple-icd-10-cm)."""

import json
from importlib import resources

import simple_icd_10_cm as icd
from healthai_server.engine.resources import load_conditions, load_drugs


def test_every_condition_code_is_valid_and_billable() -> None:
    codes = {c.code for _, c in load_conditions() if c.code}  # "": a generic finding reported uncoded
    bad = sorted(code for code in codes if not (icd.is_valid_item(code) and icd.is_leaf(code)))
    assert bad == []


def test_lexicon_size_and_abbreviations() -> None:
    surfaces = {s.lstrip("=").lower() for s, _ in load_conditions()}
    assert len({c.code for _, c in load_conditions()}) >= 250
    for abbreviation in ("htn", "dm2", "t2dm", "chf", "cad", "copd", "gerd", "ckd 3", "afib", "uti", "bph", "sob"):
        assert abbreviation in surfaces


def test_drug_lexicon_brand_to_generic() -> None:
    phrases, by_generic = load_drugs()
    names = {s.lower(): c.generic for s, c in phrases}
    assert names["lipitor"] == "atorvastatin"
    assert names["augmentin"] == "amoxicillin/clavulanate"
    assert names["vicodin"] == "hydrocodone/acetaminophen"
    assert len(by_generic) >= 200


def test_data_files_are_json() -> None:
    for name in (
        "conditions.json",
        "drugs.json",
        "allergens.json",
        "context_rules.json",
        "sections.json",
        "vitals.json",
        "medication_attributes.json",
        "allergy_classes.json",
    ):
        json.loads(resources.files("healthai_server.engine").joinpath("data", name).read_text("utf-8"))
