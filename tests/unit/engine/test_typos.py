"""Bounded typo tolerance: one edit, words of 7+ letters, English words and changed starts guarded."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from healthai_server.engine import ClinicalEngine
from healthai_server.engine.typos import TypoCorrector
from hypothesis import given
from hypothesis import strategies as st

_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "engine_build_typo_guard.py"


def test_one_edit_on_long_words_only() -> None:
    corrector = TypoCorrector(["pneumonia", "cellulitis", "swelling", "hematoma", "asthma"], guard=frozenset())
    assert corrector.correct("pnuemonia") == "pneumonia"  # transposition
    assert corrector.correct("cellulitus") == "cellulitis"  # substitution
    assert corrector.correct("swellling") == "swelling"  # insertion
    assert corrector.correct("hematomas") == "hematoma"  # a plural is the name
    assert corrector.correct("pnuemoniaa") is None  # two edits
    assert corrector.correct("asthmaa") is None  # "asthma" is shorter than 7 letters: not in the vocabulary
    assert corrector.correct("dwelling") is None  # first letters differ
    assert corrector.correct("pneumonia") is None  # already a name


def test_english_words_are_guarded(engine: ClinicalEngine) -> None:
    data = engine.extract("She was dwelling on breeding horses. PMH: pnuemonia, cellulitus. Afebrile.")
    assert [(c.span.text, c.name) for c in data.conditions] == [
        ("pnuemonia", "pneumonia"),
        ("cellulitus", "cellulitis"),
    ]


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=0, max_size=14))
def test_corrections_are_one_edit_and_in_the_vocabulary(word: str) -> None:
    corrector = TypoCorrector(["pneumonia", "cellulitis", "swelling", "hematoma", "cholecystitis"], guard=frozenset())
    fixed = corrector.correct(word)
    assert fixed is None or (fixed in corrector.vocabulary and fixed != word and abs(len(fixed) - len(word)) <= 2)


def test_guard_list_is_fresh() -> None:
    result = subprocess.run([sys.executable, str(_SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_a_word_longer_than_every_name_is_left_alone_in_linear_time() -> None:
    corrector = TypoCorrector(["pneumonia", "hematoma"], guard=frozenset())
    started = time.perf_counter()
    assert corrector.correct("a" * 200_000) is None
    assert time.perf_counter() - started < 0.5
    assert corrector.correct("pneumonai") == "pneumonia"
