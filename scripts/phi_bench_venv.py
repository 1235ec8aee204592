"""Add the PHI benchmark's baseline (Presidio 2.2.366) to .venv-bench, creating it if needed.

    python3.11 scripts/phi_bench_venv.py

.venv-bench is shared with the engine benchmark (scripts/engine_bench_venv.sh, medSpaCy):
this only ADDS packages to it and never recreates it. Presidio needs spaCy (blank English
is enough here: no NER model can be installed); both pins fit medSpaCy's spaCy<3.8.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-bench"
PACKAGES = ["presidio-analyzer==2.2.366", "names==0.3.0"]


def main() -> int:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    # The package depends on the repository's own client (clients/python), which is not on an index.
    client = str(ROOT / "clients" / "python")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", client, "-e", str(ROOT), *PACKAGES], check=True)
    subprocess.run(
        [str(python), "-c", "import presidio_analyzer, healthai_server.phi; print('phi bench venv ready')"], check=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
