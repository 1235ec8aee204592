"""The Python SDK installs alone: a fresh venv, `pip install clients/python` (a real wheel
build, not editable), at most 6 distributions, the `healthai` CLI on PATH, and the SDK's
own tests passing there, away from the server and the repository's import path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "clients" / "python"
MAX_PACKAGES = 6

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_sdk_installs_alone_with_few_packages_and_passes_its_tests(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # A copy, so the build never writes egg-info or build/ into the repository.
    source = tmp_path / "src"
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__", ".pytest_cache"))
    _run(python, "-m", "pip", "install", "--quiet", source, cwd=tmp_path)

    listed = json.loads(_run(python, "-m", "pip", "list", "--format=json", cwd=tmp_path))
    installed = sorted(p["name"].lower() for p in listed if p["name"].lower() not in ("pip", "setuptools", "wheel"))
    assert "healthai-client" in installed
    assert "healthai" not in installed  # the server never comes along
    assert len(installed) <= MAX_PACKAGES, installed
    site = next((venv / "lib").glob("python3*/site-packages"))
    size_mb = (
        sum(
            f.stat().st_size
            for f in site.rglob("*")
            if f.is_file() and not f.relative_to(site).parts[0].startswith(("pip", "setuptools", "_distutils_hack"))
        )
        / 1e6
    )
    print(f"SDK venv: {len(installed)} packages, {size_mb:.1f} MB: {', '.join(installed)}")

    # The CLI is installed and answers without a server.
    assert "--patient" in _run(venv / "bin" / "healthai", "extract", "--help", cwd=tmp_path)

    _run(python, "-m", "pip", "install", "--quiet", "pytest", cwd=tmp_path)
    tests = tmp_path / "sdk-tests"
    shutil.copytree(SDK / "tests", tests, ignore=shutil.ignore_patterns("__pycache__"))
    out = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests, cwd=tmp_path)
    assert " passed" in out and " failed" not in out, out
