"""The audit trail against a real server: signed checkpoints at start-up and shutdown that
`healthai-server audit verify` holds the database to, and (issue 12 item 5) a call whose
client got DEADLINE_EXCEEDED while its tenant's chain head was locked is audited as such."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from healthai import HealthAIClient
from healthai.v1 import extraction_service_pb2, extraction_service_pb2_grpc

from tests.e2e.server import running_server, wait_until

Request = extraction_service_pb2.ExtractClinicalDataRequest


def test_checkpoints_at_start_and_shutdown_catch_a_deleted_tenant(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_server(state, audit_checkpoint_interval_s="0", audit_checkpoint_every_events="1000") as server:
        client = HealthAIClient(server.addr, token=server.dev_token)
        for _ in range(3):
            client.extract("HR 72")
        assert server.terminate() == 0
        checkpoints = sorted((state / "audit-checkpoints").glob("checkpoint-*.json"))
        assert len(checkpoints) == 2  # start-up (empty) and shutdown (3 events)
        ok = server.healthai_server("audit", "verify")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "3 events in 1 tenant(s); 2 signed checkpoint(s), latest #2" in ok.stdout
        with sqlite3.connect(state / "healthai.db") as conn:  # rewrite (d): the tenant and its head
            conn.execute("DELETE FROM audit_events WHERE tenant = 'dev'")
            conn.execute("DELETE FROM audit_chain_heads WHERE tenant = 'dev'")
        broken = server.healthai_server("audit", "verify")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "tenant dev" in broken.stdout and "tenant deleted" in broken.stdout
        chain_only = server.healthai_server("audit", "verify", "--chain-only")
        assert chain_only.returncode == 0  # what verify could see before checkpoints


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    admin_url = postgres_url.rsplit("/", 1)[0] + "/postgres"
    name = f"healthai_lock_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_call_that_missed_its_deadline_on_a_locked_head_is_not_audited_as_ok(
    fresh_postgres: str, tmp_path: Path
) -> None:
    with running_server(tmp_path / "state", database_url=fresh_postgres, audit_lock_timeout_ms="10000") as server:
        HealthAIClient(server.addr, token=server.dev_token).extract("HR 72")  # creates tenant dev's head
        engine = sa.create_engine(fresh_postgres)
        locked, release = threading.Event(), threading.Event()

        def hold_head() -> None:
            with engine.connect() as conn, conn.begin():
                conn.execute(sa.text("SELECT seq FROM audit_chain_heads WHERE tenant = 'dev' FOR UPDATE"))
                locked.set()
                release.wait(30)

        holder = threading.Thread(target=hold_head, daemon=True)
        holder.start()
        assert locked.wait(5)
        audit_id = str(uuid.uuid4())
        stub = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(grpc.insecure_channel(server.addr))
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            stub.ExtractClinicalData(
                Request(text="HR 72"),
                timeout=0.5,
                metadata=(("authorization", f"Bearer {server.dev_token}"), ("x-audit-id", audit_id)),
            )
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - started < 2
        time.sleep(0.5)
        release.set()
        holder.join(10)

        def recorded() -> str | None:
            # The audit id is the server's own; the caller's id is kept as the correlation id.
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT status_code, details FROM audit_events")).all()
            found = [str(code) for code, details in rows if json.loads(details).get("correlation_id") == audit_id]
            return found[0] if found else None

        assert wait_until(lambda: recorded() is not None, timeout_s=10)
        assert recorded() == "DEADLINE_EXCEEDED"
        engine.dispose()
        assert server.terminate() == 0
        verify = server.healthai_server("audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
