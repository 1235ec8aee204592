"""Round-4 vital-sign classes on real dictated notes, each pinned with sentences written for this test.

Fractions that are not blood pressures (visual acuity, test scores), pain scores written a few
words after their label or as a bare rating, ranges (the first number is the reading), heights
in fractions of an inch, a second reading written right after the first, systolic pressures
written alone, and numbers after a "P" or "T" that are no vitals.
"""

from __future__ import annotations

import pytest
from healthai_server.domain.clinical import VitalKind
from healthai_server.engine import ClinicalEngine

_SBP = VitalKind.SYSTOLIC_BLOOD_PRESSURE


def _vitals(engine: ClinicalEngine, text: str) -> list[tuple[VitalKind, float, str]]:
    return [(v.kind, v.quantity.value, v.span.text) for v in engine.extract(text).vital_signs]


@pytest.mark.parametrize(
    "text",
    [
        "VITAL SIGNS:\nAcuity 20/25 on the right; she reads 20/40 with the left eye.",
        "VITAL SIGNS:\nThe memory screen score today was 22/30, down from 26/30.",
    ],
)
def test_fractions_that_do_not_read_as_a_blood_pressure_are_none(engine: ClinicalEngine, text: str) -> None:
    assert not [v for v in _vitals(engine, text) if v[0] is _SBP]


def test_an_unlabelled_blood_pressure_in_the_vitals_section_is_still_read(engine: ClinicalEngine) -> None:
    assert (_SBP, 126.0, "126/82") in _vitals(engine, "VITAL SIGNS:\n126/82, pulse 70.")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Today his knee pain level is down to roughly 3-4/10.", 3.0),
        ("The hip pain in the lateral thigh goes to 7/10 on stairs.", 7.0),
        ("Neck pain improved, 2/10 this morning.", 2.0),
        ("He rates his shoulder pain as 9, with 10 being the worst imaginable.", 9.0),
        ("Pain scale is 6.", 6.0),
    ],
)
def test_pain_scores_after_their_label(engine: ClinicalEngine, text: str, value: float) -> None:
    assert [v[1] for v in _vitals(engine, text) if v[0] is VitalKind.PAIN_SCORE] == [value]


@pytest.mark.parametrize(
    "text",
    ["The pain began 3 days ago.", "Back pain for 6 weeks.", "He has pain at 2 sites on the foot."],
)
def test_numbers_near_pain_that_are_no_rating(engine: ClinicalEngine, text: str) -> None:
    assert not [v for v in _vitals(engine, text) if v[0] is VitalKind.PAIN_SCORE]


def test_a_range_is_read_at_its_first_number(engine: ClinicalEngine) -> None:
    found = _vitals(engine, "Respirations stayed around 30 to 36 breaths per minute. Sats 90-95% on room air.")
    assert [(kind, value) for kind, value, _ in found] == [
        (VitalKind.RESPIRATORY_RATE, 30.0),
        (VitalKind.OXYGEN_SATURATION, 90.0),
    ]


def test_heights_in_fractions_and_further_from_their_label(engine: ClinicalEngine) -> None:
    found = _vitals(engine, "Her height is near the 50th percentile at 58-1/2 inches. Body mass index is 21.4.")
    assert (VitalKind.BODY_HEIGHT, 58.5, "58-1/2 inches") in found
    assert (VitalKind.BODY_MASS_INDEX, 21.4, "21.4") in found
    assert not _vitals(engine, "Fundal height 30 cm, fetal heart tones present.")


def test_a_second_reading_right_after_the_first(engine: ClinicalEngine) -> None:
    found = _vitals(engine, "BP 150/90 left arm, recheck 138/84. Weight 80.1 kg (last visit 82.4 kg).")
    assert [(kind, value) for kind, value, _ in found if kind is _SBP] == [(_SBP, 150.0), (_SBP, 138.0)]
    assert [value for kind, value, _ in found if kind is VitalKind.BODY_WEIGHT] == [80.1, 82.4]


def test_a_weight_change_is_no_second_reading(engine: ClinicalEngine) -> None:
    found = _vitals(engine, "Weight 190 pounds, up 4 pounds since spring.")
    assert [value for kind, value, _ in found if kind is VitalKind.BODY_WEIGHT] == [190.0]


def test_an_organ_that_weighs_is_no_body_weight(engine: ClinicalEngine) -> None:
    assert not _vitals(engine, "The liver weighs 1650 grams and the spleen weighs 140 grams.")


def test_a_systolic_pressure_written_alone(engine: ClinicalEngine) -> None:
    assert (_SBP, 88.0, "88") in _vitals(engine, "Fluids were given when the systolic pressure fell to 88.")
    assert (_SBP, 85.0, "85 systolic") in _vitals(engine, "Her blood pressure was 85 systolic overnight.")
    assert not _vitals(engine, "Estimated pulmonary artery systolic pressure 38 mmHg.")


@pytest.mark.parametrize(
    "text",
    [
        "Obstetric history: G3, P2, no complications.",
        "Distal pulses 2+ bilaterally.",
        "Edema extends from T10 through L2 on the scan.",
        "A/P: 51M with chest pain.",
    ],
)
def test_numbers_after_p_or_t_that_are_no_vitals(engine: ClinicalEngine, text: str) -> None:
    assert not _vitals(engine, text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("The pulse ox was down at 89% off oxygen.", VitalKind.OXYGEN_SATURATION, 89.0),
        ("Temperature was normal at 98 this morning.", VitalKind.BODY_TEMPERATURE, 98.0),
        ("The infant is saturating 97% on room air.", VitalKind.OXYGEN_SATURATION, 97.0),
    ],
)
def test_fillers_and_linking_words_interleave(engine: ClinicalEngine, text: str, kind: VitalKind, value: float) -> None:
    assert [(v[0], v[1]) for v in _vitals(engine, text)][:1] == [(kind, value)]
