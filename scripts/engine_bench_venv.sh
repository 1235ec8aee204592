#!/usr/bin/env bash
# Creates .venv-bench (git-ignored): this project (editable) plus medspaCy 1.3.1, the
# baseline that bench/bench_engine.py compares the local engine with. medspaCy pins
# spaCy<3.8 and pulls numpy/thinc; keeping it out of .venv keeps the service lean.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
[ -x .venv-bench/bin/python ] || "$PY" -m venv .venv-bench
.venv-bench/bin/pip install -q --upgrade pip
.venv-bench/bin/pip install -q -e ./clients/python -e . "medspacy==1.3.1"
.venv-bench/bin/python -c "import medspacy, healthai_server.engine; print('bench venv ready')"
