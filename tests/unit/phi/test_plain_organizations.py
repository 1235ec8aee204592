"""Organisation names made of common words (recognizers/plain_organizations.py). Sentences
written for these tests."""

from __future__ import annotations

import pytest
from healthai_server.phi.recognizers.plain_organizations import PlainOrganizationRecognizer


def _values(text: str) -> list[str]:
    return [text[r.start : r.end] for r in PlainOrganizationRecognizer().analyze(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Transferred to Silver Creek Rehabilitation Hospital on day 4.", ["Silver Creek Rehabilitation Hospital"]),
        ("She attends Sunny Days Early Learning Center three mornings.", ["Sunny Days Early Learning Center"]),
        ("Booked at Granite Ridge Correctional Facility last year", ["Granite Ridge Correctional Facility"]),
        ("Counselor at Camp Blue Heron this summer", ["Camp Blue Heron"]),
        ("Records requested from Good Shepherd St. Luke Hospital", ["Good Shepherd St. Luke Hospital"]),
    ],
)
def test_names_of_common_words_before_an_institution_head(text: str, expected: list[str]) -> None:
    assert _values(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Discharged From Hospital with home health",
        "Referred to the Children's Hospital for surgery",
        "History of admission to State Hospital in 1990",
        "Cardiac Rehabilitation Hospital stay was uneventful",
        "Living donor evaluation; hospital course unremarkable",
    ],
)
def test_kinds_of_institution_are_not_names(text: str) -> None:
    assert _values(text) == []
