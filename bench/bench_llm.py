"""make bench-llm: the cost of our LLM layer, against the fake Messages API with fixed latency.

1. Added latency at p50/p95: the full path (ResilientBackend -> AnthropicBackend: prompt, forced
   tool, schema validation, grounding, clinical rules, cost) minus a direct SDK call with the same
   request, interleaved call by call so both see the same server and network noise.
2. 500 concurrent in-flight extractions in one process, several rounds: no errors, wall time,
   and RSS before and after each round (memory must stay flat across rounds).

The fake runs on its own thread and event loop in this process, so its CPU shares the GIL with
the client: the added latency measured here is an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT)]

import anthropic  # noqa: E402
from anthropic.types import ToolParam  # noqa: E402
from healthai_server.backends.anthropic import AnthropicBackend  # noqa: E402
from healthai_server.backends.anthropic.schema import TOOL_NAME, tool_definition  # noqa: E402
from healthai_server.backends.base import BackendRequest, Deadline  # noqa: E402
from healthai_server.backends.resilience import BackendPolicy, ChainLink, ResilientBackend  # noqa: E402
from healthai_server.validation.rules import ClinicalRules  # noqa: E402

from tests.fakes.anthropic_api import FakeAnthropicAPI, tool_answer  # noqa: E402
from tests.unit.backends.conftest import COVERED, NOTE, FakeLocalBackend, good_answer  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> int:
    api = FakeAnthropicAPI(tool_answer(good_answer()), latency_s=args.latency_ms / 1000)
    api.start()
    try:
        rules = ClinicalRules.load()
        rules.warm()
        backend = AnthropicBackend(
            model="claude-sonnet-4-6", base_url=api.url, api_key="bench", baa_tenants=frozenset({COVERED}), rules=rules
        )
        resilient = ResilientBackend(
            [ChainLink(backend, BackendPolicy(timeout_ceiling_s=30)), ChainLink(FakeLocalBackend())]
        )
        direct = anthropic.AsyncAnthropic(
            base_url=api.url, api_key="bench", max_retries=0, open_telemetry={"propagation": False}
        )
        tool = tool_definition()
        system = "x" * 1500  # about the size of the rendered prompt

        async def direct_call() -> None:
            await direct.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=4096,
                system=system,
                messages=[{"role": "user", "content": f"<note>\n{NOTE}\n</note>"}],
                tools=[cast(ToolParam, tool)],
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )

        async def full_call() -> None:
            result = await resilient.extract(BackendRequest(NOTE, COVERED, deadline=Deadline.after(30)))
            if result.provenance.degraded or result.provenance.backend != "anthropic":
                raise RuntimeError(f"unexpected degraded result: {result.provenance}")

        for _ in range(5):  # warm connections and caches
            await direct_call()
            await full_call()
        direct_ms: list[float] = []
        full_ms: list[float] = []
        for _ in range(args.samples):
            for fn, sink in ((direct_call, direct_ms), (full_call, full_ms)):
                started = time.perf_counter()
                await fn()
                sink.append((time.perf_counter() - started) * 1000)
        d50, f50 = statistics.median(direct_ms), statistics.median(full_ms)
        print(f"fake latency {args.latency_ms} ms, {args.samples} sequential calls each (interleaved)")
        print(f"  direct SDK   p50 {d50:8.2f} ms   p95 {pct(direct_ms, 0.95):8.2f} ms")
        print(f"  full path    p50 {f50:8.2f} ms   p95 {pct(full_ms, 0.95):8.2f} ms")
        print(f"  added        p50 {f50 - d50:8.2f} ms   (target <= 5 ms)")

        # Pure CPU of our layer on the answer (no network): parse + validate + ground + rules.
        from healthai_server.backends.anthropic.mapping import AnswerMapper
        from healthai_server.backends.anthropic.schema import SCHEMAS
        from healthai_server.domain.clinical import ExtractionOptions, Span
        from healthai_server.validation.schema import validate

        answer = good_answer()
        started = time.perf_counter()
        rounds = 2000
        for _ in range(rounds):
            validate(answer, SCHEMAS["clinical_data.v1"])
            mapped = AnswerMapper(NOTE, lambda s, e: Span(s, e, NOTE[s:e]), rules).map(answer, ExtractionOptions())
            rules.apply(mapped.data)
        per_call = (time.perf_counter() - started) / rounds * 1000
        print(f"  validation+grounding+rules CPU per answer: {per_call:.3f} ms")

        print(f"\n{args.concurrency} concurrent in-flight extractions, {args.rounds} rounds")
        gc.collect()
        print(f"  RSS before: {rss_mb():.1f} MB")
        errors = 0
        for round_number in range(1, args.rounds + 1):
            api.clear()
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(full_call() for _ in range(args.concurrency)), return_exceptions=True)
            took = time.perf_counter() - started
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            errors += len(failed)
            gc.collect()
            print(
                f"  round {round_number}: {len(outcomes) - len(failed)} ok, {len(failed)} errors, "
                f"{took:.2f} s wall, {len(api.requests)} requests at the fake, RSS {rss_mb():.1f} MB"
            )
            if failed:
                print(f"    first error: {type(failed[0]).__name__}: {failed[0]}")
        await direct.close()
        await resilient.close()
        return 1 if errors else 0
    finally:
        api.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    sys.exit(asyncio.run(main(parser.parse_args())))
