"""Bounded typo tolerance for condition names: one edit, long words only, guarded.

A token of at least MIN_LENGTH letters that is in no vocabulary of the engine is read as a
one-word condition name when exactly one such name is one edit away (a deletion, insertion,
substitution or transposition: "pnuemonia", "cellulitus", "hypertenison") and the two share
their first two letters ("afebrile" is not "febrile"); a plural of a name is that name. Ordinary English
words one edit from a condition name ("dwelling" / "swelling", "breeding" / "bleeding") are
never corrected: data/typo_guard.txt lists them (built by scripts/engine_build_typo_guard.py
from the SCOWL word list, checked fresh by a test). Lookups are symmetric deletes: a few dict
probes per long unknown word, whatever the vocabulary size.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

MIN_LENGTH = 7


def deletes(word: str) -> set[str]:
    """The word and every string one deletion away from it."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def load_guard() -> frozenset[str]:
    try:
        text = resources.files("healthai_server.engine").joinpath("data", "typo_guard.txt").read_text("utf-8")
    except FileNotFoundError:
        return frozenset()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


class TypoCorrector:
    def __init__(self, vocabulary: Iterable[str], guard: frozenset[str] | None = None) -> None:
        self.vocabulary = frozenset(w for w in vocabulary if len(w) >= MIN_LENGTH and w.isalpha())
        self._guard = guard if guard is not None else load_guard()
        # A word longer than this is more than one edit from every name: not corrected (and its
        # deletes, quadratic in its length, never built: a note of one 1 MB "word" stays linear).
        self._max_length = max(map(len, self.vocabulary), default=0) + 1
        index: dict[str, set[str]] = {}
        for word in self.vocabulary:
            for key in deletes(word):
                index.setdefault(key, set()).add(word)
        # one tuple per key (sets cost more memory than the few words they hold)
        self._index = {key: tuple(sorted(words)) for key, words in index.items()}
        self.correct = functools.lru_cache(maxsize=8192)(self._correct)

    def _correct(self, word: str) -> str | None:
        """The one vocabulary word one edit from `word` (lower case), or None."""
        if not MIN_LENGTH <= len(word) <= self._max_length or word in self.vocabulary or word in self._guard:
            return None
        if not word.isalpha():
            return None
        for suffix in ("s", "es"):  # a plural of a name ("hematomas") is that name, not a neighbour
            if word.endswith(suffix) and word[: -len(suffix)] in self.vocabulary:
                return word[: -len(suffix)]
        found: set[str] = set()
        for key in deletes(word):
            found.update(self._index.get(key, ()))
        # Typists rarely get the first two letters wrong, and a changed start changes the meaning
        # ("afebrile" is not "febrile").
        found = {c for c in found if c[:2] == word[:2] and _one_edit(word, c)}
        return found.pop() if len(found) == 1 else None


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance 1, or one transposition of neighbours (symmetric deletes also pair
    words two substitutions apart: "abcd"/"abdc" is a transposition, "abcd"/"axcy" is not)."""
    if a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]
