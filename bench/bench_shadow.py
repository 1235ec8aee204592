"""make bench-shadow: what shadow mode adds to the response path (target: at most 1 ms at p50).

One process, one event loop, the same live pipeline (PHI guard stage -> AnthropicBackend via
the official SDK -> validation with grounding and clinical rules -> usage ledger on SQLite)
called with shadow mode off and on, in alternating blocks. With shadow on, every answer
schedules a candidate (another model and prompt version through the same fake Messages API,
slower than the live model) whose comparison is written to SQLite, so candidates of earlier
calls run while later calls are being answered: their event-loop, GIL and database work is
what could slow the answers down. Blocks alternate (off, on, off, on, ...) and the
candidates of an "on" block are drained before the next "off" block, so "off" stays clean.

The fake Messages API runs in a child process, as the real one is elsewhere: in this process
its HTTP and JSON work would share the GIL with the server and count twice with shadow on
(`--fake-in-process` measures that upper bound).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT)]

from healthai_server.backends.anthropic import AnthropicBackend  # noqa: E402
from healthai_server.backends.base import BackendRequest, Deadline  # noqa: E402
from healthai_server.backends.egress import EgressGuard  # noqa: E402
from healthai_server.experiments.arms import Arm, ShadowConfig  # noqa: E402
from healthai_server.experiments.store import ExperimentStore  # noqa: E402
from healthai_server.pipeline.extraction import Caller, ExtractionPipeline  # noqa: E402
from healthai_server.pipeline.guard import PhiGuardStage  # noqa: E402
from healthai_server.pipeline.shadow import ShadowRunner  # noqa: E402
from healthai_server.pipeline.validation import ValidationStage  # noqa: E402
from healthai_server.storage import migrate  # noqa: E402
from healthai_server.storage.db import Database  # noqa: E402
from healthai_server.storage.usage import UsageLedger  # noqa: E402
from healthai_server.validation import OutputValidator  # noqa: E402
from healthai_server.validation.rules import ClinicalRules  # noqa: E402

from tests.fakes.anthropic_api import FakeAnthropicAPI, Reply, tool_answer  # noqa: E402
from tests.unit.backends.conftest import COVERED, NOTE, good_answer  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class ModelReply:
    """The fake's answer: the live model after `live_s`, the candidate after `shadow_s` (picklable)."""

    def __init__(self, live_s: float, shadow_s: float) -> None:
        self.live_s, self.shadow_s = live_s, shadow_s

    def __call__(self, body: dict[str, Any]) -> Reply:
        delay = self.shadow_s if body["model"] == "claude-haiku-4-5" else self.live_s
        return tool_answer(good_answer(), model=str(body["model"]), delay_s=delay)


def serve_fake(reply: ModelReply, conn: Connection) -> None:
    api = FakeAnthropicAPI(reply).start()
    conn.send(api.port)
    conn.recv()  # until the parent says stop
    api.stop()


async def main(args: argparse.Namespace) -> int:
    reply = ModelReply(args.latency_ms / 1000, args.shadow_latency_ms / 1000)
    child: multiprocessing.process.BaseProcess | None = None
    if args.fake_in_process:
        api = FakeAnthropicAPI(reply).start()
        url = api.url
    else:
        parent_end, child_end = multiprocessing.get_context("spawn").Pipe()
        child = multiprocessing.get_context("spawn").Process(target=serve_fake, args=(reply, child_end), daemon=True)
        child.start()
        url = f"http://127.0.0.1:{parent_end.recv()}"
    state = Path(tempfile.mkdtemp(prefix="bench-shadow-"))
    db = Database(f"sqlite:///{state}/healthai.db")
    migrate.upgrade(db.engine)
    try:
        rules = ClinicalRules.load()
        rules.warm()
        guard = PhiGuardStage(EgressGuard(frozenset({COVERED})))
        validation = ValidationStage(OutputValidator(rules))

        def claude(model: str, version: str) -> AnthropicBackend:
            return AnthropicBackend(
                model=model,
                base_url=url,
                api_key="bench",
                rules=rules,
                egress_guard=EgressGuard(frozenset({COVERED})),
                extraction_prompt=("clinical_extraction", version),
            )

        live, candidate = claude("claude-sonnet-4-6", "1.0.0"), claude("claude-haiku-4-5", "1.1.0")
        outcomes: Counter[str] = Counter()
        runner = ShadowRunner(
            ShadowConfig(Arm("haiku", "anthropic", "claude-haiku-4-5", "1.1.0"), 10**12, args.max_concurrent),
            candidate,
            ExperimentStore(db),
            guard=guard,
            validation=validation,
            on_outcome=lambda outcome: outcomes.update([outcome]),
        )
        await runner.start()
        ledger = UsageLedger(db)
        off = ExtractionPipeline(live, lambda d, r: "{}", ledger, guard=guard, validation=validation)
        on = ExtractionPipeline(live, lambda d, r: "{}", ledger, guard=guard, validation=validation, shadow=runner)

        async def call(pipeline: ExtractionPipeline, i: int) -> float:
            started = time.perf_counter()
            request = BackendRequest(f"{NOTE}Visit {i}.\n", COVERED, deadline=Deadline.after(30))
            await pipeline.run(request, Caller(COVERED, "bench", f"bench-{i}"))
            return (time.perf_counter() - started) * 1000

        for i in range(10):  # warm connections, prompt rendering, rule tables
            await call(off, i)
        samples: dict[str, list[float]] = {"off": [], "on": []}
        for round_number in range(args.rounds):
            for mode, pipeline in (("off", off), ("on", on)):
                for i in range(args.block):
                    samples[mode].append(await call(pipeline, round_number * 10_000 + i))
            await runner.settle(timeout_s=30)  # the next "off" block starts with no candidate running
        where = "in this process" if args.fake_in_process else "in a child process"
        print(
            f"fake API {where}, latency live {args.latency_ms:g} ms, shadow {args.shadow_latency_ms:g} ms; "
            f"{args.rounds} rounds of {args.block} sequential calls per mode (alternating blocks)"
        )
        off50, on50 = statistics.median(samples["off"]), statistics.median(samples["on"])
        print(f"  shadow off   p50 {off50:8.2f} ms   p95 {pct(samples['off'], 0.95):8.2f} ms")
        print(f"  shadow on    p50 {on50:8.2f} ms   p95 {pct(samples['on'], 0.95):8.2f} ms")
        print(f"  added        p50 {on50 - off50:8.2f} ms   (target <= 1 ms)")
        print(f"  shadow outcomes: {dict(sorted(outcomes.items()))}")
        rows = await ExperimentStore(db).comparisons(datetime.now(UTC) - timedelta(days=1))
        print(f"  comparisons stored: {len(rows)}")
        await live.close()
        await candidate.close()
        return 0 if on50 - off50 <= 1.0 else 1
    finally:
        db.close()
        if child is None:
            api.stop()
        else:
            parent_end.send("stop")
            child.join(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--shadow-latency-ms", type=float, default=400)
    parser.add_argument("--block", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--fake-in-process", action="store_true", help="run the fake API on a thread here")
    sys.exit(asyncio.run(main(parser.parse_args())))
