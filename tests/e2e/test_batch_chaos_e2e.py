"""Bounded chaos on the cluster queue: two servers on one PostgreSQL database consume one job of
2,000 notes while engine workers are killed 20 times and one server is killed outright. Every
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
JOB_NOTES = 2000
WORKER_KILLS = 20
# One replica is killed outright after the worker kills (its restart takes seconds, in which
# the other replica alone may finish the job).
SERVER_KILL_AT = JOB_NOTES * 7 // 10


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
        # Kills are paced by progress, not by the clock, so a fast run meets every one of them;
        # a pool has finished notes since its last kill, so it was rebuilt before the next.
        milestones = [JOB_NOTES * 6 // 10 * (k + 1) // WORKER_KILLS for k in range(WORKER_KILLS)]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            state = api.get(operation.name)
            if state.done:
                break
            finished = metadata_of(state).succeeded + metadata_of(state).dead_lettered
            if not killed_server and finished > SERVER_KILL_AT:
                assert second.process is not None
                second.process.send_signal(signal.SIGKILL)  # its leased notes must come back
                second.process.wait()
                killed_server = True
                second = _server(tmp_path / "b", cluster_db)  # and the replica rejoins after a restart
                continue
            if kills < WORKER_KILLS and finished >= milestones[kills]:
                target = first if kills % 2 else second
                assert target.process is not None
                for pid in engine_worker_pids(target.process.pid)[:1]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                        kills += 1
            time.sleep(0.05)
        done = api.get(operation.name)
        assert done.done, metadata_of(done)
        assert kills == WORKER_KILLS and killed_server
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
        results: list[str] = []
        page_token = ""
        while True:
            request = batch_service_pb2.ListBatchResultsRequest(
                name=operation.name, page_size=1000, page_token=page_token
            )
            page = api.batch.ListBatchResults(request, metadata=api.metadata)
            results.extend(r.note_id for r in page.results)
            page_token = page.next_page_token
            if not page_token:
                break
        assert len(results) == len(set(results)) == meta.succeeded
        verify = first.healthai_server("audit", "verify", "--chain-only")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        second.stop()
        first.stop()
