from __future__ import annotations

from datetime import date

import pytest
from healthai_server.domain.clinical import (
    Assertion,
    Certainty,
    Coding,
    Condition,
    Medication,
    MedicationStatus,
    Quantity,
    Span,
    Temporality,
)
from healthai_server.fhir.bundle import _MED_STATUS
from healthai_server.fhir.resolve import group_conditions, resolve_medications, stated_note_date


def _med(note: str, word: str, dose: float | None, *, nth: int = 0, **kwargs: object) -> Medication:
    start = -1
    for _ in range(nth + 1):
        start = note.index(word, start + 1)
    return Medication(
        span=Span(start, start + len(word), word),
        name=word.lower(),
        dose=Quantity(dose, "mg") if dose is not None else None,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_new_dose_without_a_change_word_is_a_second_regimen() -> None:
    note = "insulin 10 mg qAM. insulin 4 mg qPM."
    regimens = resolve_medications([_med(note, "insulin", 10), _med(note, "insulin", 4, nth=1)], note, _MED_STATUS)
    assert [r.status for r in regimens] == ["unknown", "unknown"]


@pytest.mark.parametrize("verb", ["increase", "Decreased", "titrate", "change", "switch", "reduce"])
def test_a_change_word_supersedes(verb: str) -> None:
    note = f"lisinopril 20 mg daily.\nPlan: {verb} lisinopril to 40 mg."
    old, new = resolve_medications(
        [_med(note, "lisinopril", 20), _med(note, "lisinopril", 40, nth=1)], note, _MED_STATUS
    )
    assert old.status == "stopped" and old.superseded_by is not None
    assert new.status == "unknown" and new.superseded_by is None


def test_a_change_word_in_another_clause_does_not_count() -> None:
    note = "lisinopril 20 mg. Increase fluids; lisinopril 40 mg at night."
    old, _ = resolve_medications([_med(note, "lisinopril", 20), _med(note, "lisinopril", 40, nth=1)], note, _MED_STATUS)
    assert old.status == "unknown"


def test_a_discontinuation_stops_the_regimen_and_joins_it() -> None:
    note = "metformin 500 mg BID. Stop metformin."
    (regimen,) = resolve_medications(
        [_med(note, "metformin", 500), _med(note, "metformin", None, nth=1, status=MedicationStatus.DISCONTINUED)],
        note,
        _MED_STATUS,
    )
    assert regimen.status == "stopped" and regimen.stopped_by is not None
    assert len(regimen.mentions) == 2


def test_negated_and_future_mentions_stand_alone() -> None:
    note = "No aspirin. Will start aspirin 81 mg."
    regimens = resolve_medications(
        [
            _med(note, "aspirin", None, assertion=Assertion(certainty=Certainty.NEGATIVE)),
            _med(note, "aspirin", 81, nth=1, assertion=Assertion(temporality=Temporality.FUTURE)),
        ],
        note,
        _MED_STATUS,
    )
    assert [r.status for r in regimens] == ["not-taken", "intended"]


def test_conditions_group_by_code_and_certainty() -> None:
    code = (Coding("http://hl7.org/fhir/sid/icd-10-cm", "I10"),)
    items = [
        Condition(Span(0, 3, "HTN"), "hypertension", code),
        Condition(Span(10, 22, "hypertension"), "hypertension", code),
        Condition(Span(30, 33, "HTN"), "hypertension", code, Assertion(certainty=Certainty.NEGATIVE)),
        Condition(Span(40, 44, "gout"), "gout"),
    ]
    groups = group_conditions(items)
    assert [len(g.mentions) for g in groups] == [2, 1, 1]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("Date of service: 03/14/2024\nHPI: ...", date(2024, 3, 14)),
        ("DOS 2024-03-14", date(2024, 3, 14)),
        ("Visit date: March 4, 2025", date(2025, 3, 4)),
        ("Date: Sept 4 2025", date(2025, 9, 4)),
        ("Admission Date: 02/03   Discharge Date: 02/07", None),  # no year
        ("PMH: DVT (1/2024), CABG 2015", None),  # history dates are not the visit's
        ("Date: 02/30/2024. Date of visit: 02/28/2024", date(2024, 2, 28)),
    ],
)
def test_stated_note_date(note: str, expected: date | None) -> None:
    assert stated_note_date(note) == expected
