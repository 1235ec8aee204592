"""`healthai-server experiments report`: per-arm figures with 95% confidence intervals.

Live arms (usage-ledger rows carrying the arm): calls, latency and cost per call (mean with
a bootstrap interval, t for large samples), and the override rate from reviews (Wilson) where reviewed items are known.
Shadow candidates (comparison rows): share of shadow calls that answered (Wilson), agreement
F1 with the answer given, pooled and per item type (percentile bootstrap over notes), the
candidate's latency and cost per call (as for live arms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from healthai_server.experiments.agreement import ITEM_TYPES, Counts, overall, pooled
from healthai_server.experiments.stats import Estimate, bootstrap, mean_ci, wilson
from healthai_server.experiments.store import (
    ArmCall,
    ExperimentStore,
    ReviewedTask,
    ReviewOutcomeStore,
    ShadowComparison,
)
from healthai_server.storage.db import Database


class ReviewOutcomes(Protocol):
    """Review decisions: per extraction audit id (items reviewed, items overridden), and per
    completed task. Overridden: corrected or rejected (storage: experiments/store.OVERRIDING)."""

    async def outcomes(self, since: datetime, tenant: str | None) -> Mapping[str, tuple[int, int]]: ...

    async def reviewed_tasks(self, since: datetime, tenant: str | None = None) -> list[ReviewedTask]: ...


@dataclass(frozen=True, slots=True)
class OverrideFigures:
    """Override rate of reviewed answers by what produced them (every reviewed task, in an arm or not)."""

    backend: str
    model: str
    prompt_version: str
    tasks: int
    override_rate: Estimate


@dataclass(frozen=True, slots=True)
class ArmFigures:
    arm: str
    backend: str
    model: str
    prompt_version: str
    calls: int
    latency_ms: Estimate
    latency_p50_ms: float
    cost_micros: Estimate
    override_rate: Estimate


@dataclass(frozen=True, slots=True)
class ShadowFigures:
    shadow_arm: str
    live_arm: str
    model: str
    prompt_version: str
    calls: int
    answered: Estimate
    agreement_f1: Estimate
    agreement_f1_by_type: dict[str, Estimate] = field(default_factory=dict)
    latency_ms: Estimate = field(default_factory=Estimate.empty)
    cost_micros: Estimate = field(default_factory=Estimate.empty)
    live_latency_ms: Estimate = field(default_factory=Estimate.empty)


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    arms: list[ArmFigures]
    shadows: list[ShadowFigures]
    reviews_available: bool
    overrides: list[OverrideFigures] = field(default_factory=list)


def override_figures(tasks: Sequence[ReviewedTask]) -> list[OverrideFigures]:
    groups: dict[tuple[str, str, str], list[ReviewedTask]] = defaultdict(list)
    for task in tasks:
        groups[(task.backend, task.model, task.prompt_version)].append(task)
    return [
        OverrideFigures(
            backend,
            model,
            version,
            len(group),
            wilson(sum(t.overridden for t in group), sum(t.reviewed for t in group)),
        )
        for (backend, model, version), group in sorted(groups.items())
    ]


def arm_figures(calls: Sequence[ArmCall], reviews: Mapping[str, tuple[int, int]]) -> list[ArmFigures]:
    by_arm: dict[str, list[ArmCall]] = defaultdict(list)
    for call in calls:
        by_arm[call.arm].append(call)
    figures = []
    for arm, rows in sorted(by_arm.items()):
        reviewed = [reviews[r.audit_id] for r in rows if r.audit_id in reviews]
        latest = rows[-1]
        latencies = [r.latency_ms for r in rows]
        figures.append(
            ArmFigures(
                arm=arm,
                backend=latest.backend,
                model=latest.model,
                prompt_version=latest.prompt_version,
                calls=len(rows),
                latency_ms=mean_ci(latencies),
                latency_p50_ms=statistics.median(latencies),
                cost_micros=mean_ci([float(r.cost_micros) for r in rows]),
                override_rate=wilson(sum(o for _n, o in reviewed), sum(n for n, _o in reviewed)),
            )
        )
    return figures


def shadow_figures(rows: Sequence[ShadowComparison]) -> list[ShadowFigures]:
    by_pair: dict[tuple[str, str], list[ShadowComparison]] = defaultdict(list)
    for row in rows:
        by_pair[(row.shadow_arm, row.live_arm)].append(row)
    figures = []
    for (shadow_arm, live_arm), group in sorted(by_pair.items()):
        ok = [r for r in group if r.outcome == "ok"]
        agreements = [r.agreement for r in ok]

        def f1_of(item_type: str | None, agreements: list[Mapping[str, Counts]] = agreements) -> Estimate:
            def statistic(sample: Sequence[Mapping[str, Counts]]) -> float:
                total = pooled(sample)
                return overall(total).f1 if item_type is None else total[item_type].f1

            return bootstrap(agreements, statistic)

        figures.append(
            ShadowFigures(
                shadow_arm=shadow_arm,
                live_arm=live_arm or "(none)",
                model=group[-1].shadow_model,
                prompt_version=group[-1].shadow_prompt_version,
                calls=len(group),
                answered=wilson(len(ok), len(group)),
                agreement_f1=f1_of(None),
                agreement_f1_by_type={t: f1_of(t) for t in ITEM_TYPES},
                latency_ms=mean_ci([r.shadow_latency_ms for r in ok]),
                cost_micros=mean_ci([float(r.shadow_cost_micros) for r in ok]),
                live_latency_ms=mean_ci([r.live_latency_ms for r in ok]),
            )
        )
    return figures


async def build_report(
    store: ExperimentStore, since: datetime, *, tenant: str | None = None, reviews: ReviewOutcomes | None = None
) -> Report:
    calls = await store.arm_calls(since, tenant)
    comparisons = await store.comparisons(since, tenant)
    outcomes = await reviews.outcomes(since, tenant) if reviews is not None else {}
    tasks = await reviews.reviewed_tasks(since, tenant) if reviews is not None else []
    return Report(
        since, arm_figures(calls, outcomes), shadow_figures(comparisons), reviews is not None, override_figures(tasks)
    )


def render_text(report: Report) -> str:
    lines = [f"Experiments since {report.since:%Y-%m-%d %H:%M} UTC (95% confidence intervals)", ""]
    lines.append("Live arms")
    if not report.arms:
        lines.append("  (no calls answered by an experiment arm)")
    for a in report.arms:
        override = a.override_rate.render() if a.override_rate.n else "- (no reviewed items)"
        lines += [
            f"  {a.arm}: {a.backend} {a.model} prompt {a.prompt_version or '-'}",
            f"    calls               {a.calls}",
            f"    latency ms (mean)   {a.latency_ms.render('{:.1f}')}   p50 {a.latency_p50_ms:.1f}",
            f"    cost micro-USD/call {a.cost_micros.render('{:.0f}')}",
            f"    override rate       {override}"
            + (f"   ({a.override_rate.n} reviewed items)" if a.override_rate.n else ""),
        ]
    lines += ["", "Override rate from reviews, by backend and prompt version (correct + reject over all decisions)"]
    if not report.overrides:
        lines.append("  (no completed review tasks)")
    for o in report.overrides:
        lines.append(
            f"  {o.backend} {o.model} prompt {o.prompt_version or '-'}: {o.override_rate.render()}"
            f"   ({o.override_rate.n} decisions in {o.tasks} tasks)"
        )
    lines += ["", "Shadow candidates"]
    if not report.shadows:
        lines.append("  (no shadow comparisons)")
    for s in report.shadows:
        lines += [
            f"  {s.shadow_arm} vs live {s.live_arm}: {s.model} prompt {s.prompt_version or '-'}",
            f"    shadow calls        {s.calls}   answered {s.answered.render()}",
            f"    agreement F1        {s.agreement_f1.render()}",
        ]
        for item_type, estimate in s.agreement_f1_by_type.items():
            lines.append(f"      {item_type:<17} {estimate.render()}")
        lines += [
            f"    latency ms (mean)   {s.latency_ms.render('{:.1f}')}   live {s.live_latency_ms.render('{:.1f}')}",
            f"    cost micro-USD/call {s.cost_micros.render('{:.0f}')}",
        ]
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> str:
    return json.dumps(asdict(report), default=str, indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    from healthai_server.config import ConfigError, load_settings

    parser = argparse.ArgumentParser(prog="healthai-server experiments", description="A/B and shadow experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="per-arm figures with 95% confidence intervals")
    report.add_argument("--days", type=float, default=30.0, help="look back this many days (default 30)")
    report.add_argument("--tenant", default=None, help="only this tenant")
    report.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.days <= 0:
        parser.error("--days must be positive")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.effective_database_url)
    try:
        since = datetime.now(UTC) - timedelta(days=args.days)
        result = asyncio.run(build_report(ExperimentStore(db), since, tenant=args.tenant, reviews=review_outcomes(db)))
    finally:
        db.close()
    print(to_json(result) if args.json else render_text(result), end="" if not args.json else "\n")
    return 0


def review_outcomes(db: Database) -> ReviewOutcomes:
    return ReviewOutcomeStore(db)
