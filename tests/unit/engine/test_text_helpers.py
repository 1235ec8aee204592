"""The speed helpers must give exactly what the plain patterns and loops give."""

from __future__ import annotations

import random
import re

import pytest
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.context import Modifier, ModifierIndex, load_rules
from healthai_server.engine.sections import SectionDetector, SectionIndex
from healthai_server.engine.text import (
    FastPattern,
    WordIndex,
    lower_closed,
    prefilter_source,
    tokenize,
)
from healthai_server.textmatch import first_char_alternation, literal_alternation

_PIECES = [
    "po", "PO", "p.o.", " ", "  ", "\t", "\n", "q6h", "Q4-6H", "bid", "B.I.D.", "prn", "as needed", "x 5 days",
    "for 2 weeks", "tab", "tablets", "20", "mg", "MG", "inhaled", "IV", "im", "sl", "nasal spray", "daily", "qhs",
    "every 8 hours", "twice a day", ",", ".", ";", "-", "/", "%", "İ", "ſ", "é", "K", "started", "d/c'd", "on",
    "NKDA", "no known allergies", "and", "Lisinopril", "A", "z",
]  # fmt: skip


def _texts(seed: int, count: int = 400) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def _engine_patterns(engine: ClinicalEngine) -> list[FastPattern]:
    attributes = engine._med_attributes
    patterns = [attributes._any_form, attributes._any_route, attributes._any_frequency, attributes._prn]
    return [*patterns, attributes._duration]


def _span(match: re.Match[str] | None) -> tuple[int, int] | None:
    return match.span() if match is not None else None


def test_fast_pattern_search_is_the_pattern_search(engine: ClinicalEngine) -> None:
    for fast in _engine_patterns(engine):
        for text in _texts(1):
            expected = fast.pattern.search(text)
            found = fast.search(text)
            assert _span(found) == _span(expected), (fast.pattern.pattern[:40], text)
            if expected is not None and found is not None:
                assert found.groups() == expected.groups()


def test_search_spans_gives_the_same_spans(engine: ClinicalEngine) -> None:
    for fast in _engine_patterns(engine):
        for text in _texts(2):
            lowered = text.lower() if text.isascii() else None
            expected = fast.pattern.search(text)
            found = fast.search_spans(text, lowered)
            assert _span(found) == _span(expected)
            if expected is not None and found is not None:
                assert found.lastgroup == expected.lastgroup
                assert found.regs == expected.regs


def test_prefilter_source_matches_wherever_the_pattern_does() -> None:
    sources = [r"(?P<r0>a|(?:b|c))|(?P<r1>(d)|e)|f(?:g)", r"(?:er|xr)\s(?:tablet|tab)s?|tabs?", r"(?:a|b)?c|[|(]x"]
    for source in sources:
        original, prefilter = re.compile(source), re.compile(prefilter_source(source))
        for text in ["abcdefg", "er tab xr tablets", "c bc ac", "[x (x |x", "fg f g"]:
            for pos in range(len(text) + 1):
                if original.match(text, pos):
                    assert prefilter.match(text, pos), (source, text, pos)
    assert prefilter_source(r"(a)\1") == r"(a)\1"  # a back-reference keeps its group


@pytest.mark.parametrize(
    ("source", "closed"),
    [
        (r"abc", True),
        (r"aBc", False),
        (r"[A-Za-z]x", True),
        (r"[A-Z]x", False),
        (r"[ -a]", False),
        (r"\x41", False),
        (r"(?i)a", False),
        (r"(?P<Name>a)\d{1,2}\b", True),
        (r"é", False),
    ],
)
def test_lower_closed(source: str, closed: bool) -> None:
    assert lower_closed(source) is closed


def test_grouped_alternations_match_as_the_plain_ones() -> None:
    words = ["started", "start", "stop", "on", "off", "s/p", "no longer taking", "d/c'd", "dc"]
    plain = re.compile(r"(?<![a-z/])(?:" + "|".join(map(re.escape, words)) + r")(?![a-z])")
    grouped = re.compile(literal_alternation(words, "[a-z/]") + r"(?![a-z])")
    for text in _texts(3):
        lowered = text.lower()
        assert [m.span() for m in grouped.finditer(lowered)] == [m.span() for m in plain.finditer(lowered)]
    names = ["history of present illness", "history", "hpi", "pmh", "past medical history"]
    sources = [r"[ \t]+".join(map(re.escape, name.split())) for name in names]
    plain = re.compile("(?:" + "|".join(sources) + r")[ \t]*:")
    grouped = re.compile(first_char_alternation((s[0], s[1:]) for s in sources) + r"[ \t]*:")
    for text in ["history of present illness:", "history:", "past medical  history :", "hpi", "pmh:"]:
        assert _span(grouped.match(text)) == _span(plain.match(text))


def test_word_index_finds_each_vocabulary() -> None:
    vocabularies = [{"a", "b"}, {"b", "c"}, set(), {"a"}]
    words = ["a", "x", "b", "c", "b", "a"]
    expected = [[k for k, w in enumerate(words) if w in v] for v in vocabularies]
    assert WordIndex(vocabularies).find(words) == expected


def test_sentence_and_clause_lookups() -> None:
    text = "Pt seen. BP ok; HR 88: stable\nNo fever. e.g. Later. Dr. Smith! 3 tabs? x"
    tokens = tokenize(text)
    n = len(tokens)
    sentence_of = [sum(1 for b in tokens.sentence_bounds if b <= i) for i in range(n)]
    clause_of = [sum(1 for b in tokens.clause_bounds if b <= i) for i in range(n)]
    for i in range(n):
        same_sentence = [k for k in range(n) if sentence_of[k] == sentence_of[i]]
        same_clause = [k for k in range(n) if clause_of[k] == clause_of[i]]
        assert (tokens.sentence_first(i), tokens.sentence_last(i)) == (same_sentence[0], same_sentence[-1])
        assert (tokens.clause_first(i), tokens.clause_last(i)) == (same_clause[0], same_clause[-1])
    assert tokens.raw[tokens.sentence_bounds[0]] == "BP"


def test_tokenize_ascii_and_unicode_agree() -> None:
    for text in ["a\x1cb c", "a\x1fb", "x_y 12.5mg", "naïve café", "a\u2028b", "tab\x0bs"]:
        tokens = tokenize(text)
        assert tokens.raw == re.findall(r"\w+|[^\w\s]", text)
        assert all(text[s:e] == t for s, e, t in zip(tokens.starts, tokens.ends, tokens.raw, strict=True))


def test_header_tokens_is_in_header() -> None:
    text = "HPI: cough.  PMH: HTN\nMEDICATIONS\naspirin. Plan - rest"
    tokens = tokenize(text)
    index = SectionIndex(SectionDetector().detect(text))
    in_header = index.header_tokens(tokens.starts)
    for i, (start, end) in enumerate(zip(tokens.starts, tokens.ends, strict=True)):
        assert (i in in_header) == index.in_header(start, end)


def test_modifier_reach() -> None:
    rule = load_rules()[0]
    modifiers = [Modifier(rule, 5, 6, 6, 12), Modifier(rule, 7, 8, 2, 9), Modifier(rule, 30, 31, 31, 33)]
    index = ModifierIndex(modifiers)
    for start in range(40):
        for end in range(start + 1, 41):
            expected = any(m.scope_end > start and m.scope_start < end for m in modifiers)
            assert index.reaches(start, end) is expected
