"""A fake Anthropic Messages API on 127.0.0.1: real HTTP/1.1, scriptable, recording.

It runs an asyncio server on its own thread and event loop, so the code under test (the real
SDK over real sockets) shares nothing with it. Each request to POST /v1/messages takes the
next scripted `Reply` (FIFO), or the default when the script is empty. A reply may be a
function of the request body, may be delayed, or may drop the connection. Every request is
recorded (headers, parsed body, time).

    with FakeAnthropicAPI() as api:
        api.script(rate_limited(retry_after=0.2), tool_answer({...}))
        ... AsyncAnthropic(base_url=api.url, ...) ...
        assert len(api.requests) == 2
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TOOL_NAME = "record_clinical_data"
DEFAULT_MODEL = "claude-sonnet-4-6"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 1200
    output_tokens: int = 300
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
        }


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_connection: bool = False  # close the socket without answering (a connection error)


Behaviour = Reply | Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]
    received_at: float  # time.monotonic()

    @property
    def text_sent(self) -> str:
        """Everything the client sent as text in system and messages, for leak checks."""
        return json.dumps(self.body, ensure_ascii=False)


_ids = itertools.count(1)


def message_body(content: list[dict[str, Any]], *, usage: Usage, model: str, stop_reason: str) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage.to_json(),
    }


def tool_answer(
    tool_input: Any, *, usage: Usage = Usage(), model: str = DEFAULT_MODEL, delay_s: float = 0.0, name: str = TOOL_NAME
) -> Reply:
    """A successful forced-tool answer; `tool_input` is sent as is (so it may be malformed on purpose)."""
    block = {"type": "tool_use", "id": f"toolu_fake_{next(_ids):06d}", "name": name, "input": tool_input}
    return Reply(body=message_body([block], usage=usage, model=model, stop_reason="tool_use"), delay_s=delay_s)


def text_answer(text: str, *, usage: Usage = Usage(), model: str = DEFAULT_MODEL, delay_s: float = 0.0) -> Reply:
    block = {"type": "text", "text": text}
    return Reply(body=message_body([block], usage=usage, model=model, stop_reason="end_turn"), delay_s=delay_s)


def error_reply(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return Reply(status=status, body=body, headers={"x-should-retry": "true", **(headers or {})})


def rate_limited(retry_after: float | None = None) -> Reply:
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    return error_reply(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.", headers)


def server_error() -> Reply:
    return error_reply(500, "api_error", "Internal server error")


def overloaded(retry_after: float | None = None) -> Reply:
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    return error_reply(529, "overloaded_error", "Overloaded", headers)


def bad_request() -> Reply:
    return error_reply(400, "invalid_request_error", "messages: field required")


def slow(reply: Reply, delay_s: float) -> Reply:
    return Reply(reply.status, reply.body, reply.headers, delay_s, reply.drop_connection)


def dropped_connection() -> Reply:
    return Reply(drop_connection=True)


class FakeAnthropicAPI:
    def __init__(self, default: Behaviour | None = None, *, latency_s: float = 0.0) -> None:
        self._default: Behaviour = default or text_answer("ok")
        self._latency_s = latency_s  # added to every reply (benchmarks)
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- control -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def set_default(self, behaviour: Behaviour) -> None:
        with self._lock:
            self._default = behaviour

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._script.clear()

    def start(self) -> FakeAnthropicAPI:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve_connection, "127.0.0.1", 0, backlog=2048)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-anthropic-api", daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError(f"fake Anthropic API did not start: {failure}")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        thread.join(timeout=10)

    def __enter__(self) -> FakeAnthropicAPI:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- HTTP ----------------------------------------------------------------------------------

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            behaviour = self._script.popleft() if self._script else self._default
        return behaviour(body) if callable(behaviour) else behaviour

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                with self._lock:
                    self._requests.append(request)
                reply = self._next(request.body) if request.path.startswith("/v1/messages") else Reply(404, {})
                delay = reply.delay_s + self._latency_s
                if delay:
                    await asyncio.sleep(delay)
                if reply.drop_connection:
                    break
                writer.write(self._encode(reply))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            raw = bytearray()
            while True:
                size = int((await reader.readline()).strip().split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                raw += await reader.readexactly(size)
                await reader.readline()
            body_bytes = bytes(raw)
        else:
            body_bytes = await reader.readexactly(int(headers.get("content-length", "0")))
        try:
            body = json.loads(body_bytes) if body_bytes else {}
        except ValueError:
            body = {"_unparsed": body_bytes.decode("utf-8", "replace")}
        return RecordedRequest(method, path, headers, body, time.monotonic())

    @staticmethod
    def _encode(reply: Reply) -> bytes:
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        reason = {
            200: "OK",
            400: "Bad Request",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
        }
        head = [f"HTTP/1.1 {reply.status} {reason.get(reply.status, 'Error')}"]
        headers = {"content-type": "application/json", "content-length": str(len(payload)), "request-id": "req_fake"}
        headers.update(reply.headers)
        head.extend(f"{k}: {v}" for k, v in headers.items())
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
