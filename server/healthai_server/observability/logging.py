"""Structured JSON logs with an allow-list of fields.

Only the message and allow-listed `extra` keys are emitted, so a stray attribute can
never carry note text into a log line; exception text is never formatted (callers log
error types and frames). Noisy third-party loggers are capped at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

ALLOWED_FIELDS = frozenset(
    {
        "method",
        "code",
        "duration_ms",
        "audit_id",
        "tenant",
        "principal",
        "request_bytes",
        "response_bytes",
        "error_type",
        "frames",
        "listen",
        "workers",
        "database",
        "backend",
        "reason",
        "count",
        "sources",
        "grace_s",
        "state",
        "attempt",
        "delay_s",
        "port",
        "version",
        "events_checked",
        "transport",
        "loopback_only",
        "subject",
        "serial",
        "not_after",
        "problem",
    }
)
_QUIET = ("anthropic", "httpx", "httpcore", "alembic", "sqlalchemy", "grpc", "PyRuSH", "urllib3")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.msg if isinstance(record.msg, str) else type(record.msg).__name__,
        }
        for key in ALLOWED_FIELDS & record.__dict__.keys():
            entry[key] = record.__dict__[key]
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = f"{span.trace_id:032x}"
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
