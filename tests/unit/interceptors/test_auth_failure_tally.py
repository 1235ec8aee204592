"""Refused unauthenticated calls become one audit row per source per window, with a count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from healthai_server.auth.principal import ANONYMOUS_TENANT
from healthai_server.interceptors.auth_failure_tally import OTHER_SOURCES, AuthFailureTally, source_of
from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditRepository
from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_events

EXTRACT = "/healthai.v1.ClinicalExtractionService/ExtractClinicalData"
ANALYZE = "/healthai.v1.NoteAnalysisService/AnalyzeNote"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/a.db")
    migrate.upgrade(database.engine)
    return database


def rows(db: Database) -> list[dict[str, object]]:
    with db.engine.connect() as conn:
        found = conn.execute(sa.select(audit_events).order_by(audit_events.c.id)).mappings().all()
    return [{**row, "details": json.loads(row["details"])} for row in found]


@pytest.mark.parametrize(
    ("peer", "source"),
    [("ipv4:10.0.0.7:51234", "ipv4:10.0.0.7"), ("ipv6:[::1]:50000", "ipv6:[::1]"), ("unix:/tmp/s", "unix:/tmp/s")],
)
def test_the_source_is_the_peer_without_its_port(peer: str, source: str) -> None:
    assert source_of(peer) == source


async def test_a_thousand_refusals_from_one_source_are_one_row_with_their_count(db: Database) -> None:
    tally = AuthFailureTally(AuditRepository(db, ChainKeyring(ChainKey.from_secret(b"k" * 32))), window_s=60)
    ids = {tally.record("ipv4:10.0.0.7", "TOKEN_MISSING", EXTRACT) for _ in range(999)}
    ids.add(tally.record("ipv4:10.0.0.7", "TOKEN_INVALID", ANALYZE))
    assert len(ids) == 1  # every refused call was told the id of the row that records it
    assert await tally.flush() == 1000
    (row,) = rows(db)
    assert row["audit_id"] == ids.pop()
    assert row["tenant"] == ANONYMOUS_TENANT and row["status_code"] == "UNAUTHENTICATED"
    details = row["details"]
    assert isinstance(details, dict)
    assert details["count"] == 1000 and details["source"] == "ipv4:10.0.0.7"
    assert details["reasons"] == {"TOKEN_MISSING": 999, "TOKEN_INVALID": 1}
    assert details["methods"] == {EXTRACT: 999, ANALYZE: 1}
    assert await tally.flush() == 0  # nothing new, nothing written
    assert len(rows(db)) == 1


async def test_each_window_and_each_source_gets_its_own_row(db: Database) -> None:
    tally = AuthFailureTally(AuditRepository(db, ChainKeyring(ChainKey.from_secret(b"k" * 32))), window_s=60)
    first = tally.record("ipv4:10.0.0.7", "TOKEN_MISSING", EXTRACT)
    other = tally.record("ipv4:10.0.0.8", "TOKEN_MISSING", EXTRACT)
    await tally.flush()
    second = tally.record("ipv4:10.0.0.7", "TOKEN_MISSING", EXTRACT)
    await tally.close()
    assert len({first, other, second}) == 3
    assert [row["audit_id"] for row in rows(db)] == [first, other, second]


async def test_sources_past_the_bound_share_one_row(db: Database) -> None:
    tally = AuthFailureTally(
        AuditRepository(db, ChainKeyring(ChainKey.from_secret(b"k" * 32))), window_s=60, max_sources=3
    )
    for host in range(10):
        tally.record(f"ipv4:10.0.0.{host}", "TOKEN_MISSING", EXTRACT)
    assert await tally.flush() == 10
    written = rows(db)
    assert len(written) == 4
    sources = {}
    for row in written:
        details = row["details"]
        assert isinstance(details, dict)
        sources[details["source"]] = details["count"]
    assert sources[OTHER_SOURCES] == 7
