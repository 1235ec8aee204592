"""The TypeScript and Go clients against the real server, through their own test runners.

Each runner gets the server's address and a dev token in the environment; pytest counts the
result, so CI fails when a client test fails, is skipped or does not run at all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.server import ROOT, ServerProcess

TS = ROOT / "clients" / "typescript"
GO = ROOT / "clients" / "go"


def _env(server: ServerProcess, **extra: str) -> dict[str, str]:
    return {**os.environ, "HEALTHAI_ADDR": server.addr, "HEALTHAI_TOKEN": server.dev_token, **extra}


def _tap_counts(output: str) -> dict[str, int]:
    return {key: int(value) for key, value in re.findall(r"^# (pass|fail|skipped|cancelled|todo) (\d+)$", output, re.M)}


def test_typescript_client_against_the_live_server(server: ServerProcess) -> None:
    assert (TS / "node_modules").is_dir(), "run `make clients-deps` (npm ci in clients/typescript)"
    shutil.rmtree(TS / "dist", ignore_errors=True)  # no stale compiled tests
    built = subprocess.run(
        [str(TS / "node_modules/.bin/tsc"), "-p", "tsconfig.json"],
        cwd=TS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    tests = sorted(str(p.relative_to(TS)) for p in (TS / "dist" / "test").glob("*.test.js"))
    assert len(tests) >= 3, tests
    ran = subprocess.run(
        ["node", "--test", "--test-reporter=tap", *tests],
        cwd=TS,
        check=False,
        env=_env(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    counts = _tap_counts(ran.stdout)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    assert counts.get("fail") == 0 and counts.get("skipped") == 0 and counts.get("cancelled") == 0, counts
    assert counts.get("pass", 0) >= 16, counts
    # The README's example, as a caller runs it.
    example = subprocess.run(
        ["node", "dist/examples/extract.js"],
        check=False,
        cwd=TS,
        env=_env(server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert example.returncode == 0, example.stderr
    assert_example_output(example.stdout)


def test_go_client_against_the_live_server(server: ServerProcess, tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Go and the Debian Go gRPC packages (.ci/run does)")
        pytest.skip("no Go toolchain here; .ci/run installs it from Debian")
    unformatted = subprocess.run(["gofmt", "-l", "."], cwd=GO, capture_output=True, text=True, check=True).stdout
    assert not unformatted, f"gofmt would change: {unformatted}"
    package_dir = go_workspace(tmp_path)
    ran = subprocess.run(
        [go, "test", "-count=1", "-v", "./..."],
        cwd=package_dir,
        check=False,
        env=_env(server, **go_offline_env(tmp_path), PWD=str(package_dir)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    passed = re.findall(r"^--- PASS: (\S+)", ran.stdout, re.M)
    assert not re.search(r"^--- (FAIL|SKIP)", ran.stdout, re.M), ran.stdout[-6000:]
    assert len(passed) >= 8, ran.stdout[-6000:]
    example = subprocess.run(
        [go, "run", "./examples/extract"],
        check=False,
        cwd=package_dir,
        env=_env(server, **go_offline_env(tmp_path), PWD=str(package_dir)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert example.returncode == 0, example.stderr
    assert_example_output(example.stdout)


def assert_example_output(stdout: str) -> None:
    """What the README promises the examples print: vitals with their span text, then the error."""
    lines = stdout.splitlines()
    assert "8867-4 72 /min 72" in lines, stdout
    assert any(line.startswith("8480-6 118 mm[Hg] 118/76") for line in lines), stdout
    assert re.search(r"INVALID_ARGUMENT text [0-9a-f-]{36}$", lines[-1]), stdout


GO_MODULE = "healthai.internal/go"
DEBIAN_GOPATH = "/usr/share/gocode"


def go_workspace(root: Path) -> Path:
    """A GOPATH whose src/healthai.internal/go is clients/go, beside Debian's Go sources."""
    package_dir = root / "gopath" / "src" / GO_MODULE
    package_dir.parent.mkdir(parents=True, exist_ok=True)
    package_dir.symlink_to(GO)
    return package_dir


def go_offline_env(root: Path) -> dict[str, str]:
    """Build from Debian's Go packages only: GOPATH mode, no module proxy, no network."""
    return {
        "GO111MODULE": "off",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOPATH": f"{root / 'gopath'}{os.pathsep}{DEBIAN_GOPATH}",
        "GOCACHE": os.environ.get("GOCACHE", str(ROOT / "build" / "go-cache")),
    }
