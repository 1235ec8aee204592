"""Start-up wiring of experiments: arm backends from settings, the key file, the shadow runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from healthai_server.app import StartupError, _experiments
from healthai_server.backends.assembly import Backends, assemble_backends
from healthai_server.config import load_settings
from healthai_server.observability.metrics import Metrics
from healthai_server.pipeline.guard import PhiGuardStage
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.pipeline.validation import ValidationStage
from healthai_server.storage import migrate
from healthai_server.storage.db import Database
from healthai_server.validation import OutputValidator
from healthai_server.workers import CpuWorkers
from prometheus_client import CollectorRegistry

from tests.unit.backends.conftest import FakeLocalBackend

LOCAL_ONLY: dict[str, Any] = {
    "arms": [{"name": "a", "backend": "local", "weight": 1}, {"name": "b", "backend": "local", "weight": 1}],
    "shadow": {"name": "s", "backend": "local", "daily_budget_micros": 0},
}
HASHER = NoteHasher(b"h" * 32)


async def _assemble(experiments: dict[str, Any], local: FakeLocalBackend, tmp_path: Path) -> Backends:
    settings = load_settings({}, state_dir=tmp_path, experiments=experiments)
    db = Database(f"sqlite:///{tmp_path}/x.db")
    try:
        return await assemble_backends(
            settings,
            local=local,
            engine_version="e1",
            db=db,
            hasher=HASHER,
            metrics=Metrics(CollectorRegistry()),
            env={},
            workers=cast(CpuWorkers, None),  # not reached without an API key
        )
    finally:
        db.close()


async def test_local_arms_need_no_api_key_and_anthropic_arms_do(tmp_path: Path) -> None:
    local = FakeLocalBackend()
    backends = await _assemble(LOCAL_ONLY, local, tmp_path)
    assert backends.arms == {"a": local, "b": local} and backends.shadow is local
    with pytest.raises(RuntimeError, match="ANTHROPIC_API_KEY"):
        await _assemble({"arms": [{"name": "c", "backend": "anthropic"}]}, local, tmp_path)


async def test_arms_need_the_key_file_and_the_shadow_runner_starts(tmp_path: Path) -> None:
    local = FakeLocalBackend()
    backends = await _assemble(LOCAL_ONLY, local, tmp_path)
    db = Database(f"sqlite:///{tmp_path}/healthai.db")
    migrate.upgrade(db.engine)
    stages = {
        "db": db,
        "hasher": HASHER,
        "guard": PhiGuardStage(None),
        "validation": ValidationStage(OutputValidator()),
        "metrics": Metrics(CollectorRegistry()),
    }
    try:
        missing = load_settings({}, state_dir=tmp_path, experiments=LOCAL_ONLY)
        with pytest.raises(StartupError, match="HEALTHAI_EXPERIMENT_KEY_FILE: cannot read"):
            await _experiments(missing, backends, **stages)  # type: ignore[arg-type]
        short = tmp_path / "short.key"
        short.write_bytes(b"short")
        with pytest.raises(StartupError, match="16 bytes"):
            await _experiments(
                load_settings({}, experiments=LOCAL_ONLY, experiment_key_file=short),
                backends,
                **stages,  # type: ignore[arg-type]
            )
        key = tmp_path / "experiment.key"
        key.write_bytes(b"k" * 32)
        settings = load_settings({"HEALTHAI_EXPERIMENTS": json.dumps(LOCAL_ONLY)}, experiment_key_file=key)
        arms, shadow = await _experiments(settings, backends, **stages)  # type: ignore[arg-type]
        assert arms is not None and shadow is not None and shadow.arm_name == "s"
        assert await _experiments(load_settings({}), backends, **stages) == (None, None)  # type: ignore[arg-type]
    finally:
        db.close()
