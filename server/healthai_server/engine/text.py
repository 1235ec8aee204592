"""Tokens, sentences and clauses: one linear pass each, no backtracking over note text.

Also the helpers that keep the engine's many-branch regexes fast (FastPattern, WordIndex,
first_char_alternation): Python's re has no automaton, it tries branch after branch.
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

# A word (letters, digits, underscore in any script) or one other non-space character; the
# group makes re.split return the tokens and the gaps between them.
_TOKEN_SPLIT = re.compile(r"(\w+|\S)")
# The same on ASCII text, 20% faster; but ASCII \s lacks \x1c-\x1f, which Unicode \s has.
_TOKEN_SPLIT_ASCII = re.compile(r"(\w+|\S)", re.ASCII)
_UNICODE_ONLY_SPACE = re.compile("[\x1c-\x1f]")
_SENTENCE_END = frozenset({".", "!", "?"})
_CLAUSE_END = frozenset({";", ":"})
_SPLITTERS = _SENTENCE_END | _CLAUSE_END
# Abbreviations after which a period does not end a sentence.
_NO_SPLIT_AFTER = frozenset(
    {"dr", "mr", "mrs", "ms", "vs", "e", "g", "i", "st", "no", "approx", "pt", "pts", "fig", "jr", "sr", "prof"}
)


@dataclass(frozen=True, slots=True)
class Tokens:
    """The note's tokens as parallel arrays (cheap to index in hot loops).

    Sentences and clauses (sentences split further at ';' and ':') are kept as the indices of
    the tokens that start them, not as per-token arrays: a note asks about the sentence of a
    few dozen tokens, a binary search each, which costs less than filling arrays for all.
    """

    text: str
    starts: list[int]
    ends: list[int]
    raw: list[str]
    lower: list[str]
    sentence_bounds: list[int]  # first token of each sentence but the first (sorted, in 1..n-1)
    clause_bounds: list[int]  # first token of each clause but the first (sorted, in 1..n-1)

    def __len__(self) -> int:
        return len(self.starts)

    def index_at_or_after(self, offset: int) -> int:
        """First token starting at or after `offset` (len(self) when none)."""
        return bisect.bisect_left(self.starts, offset)

    def sentence_first(self, i: int) -> int:
        """Index of the first token of token i's sentence."""
        return _run_first(self.sentence_bounds, i)

    def sentence_last(self, i: int) -> int:
        """Index of the last token of token i's sentence."""
        return _run_last(self.sentence_bounds, i, len(self.starts))

    def clause_first(self, i: int) -> int:
        """Index of the first token of token i's clause."""
        return _run_first(self.clause_bounds, i)

    def clause_last(self, i: int) -> int:
        """Index of the last token of token i's clause."""
        return _run_last(self.clause_bounds, i, len(self.starts))


def _run_first(bounds: list[int], i: int) -> int:
    run = bisect.bisect_right(bounds, i)
    return bounds[run - 1] if run else 0


def _run_last(bounds: list[int], i: int, n: int) -> int:
    run = bisect.bisect_right(bounds, i)
    return (bounds[run] if run < len(bounds) else n) - 1


def token_texts(text: str) -> list[str]:
    """tokenize(text).raw without the offsets and boundaries: for lexicon phrases, 10x faster."""
    ascii_ok = text.isascii() and _UNICODE_ONLY_SPACE.search(text) is None
    return (_TOKEN_SPLIT_ASCII if ascii_ok else _TOKEN_SPLIT).split(text)[1::2]


def tokenize(text: str) -> Tokens:
    """One regex pass for the tokens; boundaries from the (few) newlines and punctuation tokens."""
    # [gap, token, gap, token, ..., gap]: offsets are running sums of the lengths, all in C
    # (no match objects)
    ascii_ok = text.isascii() and _UNICODE_ONLY_SPACE.search(text) is None
    parts = (_TOKEN_SPLIT_ASCII if ascii_ok else _TOKEN_SPLIT).split(text)
    offsets = list(accumulate(map(len, parts)))
    starts = offsets[0:-1:2]
    ends = offsets[1::2]
    raw = parts[1::2]
    n = len(raw)
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
    return Tokens(text, starts, ends, raw, lower, sentence_bounds, clause_bounds)


class WordIndex:
    """The tokens that are words of several vocabularies, found in one pass over the note (a
    dict lookup per token) instead of one pass per vocabulary."""

    __slots__ = ("_count", "_member_of")

    def __init__(self, vocabularies: Sequence[Iterable[str]]) -> None:
        self._member_of: dict[str, tuple[int, ...]] = {}  # word -> the vocabularies it is in
        for index, vocabulary in enumerate(vocabularies):
            for word in vocabulary:
                self._member_of[word] = (*self._member_of.get(word, ()), index)
        self._count = len(vocabularies)

    @property
    def known(self) -> dict[str, tuple[int, ...]]:
        """The words of any vocabulary (membership tests: `word in index.known`)."""
        return self._member_of

    def find(self, words: Sequence[str]) -> list[list[int]]:
        """Per vocabulary, the indices of the words in it, in order."""
        found: list[list[int]] = [[] for _ in range(self._count)]
        member_of = self._member_of.get
        for k, word in enumerate(words):
            vocabularies = member_of(word)
            if vocabularies:
                for v in vocabularies:
                    found[v].append(k)
        return found


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


