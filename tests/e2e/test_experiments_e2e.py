"""Experiments through the real server: two prompt versions as A/B arms and a shadow candidate,
all through the official SDK against the fake Messages API. The arm is in provenance, the
audit trail and the ledger; the shadow answers off the response path, under the PHI guard,
and `healthai-server experiments report` prints per-arm figures with confidence intervals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from healthai import HealthAIClient
from healthai_server.auth.tokens import mint_token

from tests.e2e.server import ServerProcess, running_server, wait_until
from tests.fakes.anthropic_api import FakeAnthropicAPI, Reply, Usage, tool_answer
from tests.unit.backends.conftest import NOTE, good_answer

EXPERIMENTS = {
    "arms": [
        {"name": "prompt-1-0", "backend": "anthropic", "prompt_version": "1.0.0", "weight": 1},
        {"name": "prompt-1-1", "backend": "anthropic", "prompt_version": "1.1.0", "weight": 1},
    ],
    "shadow": {
        "name": "haiku-shadow",
        "backend": "anthropic",
        "model": "claude-haiku-4-5",
        "prompt_version": "1.1.0",
        "daily_budget_micros": 10_000_000,
        "max_concurrent": 4,
    },
}
# Words only prompt 1.1.0 has, so a recorded request tells which version was sent.
V11_MARKER = '"held" when paused'


def prompt_version_of(body: dict[str, Any]) -> str:
    return "1.1.0" if V11_MARKER in str(body.get("system", "")) else "1.0.0"


def answer(body: dict[str, Any]) -> Reply:
    """Prompt 1.1.0 misses the allergy (so agreement is not perfect); each model names itself."""
    tool_input = good_answer()
    if prompt_version_of(body) == "1.1.0":
        tool_input["allergies"] = []
    return tool_answer(tool_input, usage=Usage(1000, 200), model=str(body["model"]))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropicAPI]:
    api = FakeAnthropicAPI(answer).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def server(fake: FakeAnthropicAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("experiments-state"),
        {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url},
        baa_tenants="dev",
        experiments=json.dumps(EXPERIMENTS),
        result_cache_ttl_s="0",
        review_routing="true",
        review_thresholds='{"default": 0.0}',  # only notes the caller asks to have reviewed
    ) as process:
        yield process


def _db(server: ServerProcess) -> sqlite3.Connection:
    return sqlite3.connect(server.state_dir / "healthai.db")


def test_two_prompt_versions_as_arms_with_a_shadow_candidate(server: ServerProcess, fake: FakeAnthropicAPI) -> None:
    client = HealthAIClient(server.addr, token=server.dev_token)
    arms: dict[str, str] = {}
    for i in range(16):
        note = f"{NOTE}Visit {i}.\n"
        before = len(fake.requests)
        response = client.extract(note, note_id=f"exp-{i}")
        p = response.provenance
        assert p.experiment_arm in {"prompt-1-0", "prompt-1-1"} and p.backend == "anthropic"
        assert p.prompt_version == {"prompt-1-0": "1.0.0", "prompt-1-1": "1.1.0"}[p.experiment_arm]
        # The answer's call (shadow calls of earlier notes may interleave: they use another model).
        live_call = next(r for r in fake.requests[before:] if r.body["model"] == "claude-sonnet-4-6")
        assert prompt_version_of(live_call.body) == p.prompt_version
        assert client.extract(note, note_id=f"exp-{i}").provenance.experiment_arm == p.experiment_arm
        arms[response.audit_id] = p.experiment_arm
    assert set(arms.values()) == {"prompt-1-0", "prompt-1-1"}

    def shadow_rows() -> int:
        with _db(server) as conn:
            return int(conn.execute("SELECT count(*) FROM shadow_comparisons").fetchone()[0])

    assert wait_until(lambda: shadow_rows() >= 20, timeout_s=30)
    shadow_calls = [r for r in fake.requests if r.body["model"] == "claude-haiku-4-5"]
    assert shadow_calls and all(prompt_version_of(r.body) == "1.1.0" for r in shadow_calls)

    with _db(server) as conn:
        audit_id, arm = next(iter(arms.items()))
        details = json.loads(
            conn.execute("SELECT details FROM audit_events WHERE audit_id = ?", (audit_id,)).fetchone()[0]
        )
        assert details["experiment_arm"] == arm and details["shadow"] in {"scheduled", "dropped_concurrency"}
        ledger = dict(
            conn.execute("SELECT audit_id, experiment_arm FROM usage_ledger WHERE experiment_arm != ''").fetchall()
        )
        assert {a: ledger[a] for a in arms} == arms
        outcomes = {row[0] for row in conn.execute("SELECT outcome FROM shadow_comparisons")}
        assert outcomes == {"ok"}
        # Shadow spend stays out of the tenant's ledger: only live calls are billed.
        models = {row[0] for row in conn.execute("SELECT DISTINCT model FROM usage_ledger")}
        assert models == {"claude-sonnet-4-6"}

    report = server.healthai_server("experiments", "report")
    assert report.returncode == 0, report.stderr
    text = report.stdout
    for expected in ("prompt-1-0", "prompt-1-1", "haiku-shadow vs live prompt-1-0", "agreement F1", "allergies"):
        assert expected in text
    as_json = json.loads(server.healthai_server("experiments", "report", "--json").stdout)
    figures = {a["arm"]: a for a in as_json["arms"]}
    assert sum(a["calls"] for a in figures.values()) == 32
    shadow = {s["live_arm"]: s for s in as_json["shadows"]}
    # The candidate runs prompt 1.1.0: it agrees fully with the 1.1.0 arm, misses allergies vs 1.0.0.
    assert shadow["prompt-1-1"]["agreement_f1"]["value"] == 1.0
    assert shadow["prompt-1-0"]["agreement_f1_by_type"]["allergies"]["value"] == 0.0
    assert shadow["prompt-1-0"]["agreement_f1_by_type"]["conditions"]["value"] == 1.0
    assert 0 < shadow["prompt-1-0"]["agreement_f1"]["low"] <= shadow["prompt-1-0"]["agreement_f1"]["value"] < 1
    print(text)  # shown with -s: the README's sample comes from here


def test_the_shadow_call_of_a_tenant_without_a_baa_sends_surrogates_only(
    server: ServerProcess, fake: FakeAnthropicAPI
) -> None:
    private = (server.state_dir / "dev" / "jwt-private.pem").read_bytes()
    other = mint_token(
        private, subject="svc", tenant="clinic-b", roles=["clinician"], issuer="healthai-dev", audience="healthai"
    )
    note = "Patient: John Carter, MRN 48213377, seen 03/14/2026.\n" + NOTE
    before = len(fake.requests)
    response = HealthAIClient(server.addr, token=other).extract(note, note_id="guarded-shadow")
    assert response.provenance.experiment_arm

    def shadow_row() -> tuple[str, str] | None:
        with _db(server) as conn:
            row = conn.execute(
                "SELECT phi_egress, outcome FROM shadow_comparisons WHERE audit_id = ?", (response.audit_id,)
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    assert wait_until(lambda: shadow_row() is not None, timeout_s=20)
    assert shadow_row() == ("surrogates", "ok")
    sent = fake.requests[before:]
    assert {r.body["model"] for r in sent} == {"claude-sonnet-4-6", "claude-haiku-4-5"}
    for request in sent:
        for phi in ("John Carter", "48213377", "03/14/2026"):
            assert phi not in request.text_sent, "PHI left the process in a shadow call"


def test_reviews_give_each_arm_and_prompt_version_an_override_rate(server: ServerProcess) -> None:
    from healthai.v1 import clinical_pb2, review_service_pb2

    minted = server.healthai_server("token", "--roles", "reviewer", "--subject", "rita", "--tenant", "dev")
    assert minted.returncode == 0, minted.stderr
    reviewer = HealthAIClient(server.addr, token=minted.stdout.strip())
    response = HealthAIClient(server.addr, token=server.dev_token).extract(
        f"{NOTE}Reviewed visit.\n", note_id="reviewed-1", request_review=True
    )
    arm, name = response.provenance.experiment_arm, response.review_task
    assert arm and name
    claimed = reviewer.claim_review_task(name).task
    task = reviewer.get_review_task(name)
    accept, reject = review_service_pb2.REVIEW_DECISION_KIND_ACCEPT, review_service_pb2.REVIEW_DECISION_KIND_REJECT
    lists = (
        (clinical_pb2.ENTITY_TYPE_CONDITION, task.data.conditions),
        (clinical_pb2.ENTITY_TYPE_MEDICATION, task.data.medications),
        (clinical_pb2.ENTITY_TYPE_VITAL_SIGN, task.data.vital_signs),
        (clinical_pb2.ENTITY_TYPE_ALLERGY, task.data.allergies),
    )
    decisions = [  # every item decided: the first condition rejected, the rest accepted
        review_service_pb2.ItemDecision(
            kind=reject if (item_type, i) == (clinical_pb2.ENTITY_TYPE_CONDITION, 0) else accept,
            item_type=item_type,
            index=i,
        )
        for item_type, items in lists
        for i in range(len(items))
    ]
    reviewer.submit_review_decision(name, claimed.etag, decisions)

    report = json.loads(server.healthai_server("experiments", "report", "--json").stdout)
    figures = {a["arm"]: a for a in report["arms"]}
    rate = figures[arm]["override_rate"]
    assert rate["n"] == len(decisions) and rate["value"] == pytest.approx(1 / len(decisions))
    [by_version] = [o for o in report["overrides"] if o["prompt_version"] == response.provenance.prompt_version]
    assert by_version["tasks"] == 1 and by_version["override_rate"]["value"] == pytest.approx(1 / len(decisions))
    assert "Override rate from reviews" in server.healthai_server("experiments", "report").stdout
