"""Tokens, sentences and clauses: one linear pass each, no backtracking over note text."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# A word (letters, digits, underscore in any script) or one other non-space character.
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = frozenset({".", "!", "?"})
_CLAUSE_END = frozenset({";", ":"})
_SPLITTERS = _SENTENCE_END | _CLAUSE_END
# Abbreviations after which a period does not end a sentence.
_NO_SPLIT_AFTER = frozenset(
    {"dr", "mr", "mrs", "ms", "vs", "e", "g", "i", "st", "no", "approx", "pt", "pts", "fig", "jr", "sr", "prof"}
)


@dataclass(frozen=True, slots=True)
class Tokens:
    """The note's tokens as parallel arrays (cheap to index in hot loops)."""

    text: str
    starts: list[int]
    ends: list[int]
    raw: list[str]
    lower: list[str]
    sentence: list[int]  # sentence number of each token
    clause: list[int]  # clause number (sentence split further at ';' and ':')
    sentence_first: list[int]  # index of the first token of each token's sentence
    clause_first: list[int]  # index of the first token of each token's clause
    clause_last: list[int]  # index of the last token of each token's clause

    def __len__(self) -> int:
        return len(self.starts)

    def index_at_or_after(self, offset: int) -> int:
        """First token starting at or after `offset` (len(self) when none)."""
        lo, hi = 0, len(self.starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.starts[mid] < offset:
                lo = mid + 1
            else:
                hi = mid
        return lo


def tokenize(text: str) -> Tokens:
    """One regex pass for the tokens; boundaries from the (few) newlines and punctuation tokens.

    Sentence and clause numbers are filled run by run (list repetition in C), not token by token.
    """
    matches = list(_TOKEN.finditer(text))
    n = len(matches)
    starts = list(map(re.Match.start, matches))
    ends = list(map(re.Match.end, matches))
    raw = list(map(re.Match.group, matches))
    lower = list(map(str.lower, raw))
    # Token indices that start a new sentence: after a line break in the gap before them, or
    # after a sentence end followed by a capital or digit (not after an abbreviation).
    sentence_starts: set[int] = set()
    newline = text.find("\n")
    while newline >= 0:
        i = bisect.bisect_left(starts, newline)
        if 0 < i < n:
            sentence_starts.add(i)
        newline = text.find("\n", newline + 1)
    clause_splits: list[int] = []
    for i in [k for k, token in enumerate(raw) if token in _SPLITTERS]:
        if raw[i] in _CLAUSE_END:
            clause_splits.append(i + 1)
            continue
        if i + 1 >= n:
            continue
        following = raw[i + 1]
        before = lower[i - 1] if i else ""
        if (
            starts[i + 1] > ends[i]
            and (following[0].isupper() or following[0].isdigit())
            and before not in _NO_SPLIT_AFTER
        ):
            sentence_starts.add(i + 1)
    sentence_bounds = sorted(sentence_starts)
    clause_bounds = sorted(sentence_starts.union(k for k in clause_splits if k < n))
    sentence, sentence_first, _ = _runs(sentence_bounds, n)
    clause, clause_first, clause_last = _runs(clause_bounds, n)
    return Tokens(text, starts, ends, raw, lower, sentence, clause, sentence_first, clause_first, clause_last)


def _runs(bounds: list[int], n: int) -> tuple[list[int], list[int], list[int]]:
    """Run number, first index and last index of each of n tokens; runs start at `bounds`
    (strictly increasing, inside 1..n-1)."""
    number: list[int] = []
    first: list[int] = []
    last: list[int] = []
    previous = 0
    for run, bound in enumerate([*bounds, n]):
        size = bound - previous
        number += [run] * size
        first += [previous] * size
        last += [bound - 1] * size
        previous = bound
    return number, first, last


class CharMask:
    """Marks character ranges; overlap queries in C (bytearray.find), so checks stay linear."""

    __slots__ = ("_mask",)

    def __init__(self, size: int) -> None:
        self._mask = bytearray(size + 1)

    def mark(self, start: int, end: int) -> None:
        if end > start:
            self._mask[start:end] = b"\x01" * (end - start)

    def overlaps(self, start: int, end: int) -> bool:
        return end > start and self._mask.find(1, start, end) >= 0

    def covers(self, offset: int) -> bool:
        return 0 <= offset < len(self._mask) and self._mask[offset] == 1


# Zero-width assertions a prefilter can drop: \b and simple negative lookbehinds.
_DROPPABLE_ASSERTION = re.compile(r"(?<!\\)\\b|\(\?<!\[[^\]\\]*\]\)")


class FastPattern:
    """A pattern's search/finditer, same results, faster for many-branch alternations.

    Python's re tries every branch at every offset when branches start with an assertion
    ("\\b...") or ignore case. The prefilter is the pattern without its leading-style assertions
    (it matches wherever the original does), run case-sensitively on the lower-cased text when
    the text is ASCII and the pattern has no upper-case letter; the original then confirms each
    candidate offset, leftmost first, so matches are exactly the original's.
    """

    __slots__ = ("_lowered", "_prefilter", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        source = _DROPPABLE_ASSERTION.sub("", pattern.pattern)
        letters = source.replace("(?P<", "(").replace("(?P=", "(")  # group syntax, not text to match
        self._lowered = bool(pattern.flags & re.IGNORECASE) and not any(c.isupper() for c in letters)
        flags = pattern.flags & ~re.IGNORECASE if self._lowered else pattern.flags
        self._prefilter = re.compile(source, flags)

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self._search(text, self._haystack(text), pos)

    def finditer(self, text: str) -> list[re.Match[str]]:
        """Non-overlapping matches, as pattern.finditer for patterns that never match empty."""
        haystack = self._haystack(text)
        out: list[re.Match[str]] = []
        pos = 0
        while pos <= len(text):
            match = self._search(text, haystack, pos)
            if match is None:
                break
            out.append(match)
            pos = match.end() if match.end() > match.start() else match.end() + 1
        return out

    def _haystack(self, text: str) -> str | None:
        """The text the prefilter runs on; None when only the original pattern can be used."""
        if not self._lowered:
            return text
        return text.lower() if text.isascii() else None

    def _search(self, text: str, haystack: str | None, pos: int) -> re.Match[str] | None:
        if haystack is None:
            return self.pattern.search(text, pos)
        prefilter = self._prefilter.search
        confirm = self.pattern.match
        while True:
            candidate = prefilter(haystack, pos)
            if candidate is None:
                return None
            match = confirm(text, candidate.start())
            if match is not None:
                return match
            pos = candidate.start() + 1
