from __future__ import annotations

import json
from pathlib import Path

import pytest
from healthai_server.domain.phi import PhiType
from healthai_server.phi import Deidentifier, EntityRecognizer, RecognizerResult
from healthai_server.phi.registry import RecognizerConfigError, pattern_recognizers_from_config

from .conftest import KEY


def test_config_adds_a_pattern_recognizer(tmp_path: Path) -> None:
    config = tmp_path / "recognizers.json"
    config.write_text(
        json.dumps(
            {
                "recognizers": [
                    {
                        "name": "badge",
                        "type": "other_identifier",
                        "validator": "has_digit",
                        "context": ["badge"],
                        "patterns": [{"name": "emp", "regex": "\\bEMP\\.\\d{6}\\b", "score": 0.4}],
                    }
                ]
            }
        )
    )
    deid = Deidentifier(secret_key=KEY, recognizers_config=config)
    found = [
        (f.type, f.span.text)
        for f in deid.detect("Staff badge EMP.123456 scanned." + " " * 60 + "Also EMP.654321 alone.")
    ]
    assert (PhiType.OTHER_IDENTIFIER, "EMP.123456") in found
    assert (PhiType.OTHER_IDENTIFIER, "EMP.654321") not in found  # below threshold without context


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "type": "nope", "patterns": []}, "recognizers\\[0\\]"),
        ({"name": "x", "type": "url", "patterns": [{"name": "p", "regex": "("}]}, "recognizers\\[0\\]"),
        ({"name": "x", "type": "url", "patterns": [], "validator": "nope"}, "validator"),
    ],
)
def test_bad_config_names_the_entry(entry: dict[str, object], message: str) -> None:
    with pytest.raises(RecognizerConfigError, match=message):
        pattern_recognizers_from_config({"recognizers": [entry]})


def test_code_recognizers_can_be_added() -> None:
    class Codename(EntityRecognizer):
        name = "codename"
        supported_types = (PhiType.OTHER_IDENTIFIER,)

        def analyze(self, text: str) -> list[RecognizerResult]:
            i = text.find("BLUEBIRD")
            return [] if i < 0 else [RecognizerResult(PhiType.OTHER_IDENTIFIER, i, i + 8, 0.9, self.name)]

    deid = Deidentifier(secret_key=KEY, extra_recognizers=[Codename()])
    assert [f.span.text for f in deid.detect("Study BLUEBIRD enrolment.")] == ["BLUEBIRD"]


def test_extra_allow_terms_veto_lexicon_matches() -> None:
    text = "Follow up with Jennifer Martinez today."
    assert Deidentifier(secret_key=KEY).detect(text)
    assert not Deidentifier(secret_key=KEY, extra_allow_terms=["martinez", "jennifer"]).detect(text)
