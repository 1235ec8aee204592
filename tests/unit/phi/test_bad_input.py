"""Hostile notes at the contract's ceiling (1,000,000 code points): only digits, only
capitalised words, mixed scripts. Both policies answer in bounded time, with exact spans,
and log nothing."""

from __future__ import annotations

import logging
import random
import time

import pytest
from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy
from healthai_server.phi import Deidentifier

CEILING = 1_000_000
# Generous for a loaded two-core CI machine; a quadratic step takes hours at this size.
BOUND_S = 120.0


def _digits(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789 \n-/.") for _ in range(CEILING))


def _capitalised(rng: random.Random) -> str:
    words = ["Alpha", "Quillfeather", "Maple", "Street", "Harrowgate", "Clinic", "Smith", "John", "Center", "Mary"]
    return " ".join(rng.choice(words) for _ in range(CEILING // 6))[:CEILING]


def _mixed_scripts(rng: random.Random) -> str:
    parts = ["Москва ", "東京 ", "Ωμέγα ", "مرحبا ", "Smith ", "12 ", "mg ", "\u200b", "é", "İ", "𝔘 ", "٣ "]
    return "".join(rng.choice(parts) for _ in range(CEILING))[:CEILING]


@pytest.mark.slow
@pytest.mark.parametrize("make", [_digits, _capitalised, _mixed_scripts], ids=["digits", "capitalised", "scripts"])
def test_one_megabyte_notes(
    deid_orgs: Deidentifier, make: object, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    text = make(random.Random(7))  # type: ignore[operator]
    assert len(text) == CEILING
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    note = deid_orgs.deidentify(
        text, DeidentificationMode.MASK, tenant="t1", policy=DeidentificationPolicy.RECALL_FIRST
    )
    assert time.perf_counter() - started < BOUND_S
    assert len(note.text) == len(text)
    previous_end = 0
    for f in note.findings:
        assert previous_end <= f.span.start < f.span.end <= len(text)
        assert text[f.span.start : f.span.end] == f.span.text
        previous_end = f.span.end
    assert caplog.records == []
    out, err = capfd.readouterr()
    assert out == "" and err == ""
