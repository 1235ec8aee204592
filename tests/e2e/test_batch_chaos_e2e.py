"""Bounded chaos on the cluster queue: two servers on one PostgreSQL database consume one job
while engine workers are killed again and again and one server is killed outright. Every
note ends with exactly one result or one dead letter, none is lost, the usage ledger has no
duplicate rows, and the audit trail verifies."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from healthai.v1 import batch_service_pb2

from tests.conftest import POSTGRES_ADMIN_URL, _postgres_unavailable_reason
from tests.e2e.server import ServerProcess, engine_worker_pids, server_env
from tests.e2e.test_batch_e2e import Api, metadata_of, notes

pytestmark = pytest.mark.slow
JOB_NOTES = 600
KILL_EVERY_S = 1.5  # a killed worker's pool is rebuilt (spawned, engine loaded) before the next kill
MAX_WORKER_KILLS = 6


@pytest.fixture
def cluster_db() -> Iterator[str]:
    reason = _postgres_unavailable_reason()
    if reason is not None:
        pytest.fail(reason)
    name = f"healthai_chaos_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _server(state_dir: Path, url: str) -> ServerProcess:
    settings = {
        "database_url": url,
        "batch_lease_s": "3",
        "batch_max_attempts": "4",
        "batch_retry_base_delay_s": "0.05",
        "batch_claim_size": "8",
    }
    return ServerProcess(state_dir, server_env(state_dir, None, **settings)).start()


def test_every_note_ends_once_while_workers_and_a_server_die(tmp_path: Path, cluster_db: str) -> None:
    first = _server(tmp_path / "a", cluster_db)
    # The second replica shares the first one's keys (note encryption, tokens, audit chain).
    shutil.copytree(tmp_path / "a" / "dev", tmp_path / "b" / "dev")
    second = _server(tmp_path / "b", cluster_db)
    try:
        api = Api(first)
        operation = api.create(notes(JOB_NOTES, "chaos"), "chaos-1")
        kills = 0
        killed_server = False
        deadline = time.monotonic() + 120
        while not api.get(operation.name).done and time.monotonic() < deadline:
            time.sleep(KILL_EVERY_S if kills < MAX_WORKER_KILLS else 0.3)
            target = first if kills % 2 else second
            if not killed_server and metadata_of(api.get(operation.name)).succeeded > JOB_NOTES // 4:
                assert second.process is not None
                second.process.send_signal(signal.SIGKILL)  # its leased notes must come back
                second.process.wait()
                killed_server = True
                second = _server(tmp_path / "b", cluster_db)  # and the replica rejoins after a restart
                continue
            if kills >= MAX_WORKER_KILLS:
                continue
            assert target.process is not None
            for pid in engine_worker_pids(target.process.pid)[:1]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
        done = api.get(operation.name)
        assert done.done, metadata_of(done)
        assert kills >= 3 and killed_server
        meta = metadata_of(done)
        assert meta.succeeded + meta.dead_lettered == JOB_NOTES, meta

        engine = sa.create_engine(cluster_db)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT state, count(*) FROM batch_items GROUP BY state")).all()
            states = {state: count for state, count in rows}
            assert set(states) <= {"succeeded", "dead"} and sum(states.values()) == JOB_NOTES
            duplicates = conn.execute(
                sa.text("SELECT audit_id FROM usage_ledger GROUP BY audit_id HAVING count(*) > 1")
            ).all()
            assert duplicates == []
            left_text = conn.execute(
                sa.text("SELECT count(*) FROM batch_items WHERE state = 'succeeded' AND payload IS NOT NULL")
            ).scalar_one()
            assert left_text == 0
        engine.dispose()
        request = batch_service_pb2.ListBatchResultsRequest(name=operation.name, page_size=1000)
        results = [r.note_id for r in api.batch.ListBatchResults(request, metadata=api.metadata).results]
        assert len(results) == len(set(results)) == meta.succeeded
        verify = first.healthai_server("audit", "verify", "--chain-only")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        second.stop()
        first.stop()
