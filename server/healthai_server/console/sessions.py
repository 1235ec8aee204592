"""Server-side sessions: the browser holds only a random id; the reviewer's token stays here.

One console process keeps its sessions in memory (a restart signs everyone out, which is the
safe failure). A session ends when idle too long, when the token expires, or on sign-out.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from healthai_server.console.model import Reviewer, TaskDetail


@dataclass
class Session:
    session_id: str
    token: str
    reviewer: Reviewer
    csrf_token: str
    expires_at: float  # the token's own expiry (or the absolute session lifetime)
    last_seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (level, message), shown once
    # The tasks this reviewer last opened (a correction starts from the item as the service sent
    # it); a few at most, dropped with the session.
    tasks: OrderedDict[str, TaskDetail] = field(default_factory=OrderedDict)

    def remember(self, task: TaskDetail, keep: int = 3) -> None:
        self.tasks[task.summary.name] = task
        self.tasks.move_to_end(task.summary.name)
        while len(self.tasks) > keep:
            self.tasks.popitem(last=False)

    def flash(self, level: str, message: str) -> None:
        self.flashes.append((level, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken


class SessionStore:
    def __init__(
        self,
        *,
        idle_timeout_s: float = 30 * 60,
        max_lifetime_s: float = 12 * 3600,
        max_sessions: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._idle_timeout_s = idle_timeout_s
        self._max_lifetime_s = max_lifetime_s
        self._max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, token: str, reviewer: Reviewer, token_expires_at: float | None) -> Session:
        now = self._clock()
        expires_at = now + self._max_lifetime_s
        if token_expires_at is not None:
            expires_at = min(expires_at, token_expires_at)
        session = Session(
            session_id=secrets.token_urlsafe(32),
            token=token,
            reviewer=reviewer,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=expires_at,
            last_seen=now,
        )
        self._sessions[session.session_id] = session
        while len(self._sessions) > self._max_sessions:  # the least recently used goes first
            self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if now >= session.expires_at or now - session.last_seen >= self._idle_timeout_s:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        self._sessions.move_to_end(session_id)
        return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
