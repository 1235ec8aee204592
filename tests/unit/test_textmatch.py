"""The shared regex-alternation helper: same language as the plain alternation, faster shape."""

from __future__ import annotations

import re

from healthai_server.textmatch import split_top_level, word_alternation

SAMPLE = "MRN 12, medical record 7; chart x. Xmrn no. The Chart and amrn."


def test_word_alternation_matches_the_plain_case_insensitive_alternation() -> None:
    fast = re.compile(word_alternation("mrn|medical record|chart"))
    plain = re.compile(r"(?<![A-Za-z])(?i:mrn|medical record|chart)")
    assert [m.span() for m in fast.finditer(SAMPLE)] == [m.span() for m in plain.finditer(SAMPLE)]


def test_split_top_level_ignores_nested_bars_and_classes() -> None:
    assert split_top_level(r"a(?:b|c)|[|]d|e") == ["a(?:b|c)", "[|]d", "e"]
