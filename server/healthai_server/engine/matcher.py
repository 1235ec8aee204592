"""Phrase lookup over tokens: a token trie, longest match from each position.

Cost is linear in the number of tokens times the longest phrase, whatever the size of
the lexicon (the hint's "Aho-Corasick-like dict lookup over tokens").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from healthai_server.engine.text import Tokens, token_texts

P = TypeVar("P")

_SKIPPABLE = frozenset({"-"})  # "non-insulin" == "non insulin"; phrases are stored without hyphens


@dataclass(slots=True)
class _Node(Generic[P]):
    children: dict[str, _Node[P]] = field(default_factory=dict)
    # (payload, exact-case token tuple or None when any case matches)
    terminals: list[tuple[P, tuple[str, ...] | None]] = field(default_factory=list)
    # the payloads when no terminal needs an exact case (set once the trie is built)
    plain: tuple[P, ...] | None = None


@dataclass(slots=True)  # per note, never shared; a frozen __init__ costs 2x
class PhraseMatch(Generic[P]):
    start: int  # first token index
    end: int  # one past the last token index
    payloads: tuple[P, ...]


def phrase_tokens(phrase: str) -> list[str]:
    return [token for token in token_texts(phrase) if token not in _SKIPPABLE]


class PhraseMatcher(Generic[P]):
    """Phrases written with a leading '=' match only with exactly that letter case."""

    def __init__(self, phrases: Iterable[tuple[str, P]], *, plurals: bool = False) -> None:
        """`plurals`: a word after a phrase's first may be the plural of the word the phrase has
        ("gastric ulcers", "myocardial infarctions"), tried only where the written word has no
        branch; read at match time, so the trie holds no plural copies (memory)."""
        self._root: _Node[P] = _Node()
        self._plurals = plurals
        self.size = 0
        for phrase, payload in phrases:
            exact = phrase.startswith("=")
            tokens = phrase_tokens(phrase[1:] if exact else phrase)
            if not tokens:
                continue
            node = self._root
            for token in tokens:
                child = node.children.get(token.lower())
                if child is None:  # (setdefault would build a node per token to throw away)
                    child = node.children[token.lower()] = _Node()
                node = child
            node.terminals.append((payload, tuple(tokens) if exact else None))
            self.size += 1
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.terminals and all(exact is None for _, exact in node.terminals):
                node.plain = tuple(payload for payload, _ in node.terminals)
            stack.extend(node.children.values())

    def match_at(self, tokens: Tokens, i: int) -> PhraseMatch[P] | None:
        """The longest phrase starting at token i."""
        lower = tokens.lower
        n = len(lower)
        node = self._root.children.get(lower[i])
        if node is None:
            return None
        best_end = 0
        best: tuple[P, ...] = ()
        j = i
        while True:
            j += 1
            if node.terminals:
                payloads = (
                    node.plain
                    if node.plain is not None
                    else tuple(
                        payload
                        for payload, exact in node.terminals
                        if exact is None or self._same_case(tokens, i, j, exact)
                    )
                )
                if payloads:
                    best_end, best = j, payloads
            if j >= n or not node.children:
                break
            k = j
            while k < n and lower[k] in _SKIPPABLE and tokens.starts[k] - tokens.ends[k - 1] <= 1:
                k += 1
            if k >= n:
                break
            child = node.children.get(lower[k])
            if child is None and self._plurals:
                child = _singular_child(node, lower[k])
            if child is None:
                break
            node = child
            j = k
        return PhraseMatch(i, best_end, best) if best_end else None

    @staticmethod
    def _same_case(tokens: Tokens, i: int, j: int, exact: tuple[str, ...]) -> bool:
        written = [tokens.raw[k] for k in range(i, j) if tokens.lower[k] not in _SKIPPABLE]
        return tuple(written) == exact

    @property
    def first_words(self) -> Iterable[str]:
        """The words a phrase can start with (lower case)."""
        return self._root.children.keys()

    def find_all(self, tokens: Tokens, candidates: Sequence[int] | None = None) -> list[PhraseMatch[P]]:
        """Leftmost-longest, non-overlapping matches in token order.

        `candidates`: the indices of the tokens in first_words, when the caller has them
        (text.WordIndex finds them for several matchers in one pass).
        """
        found: list[PhraseMatch[P]] = []
        children = self._root.children
        lower = tokens.lower
        n = len(lower)
        match_at = self.match_at
        next_free = 0
        if candidates is None:  # only tokens that can start a phrase (a dict lookup each)
            candidates = [k for k, word in enumerate(lower) if word in children]
        for i in candidates:
            if i < next_free:
                continue
            node = children[lower[i]]
            following = lower[i + 1] if i + 1 < n else ""
            if (
                following not in node.children
                and following not in _SKIPPABLE
                and not (self._plurals and _singular_child(node, following) is not None)
            ):
                # No phrase goes on past this word (most candidates): the match, if any, is the
                # word itself, as match_at would find.
                if node.plain is not None:
                    found.append(PhraseMatch(i, i + 1, node.plain))
                    next_free = i + 1
                    continue
                if not node.terminals:
                    continue
            match = match_at(tokens, i)
            if match is not None:
                found.append(match)
                next_free = match.end
        return found


def _singular_child(node: _Node[P], word: str) -> _Node[P] | None:
    """The branch for the singular of a plural noun ("ulcers", "abscesses", "abnormalities")."""
    if len(word) < 4 or word[-1] != "s":
        return None
    children = node.children
    if word.endswith("ies"):
        found = children.get(word[:-3] + "y")
        if found is not None:
            return found
    found = children.get(word[:-1])
    if found is None and word.endswith("es"):
        found = children.get(word[:-2])
    return found
