"""Regex alternations that let Python's `re` skip ahead: the one helper module for them.

Used by phi/ (case-insensitive cue words: `word_alternation`, `word_branches`,
`split_top_level`) and meant for engine/ too (case-sensitive lexicons: `first_char_alternation`
and `literal_alternation`, the same as engine/text.py's first_char_alternation and
word_alternation, which stay there until the engine switches to this module).

`re` scans quickly (a C loop over a character set) only when a pattern begins with a
plain character class. A pattern that begins with a look-behind or a case-insensitive
alternation of words is tried at every position. `word_alternation` rewrites
"mrn|medical record|chart" into "[MmCc](?<![A-Za-z].)(?i:(?<=m)rn|(?<=m)edical record|
(?<=c)hart)": the same language (words not preceded by a letter), but with a leading class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def split_top_level(alternation: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    escaped = False
    in_class = False
    for ch in alternation:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _expand_leading_group(part: str) -> list[str]:
    """ "(?:his|her)\\swife" -> ["his\\swife", "her\\swife"]: give every alternative a literal start."""
    if not part.startswith("(?:"):
        return [part]
    depth = 0
    for index, ch in enumerate(part):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                inner, rest = part[3:index], part[index + 1 :]
                if rest[:1] in ("?", "*", "+", "{"):
                    raise ValueError("a leading group must not be optional")
                return [e for alt in split_top_level(inner) for e in _expand_leading_group(alt + rest)]
    raise ValueError("unbalanced group")


def word_branches(alternation: str, ignore_case: bool = True) -> tuple[str, str]:
    """(leading letters, "(?i:(?<=m)rn|...)"): the alternation after its first letter was consumed."""
    parts = [e for p in split_top_level(alternation) for e in _expand_leading_group(p)]
    if any(not p or not p[0].isalpha() or p[0] in "\\[(" for p in parts):
        raise ValueError("every alternative must start with a letter")
    if not ignore_case:
        exact = sorted({p[0] for p in parts})
        groups = []
        for first in exact:
            rests = sorted((p[1:] for p in parts if p[0] == first), key=len, reverse=True)
            groups.append(f"(?<={first})(?:{'|'.join(rests)})")
        return "".join(exact), f"(?:{'|'.join(groups)})"
    firsts = sorted({p[0].lower() for p in parts})
    leading = "".join(c + c.upper() for c in firsts)
    groups = []
    for first in firsts:
        rests = sorted((p[1:] for p in parts if p[0].lower() == first), key=len, reverse=True)
        groups.append(f"(?<={first})(?:{'|'.join(rests)})")
    return leading, f"(?i:{'|'.join(groups)})"


def word_alternation(alternation: str, ignore_case: bool = True) -> str:
    """Words (case-insensitive by default), not preceded by a letter, with a leading character class."""
    leading, branches = word_branches(alternation, ignore_case)
    return f"[{leading}](?<![A-Za-z].){branches}"


def first_char_alternation(branches: Iterable[tuple[str, str]], guard: str = "") -> str:
    """Regex source of the alternation of `branches`, given as (first character, rest as regex
    source), grouped by first character: "(?:a(?:b|c)|d(?:e))" for ab|ac|de. Case-sensitive.

    re tries the branches of an alternation one by one at each offset; grouped, it rejects a
    group on one character comparison, and within a group it tries the branches in the given
    order, so matches are the plain alternation's. `guard`, a negative look-behind character
    class such as "[a-z/]", is checked right after the first character, where re can still see
    the first characters (and skip offsets where none is).
    """
    groups: dict[str, list[str]] = {}
    for first, rest in branches:
        groups.setdefault(first, []).append(rest)
    out = []
    for first, rests in groups.items():
        char = re.escape(first)
        check = f"(?<!{guard}{char})" if guard else ""
        out.append(f"{char}{check}(?:{'|'.join(rests)})")
    return "(?:" + "|".join(out) + ")"


def literal_alternation(words: Sequence[str], not_after: str) -> str:
    """ "(?<!not_after)(?:w1|w2|...)" for literal words, case-sensitive, grouped by first character."""
    if not all(words):
        raise ValueError("literal_alternation: empty word")
    return first_char_alternation(((word[0], re.escape(word[1:])) for word in words), not_after)
