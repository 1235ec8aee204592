"""Unauthenticated failures are audited as one row per source address per window, with a count.

Every call refused for a missing or bad token used to write its own audit row under the
anonymous tenant: 1,000 no-token calls in 1.5 s wrote 476 rows, so anyone could grow the audit
trail (and the log) without bound and without a token. They are still recorded, but folded:
the first refusal from a source opens a window, later ones in the same window only count, and
the window's row is appended through the ordinary audit repository when the window closes
(every `window_s`, and at shutdown). The row's audit id is chosen when the window opens and
every refused call of the window is told that id, so the id a caller quotes is in the trail.

Memory is bounded: past `max_sources` distinct sources in one window, the rest share one
"other" row. A crash loses the counts of the open window (at most `window_s` of refusals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from healthai_server.auth.principal import Principal
from healthai_server.domain.errors import StorageUnavailable
from healthai_server.storage.audit import AuditEvent, AuditRepository

log = logging.getLogger("healthai.audit")

OTHER_SOURCES = "other"
AGGREGATED_METHOD = "*"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def source_of(peer: str) -> str:
    """'ipv4:10.0.0.7:51234' -> 'ipv4:10.0.0.7' (the port changes with every connection)."""
    host, sep, port = peer.rpartition(":")
    return host if sep and port.isdigit() else peer


@dataclass
class _Window:
    audit_id: str
    opened_at: str
    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)


class AuthFailureTally:
    def __init__(
        self,
        repository: AuditRepository,
        window_s: float = 60.0,
        *,
        max_sources: int = 256,
        on_write_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._window_s = window_s
        self._max_sources = max_sources
        self._on_write_failure = on_write_failure
        self._open: dict[str, _Window] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, source: str, reason: str, method: str) -> str:
        """Count one refused call; returns the audit id of the row that will record it."""
        if source not in self._open and len(self._open) >= self._max_sources:
            source = OTHER_SOURCES
        window = self._open.get(source)
        if window is None:
            window = self._open[source] = _Window(audit_id=str(uuid.uuid4()), opened_at=_now())
        window.count += 1
        window.reasons[reason] += 1
        window.methods[method] += 1
        return window.audit_id

    async def flush(self) -> int:
        """Append one row per source of the open window; returns how many calls they record."""
        windows, self._open = self._open, {}
        if not windows:
            return 0
        closed_at = _now()
        anonymous = Principal.anonymous()
        events = [
            AuditEvent(
                audit_id=window.audit_id,
                tenant=anonymous.tenant,
                principal=anonymous.subject,
                method=AGGREGATED_METHOD,
                status_code="UNAUTHENTICATED",
                details={
                    "aggregated": True,
                    "source": source,
                    "count": window.count,
                    "reasons": dict(window.reasons),
                    "methods": dict(window.methods),
                    "window_opened_at": window.opened_at,
                    "window_closed_at": closed_at,
                },
            )
            for source, window in windows.items()
        ]
        calls = sum(window.count for window in windows.values())
        try:
            await asyncio.gather(*(self._repository.append(event) for event in events))
        except StorageUnavailable:
            self._on_write_failure()
            log.error("audit write failed", extra={"count": calls})
            return 0
        # One log line per window, whatever the flood: the per-call access-log lines are skipped.
        log.warning("unauthenticated calls refused", extra={"count": calls, "sources": len(events)})
        return calls

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._window_s)
            await self.flush()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
