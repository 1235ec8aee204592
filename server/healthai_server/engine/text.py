"""Tokens, sentences and clauses: one linear pass each, no backtracking over note text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A word (letters, digits, underscore in any script) or one other non-space character.
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = frozenset({".", "!", "?"})
_CLAUSE_END = frozenset({";", ":"})
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
    starts: list[int] = []
    ends: list[int] = []
    raw: list[str] = []
    for match in _TOKEN.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
        raw.append(match.group())
    lower = [token.lower() for token in raw]
    sentence: list[int] = []
    clause: list[int] = []
    sent = 0
    cl = 0
    n = len(raw)
    previous_end = 0
    split_before = False
    for i in range(n):
        start = starts[i]
        if i and (split_before or "\n" in text[previous_end:start]):
            sent += 1
            cl += 1
        split_before = False
        sentence.append(sent)
        clause.append(cl)
        token = raw[i]
        if token in _SENTENCE_END:
            if i + 1 >= n:
                split_before = True
            else:
                following = raw[i + 1]
                before = lower[i - 1] if i else ""
                gap = starts[i + 1] - ends[i]
                if gap > 0 and (following[0].isupper() or following[0].isdigit()) and before not in _NO_SPLIT_AFTER:
                    split_before = True
        elif token in _CLAUSE_END:
            cl += 1
        previous_end = ends[i]
    sentence_first = [0] * n
    clause_first = [0] * n
    clause_last = [0] * n
    for i in range(n):
        sentence_first[i] = i if i == 0 or sentence[i] != sentence[i - 1] else sentence_first[i - 1]
        clause_first[i] = i if i == 0 or clause[i] != clause[i - 1] else clause_first[i - 1]
    for i in range(n - 1, -1, -1):
        clause_last[i] = i if i == n - 1 or clause[i] != clause[i + 1] else clause_last[i + 1]
    return Tokens(text, starts, ends, raw, lower, sentence, clause, sentence_first, clause_first, clause_last)


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
