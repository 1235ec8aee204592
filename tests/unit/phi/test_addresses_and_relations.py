"""USPS street suffixes and unit designators, towns anchored on ", ST 12345", lower-case names
after relation words (issue 11, item 3)."""

from __future__ import annotations

import pytest
from healthai_server.domain.phi import PhiType
from healthai_server.phi import Deidentifier


def found(deid: Deidentifier, text: str) -> list[tuple[PhiType, str]]:
    return [(f.type, f.span.text) for f in deid.detect(text)]


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Home: 4410 Ellery Stravenue, Apt 3, Quellton, FL 32801.", "4410 Ellery Stravenue, Apt 3"),
        ("Mailing address 77 Birch Cliffs Unit 12B, Harmony Springs, OR 97015", "77 Birch Cliffs Unit 12B"),
        ("Address: 1200 Orchard Valleys #4, Dunmore, PA 18512", "1200 Orchard Valleys #4"),
        ("Lives at 12 Kettle Forge, Brookhaven, GA 30319.", "12 Kettle Forge"),
        ("She lives at 990 Lantern Islands in Pellston, MI 49769.", "990 Lantern Islands"),
        ("ADDRESS: 31 HOLLOW CROSSROADS BSMT 2, AKRON, OH 44301", "31 HOLLOW CROSSROADS BSMT 2"),
    ],
)
def test_usps_suffixes_and_units(deid: Deidentifier, text: str, street: str) -> None:
    assert (PhiType.STREET_ADDRESS, street) in found(deid, text)


def test_the_whole_town_before_state_and_zip(deid: Deidentifier) -> None:
    text = "Mailing address 77 Birch Cliffs Unit 12B, Harmony Springs, OR 97015"
    assert (PhiType.CITY, "Harmony Springs") in found(deid, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Her daughter rachel stevens will drive her home.", "rachel stevens"),
        ("Patient's son tom brady visits weekly.", "tom brady"),
    ],
)
def test_lower_case_names_after_relation_words(deid: Deidentifier, text: str, name: str) -> None:
    assert (PhiType.NAME, name) in found(deid, text)


@pytest.mark.parametrize(
    "text",
    [
        "Take 2 Tylenol Extra Strength tablets.",
        "History of 3 falls this year.",
        "Son tom is a nurse.",
    ],
)
def test_clinical_text_is_not_an_address_or_a_name(deid: Deidentifier, text: str) -> None:
    assert not [t for t, _ in found(deid, text) if t in (PhiType.STREET_ADDRESS, PhiType.NAME)]
