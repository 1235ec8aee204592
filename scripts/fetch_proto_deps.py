"""Fetch buf/validate/validate.proto from the protovalidate sdist on PyPI.

The protovalidate wheel ships no .proto files; its sdist does (upstream/proto/).
We download the pinned sdist with pip (the registry is reachable, the BSR is not)
and extract the one file into build/proto-deps, which is git-ignored.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST_VERSION = "1.1.2"
MEMBER_SUFFIX = "upstream/proto/buf/validate/validate.proto"
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "build" / "proto-deps" / "buf" / "validate" / "validate.proto"


def main() -> int:
    if TARGET.exists():
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                tmp,
                f"protovalidate=={SDIST_VERSION}",
            ],
            check=True,
        )
        (sdist,) = Path(tmp).glob("protovalidate-*.tar.gz")
        with tarfile.open(sdist) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith(MEMBER_SUFFIX))
            extracted = archive.extractfile(member)
            assert extracted is not None
            TARGET.parent.mkdir(parents=True, exist_ok=True)
            TARGET.write_bytes(extracted.read())
    print(f"fetched {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
