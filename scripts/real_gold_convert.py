"""Turn annotators' real-text gold (surface + occurrence) into the stored form (offsets only).

Usage: python scripts/real_gold_convert.py SRC_DIR [--corpus DIR] [--out data/golden/real/gold] [--ids a,b]

Annotators write `[surface, occurrence, attrs]` items (data/golden/clinical/ANNOTATION.md),
which is easy to write and check by eye. The repository keeps no note text, so each item is
stored as `[start, end, attrs]` with the note's SHA-256; the evaluator re-reads the note
from the corpus and refuses a note that changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_gold_check import TYPES, check_note, occurrence_start


def convert(gold: dict[str, object], text: str) -> dict[str, object]:
    stored: dict[str, object] = {
        "note_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "specialty": gold.get("specialty", ""),
    }
    for type_name in TYPES:
        items = []
        for surface, occurrence, attrs in gold.get(type_name, []):  # type: ignore[attr-defined]
            start = occurrence_start(text, surface, occurrence)
            items.append([start, start + len(surface), attrs])
        items.sort(key=lambda item: (item[0], item[1]))
        stored[type_name] = items
    stored["nka"] = bool(gold.get("nka", False))
    return stored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpora/mtsamples-dev"))
    parser.add_argument("--out", type=Path, default=Path("data/golden/real/gold"))
    parser.add_argument("--ids", default="", help="comma-separated note ids (default: every file in SRC)")
    args = parser.parse_args(argv)
    wanted = {i for i in args.ids.split(",") if i}
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    written = 0
    for path in sorted(args.src.glob("*.json")):
        if wanted and path.stem not in wanted:
            continue
        text = (args.corpus / "notes" / f"{path.stem}.txt").read_text(encoding="utf-8")
        gold = json.loads(path.read_text(encoding="utf-8"))
        problems = check_note(path.stem, gold, text)
        if problems:
            failed += 1
            print("\n".join(problems), file=sys.stderr)
            continue
        stored = convert(gold, text)
        out = args.out / path.name
        out.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
        written += 1
    print(f"written {written}, refused {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
