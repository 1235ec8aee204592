"""Build phi/safe/data/icd10cm_words.txt from the ICD-10-CM code set (build time only).

    python -m healthai_server.phi.safe.build

Source: the FY2026 ICD-10-CM descriptions shipped by the PyPI package simple-icd-10-cm 1.5.0
(MIT; the code set itself is public domain, CDC/NCHS). Every word of every description,
lower-cased, one a line. The de-identifier reads the file; it never imports the package
(a 3 s import in every worker).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "icd10cm_words.txt"
_WORD = re.compile(r"[^\W\d_]{2,}")


def icd_words() -> list[str]:
    import simple_icd_10_cm as icd

    words: set[str] = set()
    for code in icd.get_all_codes(with_dots=False):
        words.update(w.lower() for w in _WORD.findall(icd.get_description(code)))
    return sorted(words)


def main() -> int:
    words = icd_words()
    header = "# Words of the ICD-10-CM FY2026 descriptions (simple-icd-10-cm 1.5.0); built by safe/build.py\n"
    OUT.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
