"""Check hand-written real-text gold before conversion: every surface text must be in its note.

Usage: python scripts/real_gold_check.py DIR [--corpus ../shared/corpora/mtsamples-dev]

DIR holds <note id>.json files in the annotation-guide form (`[surface, occurrence, attrs]`
items; data/golden/clinical/ANNOTATION.md). Checks shape, kinds, that the surface occurs at
least occurrence+1 times (case-sensitive) and that no two items of one type share a span.
Prints counts per type; exits 1 on any problem. Standard library only: it never imports the
engine, so blind annotators can run it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TYPES = ("conditions", "medications", "vitals", "allergies")
VITAL_KINDS = {"SBP", "DBP", "HR", "RR", "TEMP", "SPO2", "WT", "HT", "BMI", "PAIN"}
CERTAINTY = {"positive", "negative", "neutral_possible", "possible_positive", "possible_negative"}
CONDITIONALITY = {"none", "hypothetical", "conditional"}
ASSOCIATION = {"subject", "other"}
TEMPORALITY = {"current", "past", "future"}


def occurrence_start(text: str, surface: str, occurrence: int) -> int:
    """Start of the given occurrence of surface in text, or -1."""
    start, position = -1, 0
    for _ in range(occurrence + 1):
        start = text.find(surface, position)
        if start < 0:
            return -1
        position = start + len(surface)
    return start


def check_note(note_id: str, gold: dict[str, Any], text: str) -> list[str]:
    problems: list[str] = []
    for type_name in TYPES:
        seen: set[tuple[int, int, str]] = set()
        for item in gold.get(type_name, []):
            where = f"{note_id} {type_name} {item!r:.80}"
            if not (isinstance(item, list) and len(item) == 3):
                problems.append(f"{where}: item must be [surface, occurrence, attrs]")
                continue
            surface, occurrence, attrs = item
            if not isinstance(surface, str) or not surface.strip():
                problems.append(f"{where}: empty surface")
                continue
            if not isinstance(occurrence, int) or occurrence < 0:
                problems.append(f"{where}: occurrence must be an int >= 0")
                continue
            if not isinstance(attrs, dict):
                problems.append(f"{where}: attrs must be an object")
                continue
            start = occurrence_start(text, surface, occurrence)
            if start < 0:
                problems.append(f"{where}: surface not found {occurrence + 1} time(s) in the note")
                continue
            kind = str(attrs.get("kind", "")) if type_name == "vitals" else ""
            key = (start, start + len(surface), kind)
            if key in seen:
                problems.append(f"{where}: duplicate span")
            seen.add(key)
            problems.extend(_check_attrs(where, type_name, attrs))
    if not isinstance(gold.get("nka", False), bool):
        problems.append(f"{note_id}: nka must be true or false")
    return problems


def _check_attrs(where: str, type_name: str, attrs: dict[str, Any]) -> list[str]:
    problems = []
    if type_name == "vitals" and attrs.get("kind") not in VITAL_KINDS:
        problems.append(f"{where}: vital kind must be one of {sorted(VITAL_KINDS)}")
    if (
        type_name == "vitals"
        and "value" in attrs
        and (isinstance(attrs["value"], bool) or not isinstance(attrs["value"], (int, float)))
    ):
        problems.append(f"{where}: vital value must be a number (write 96, not '96%')")
    if type_name == "conditions":
        for axis, allowed in (
            ("certainty", CERTAINTY),
            ("conditionality", CONDITIONALITY),
            ("association", ASSOCIATION),
            ("temporality", TEMPORALITY),
        ):
            if axis in attrs and attrs[axis] not in allowed:
                problems.append(f"{where}: {axis} must be one of {sorted(allowed)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold_dir", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpora/mtsamples-dev"))
    args = parser.parse_args(argv)
    problems: list[str] = []
    counts = dict.fromkeys(TYPES, 0)
    files = sorted(args.gold_dir.glob("*.json"))
    for path in files:
        note_path = args.corpus / "notes" / f"{path.stem}.txt"
        if not note_path.is_file():
            problems.append(f"{path.name}: no note {note_path}")
            continue
        try:
            gold = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}: not JSON ({exc})")
            continue
        problems.extend(check_note(path.stem, gold, note_path.read_text(encoding="utf-8")))
        for type_name in TYPES:
            counts[type_name] += len(gold.get(type_name, []))
    for problem in problems:
        print(problem)
    print(f"{len(files)} notes; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
