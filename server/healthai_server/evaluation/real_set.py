"""The real-text evaluation set: gold kept here, notes read from a corpus outside the repository.

data/golden/real/split.json names the note ids of each part (`dev`, `blind`, and one
`blind<N>` part per later round: every list-valued key is a part);
data/golden/real/gold/<note id>.json holds `[start, end, attrs]` items and the note's
SHA-256, so a changed corpus is an error rather than silently shifted spans. The notes are
public MTSamples transcriptions in ../shared/corpora/mtsamples-dev beside the checkout; the
license of that copy does not let us redistribute them here, and every note is treated as
PHI all the same, so only offsets and labels are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS_ENV = "HEALTHAI_REAL_CORPUS"


class RealSetError(Exception):
    """The real-text set cannot be read: missing corpus, unknown part, or a changed note."""


@dataclass(frozen=True)
class RealNote:
    note_id: str
    text: str
    gold: dict[str, Any]


def default_real_dir() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "data" / "golden" / "real"
        if candidate.is_dir():
            return candidate
    return Path("data/golden/real")


def default_corpus_dir() -> Path:
    """`$HEALTHAI_REAL_CORPUS`, else ../shared/corpora/mtsamples-dev beside the checkout."""
    configured = os.environ.get(CORPUS_ENV)
    if configured:
        return Path(configured)
    repo_root = default_real_dir().parent.parent.parent
    return repo_root.parent / "shared" / "corpora" / "mtsamples-dev"


def note_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parts(real_dir: Path) -> list[str]:
    """The parts split.json defines, in file order (each blind round adds one)."""
    split = json.loads((real_dir / "split.json").read_text(encoding="utf-8"))
    return [name for name, ids in split.items() if isinstance(ids, list)]


def part_ids(real_dir: Path, part: str) -> list[str]:
    split = json.loads((real_dir / "split.json").read_text(encoding="utf-8"))
    known = parts(real_dir)
    if part == "all":
        return sorted({note_id for name in known for note_id in split[name]})
    if part not in known:
        raise RealSetError(f"unknown part {part!r}; expected one of {', '.join(known)} or all")
    return list(split[part])


def load_notes(real_dir: Path, corpus_dir: Path, part: str) -> Iterator[RealNote]:
    """Annotated notes of one part, in split order; ids without a gold file are skipped."""
    notes_dir = corpus_dir / "notes"
    if not notes_dir.is_dir():
        raise RealSetError(f"corpus not found: {notes_dir} (set --corpus or ${CORPUS_ENV})")
    for note_id in part_ids(real_dir, part):
        gold_path = real_dir / "gold" / f"{note_id}.json"
        if not gold_path.exists():
            continue
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        note_path = notes_dir / f"{note_id}.txt"
        if not note_path.is_file():
            raise RealSetError(f"{note_id}: note missing from the corpus")
        text = note_path.read_text(encoding="utf-8")
        if gold.get("note_sha256") != note_digest(text):
            raise RealSetError(f"{note_id}: the corpus note differs from the one annotated")
        yield RealNote(note_id, text, gold)
