"""The Claude path through the real server: the official SDK against the fake Messages API,
cost in provenance and the usage ledger, the encrypted result cache, fallback to the local
engine when the model is overloaded (then the breaker), and BAA gating of PHI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from healthai import HealthAIClient
from healthai.v1 import common_pb2
from healthai_server.auth.tokens import mint_token

from tests.e2e.server import ServerProcess, running_server, wait_until
from tests.fakes.anthropic_api import FakeAnthropicAPI, Usage, overloaded, text_answer, tool_answer
from tests.unit.backends.conftest import NOTE, good_answer

# claude-sonnet-4-6: $3 per million input tokens, $15 per million output tokens.
EXPECTED_COST_MICROS = 1200 * 3 + 300 * 15


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicAPI]:
    api = FakeAnthropicAPI(tool_answer(good_answer(), usage=Usage(1200, 300))).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def server(fake: FakeAnthropicAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("llm-state"),
        {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url},
        baa_tenants="dev",
        llm_retry_max_attempts="1",
        llm_breaker_fail_max="2",
        llm_breaker_reset_timeout_s="60",
    ) as process:
        yield process


def test_llm_extraction_is_grounded_costed_ledgered_and_cached(server: ServerProcess, fake: FakeAnthropicAPI) -> None:
    client = HealthAIClient(server.addr, token=server.dev_token)
    first = client.extract(NOTE, note_id="llm-1")
    p = first.provenance
    assert p.backend == "anthropic" and not p.degraded
    assert p.prompt_id == "clinical_extraction" and p.prompt_version and len(p.prompt_hash) == 64
    assert p.token_usage.input_tokens == 1200 and p.token_usage.output_tokens == 300
    assert p.cost_micros == EXPECTED_COST_MICROS
    for condition in first.data.conditions:
        assert NOTE[condition.span.start : condition.span.end] == condition.span.text
    sent = fake.requests[-1]
    assert "traceparent" not in {key.lower() for key in sent.headers}

    second = client.extract(NOTE, note_id="llm-1")
    assert second.provenance.cache_hit and second.provenance.cost_micros == 0
    assert len(fake.requests) == 1

    usage = server.healthai("usage", "--format", "json")
    assert usage.returncode == 0, usage.stderr
    total = json.loads(usage.stdout)["total"]
    assert int(total["requests"]) == 2 and int(total["cost_micros"]) == EXPECTED_COST_MICROS
    assert int(total["cache_hits"]) == 1


def test_tenant_without_baa_reaches_the_model_only_through_the_phi_guard(
    server: ServerProcess, fake: FakeAnthropicAPI
) -> None:
    private = (server.state_dir / "dev" / "jwt-private.pem").read_bytes()
    other = mint_token(
        private, subject="svc", tenant="clinic-b", roles=["clinician"], issuer="healthai-dev", audience="healthai"
    )
    note = "Patient: John Carter, MRN 48213377, seen 03/14/2026.\n" + NOTE
    before = len(fake.requests)
    response = HealthAIClient(server.addr, token=other).extract(note, note_id="guarded-1")
    sent = fake.requests[before:]
    assert len(sent) == 1 and response.provenance.backend == "anthropic"
    for phi in ("John Carter", "48213377", "03/14/2026"):
        assert phi not in sent[0].text_sent, "PHI left the process for a tenant without a BAA"
    for condition in response.data.conditions:  # spans point into the original note, not the surrogate text
        assert note[condition.span.start : condition.span.end] == condition.span.text
    with sqlite3.connect(server.state_dir / "healthai.db") as conn:
        details = conn.execute("SELECT details FROM audit_events WHERE audit_id = ?", (response.audit_id,)).fetchone()[
            0
        ]
    assert json.loads(details)["phi_egress"] == "surrogates"


def _audited_egress(server: ServerProcess, audit_id: str) -> str:
    with sqlite3.connect(server.state_dir / "healthai.db") as conn:
        row = conn.execute("SELECT details FROM audit_events WHERE audit_id = ?", (audit_id,)).fetchone()
    return str(json.loads(row[0])["phi_egress"])


def test_overloaded_model_falls_back_to_local_then_breaker_opens(server: ServerProcess, fake: FakeAnthropicAPI) -> None:
    client = HealthAIClient(server.addr, token=server.dev_token)
    fake.set_default(overloaded())
    reasons = []
    egress = []
    for i in range(4):
        before = len(fake.requests)
        response = client.extract(f"HR 7{i}, BP 120/80. Denies chest pain.")
        assert response.provenance.backend == "local" and response.provenance.degraded
        assert response.data.vital_signs
        reasons.append(response.provenance.degraded_reason)
        egress.append((len(fake.requests) > before, _audited_egress(server, response.audit_id)))
    # Issue 12.9: a note sent to Claude that then fell back to local was audited as never sent.
    assert egress[0] == (True, "clear")  # the dev tenant is covered by a BAA
    assert (False, "none") in egress  # once the breaker is open nothing leaves
    assert all(form == ("clear" if reached else "none") for reached, form in egress)
    assert (
        reasons[0] == common_pb2.DEGRADED_REASON_UPSTREAM_ERROR or reasons[0] == common_pb2.DEGRADED_REASON_RATE_LIMITED
    )
    assert reasons[-1] == common_pb2.DEGRADED_REASON_BREAKER_OPEN
    calls_when_open = len(fake.requests)
    client.extract("HR 99")
    assert len(fake.requests) == calls_when_open
    fake.set_default(text_answer("ok"))


def test_expired_cached_results_are_purged_by_the_running_server(
    fake: FakeAnthropicAPI, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 12.9: `purge_expired` was never scheduled, so expired encrypted results stayed."""
    state = tmp_path_factory.mktemp("purge-state")
    fake.set_default(tool_answer(good_answer(), usage=Usage(1200, 300)))
    with running_server(
        state,
        {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url},
        baa_tenants="dev",
        result_cache_ttl_s="1",
        purge_interval_s="1",
    ) as server:
        HealthAIClient(server.addr, token=server.dev_token).extract(NOTE, note_id="purge-1")

        def cached_rows() -> int:
            with sqlite3.connect(state / "healthai.db") as conn:
                return int(conn.execute("SELECT count(*) FROM result_cache").fetchone()[0])

        assert cached_rows() == 1
        assert wait_until(lambda: cached_rows() == 0, timeout_s=15)
