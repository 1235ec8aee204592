"""Stand-alone validator for PHI golden files (blind / held-out evaluation sets).

Usage: python scripts/phi_blind_check.py [path/to/golden.json]

Defaults to data/golden/phi/blind.json. Checks that
  * the file has the shape {"_doc": str, "seed": ..., "notes": [...]},
  * every note has a unique id and string family/template/text,
  * every span has int start < end inside the text, text[start:end] == span text,
  * spans within a note do not overlap,
  * every span type is an allowed PhiType value.
Prints span counts per type and note/span counts per template. Exits 1 on any problem.
Standard library only; it never imports the detector.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "name",
        "date",
        "organization",
        "medical_record_number",
        "phone",
        "fax",
        "city",
        "street_address",
        "zip_code",
        "county",
        "age",
        "email",
        "ssn",
        "health_plan_number",
        "account_number",
        "license_number",
        "vehicle_identifier",
        "device_identifier",
        "url",
        "ip_address",
        "other_identifier",
    }
)

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "golden" / "phi" / "blind.json"


def _check_spans(note_id: str, text: str, spans: Any, problems: list[str], type_counts: Counter[str]) -> int:
    """Validate one note's spans; return how many spans were well-formed."""
    if not isinstance(spans, list):
        problems.append(f"{note_id}: 'spans' is not a list")
        return 0
    good: list[tuple[int, int, str]] = []
    for i, span in enumerate(spans):
        where = f"{note_id} span[{i}]"
        if not isinstance(span, dict):
            problems.append(f"{where}: not an object")
            continue
        start, end, typ, stext = span.get("start"), span.get("end"), span.get("type"), span.get("text")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
            problems.append(f"{where}: start/end must be integers (got {start!r}, {end!r})")
            continue
        if not 0 <= start < end <= len(text):
            problems.append(f"{where}: bad offsets {start}..{end} for text of length {len(text)}")
            continue
        if typ not in ALLOWED_TYPES:
            problems.append(f"{where}: type {typ!r} is not an allowed PhiType")
        if stext != text[start:end]:
            problems.append(f"{where}: text {stext!r} != text[{start}:{end}] {text[start:end]!r}")
        if isinstance(typ, str):
            type_counts[typ] += 1
        good.append((start, end, str(typ)))
    good.sort()
    for (s1, e1, t1), (s2, e2, t2) in pairwise(good):
        if s2 < e1:
            first, second = f"{t1}[{s1}:{e1}] {text[s1:e1]!r}", f"{t2}[{s2}:{e2}] {text[s2:e2]!r}"
            problems.append(f"{note_id}: overlapping spans {first} and {second}")
    return len(good)


def validate(data: Any) -> tuple[list[str], Counter[str], Counter[str], Counter[str]]:
    """Return (problems, span counts per type, note counts per template, span counts per template)."""
    problems: list[str] = []
    type_counts: Counter[str] = Counter()
    template_notes: Counter[str] = Counter()
    template_spans: Counter[str] = Counter()
    if not isinstance(data, dict):
        return ["top level is not an object"], type_counts, template_notes, template_spans
    if not isinstance(data.get("_doc"), str) or not data["_doc"].strip():
        problems.append("'_doc' missing or empty")
    if "seed" not in data:
        problems.append("'seed' key missing")
    notes = data.get("notes")
    if not isinstance(notes, list) or not notes:
        problems.append("'notes' missing, not a list, or empty")
        return problems, type_counts, template_notes, template_spans
    seen: set[str] = set()
    for idx, note in enumerate(notes):
        if not isinstance(note, dict):
            problems.append(f"notes[{idx}]: not an object")
            continue
        note_id = note.get("id")
        if not isinstance(note_id, str) or not note_id:
            problems.append(f"notes[{idx}]: missing id")
            note_id = f"notes[{idx}]"
        elif note_id in seen:
            problems.append(f"{note_id}: duplicate id")
        seen.add(note_id)
        for key in ("family", "template", "text"):
            if not isinstance(note.get(key), str) or not note[key]:
                problems.append(f"{note_id}: '{key}' missing or not a non-empty string")
        text = note.get("text")
        if not isinstance(text, str):
            continue
        template = str(note.get("template"))
        template_notes[template] += 1
        template_spans[template] += _check_spans(note_id, text, note.get("spans"), problems, type_counts)
    return problems, type_counts, template_notes, template_spans


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"ERROR: cannot load {path}: {exc}")
        return 1
    problems, type_counts, template_notes, template_spans = validate(data)
    n_notes = sum(template_notes.values())
    print(f"{path}: {n_notes} notes, {sum(type_counts.values())} spans")
    print("\nSpans per type:")
    for typ, count in type_counts.most_common():
        print(f"  {typ:<24} {count:>5}")
    print("\nNotes / spans per template:")
    for template, count in sorted(template_notes.items()):
        print(f"  {template:<28} {count:>3} notes {template_spans[template]:>5} spans")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
