"""The note split at every item boundary, so each piece knows which items cover it.

Items may overlap (a dose inside a medication mention); a piece covered by several items
lists them all, and the page highlights it once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from healthai_server.console.model import ReviewItem


@dataclass(frozen=True, slots=True)
class Piece:
    start: int
    end: int
    text: str
    items: tuple[int, ...]  # indexes into the task's items, in order


def pieces(note_text: str, items: Sequence[ReviewItem]) -> list[Piece]:
    """Consecutive pieces covering the whole note; spans outside the note are clipped."""
    length = len(note_text)
    spans = [(max(0, min(i.start, length)), max(0, min(i.end, length))) for i in items]
    cuts = sorted({0, length, *(s for s, _ in spans), *(e for _, e in spans)})
    result = []
    for start, end in itertools.pairwise(cuts):
        if start == end:
            continue
        covering = tuple(index for index, (s, e) in enumerate(spans) if s <= start and end <= e and s < e)
        result.append(Piece(start, end, note_text[start:end], covering))
    return result
