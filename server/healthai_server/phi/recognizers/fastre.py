"""Regex shapes that let Python's `re` skip ahead.

`re` scans quickly (a C loop over a character set) only when a pattern begins with a
plain character class. A pattern that begins with a look-behind or a case-insensitive
alternation of words is tried at every position. `word_alternation` rewrites
"mrn|medical record|chart" into "[MmCc](?<![A-Za-z].)(?i:(?<=m)rn|(?<=m)edical record|
(?<=c)hart)": the same language (words not preceded by a letter), but with a leading class.
"""

from __future__ import annotations


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
