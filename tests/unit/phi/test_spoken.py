"""Identifiers spoken in lower-case dictations (recognizers/spoken.py). Sentences written for
these tests; none comes from a golden set."""

from __future__ import annotations

import pytest
from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy, PhiType
from healthai_server.phi import Deidentifier
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.spoken import (
    SpelledLettersRecognizer,
    SpokenNumberRecognizer,
    SpokenOrganizationRecognizer,
    SpokenPlaceRecognizer,
    SpokenStreetRecognizer,
)

RF = DeidentificationPolicy.RECALL_FIRST
PRECISION = DeidentificationPolicy.PRECISION


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load()


def _found(results: list, text: str) -> dict[str, PhiType]:  # type: ignore[type-arg]
    return {text[r.start : r.end]: r.type for r in results}


@pytest.mark.parametrize(
    ("text", "value", "phi_type"),
    [
        ("her son can be reached at four oh two five five five oh one four four tonight",
         "four oh two five five five oh one four four", PhiType.PHONE),
        ("send the records by fax to three three six five five five zero one two one please",
         "three three six five five five zero one two one", PhiType.FAX),
        ("chart number double seven three one eight two", "double seven three one eight two",
         PhiType.MEDICAL_RECORD_NUMBER),
        ("his medicaid member number is k t four four nine one zero six", "k t four four nine one zero six",
         PhiType.HEALTH_PLAN_NUMBER),
        ("confirmation number eight one one four two", "eight one one four two", PhiType.OTHER_IDENTIFIER),
        ("area code six oh eight", "six oh eight", PhiType.PHONE),
        ("he left us six one nine five five five zero four four seven for questions",
         "six one nine five five five zero four four seven", PhiType.PHONE),
    ],
)  # fmt: skip
def test_digit_runs_are_typed_by_the_nearest_cue(text: str, value: str, phi_type: PhiType) -> None:
    assert _found(SpokenNumberRecognizer().analyze(text), text) == {value: phi_type}


@pytest.mark.parametrize(
    "text",
    [
        "take one to two tablets by mouth every four to six hours",
        "blood pressure one twenty over eighty heart rate seventy two",
        "a twenty two gauge iv in the left forearm",
        "five milligrams daily for seven days then two milligrams",
        "strength five out of five in all four extremities",
        "she called nine one one from the kitchen",
        "grade two of six murmur pain three of ten",
        "one two three",
    ],
)
def test_clinical_numbers_in_words_are_not_identifiers(text: str) -> None:
    assert SpokenNumberRecognizer().analyze(text) == []


def test_spelled_name_takes_the_letters_and_every_mention(lexicon: Lexicon) -> None:
    text = "patient name wilhelmina okonkwo adebayo spelled a d e b a y o seen today mrs adebayo is well"
    found = SpelledLettersRecognizer(lexicon).analyze(text)
    values = sorted(text[r.start : r.end] for r in found)
    assert values == ["a d e b a y o", "adebayo", "adebayo"]
    assert all(r.type is PhiType.NAME and r.score >= 0.5 for r in found)


def test_name_words_between_the_spelled_word_and_the_cue(lexicon: Lexicon) -> None:
    text = "patient name tran thi mai spelled t r a n"
    values = {text[r.start : r.end] for r in SpelledLettersRecognizer(lexicon).analyze(text)}
    assert {"tran", "thi", "mai", "t r a n"} <= values


def test_uncued_letters_are_recall_first_only_and_clinical_abbreviations_stay(lexicon: Lexicon) -> None:
    recognizer = SpelledLettersRecognizer(lexicon)
    found = recognizer.analyze("the code is q z x v on the form")
    assert [r.score for r in found] == [pytest.approx(0.4)]
    assert recognizer.analyze("history of c o p d and n y h a class two") == []


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("she lives at thirty one oh five willow bend road with her sister", "thirty one oh five willow bend road"),
        ("home is two twelve north maple court apartment four b", "two twelve north maple court apartment four b"),
        ("he drove down from nineteen twenty east kessler boulevard", "nineteen twenty east kessler boulevard"),
        ("works at a bakery on vantresca avenue", "vantresca avenue"),
    ],
)
def test_spoken_streets(lexicon: Lexicon, text: str, street: str) -> None:
    found = _found(SpokenStreetRecognizer(lexicon).analyze(text), text)
    assert found.get(street) is PhiType.STREET_ADDRESS


