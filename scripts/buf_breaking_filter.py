"""Drop the breaking changes the team accepted on purpose; print and count the rest.

Reads `buf breaking --error-format json` on stdin. An accepted change is one line of
buf-breaking-accepted.txt: `RULE<TAB>path<TAB>message`, matched exactly (line numbers
are ignored, they move). A later change of the same option to another value has
another message, so it still fails. Exit 1 when anything is left.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ACCEPTED = Path(__file__).resolve().parent.parent / "buf-breaking-accepted.txt"


def accepted() -> set[tuple[str, str, str]]:
    entries = set()
    for line in ACCEPTED.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rule, path, message = line.split("\t")
            entries.add((rule, path, message))
    return entries


def main() -> int:
    allowed = accepted()
    left = skipped = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        if (item["type"], item["path"], item["message"]) in allowed:
            skipped += 1
            continue
        left += 1
        print(f"{item['path']}:{item.get('start_line', 0)}: {item['message']} ({item['type']})")
    if skipped:
        print(f"buf breaking: {skipped} accepted change(s) listed in {ACCEPTED.name} ignored")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