# Zero-width assertions a prefilter can drop: \b and negative look-behinds and look-aheads of
# one character class ("(?<![A-Za-z])", "(?![\w/])").
_DROPPABLE_ASSERTION = re.compile(r"(?<!\\)\\b|\(\?<?!\[(?:\\.|[^\]\\])*\]\)")
# Group references: a pattern using them keeps its groups in the prefilter.
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


def prefilter_source(source: str) -> str:
    """The same language as `source` written so that re can skip offsets quickly.

    re skips to the offsets where a match can start only when it sees which characters the
    pattern starts with: each top-level branch must start with a literal, not a group. So
    capturing groups become non-capturing, and leading groups are opened:
    "(?P<r0>a|b)|(?P<r1>(?:c|d)e)" -> "a|b|ce|de" (a union is a union, whatever the order).
    Then branches are grouped by first character, "ab|ac|b" -> "a(?:b|c)|b(?:)": re tries the
    branches of an alternation one by one at each offset, a trie on the first character halves
    that. Unchanged when the pattern refers back to a group.
    """
    if _BACKREFERENCE.search(source):
        return source
    by_first: dict[str, list[str]] = {}
    others: list[str] = []
    for branch in _flat_branches(_uncaptured(source)):
        if branch[:1].isalnum() and branch[1:2] not in ("?", "*", "+", "{"):  # a plain literal first
            by_first.setdefault(branch[0], []).append(branch[1:])
        else:
            others.append(branch)
    return "|".join([f"{first}(?:{'|'.join(rests)})" for first, rests in by_first.items()] + others)


def _uncaptured(source: str) -> str:
    """Every capturing group made non-capturing: "(x)" and "(?P<n>x)" -> "(?:x)"."""
    out: list[str] = []
    for kind, piece in _scan(source):
        out.append("(?:" if kind == "(" else piece)
    return "".join(out)


def _flat_branches(source: str) -> list[str]:
    """Top-level branches of `source`, none starting with a group: a leading "(?:...)" group
    (not repeated) is distributed over what follows it, "(?:a|b)c" -> "ac", "bc"."""
    out: list[str] = []
    for branch in _top_level_branches(source):
        leading = _leading_group(branch)
        if leading is None:
            out.append(branch)
            continue
        body, rest = leading
        for alternative in _top_level_branches(body):
            out.extend(_flat_branches(alternative + rest))
    return out


def _top_level_branches(source: str) -> list[str]:
    branches: list[str] = []
    depth = 0
    current: list[str] = []
    for kind, piece in _scan(source):
        if kind in ("(", "(?"):
            depth += 1
        elif kind == ")":
            depth -= 1
        elif kind == "|" and depth == 0:
            branches.append("".join(current))
            current = []
            continue
        current.append(piece)
    branches.append("".join(current))
    return branches


def _leading_group(branch: str) -> tuple[str, str] | None:
    """(body, rest) when `branch` is "(?:body)rest" and the group is not repeated."""
    if not branch.startswith("(?:"):
        return None
    depth = 0
    offset = 0
    for kind, piece in _scan(branch):
        offset += len(piece)
        if kind in ("(", "(?"):
            depth += 1
        elif kind == ")":
            depth -= 1
            if depth == 0:
                rest = branch[offset:]
                return None if rest.startswith(("?", "*", "+", "{")) else (branch[3 : offset - 1], rest)
    return None


def _scan(source: str) -> list[tuple[str, str]]:
    """Regex source as (kind, text) pieces: kind "(" is a capturing group's opening ("(" or
    "(?P<name>"), "(?" any other group's opening (up to the '?'), ")" and "|" themselves;
    everything else (escapes, character classes, other characters) has kind ""."""
    pieces: list[tuple[str, str]] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "\\":  # an escape, whatever it escapes
            pieces.append(("", source[i : i + 2]))
            i += 2
        elif char == "[":
            end = _class_end(source, i)
            pieces.append(("", source[i:end]))
            i = end
        elif char == "(" and source.startswith("(?P<", i):
            end = source.index(">", i) + 1
            pieces.append(("(", source[i:end]))
            i = end
        elif char == "(":
            kind = "(?" if source.startswith("(?", i) else "("
            pieces.append((kind, source[i : i + len(kind)]))
            i += len(kind)
        else:
            pieces.append((char if char in ")|" else "", char))
            i += 1
    return pieces


def _class_end(source: str, start: int) -> int:
    """Offset just past the character class opening at `start`."""
    i = start + 1
    if source.startswith("^", i):
        i += 1
    if source.startswith("]", i):  # a leading ']' is a literal, not the end of the class
        i += 1
    while i < len(source) and source[i] != "]":
        i += 2 if source[i] == "\\" else 1
    return i + 1