def test_town_after_a_spoken_street(lexicon: Lexicon) -> None:
    text = "staying at eight forty four pinecrest lane in brookhaven for now"
    assert _found(SpokenStreetRecognizer(lexicon).analyze(text), text)["brookhaven"] is PhiType.CITY


@pytest.mark.parametrize(
    "text",
    [
        "walked two blocks down the road without chest pain",
        "one way to think about this is volume",
        "a twenty two gauge line was placed",
        "on main street",  # no number and an English name: left to the other recognizers
    ],
)
def test_no_street_without_number_and_suffix(lexicon: Lexicon, text: str) -> None:
    assert SpokenStreetRecognizer(lexicon).analyze(text) == []


@pytest.mark.parametrize(
    ("text", "org"),
    [
        ("follow up at brightwater family health center next week", "brightwater family health center"),
        ("referral to prairie lung and sleep clinic sent", "prairie lung and sleep clinic"),
        ("transferred from saint agnes regional this morning", "saint agnes regional"),
        ("admitted to saint anne's of the lakes overnight", "saint anne's of the lakes"),
        ("seen at harbor point primary care", "harbor point primary care"),
    ],
)
def test_lower_case_organisations(lexicon: Lexicon, text: str, org: str) -> None:
    assert _found(SpokenOrganizationRecognizer(lexicon).analyze(text), text).get(org) is PhiType.ORGANIZATION


@pytest.mark.parametrize(
    "text",
    [
        "seen in the cardiology clinic today",
        "enrolled in cardiac rehab and inpatient hospice level care",
        "she takes st john's wort at night",
        "a 1st degree tear and 2nd MTH ulcer",
        "Seen at the Heart Center",  # capitalised names are the organisation recognizer's
    ],
)
def test_generic_services_are_not_organisations(lexicon: Lexicon, text: str) -> None:
    assert SpokenOrganizationRecognizer(lexicon).analyze(text) == []


def test_a_dictation_end_to_end(deid_orgs: Deidentifier) -> None:
    text = (
        "patient name rosalind ferreira spelled f e r r e i r a medical record number four four one "
        "nine two seven three she lives at twenty six ten juniper hollow drive and her cell is "
        "eight one two five five five zero one seven seven she takes five milligrams of amlodipine"
    )
    for policy in (PRECISION, RF):
        kept = deid_orgs.deidentify(text, DeidentificationMode.REDACT, tenant="t", policy=policy).text
        for secret in ("ferreira", "f e r r e i r a", "four four one nine", "juniper hollow", "zero one seven seven"):
            assert secret not in kept, (policy, secret)
        assert "five milligrams of amlodipine" in kept


@pytest.mark.parametrize(
    ("text", "town"),
    [
        ("a seventy year old woman from kalamazoo with copd", "kalamazoo"),
        ("she moved in with her son in tuscaloosa last spring", "tuscaloosa"),
    ],
)
def test_lower_case_town_after_a_cue(lexicon: Lexicon, text: str, town: str) -> None:
    found = _found(SpokenPlaceRecognizer(lexicon).analyze(text), text)
    assert found == {town: PhiType.CITY}


@pytest.mark.parametrize(
    "text", ["transferred from home to rehab in mobile condition", "came in from texas", "pain in bed at night"]
)
def test_words_and_states_are_not_towns(lexicon: Lexicon, text: str) -> None:
    assert SpokenPlaceRecognizer(lexicon).analyze(text) == []
