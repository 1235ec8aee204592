"""The contract is checked by tools: buf lint, fresh stubs, RBAC coverage, error reasons."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from healthai.v1 import common_pb2
from healthai_server.app import SERVICE_NAMES
from healthai_server.auth.rbac import RbacPolicy
from healthai_server.domain import errors

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"


def _need_buf() -> None:
    if not BUF.exists():
        if os.environ.get("CI"):
            pytest.fail("buf is not installed: run `npm ci` (make does)")
        pytest.skip("buf is not installed (make lint installs it)")


def test_buf_lint_passes() -> None:
    _need_buf()
    result = subprocess.run([str(BUF), "lint"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_stubs_are_fresh(tmp_path: Path) -> None:
    env = {**os.environ, "OUT": str(tmp_path), "PY": sys.executable}
    subprocess.run(["bash", "scripts/gen.sh"], cwd=ROOT, env=env, check=True, capture_output=True)
    for package in ("healthai/v1", "buf/validate"):
        fresh, committed = tmp_path / package, ROOT / "clients/python" / package
        names = sorted(p.name for p in fresh.iterdir() if p.is_file())
        assert names == sorted(p.name for p in committed.iterdir() if p.is_file() and p.suffix != ".pyc"), package
        _match, mismatch, errors_ = filecmp.cmpfiles(fresh, committed, names, shallow=False)
        assert not mismatch and not errors_, f"stale generated files (run `make gen`): {mismatch + errors_}"
    shutil.rmtree(tmp_path)


def test_every_rpc_has_an_rbac_rule() -> None:
    from google.longrunning import operations_pb2
    from healthai.v1 import (
        analysis_service_pb2,
        batch_service_pb2,
        deidentification_service_pb2,
        extraction_service_pb2,
        review_service_pb2,
        usage_service_pb2,
    )

    modules = (
        extraction_service_pb2,
        analysis_service_pb2,
        deidentification_service_pb2,
        usage_service_pb2,
        review_service_pb2,
        batch_service_pb2,
        operations_pb2,  # served for batch jobs (AIP-151)
    )
    methods = {
        f"/{service.full_name}/{method.name}"
        for module in modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert {m.split("/")[1] for m in methods} == set(SERVICE_NAMES)
    assert methods <= set(RbacPolicy.from_file().methods())


def test_every_domain_error_reason_is_in_the_contract() -> None:
    reasons = {name.removeprefix("ERROR_REASON_") for name in common_pb2.ErrorReason.DESCRIPTOR.values_by_name}
    domain_reasons = {
        cls.reason for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.DomainError)
    }
    domain_reasons |= {"TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_WRONG_AUDIENCE", "CANCELLED"}
    assert domain_reasons <= reasons


def test_vendored_google_rpc_protos_match_the_installed_wheel() -> None:
    # third_party/protos/SOURCES.md: copied from googleapis-common-protos; a bump must re-copy.
    import google.rpc

    wheel = Path(google.rpc.__path__[0])
    for name in ("status.proto", "error_details.proto"):
        vendored = ROOT / "third_party/protos/google/rpc" / name
        assert vendored.read_bytes() == (wheel / name).read_bytes(), f"{name} differs from the wheel's copy"
    google_dir = wheel.parent
    copies = {
        "longrunning/operations.proto": "longrunning/operations_proto.proto",
        **{
            f"api/{n}.proto": f"api/{n}.proto"
            for n in ("annotations", "http", "client", "launch_stage", "field_behavior")
        },
    }
    for vendored_name, wheel_name in copies.items():
        vendored = ROOT / "third_party/protos/google" / vendored_name
        assert vendored.read_bytes() == (google_dir / wheel_name).read_bytes(), f"{vendored_name} differs"


GENERATED_CLIENT_TREES = ("clients/typescript/src/gen", "clients/go/healthai/v1", "clients/go/buf", "clients/go/google")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generated_clients_are_fresh(tmp_path: Path) -> None:
    _need_buf()
    if not shutil.which("protoc-gen-go") or not shutil.which("protoc-gen-go-grpc"):
        if os.environ.get("CI"):
            pytest.fail("CI installs protoc-gen-go and protoc-gen-go-grpc from Debian (.ci/run)")
        pytest.skip("Go plugins not installed (apt-get install protoc-gen-go protoc-gen-go-grpc)")
    env = {**os.environ, "OUT": str(tmp_path)}
    result = subprocess.run(
        ["bash", "scripts/gen_clients.sh"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    for tree in GENERATED_CLIENT_TREES:
        fresh, committed = _tree(tmp_path / tree), _tree(ROOT / tree)
        assert fresh.keys() == committed.keys(), f"{tree}: files differ (run `make clients`)"
        stale = [name for name in fresh if fresh[name] != committed[name]]
        assert not stale, f"stale generated client files (run `make clients`): {stale}"


@pytest.mark.parametrize(
    ("language", "example"),
    [("typescript", "clients/typescript/examples/extract.ts"), ("go", "clients/go/examples/extract/main.go")],
)
def test_readme_client_examples_are_the_files_ci_runs(language: str, example: str) -> None:
    # tests/e2e/test_clients_e2e.py runs these files against the live server and checks their output.
    import re

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", readme, re.M | re.S)
    assert (ROOT / example).read_text() in blocks, f"README's {language} example differs from {example}"
