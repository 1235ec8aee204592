"""Word lists of phi/data read as data: one fact, one file, loaded by one function each."""

from __future__ import annotations

import functools
import re
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
# Two-letter USPS abbreviations that are ordinary words or clinical abbreviations in Title case
# ("Is", "Pr", "Dm", "Br"): matched only in ALL CAPS.
_TITLE_CASE_EXCLUDED = frozenset(
    {"IS", "UN", "PR", "DM", "DV", "DL", "BR", "CP", "CV", "HL", "LF", "ML", "VL", "WL", "WY", "KY", "FT", "MT",
     "BG", "VW", "RAD", "VIA", "VIS", "CEN", "EST", "EXP", "COR", "DIV", "ARC", "PARKS", "STOP", "SIDE", "REAR"}
)  # fmt: skip


def _words(name: str) -> list[list[str]]:
    rows = []
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        content = line.split("#", 1)[0].split()
        if content:
            rows.append(content)
    return rows


def _alternation(words: set[str]) -> str:
    """Longest first, so that "Stravenue" wins over "Stra"."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


@functools.cache
def street_suffix_re() -> str:
    """USPS C1 street suffixes, Title case and ALL CAPS, as a regex alternation (no group)."""
    words = {w for row in _words("usps_street_suffixes.txt") for w in row}
    forms = {w for w in words if len(w) > 1} | {w.title() for w in words if w not in _TITLE_CASE_EXCLUDED}
    return f"(?:{_alternation(forms)})"


@functools.cache
def unit_designator_re() -> str:
    """USPS C2 secondary unit designators ("Apt", "Suite", "Bldg"), Title case and ALL CAPS, and "#"."""
    words = {w for row in _words("usps_unit_designators.txt") for w in row}
    forms = words | {w.title() for w in words}
    return f"(?:{_alternation(forms)}|#)"


@functools.cache
def foreign_month_re() -> str:
    """Month names in Spanish, Portuguese, French, Italian and German, lower, Title or UPPER
    case, as a regex that starts with a character class: Python's `re` then skips ahead fast,
    which it cannot do for an alternation or under IGNORECASE (no group; use without the
    IGNORECASE flag)."""
    words = {w for row in _words("month_names.txt") for w in row}
    firsts = "".join(sorted({c for w in words for c in (w[0], w[0].upper())}))
    rests = {w[1:] for w in words} | {w[1:].upper() for w in words}
    return f"(?:[{firsts}](?:{_alternation(rests)}))"


@functools.cache
def _sections(name: str) -> dict[str, frozenset[str]]:
    sections: dict[str, set[str]] = {}
    current = ""
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        content = line.split("#", 1)[0].strip()
        if content.startswith("[") and content.endswith("]"):
            current = content[1:-1]
            sections.setdefault(current, set())
        elif content:
            sections.setdefault(current, set()).update(content.split())
    return {k: frozenset(v) for k, v in sections.items()}


def word_section(name: str, section: str) -> frozenset[str]:
    """The words of one [section] of a data file under phi/data, case kept. A missing section
    is an error at import, not an empty list."""
    return _sections(name)[section]
