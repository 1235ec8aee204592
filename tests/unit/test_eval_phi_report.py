"""The PHI evaluation's Safe Harbor line: organisation names (a configurable extra) leave it out."""

from __future__ import annotations

from dataclasses import dataclass

from healthai_server.evaluation.phi import evaluate


@dataclass
class _Span:
    start: int
    end: int


@dataclass
class _Type:
    value: str


@dataclass
class _Finding:
    span: _Span
    type: _Type


def test_a_missed_organisation_leaks_the_note_but_not_its_safe_harbor_identifiers() -> None:
    text = "Seen by Dr. Rosa Vance at Birchwood Clinic on 03/14/2024."
    name, org = (text.index("Rosa Vance"), text.index("Rosa Vance") + 10), (text.index("Birchwood"), text.index(" on"))
    date = (text.index("03/14/2024"), text.index("03/14/2024") + 10)
    note = {
        "id": "n1",
        "text": text,
        "spans": [
            {"start": name[0], "end": name[1], "type": "name"},
            {"start": org[0], "end": org[1], "type": "organization"},
            {"start": date[0], "end": date[1], "type": "date"},
        ],
    }

    def finds_all_but_the_organisation(_text: str) -> list[_Finding]:
        return [_Finding(_Span(*name), _Type("name")), _Finding(_Span(*date), _Type("date"))]

    report = evaluate([note], finds_all_but_the_organisation)
    assert report.leaked_notes == 1 and report.overall.recall < 1
    assert report.safe_harbor_leaked_notes == 0 and report.safe_harbor.recall == 1.0
    assert report.as_dict()["safe_harbor"]["gold_tokens"] == 5  # Rosa, Vance, 03, 14, 2024; no organisation tokens
