"""The recall-first policy: what the safe list keeps, what it removes as OTHER."""

from __future__ import annotations

import pytest
from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy, PhiType
from healthai_server.phi import Deidentifier

RF = DeidentificationPolicy.RECALL_FIRST


def removed(deid: Deidentifier, text: str) -> list[str]:
    return [f.span.text for f in deid.detect(text, RF)]


def other(deid: Deidentifier, text: str) -> list[str]:
    return [f.span.text for f in deid.detect(text, RF) if f.type is PhiType.OTHER]


@pytest.mark.parametrize(
    "text",
    [
        "Continue furosemide 40 mg BID and lisinopril 10 mg daily for 3 months.",
        "Vitals: T 37.1, HR 88, BP 128/76, RR 18, SpO2 94% on 2 L.",
        "Labs: Na 134, K 4.1, Cr 1.38, BNP 1,240, HbA1c 7.2%.",
        "A 72-year-old woman with HFrEF, CKD 3a and type 2 diabetes mellitus.",
        "Bibasilar crackles improved. 1+ pitting edema to mid-shin. 2/6 holosystolic murmur.",
        "GCS 15, NIHSS 4, PHQ-9 score 12, pain 3/10.",
        "Seen in 2019 for a fracture of the left distal radius.",
        "She walks 2-3 blocks before resting, smokes 1 ppd, G2P1.",
    ],
)
def test_clinical_text_survives(deid: Deidentifier, text: str) -> None:
    assert removed(deid, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Referred to the Harrowgate Clinic for follow-up.", ["Harrowgate"]),
        ("The wristband said ZK47 in red.", ["ZK47"]),
        ("Lives at the end of Quillfeather Lane.", ["Quillfeather"]),
        ("The number 48213 was on the form.", ["48213"]),
        ("Transferred from Москва by air.", ["Москва"]),
    ],
)
def test_unknown_tokens_are_removed_as_other(deid: Deidentifier, text: str, expected: list[str]) -> None:
    assert other(deid, text) == expected


def test_typed_findings_keep_their_type(deid: Deidentifier) -> None:
    findings = deid.detect("Dr. Priya Venkataraman called (937) 555-0164 on 03/05/2025.", RF)
    types = {f.type for f in findings}
    assert {PhiType.NAME, PhiType.PHONE, PhiType.DATE} <= types


def test_capitalised_name_like_word_inside_a_sentence_is_removed(deid: Deidentifier) -> None:
    assert "Barb" in removed(deid, "She came in with Barb this morning.")


def test_precision_policy_is_unchanged(deid: Deidentifier) -> None:
    assert deid.detect("Referred to the Harrowgate Clinic for follow-up.") == []


def test_other_tokens_get_consistent_format_preserving_surrogates(deid: Deidentifier) -> None:
    text = "Code ZK47 issued; ZK47 again."
    note = deid.deidentify(text, DeidentificationMode.SURROGATE, tenant="t1", policy=RF)
    replaced = [f.replacement for f in note.findings if f.span.text == "ZK47"]
    assert len(replaced) == 2 and replaced[0] == replaced[1] != "ZK47"
    assert replaced[0][:2].isalpha() and replaced[0][:2].isupper() and replaced[0][2:].isdigit()


def test_confidence_is_between_zero_and_one(deid: Deidentifier) -> None:
    for finding in deid.detect("Quillfeather 48213 ZK47", RF):
        assert 0.0 < finding.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Intake on Aug 5, 2024 with her son.", ["Aug", "5"]),
        ("Seen on the 5th of March.", ["5th", "March"]),
        ("lives at 41 maple st with her son", ["41", "maple", "st"]),
        ("A 92 yo man with chest pain.", ["92"]),
        ("UDS 2/20 positive for fentanyl.", ["2", "20"]),
        ("Discussed with Alondra Sims at the bedside.", ["Alondra", "Sims"]),
    ],
)
def test_multi_token_shapes_are_removed(deid: Deidentifier, text: str, gone: list[str]) -> None:
    note = deid.deidentify(text, DeidentificationMode.REDACT, tenant="t1", policy=RF)
    removed_text = " ".join(f.span.text for f in note.findings)
    for token in gone:
        assert token in removed_text.split() or token in removed_text, (token, removed_text)


@pytest.mark.parametrize(
    "text",
    [
        "A 72 yo man with 3 years of back pain, 2/6 murmur, strength 5/5, pain 3/10, vision 20/20.",
        "Take 2 tabs by mouth daily; walks 2 blocks down the road.",
        "Cardiology follow-up in 3 months; repeat echo in 6 weeks.",
    ],
)
def test_clinical_ratios_ages_and_months_alone_stay(deid: Deidentifier, text: str) -> None:
    assert removed(deid, text) == []
