"""Scheduled housekeeping: purges that keep retention promises without an operator.

Expired rows (today the encrypted result cache; later review tasks and idempotency keys)
must actually go: a purge that only tests call never runs. Each job runs at start-up and
then on its interval, on every replica (a purge is an idempotent DELETE of expired rows).
A failing job is logged by name and counted, and tried again next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("healthai.housekeeping")


@dataclass(frozen=True)
class PurgeJob:
    """A named purge; `run` returns how many rows it removed."""

    name: str
    run: Callable[[], Awaitable[int]]


class Housekeeping:
    def __init__(
        self,
        jobs: Sequence[PurgeJob],
        interval_s: float,
        on_purged: Callable[[str, int], None] = lambda _name, _rows: None,
        on_failure: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self._jobs = tuple(jobs)
        self._interval_s = interval_s
        self._on_purged = on_purged
        self._on_failure = on_failure
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> dict[str, int]:
        """Run every job once; rows removed per job that succeeded."""
        removed: dict[str, int] = {}
        for job in self._jobs:
            try:
                rows = await job.run()
            except Exception as error:  # one job failing must not stop the others
                self._on_failure(job.name)
                log.warning("purge failed", extra={"job": job.name, "error_type": type(error).__name__})
                continue
            removed[job.name] = rows
            self._on_purged(job.name, rows)
            if rows:
                log.info("purged", extra={"job": job.name, "rows": rows})
        return removed

    def start(self) -> None:
        if self._jobs:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="healthai-housekeeping")

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
