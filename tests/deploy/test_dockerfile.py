"""The Dockerfile: hadolint, and the properties the Kubernetes manifests rely on.

Docker cannot build here (no daemon, no registry but PyPI/npm/Debian), so the image is
checked statically; the wheel it installs is built by `pip install .` like everywhere else.
"""

from __future__ import annotations

import re

from tests.deploy.tools import REPO, require_tool, run

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, args = stripped.partition(" ")
            out.append((keyword.upper(), args.strip()))
    return out


def test_hadolint() -> None:
    result = run([require_tool("hadolint"), "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_pinned_and_multi_stage() -> None:
    instructions = _instructions()
    (base,) = [args for kw, args in instructions if kw == "ARG" and args.startswith("PYTHON_IMAGE=")]
    image = base.split("=", 1)[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image
    stages = [args for kw, args in instructions if kw == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]


def test_runtime_is_non_root_and_serves() -> None:
    instructions = _instructions()
    runtime = instructions[[i for i, (kw, _) in enumerate(instructions) if kw == "FROM"][-1] :]
    users = [args for kw, args in runtime if kw == "USER"]
    assert users == ["10001:10001"], "numeric, so runAsNonRoot can verify it"
    assert ("EXPOSE", "50051 9464 8081") in runtime
    assert ("ENTRYPOINT", '["healthai-server"]') in runtime
    assert ("CMD", '["serve"]') in runtime
    env = " ".join(args for kw, args in runtime if kw == "ENV")
    for setting in (
        "HEALTHAI_LISTEN_ADDR=0.0.0.0:50051",
        "HEALTHAI_METRICS_PORT=9464",
        "HEALTHAI_PROBE_PORT=8081",
        "HEALTHAI_STATE_DIR=/var/lib/healthai",
    ):
        assert setting in env, setting


def test_dockerignore_is_an_allow_list() -> None:
    lines = [line for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*", "exclude everything, then allow what the image needs"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "server", "clients/python"}
    copied = {
        args.split()[0].rstrip("/") for kw, args in _instructions() if kw == "COPY" and not args.startswith("--from")
    }
    assert copied <= allowed
