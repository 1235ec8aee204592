"""The experiments report: per-arm figures from ledger and comparison rows, override rates
from review outcomes, text and JSON output, and the CLI entry point."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from healthai_server.domain.provenance import TokenUsage
from healthai_server.experiments.agreement import Counts
from healthai_server.experiments.report import build_report, main, render_text, to_json
from healthai_server.experiments.store import ExperimentStore, ReviewOutcomeStore, ShadowComparison
from healthai_server.storage import migrate
from healthai_server.storage.db import Database
from healthai_server.storage.schema import review_tasks
from healthai_server.storage.usage import UsageLedger, UsageRecord

SINCE = datetime.now(UTC) - timedelta(days=1)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database.engine)
    yield database
    database.close()


async def _reviewed(db: Database, audit_id: str, counts: dict[str, dict[str, int]], state: str = "completed") -> None:
    """A review task row as the review store leaves it (only what the report reads matters here)."""
    row = {
        "id": str(uuid.uuid4()),
        "tenant": "t1",
        "note_id": "",
        "source_audit_id": audit_id,
        "state": state,
        "reasons": ",low_confidence,",
        "item_types": ",condition,",
        "items": "[]",
        "item_counts": "{}",
        "backend": "anthropic",
        "model": "claude-sonnet-4-6",
        "prompt_version": "1.0.0" if audit_id in {"audit-0", "audit-1"} else "1.1.0",
        "etag": "e",
        "claimed_by": "",
        "created_at": datetime.now(UTC).replace(tzinfo=None),
        "content": "",
        "decision_counts": json.dumps(counts),
    }
    await db.run(lambda conn: conn.execute(sa.insert(review_tasks).values(**row)))


async def _fill(db: Database) -> None:
    ledger, store = UsageLedger(db), ExperimentStore(db)
    for i in range(10):
        arm = "a" if i < 6 else "b"
        await ledger.record(
            UsageRecord(
                tenant="t1" if i % 2 else "t2",
                principal="svc",
                audit_id=f"audit-{i}",
                backend="anthropic",
                model="claude-sonnet-4-6",
                usage=TokenUsage(100, 10),
                cost_micros=450,
                prompt_id="clinical_extraction",
                prompt_version="1.0.0" if arm == "a" else "1.1.0",
                experiment_arm=arm,
                latency_ms=100.0 + i,
            )
        )
        await store.record(
            ShadowComparison(
                tenant="t1",
                audit_id=f"audit-{i}",
                live_arm=arm,
                live_backend="anthropic",
                live_model="claude-sonnet-4-6",
                live_prompt_version="1.0.0",
                shadow_arm="cand",
                shadow_model="claude-haiku-4-5",
                shadow_prompt_version="1.1.0",
                outcome="ok" if i != 3 else "timeout",
                phi_egress="clear",
                live_latency_ms=100.0,
                shadow_latency_ms=50.0 + i,
                shadow_cost_micros=0 if i == 3 else 120,
                agreement={} if i == 3 else {"conditions": Counts(2, 0, i % 2), "allergies": Counts(1, 0, 0)},
            )
        )
    # A call outside any experiment is not an arm's.
    await ledger.record(
        UsageRecord("t1", "svc", "plain", "anthropic", "claude-sonnet-4-6", TokenUsage(), 1, "p", "1.0.0")
    )


async def test_per_arm_figures_with_override_rates(db: Database) -> None:
    await _fill(db)
    await _reviewed(db, "audit-0", {"condition": {"accept": 3, "correct": 1}})
    await _reviewed(db, "audit-1", {"condition": {"accept": 1}, "medication": {"add": 1}})
    await _reviewed(db, "audit-7", {"allergy": {"reject": 2, "correct": 1}})
    await _reviewed(db, "audit-8", {"allergy": {"reject": 5}}, state="claimed")  # not decided yet
    report = await build_report(ExperimentStore(db), SINCE, reviews=ReviewOutcomeStore(db))
    a, b = report.arms
    assert (a.arm, a.calls, a.prompt_version, b.arm, b.calls) == ("a", 6, "1.0.0", "b", 4)
    assert a.override_rate.n == 6 and a.override_rate.value == pytest.approx(1 / 6)
    assert b.override_rate.n == 3 and b.override_rate.value == 1.0
    assert a.cost_micros.value == 450 and a.latency_ms.low <= a.latency_ms.value <= a.latency_ms.high
    shadows = {s.live_arm: s for s in report.shadows}
    assert shadows["a"].calls == 6 and shadows["a"].answered.value == pytest.approx(5 / 6)
    assert shadows["b"].agreement_f1_by_type["allergies"].value == 1.0
    assert 0 < shadows["a"].agreement_f1_by_type["conditions"].value < 1
    text = render_text(report)
    assert "override rate       0.167" in text and "(6 reviewed items)" in text and "cand vs live a" in text
    assert json.loads(to_json(report))["arms"][0]["arm"] == "a"
    by_version = {o.prompt_version: o for o in report.overrides}
    assert by_version["1.0.0"].tasks == 2 and by_version["1.0.0"].override_rate.value == pytest.approx(1 / 6)
    assert by_version["1.1.0"].override_rate.value == 1.0 and by_version["1.1.0"].override_rate.n == 3
    assert "anthropic claude-sonnet-4-6 prompt 1.0.0: 0.167" in text
    only_t2 = await build_report(ExperimentStore(db), SINCE, tenant="t2")
    assert sum(x.calls for x in only_t2.arms) == 5 and only_t2.shadows == [] and not only_t2.reviews_available
    assert "- (no reviewed items)" in render_text(only_t2) and "no completed review tasks" in render_text(only_t2)


async def test_an_empty_report_says_so(db: Database) -> None:
    text = render_text(await build_report(ExperimentStore(db), SINCE))
    assert "no calls answered by an experiment arm" in text and "no shadow comparisons" in text


def test_cli_reads_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEALTHAI_STATE_DIR", str(tmp_path))
    db = Database(f"sqlite:///{tmp_path}/healthai.db")
    migrate.upgrade(db.engine)
    db.close()
    assert main(["report", "--days", "7"]) == 0
    assert "Live arms" in capsys.readouterr().out
    assert main(["report", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arms"] == []
    with pytest.raises(SystemExit):
        main(["report", "--days", "0"])
    monkeypatch.setenv("HEALTHAI_EXPERIMENTS", "not json")
    assert main(["report"]) == 2
