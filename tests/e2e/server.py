"""Run the real server (`healthai-server serve`) as a subprocess on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _LoggedProcess:
    """A child process that logs JSON lines on stderr and says which port it took."""

    env: dict[str, str]
    process: subprocess.Popen[str] | None = field(default=None, kw_only=True)
    port: int = field(default=0, kw_only=True)
    log_lines: list[str] = field(default_factory=list, kw_only=True)

    def _launch(self, argv: list[str], ready_msg: str, timeout_s: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "healthai_server.cli", *argv],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready, ready_msg), daemon=True).start()
        if not ready.wait(timeout_s) or not self.port:
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start:\n" + "\n".join(self.log_lines[-20:]))

    def _pump(self, ready: threading.Event, ready_msg: str) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log_lines.append(line.rstrip("\n"))
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("msg") == ready_msg:
                    self.port = int(entry["port"])
                    ready.set()
        ready.set()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ServerProcess(_LoggedProcess):
    def __init__(self, state_dir: Path, env: dict[str, str]) -> None:
        super().__init__(env)
        self.state_dir = state_dir

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dev_token(self) -> str:
        return (self.state_dir / "dev" / "token").read_text().strip()

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        self._launch(["serve"], "serving", timeout_s)
        return self

    def healthai_server(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "healthai_server.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def healthai(
        self, *args: str, stdin: str | None = None, token: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "HEALTHAI_ADDR": self.addr, "HEALTHAI_TOKEN": token if token is not None else self.dev_token}
        return subprocess.run(
            [sys.executable, "-m", "healthai.cli", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def server_env(state_dir: Path, extra_env: dict[str, str] | None = None, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HEALTHAI_", "OTEL_", "ANTHROPIC_"))}
    env.update(
        {
            "HEALTHAI_STATE_DIR": str(state_dir),
            "HEALTHAI_LISTEN_ADDR": "127.0.0.1:0",
            "HEALTHAI_ENGINE_WORKERS": "2",
            "HEALTHAI_SHUTDOWN_GRACE_S": "10",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "server"), str(ROOT / "clients/python")]),
        }
    )
    env.update({f"HEALTHAI_{key.upper()}": value for key, value in settings.items()})
    env.update(extra_env or {})
    if "HEALTHAI_TLS_CERT_FILE" not in env:
        env.setdefault("HEALTHAI_PLAINTEXT", "true")  # loopback test servers; TLS tests pass certificates
    return env


@contextlib.contextmanager
def running_server(
    state_dir: Path, extra_env: dict[str, str] | None = None, **settings: str
) -> Iterator[ServerProcess]:
    server = ServerProcess(state_dir, server_env(state_dir, extra_env, **settings)).start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(predicate: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def engine_worker_pids(server_pid: int) -> list[int]:
    """The server's engine worker processes (spawned children of any of its threads), not the
    multiprocessing resource tracker."""
    pids = []
    for children in Path(f"/proc/{server_pid}/task").glob("*/children"):
        for child in children.read_text().split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    pids.append(int(child))
    return pids


class ConsoleProcess(_LoggedProcess):
    """`healthai-server console` as a subprocess on a free loopback port, calling `api_addr`."""

    def __init__(self, env: dict[str, str], api_addr: str, args: tuple[str, ...] = ()) -> None:
        super().__init__(env)
        self.api_addr = api_addr
        self.args = args

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_port(self) -> int:
        """The side /metrics port (with `--metrics-listen 127.0.0.1:0`), from the console's log."""
        for line in self.log_lines:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("msg") == "console metrics serving":
                    return int(entry["port"])
        raise LookupError("the console logged no metrics port")

    def start(self, timeout_s: float = 30.0) -> ConsoleProcess:
        argv = ["console", "--listen", "127.0.0.1:0", "--api-addr", self.api_addr, *self.args]
        self._launch(argv, "console serving", timeout_s)
        return self


@contextlib.contextmanager
def running_console(server: ServerProcess, *args: str) -> Iterator[ConsoleProcess]:
    console = ConsoleProcess(dict(server.env), server.addr, args).start()
    try:
        yield console
    finally:
        console.stop()
