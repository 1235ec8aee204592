"""Inter-annotator agreement on real-text gold: how far two annotators of the same notes agree.

Usage: python scripts/real_gold_agreement.py DIR_A DIR_B [--corpus ../shared/corpora/mtsamples-dev]

DIR_A and DIR_B hold `<note id>.json` files for the same notes, in the annotation-guide form
(`[surface, occurrence, attrs]`, data/golden/clinical/ANNOTATION.md) or the stored form
(`[start, end, attrs]`, data/golden/real/gold and data/golden/real/second). Items are matched
the way the evaluator matches the engine against gold (one to one, spans overlapping, vitals
of the same kind), so B scored against A is the F1 a perfect engine could expect against one
annotator: the ceiling the engine's targets should be read against. Also prints agreement on
the assertion (all four axes) and on the ICD-10-CM code over matched conditions where both
gave one. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_gold_check import TYPES, occurrence_start

ASSERTION_DEFAULTS = {
    "certainty": "positive",
    "conditionality": "none",
    "association": "subject",
    "temporality": "current",
}

Item = tuple[int, int, dict[str, Any]]


def spans(text: str, items: list[Any]) -> list[Item]:
    located = []
    for surface, occurrence, attrs in items:
        if isinstance(surface, int):
            located.append((surface, int(occurrence), dict(attrs)))
            continue
        start = occurrence_start(text, surface, int(occurrence))
        if start < 0:
            raise ValueError(f"surface not found (occurrence {occurrence})")
        located.append((start, start + len(surface), dict(attrs)))
    return located


def match(first: list[Item], second: list[Item], kind: str) -> list[tuple[Item, Item]]:
    """One-to-one pairs in `first` order, the first overlapping unused item of `second`."""
    used: set[int] = set()
    pairs = []
    for item in first:
        for index, other in enumerate(second):
            if index in used or not (other[0] < item[1] and other[1] > item[0]):
                continue
            if kind == "vitals" and other[2].get("kind") != item[2].get("kind"):
                continue
            used.add(index)
            pairs.append((item, other))
            break
    return pairs


def assertion(attrs: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(attrs.get(axis, default)) for axis, default in ASSERTION_DEFAULTS.items())


class Tally:
    def __init__(self) -> None:
        self.counts = {kind: [0, 0, 0] for kind in TYPES}  # matched, only in A, only in B
        self.assertion = [0, 0]  # agreeing, compared
        self.code = [0, 0]

    def add_note(self, text: str, gold_a: dict[str, Any], gold_b: dict[str, Any]) -> None:
        for kind in TYPES:
            items_a = spans(text, gold_a.get(kind, []))
            items_b = spans(text, gold_b.get(kind, []))
            pairs = match(items_a, items_b, kind)
            counts = self.counts[kind]
            counts[0] += len(pairs)
            counts[1] += len(items_a) - len(pairs)
            counts[2] += len(items_b) - len(pairs)
            if kind != "conditions":
                continue
            for (_, _, attrs_a), (_, _, attrs_b) in pairs:
                self.assertion[1] += 1
                self.assertion[0] += assertion(attrs_a) == assertion(attrs_b)
                if attrs_a.get("code") and attrs_b.get("code"):
                    self.code[1] += 1
                    self.code[0] += attrs_a["code"] == attrs_b["code"]

    def report(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for kind, (matched, only_a, only_b) in self.counts.items():
            denominator = 2 * matched + only_a + only_b
            result[kind] = {
                "f1": round(2 * matched / denominator, 3) if denominator else None,
                "matched": matched,
                "only_a": only_a,
                "only_b": only_b,
            }
        result["assertion_agreement"] = round(self.assertion[0] / self.assertion[1], 3) if self.assertion[1] else None
        result["code_agreement"] = round(self.code[0] / self.code[1], 3) if self.code[1] else None
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir_a", type=Path)
    parser.add_argument("dir_b", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpora/mtsamples-dev"))
    args = parser.parse_args(argv)
    tally = Tally()
    notes = 0
    for path_a in sorted(args.dir_a.glob("*.json")):
        path_b = args.dir_b / path_a.name
        if not path_b.exists():
            continue  # the second annotator covers only some parts
        text = (args.corpus / "notes" / f"{path_a.stem}.txt").read_text(encoding="utf-8")
        gold_a = json.loads(path_a.read_text(encoding="utf-8"))
        gold_b = json.loads(path_b.read_text(encoding="utf-8"))
        tally.add_note(text, gold_a, gold_b)
        notes += 1
    print(json.dumps({"notes": notes, **tally.report()}, indent=2))
    return 0 if notes else 1


if __name__ == "__main__":
    raise SystemExit(main())
