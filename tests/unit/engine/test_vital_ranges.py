"""Vital signs on real phrasing, paediatric ranges, and one interpretation for engine and validator."""

from __future__ import annotations

import pytest
from healthai_server.domain.clinical import (
    ClinicalData,
    Quantity,
    Span,
    VitalInterpretation,
    VitalKind,
    VitalSign,
)
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.units import load_units
from healthai_server.engine.vital_ranges import VitalRanges, stated_age_years
from healthai_server.validation.rules import ClinicalRules


def _vitals(engine: ClinicalEngine, text: str) -> list[tuple[str, float, str, str]]:
    return [(v.kind.name, v.quantity.value, v.quantity.unit, v.span.text) for v in engine.extract(text).vital_signs]


def test_height_weight_and_celsius_as_written(engine: ClinicalEngine) -> None:
    text = (
        "Height 5'10\". Hgt. =5' 2\". She is 5 feet 4 inches and 150 pounds. Height: 178 cm. "
        "Birth weight 7 pounds 8 ounces. Weight 3.725 kg. Temp 38.2 °C. Her T-max is 99.3. "
        "His weight today is 168.4 pounds."
    )
    assert _vitals(engine, text) == [
        ("BODY_HEIGHT", 70.0, "[in_i]", "5'10\""),
        ("BODY_HEIGHT", 62.0, "[in_i]", "5' 2\""),
        ("BODY_HEIGHT", 64.0, "[in_i]", "5 feet 4 inches"),
        ("BODY_HEIGHT", 178.0, "cm", "178 cm"),
        ("BODY_WEIGHT", 7.5, "[lb_av]", "7 pounds 8 ounces"),
        ("BODY_WEIGHT", 3.725, "kg", "3.725 kg"),
        ("BODY_TEMPERATURE", 38.2, "Cel", "38.2 °C"),
        ("BODY_TEMPERATURE", 99.3, "[degF]", "99.3"),
        ("BODY_WEIGHT", 168.4, "[lb_av]", "168.4 pounds"),
    ]


def test_blood_pressure_keeps_its_position(engine: ClinicalEngine) -> None:
    text = (
        "VITAL SIGNS: Sitting BP 112/84 with a pulse of 84, standing after two minutes 130/90. "
        "BP was 105/68 in the left arm."
    )
    contexts = [(v.span.text, v.context) for v in engine.extract(text).vital_signs if v.kind.name.startswith("SYS")]
    assert contexts == [("112/84", "sitting"), ("130/90", "standing"), ("105/68", "left arm")]


def test_paediatric_ranges_when_the_note_states_a_child_age(engine: ClinicalEngine) -> None:
    infant = engine.extract("A 3-month-old infant. HR 150, RR 40.").vital_signs
    assert [v.interpretation for v in infant] == [VitalInterpretation.NORMAL, VitalInterpretation.NORMAL]
    adult = engine.extract("A 45-year-old man. HR 150, RR 40.").vital_signs
    assert [v.interpretation for v in adult] == [VitalInterpretation.CRITICAL_HIGH, VitalInterpretation.CRITICAL_HIGH]


@pytest.mark.parametrize(
    ("text", "years"),
    [("62-year-old female", 62.0), ("a 3 month old", 0.25), ("10 y/o boy", 10.0), ("Age: 7", 7.0), ("newborn", 0.0)],
)
def test_stated_age(text: str, years: float) -> None:
    assert stated_age_years(f"The patient is {text}.") == years
    assert stated_age_years("No age here.") is None


def test_engine_and_validator_interpret_alike() -> None:
    """One vitals file, one function: 100.22 [degF] is 37.9 Cel, NORMAL in both (it was HIGH in one)."""
    ranges = VitalRanges()
    rules = ClinicalRules.load()
    note = "A 2-year-old. Temp 100.22 F. HR 120."
    for kind, value, unit in [
        (VitalKind.BODY_TEMPERATURE, 100.22, "[degF]"),
        (VitalKind.BODY_TEMPERATURE, 37.95, "Cel"),
        (VitalKind.HEART_RATE, 120.0, "/min"),
        (VitalKind.BODY_WEIGHT, 7.5, "[lb_av]"),
    ]:
        vital = VitalSign(kind, Quantity(value, unit), rules.loinc(kind), Span(0, 1, "x"))
        data, _ = rules.apply(ClinicalData(vital_signs=(vital,)), note)
        (checked,) = data.vital_signs
        engine_view = ranges.interpret(kind, value, unit, stated_age_years(note))
        assert checked.interpretation is engine_view, (kind, value)
    assert ranges.interpret(VitalKind.BODY_TEMPERATURE, 100.22, "[degF]") is VitalInterpretation.NORMAL
    assert ranges.interpret(VitalKind.HEART_RATE, 120.0, "/min", 2.0) is VitalInterpretation.NORMAL


def test_one_unit_table_for_engine_and_validator(engine: ClinicalEngine) -> None:
    units = load_units()
    rules = ClinicalRules.load()
    for written, code in [("{tab}", "{tbl}"), ("tabs", "{tbl}"), ("U", "[iU]"), ("units", "[iU]"), ("[IU]", "[iU]"),
                          ("{cap}", "{capsule}"), ("mmHg", "mm[Hg]"), ("°C", "Cel"), ("lbs", "[lb_av]")]:  # fmt: skip
        assert units.normalize(written) == code == rules.normalize_unit(written), written
    medication = engine.extract("Tylenol 325 mg 2 tabs q6h prn pain. Insulin glargine 10 units at bedtime.").medications
    for item in medication:
        assert item.dose is not None and item.dose.unit in rules.dose_units


def test_glued_labels_and_unlabelled_temperatures(engine: ClinicalEngine) -> None:
    text = (
        "EXAM:\nBP138/63 HR65 RR15 36.1C\n96 degrees Fahrenheit. She weighed 231 pounds. "
        "Fever of 103 last night. Temperature: 97.9 degrees.\nRoute 66.5 F street."
    )
    assert _vitals(engine, text) == [
        ("SYSTOLIC_BLOOD_PRESSURE", 138.0, "mm[Hg]", "138/63"),
        ("DIASTOLIC_BLOOD_PRESSURE", 63.0, "mm[Hg]", "138/63"),
        ("HEART_RATE", 65.0, "/min", "65"),
        ("RESPIRATORY_RATE", 15.0, "/min", "15"),
        ("BODY_TEMPERATURE", 36.1, "Cel", "36.1C"),
        ("BODY_TEMPERATURE", 96.0, "[degF]", "96 degrees Fahrenheit"),
        ("BODY_WEIGHT", 231.0, "[lb_av]", "231 pounds"),
        ("BODY_TEMPERATURE", 103.0, "[degF]", "103"),
        ("BODY_TEMPERATURE", 97.9, "[degF]", "97.9 degrees"),
    ]