@functools.cache
def matches_ascii_ignoring_case(char: str) -> bool:
    """Whether re, ignoring case, matches `char` to some ASCII character: true for the ASCII
    letters and for a few others ("ſ" and "s", "İ" and "i", the Kelvin sign and "k")."""
    return any(re.match(re.escape(char), chr(code), re.IGNORECASE) for code in range(128))


_CASELESS_ESCAPES = frozenset("dDwWsSbBAZntrfv")  # escapes that mean the same in any letter case
_PLAIN_GROUP = re.compile(r"\(\?(?:[:=!]|<[=!]|P<)")  # (?:  (?=  (?!  (?<=  (?<!  (?P<name>


def lower_closed(source: str) -> bool:
    """Whether `source`, ignoring case on ASCII text, matches exactly where it matches the
    lower-cased text case-sensitively (same offsets, same group spans). Conservative: ASCII only,
    no upper-case letter, no flag groups or back-references, and each character class checked
    against every ASCII character."""
    if not source.isascii() or source.count("(?") != len(_PLAIN_GROUP.findall(source)):
        return False
    for kind, piece in _scan(source):
        if kind:
            continue  # a group opening (a name may have capitals), ")" or "|"
        if piece.startswith("\\"):
            letter = piece[1:]
            if letter.isalnum() and letter not in _CASELESS_ESCAPES:
                return False  # \x41, \u0041, \N{...}, back-references: could be any character
        elif piece.startswith("["):
            ignoring = re.compile(piece, re.IGNORECASE)
            exact = re.compile(piece)
            if any(
                (ignoring.fullmatch(c) is None) != (exact.fullmatch(c.lower()) is None) for c in map(chr, range(128))
            ):
                return False
        elif piece.isupper():
            return False
    return True


class FastPattern:
    """A pattern's search, same results, faster for many-branch alternations.

    Python's re tries every branch at every offset when branches start with an assertion
    ("\\b...") or a group, or ignore case. The prefilter is the pattern without those assertions
    and groups (prefilter_source; it matches wherever the original does), run case-sensitively
    on the lower-cased text when the text is ASCII and the pattern has no upper-case letter;
    the original then confirms each candidate offset, leftmost first, so matches are exactly
    the original's.
    """

    __slots__ = ("_exact_lowered", "_lowered", "_prefilter", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        source = _DROPPABLE_ASSERTION.sub("", pattern.pattern)
        if not pattern.flags & re.VERBOSE:
            source = prefilter_source(source)
        letters = source.replace("(?P<", "(").replace("(?P=", "(")  # group syntax, not text to match
        # lower-cased text only for lower-case letters (and no non-ASCII letter such as the long
        # s, which ignoring case matches an ASCII one)
        self._lowered = bool(pattern.flags & re.IGNORECASE) and not any(
            c.isupper() or (not c.isascii() and matches_ascii_ignoring_case(c)) for c in letters
        )
        flags = pattern.flags & ~re.IGNORECASE if self._lowered else pattern.flags
        self._prefilter = re.compile(source, flags)
        # the pattern itself for the lower-cased text, when it matches there as on the text
        self._exact_lowered = (
            re.compile(pattern.pattern, flags) if self._lowered and lower_closed(pattern.pattern) else None
        )

    def search(
        self, text: str, pos: int = 0, endpos: int = sys.maxsize, *, lowered: str | None = None
    ) -> re.Match[str] | None:
        """pattern.search(text, pos, endpos).

        `lowered`: text.lower() of an ASCII text, when the caller has it (several patterns on
        one text). Otherwise an ASCII text is lowered here, whole: pass a slice, not a long
        text with endpos.
        """
        if not self._lowered:
            haystack = text
        elif lowered is not None:
            haystack = lowered
        elif text.isascii():
            haystack = text.lower()
        else:
            return self.pattern.search(text, pos, endpos)
        # the first candidate offset where the pattern matches
        prefilter = self._prefilter.search
        candidate = prefilter(haystack, pos, endpos)
        while candidate is not None:
            start = candidate.start()
            match = self.pattern.match(text, start, endpos)
            if match is not None:
                return match
            candidate = prefilter(haystack, start + 1, endpos)
        return None

    @staticmethod
    def union_prefilter(patterns: Sequence[FastPattern]) -> re.Pattern[str] | None:
        """A pattern that finds something in a lower-cased ASCII text whenever one of `patterns`
        may match the text (no match there: none of them matches); None when one of them does
        not run on lower-cased text."""
        if not all(p._lowered for p in patterns):
            return None
        return re.compile(prefilter_source("|".join(f"(?:{p._prefilter.pattern})" for p in patterns)))

    def search_spans(self, text: str, lowered: str | None) -> re.Match[str] | None:
        """As search(text), but the match may be one on `lowered` (text.lower() of an ASCII text,
        or None), with the same offsets and group spans: read spans from it, not texts. Faster:
        case-sensitive confirmation instead of ignoring case."""
        exact = self._exact_lowered
        if lowered is None or exact is None:
            return self.search(text, lowered=lowered)
        prefilter = self._prefilter.search
        candidate = prefilter(lowered)
        while candidate is not None:
            start = candidate.start()
            match = exact.match(lowered, start)
            if match is not None:
                return match
            candidate = prefilter(lowered, start + 1)
        return None
