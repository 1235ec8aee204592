"""Street addresses without a house number in front (recognizers/street_forms.py). Sentences
written for these tests."""

from __future__ import annotations

import pytest
from healthai_server.phi.recognizers.street_forms import street_form_recognizers


def _values(text: str) -> list[str]:
    return [text[r.start : r.end] for r in street_form_recognizers()[0].analyze(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Officers found him in the 2200 block of K Street near the bus stop.", ["2200 block of K Street"]),
        ("Scene: 300 block of W. Alder Ave, outside a bakery", ["300 block of W. Alder Ave"]),
        ("Collision at Linden Blvd and Prospect Ave, driver side", ["and Prospect Ave"]),
        ("Mailing address: Rural Route 3, Box 19", ["Rural Route 3"]),
        ("Home: Chinle Route 12, past the chapter house", ["Chinle Route 12"]),
    ],
)
def test_street_forms(text: str, expected: list[str]) -> None:
    assert _values(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Route 2 of 3 failed; route of administration oral",
        "Rollover at 50 mph on Hwy 12 east of the bridge",  # where a crash was, not a residence
        "Blocked 2 of 3 vessels; third block of therapy",
        "Seen by Dr. Ames at the Heart Center and Dr Lee",
    ],
)
def test_not_streets(text: str) -> None:
    assert _values(text) == []
