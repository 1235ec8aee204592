"""What one console process remembers about the sessions it served, and nothing a restart or
another replica needs.

The tasks a reviewer last opened: a correction starts from the item as the service sent it, and
a form that comes back with a problem is shown again from the page's copy instead of a second
(audited) read of the note. They hold note text, so they never go into the session cookie; a
replica that did not serve the task page reads it again from the service (the etag in the form
still decides whether the decision applies to the version the reviewer saw).

The sessions seen lately (for the active sign-ins gauge): a session counts while it was used
within the idle timeout. Keys are the sessions' random ids, never a reviewer's name.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from healthai_server.console.model import TaskDetail


@dataclass
class _Entry:
    last_seen: float
    tasks: OrderedDict[str, TaskDetail] = field(default_factory=OrderedDict)


class RecentSessions:
    def __init__(
        self,
        *,
        idle_timeout_s: float = 30 * 60,
        max_sessions: int = 1000,
        tasks_per_session: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._idle_timeout_s = idle_timeout_s
        self._max_sessions = max_sessions
        self._tasks_per_session = tasks_per_session
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def touch(self, session_id: str) -> None:
        now = self._clock()
        entry = self._entries.get(session_id)
        if entry is None:
            entry = self._entries[session_id] = _Entry(now)
        entry.last_seen = now
        self._entries.move_to_end(session_id)
        self._prune(now)

    def remember(self, session_id: str, task: TaskDetail) -> None:
        self.touch(session_id)
        tasks = self._entries[session_id].tasks
        tasks[task.summary.name] = task
        tasks.move_to_end(task.summary.name)
        while len(tasks) > self._tasks_per_session:
            tasks.popitem(last=False)

    def task(self, session_id: str, name: str) -> TaskDetail | None:
        entry = self._entries.get(session_id)
        return entry.tasks.get(name) if entry is not None else None

    def forget_task(self, session_id: str, name: str) -> None:
        entry = self._entries.get(session_id)
        if entry is not None:
            entry.tasks.pop(name, None)

    def forget(self, session_id: str) -> None:
        self._entries.pop(session_id, None)

    def active(self) -> int:
        """Sessions this process served within the idle timeout."""
        self._prune(self._clock())
        return len(self._entries)

    def _prune(self, now: float) -> None:
        # Oldest first (touch moves to the end): stop at the first one still fresh.
        while self._entries:
            oldest_id, oldest = next(iter(self._entries.items()))
            if now - oldest.last_seen < self._idle_timeout_s and len(self._entries) <= self._max_sessions:
                break
            del self._entries[oldest_id]
