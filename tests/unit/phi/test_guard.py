from __future__ import annotations

import pytest
from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy
from healthai_server.phi import Deidentifier
from healthai_server.phi.guard import PhiGuard

NOTE = "Patient: John Smith seen 03/14/2019 by Dr. Graves. Parkinson disease. Call (617) 555-0199 today."


@pytest.mark.parametrize("mode", list(DeidentificationMode))
def test_offsets_map_back_to_the_original(deid: Deidentifier, mode: DeidentificationMode) -> None:
    guarded = PhiGuard(deid, mode).protect(NOTE, tenant="t1", patient_ref="p-1")
    assert guarded.original_text == NOTE
    assert guarded.findings_count == 4
    for word in ("Parkinson disease", "Patient:", "today."):
        i = guarded.text.index(word)
        start, end = guarded.to_original(i, i + len(word))
        assert NOTE[start:end] == word
    # A span covering a surrogate maps to the whole original identifier.
    i = guarded.text.index("Dr. ") + 4
    j = guarded.text.index(".", i)
    start, end = guarded.to_original(i, j)
    assert NOTE[start:end] == "Graves"
    # Inside a surrogate: widened to the identifier.
    start, end = guarded.to_original(i + 1, i + 2)
    assert NOTE[start:end] == "Graves"
    assert guarded.to_original(0, len(guarded.text)) == (0, len(NOTE))


def test_default_is_surrogates_and_restore_round_trips(deid: Deidentifier) -> None:
    guarded = PhiGuard(deid).protect(NOTE, tenant="t1")
    assert "John Smith" not in guarded.text and "Graves" not in guarded.text and "[" not in guarded.text
    assert guarded.restore(guarded.text) == NOTE


def test_out_of_range_span_is_refused(deid: Deidentifier) -> None:
    guarded = PhiGuard(deid).protect(NOTE, tenant="t1")
    with pytest.raises(ValueError, match="out of range"):
        guarded.to_original(0, len(guarded.text) + 1)


def test_note_without_phi(deid: Deidentifier) -> None:
    guarded = PhiGuard(deid).protect("No identifiers here.", tenant="t1")
    assert guarded.text == "No identifiers here." and guarded.findings_count == 0
    assert guarded.to_original(3, 14) == (3, 14)


def test_the_guard_is_recall_first_by_default(deid: Deidentifier) -> None:
    note = "Referred by the Harrowgate Clinic; metoprolol 25 mg BID."
    guarded = PhiGuard(deid).protect(note, tenant="t1")
    assert "Harrowgate" not in guarded.text and "metoprolol 25 mg BID" in guarded.text
    precise = PhiGuard(deid, policy=DeidentificationPolicy.PRECISION).protect(note, tenant="t1")
    assert "Harrowgate" in precise.text
