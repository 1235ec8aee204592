"""The recall-first pass: every token the typed recognizers left is removed unless it is
provably not an identifier (a known word, clinical vocabulary, a clinical number, punctuation).

After Philter (Norgeot et al., npj Digital Medicine 2020): keep by safe list, not remove by
block list. What is removed is typed PhiType.OTHER, with a confidence by token shape.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from healthai_server.domain.phi import PhiType
from healthai_server.phi.recognizers.base import RecognizerResult
from healthai_server.phi.safe.numbers import MAX_PLAIN_INT, NUMBER, is_clinical_code, is_clinical_number
from healthai_server.phi.safe.spans import shaped_spans
from healthai_server.phi.safe.vocabulary import SafeVocabulary

_TOKEN = re.compile(r"[^\W_]+")
NAME = "recall_first"
# Confidence that a removed token is an identifier, by shape.
SCORE_CODE = 0.8  # letters and digits: "A7-5521", "FYF831"
SCORE_NUMBER = 0.7  # an unexplained number: a street, a room, an id
SCORE_CAPITALISED = 0.75  # an unknown capitalised word: most often a name or a place
SCORE_WORD = 0.6  # an unknown lower-case or all-caps word
WORD_CACHE_SIZE = 100_000
_MISSING = object()
SCORE_NAME_LIKE = 0.55  # an English word that is also a common name, capitalised mid-sentence
_SENTENCE_START = frozenset(".!?:;\n\t\"'([-*•>|")


_PROPER_TYPES = frozenset({PhiType.OTHER, PhiType.NAME, PhiType.CITY, PhiType.ORGANIZATION})


def _covered(starts: Sequence[int], ends: Sequence[int], start: int, end: int) -> bool:
    i = bisect.bisect_right(starts, start) - 1
    return (i >= 0 and ends[i] > start) or (i + 1 < len(starts) and starts[i + 1] < end)


class SafeListPass:
    def __init__(self, vocabulary: SafeVocabulary) -> None:
        self.vocabulary = vocabulary
        # Word -> verdict: notes repeat their words, and a word's verdict needs up to a few
        # dozen set lookups (inflections, word parts, compounds). Bounded: cleared when full.
        self._word_cache: dict[str, float | None] = {}

    def find(self, text: str, typed: Sequence[RecognizerResult]) -> list[RecognizerResult]:
        """OTHER results for the tokens outside `typed` (disjoint, in text order) that are not safe."""
        starts = [r.start for r in typed]
        ends = [r.end for r in typed]
        verdicts = self._number_verdicts(text)
        shaped = sorted(shaped_spans(text))
        shaped_starts = [s for s, _, _ in shaped]
        out: list[RecognizerResult] = []
        for m in _TOKEN.finditer(text):
            start, end = m.span()
            if _covered(starts, ends, start, end):
                continue
            score = self._score(m.group(), start, verdicts)
            i = bisect.bisect_right(shaped_starts, start) - 1
            # Spans may nest; the nearest that starts before the token is checked, then its neighbours.
            for s_start, s_end, s_score in shaped[max(0, i - 2) : i + 1]:
                if s_start <= start and end <= s_end:
                    score = max(score or 0.0, s_score)
            if score is None and self._name_inside_sentence(text, m.group(), start):
                score = SCORE_NAME_LIKE
            if score is not None:
                out.append(RecognizerResult(PhiType.OTHER, start, end, score, NAME))
        return self._widen_proper_names(text, typed, out)

    def _widen_proper_names(
        self, text: str, typed: Sequence[RecognizerResult], found: list[RecognizerResult]
    ) -> list[RecognizerResult]:
        """ "Breaux Bridge", "Aspen Whitley", "Quellton Family Practice": a capitalised word right
        next to a removed capitalised one is part of the same name, unless it is clinical
        vocabulary, a unit, a label or a function word."""
        removed = sorted([*typed, *found], key=lambda r: r.start)
        edges = {e for r in removed if r.type in _PROPER_TYPES and text[r.start].isupper() for e in (r.start, r.end)}
        if not edges:
            return found
        starts = [r.start for r in removed]
        ends = [r.end for r in removed]
        never = self.vocabulary.never_names
        candidates = [
            m.span()
            for m in _TOKEN.finditer(text)
            if m.group()[0].isupper()
            and not m.group().isupper()
            and m.group().lower() not in never
            and not _covered(starts, ends, *m.span())
        ]
        joined: set[tuple[int, int]] = set()
        # One sweep rightwards, one leftwards: a run of capitalised words joins its removed
        # neighbour whole in a single pass each way (linear, however long the run).
        for start, end in candidates:
            if text[start - 1 : start] == " " and start - 1 in edges:
                joined.add((start, end))
                edges.add(end)
        for start, end in reversed(candidates):
            if text[end : end + 1] == " " and end + 1 in edges:
                joined.add((start, end))
                edges.add(start)
        extra = [RecognizerResult(PhiType.OTHER, s, e, SCORE_NAME_LIKE, NAME) for s, e in joined]
        return sorted([*found, *extra], key=lambda r: r.start)

    def _number_verdicts(self, text: str) -> dict[int, bool]:
        """Start of every digit run -> whether its number is clinical."""
        verdicts: dict[int, bool] = {}
        for m in NUMBER.finditer(text):
            if m.start() > 0 and text[m.start() - 1].isalpha():
                continue  # the digits of a code ("A12"): judged as a token
            ok = is_clinical_number(text, m.start(), m.end(), self.vocabulary)
            for run in re.finditer(r"\d+", m.group()):
                verdicts[m.start() + run.start()] = ok
        return verdicts

    def _name_inside_sentence(self, text: str, token: str, start: int) -> bool:
        """ "seen with Barb today": a name-like word, Title case, not the first word of a sentence,
        a line or a heading."""
        if not (token[0].isupper() and token[1:].islower()) or token.lower() not in self.vocabulary.name_like:
            return False
        before = text[max(0, start - 3) : start].rstrip(" ")
        return bool(before) and before[-1] not in _SENTENCE_START and not before[-1].isdecimal()

    def _score(self, token: str, start: int, verdicts: dict[int, bool]) -> float | None:
        """None when the token is safe, else the confidence that it identifies someone."""
        if token.isdecimal():
            verdict = verdicts.get(start)
            if verdict is None:  # digits right after letters ("x 2" written "x2" is one token)
                verdict = len(token) <= 2 and int(token) <= MAX_PLAIN_INT
            return None if verdict else SCORE_NUMBER
        if token.isalpha():
            cached = self._word_cache.get(token, _MISSING)
            if cached is not _MISSING:
                return cached  # type: ignore[return-value]
            if len(self._word_cache) >= WORD_CACHE_SIZE:
                self._word_cache.clear()
            score = self._word_score(token)
            self._word_cache[token] = score
            return score
        return None if is_clinical_code(token, self.vocabulary) else SCORE_CODE

    def _word_score(self, token: str) -> float | None:
        """The verdict on a word of letters: safe (None) or the confidence that it identifies."""
        vocabulary = self.vocabulary
        if len(token) == 1 or vocabulary.knows(token) or vocabulary.clinical_form(token) or vocabulary.compound(token):
            return None
        return SCORE_CAPITALISED if token[0].isupper() and not token.isupper() else SCORE_WORD
