"""Signed checkpoints of the audit chains, written outside the database.

A hash chain detects truncation only against a head that someone outside the database
already holds. A checkpoint is that head: every tenant's last seq and hash, the time, the
chain key id, and the digest of the previous checkpoint file, signed with Ed25519. Files are
append-only (created exclusively, never rewritten) and each names the one before it, like
CloudTrail's digest files, so deleting or editing one in the middle breaks the file chain.

`verify_checkpoints` checks the files with the public key alone and returns the pins that
`AuditRepository.verify_sync` then holds the database to.

    checkpoint-000000000042.json   {"body": {...}, "signature": "<base64 Ed25519 over canonical body>"}
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from healthai_server.storage.audit import Pin
from healthai_server.storage.audit_keys import signing_key_id

log = logging.getLogger("healthai.audit")

FORMAT = "healthai-audit-checkpoint-1"
_NAME = re.compile(r"^checkpoint-(\d{12})\.json$")


def checkpoint_name(number: int) -> str:
    return f"checkpoint-{number:012d}.json"


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    number: int
    created_at: str
    signing_key_id: str
    chain_key_id: str
    heads: Mapping[str, tuple[int, str]]
    previous_file: str | None = None
    previous_sha256: str | None = None

    @property
    def file_name(self) -> str:
        return checkpoint_name(self.number)

    def body(self) -> dict[str, Any]:
        previous = None if self.previous_file is None else {"file": self.previous_file, "sha256": self.previous_sha256}
        return {
            "format": FORMAT,
            "number": self.number,
            "created_at": self.created_at,
            "signing_key_id": self.signing_key_id,
            "chain_key_id": self.chain_key_id,
            "previous": previous,
            "heads": {tenant: {"seq": seq, "event_hash": digest} for tenant, (seq, digest) in self.heads.items()},
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Checkpoint:
        if body.get("format") != FORMAT:
            raise ValueError(f"unknown format {body.get('format')!r}")
        previous = body["previous"]
        return cls(
            number=int(body["number"]),
            created_at=str(body["created_at"]),
            signing_key_id=str(body["signing_key_id"]),
            chain_key_id=str(body["chain_key_id"]),
            heads={str(t): (int(h["seq"]), str(h["event_hash"])) for t, h in body["heads"].items()},
            previous_file=None if previous is None else str(previous["file"]),
            previous_sha256=None if previous is None else str(previous["sha256"]),
        )


class CheckpointStore:
    """A directory of checkpoint files. Writing never replaces a file: a new one is linked in
    under the next free number (os.link fails if it exists, so two writers cannot collide)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def files(self) -> list[tuple[int, Path]]:
        if not self.directory.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir() if (m := _NAME.match(p.name))]
        return sorted(found)

    def write(self, heads: Mapping[str, tuple[int, str]], signer: Ed25519PrivateKey, chain_key_id: str) -> Checkpoint:
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            existing = self.files()
            previous_file: str | None = None
            previous_sha256: str | None = None
            number = 1
            merged = dict(heads)
            if existing:
                last_number, last_path = existing[-1]
                number = last_number + 1
                raw = last_path.read_bytes()
                previous_file, previous_sha256 = last_path.name, hashlib.sha256(raw).hexdigest()
                merged = _merge_newer(merged, raw, signer.public_key())
            checkpoint = Checkpoint(
                number=number,
                created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                signing_key_id=signing_key_id(signer.public_key()),
                chain_key_id=chain_key_id,
                heads=dict(sorted(merged.items())),
                previous_file=previous_file,
                previous_sha256=previous_sha256,
            )
            body = checkpoint.body()
            document = {"body": body, "signature": base64.b64encode(signer.sign(_canonical(body))).decode()}
            if self._link_new(checkpoint.file_name, json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"):
                return checkpoint
        raise OSError(f"could not claim a new checkpoint number in {self.directory}")

    def _link_new(self, name: str, data: bytes) -> bool:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, self.directory / name)
            except FileExistsError:
                return False  # another writer took this number: chain onto theirs instead
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True


def _merge_newer(
    heads: Mapping[str, tuple[int, str]], previous_raw: bytes, public_key: Ed25519PublicKey
) -> dict[str, tuple[int, str]]:
    """Replicas sharing a directory race: one may read the heads before another but link its
    file after it. A head already signed (by this key) at a higher seq stays in, so the file
    chain never appears to go back. A previous file this key did not sign is not trusted."""
    merged = dict(heads)
    try:
        document = json.loads(previous_raw)
        public_key.verify(base64.b64decode(document["signature"], validate=True), _canonical(document["body"]))
        previous = Checkpoint.from_body(document["body"])
    except (ValueError, KeyError, TypeError, InvalidSignature):
        return merged
    for tenant, (seq, digest) in previous.heads.items():
        if tenant not in merged or merged[tenant][0] < seq:
            merged[tenant] = (seq, digest)
    return merged


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """The verified checkpoint files, the pins they put on the chains, or the first problem."""

    checkpoints: list[Checkpoint] = field(default_factory=list)
    pins: dict[str, dict[int, Pin]] = field(default_factory=dict)
    problem: str | None = None

    @property
    def latest(self) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None


def verify_checkpoints(store: CheckpointStore, public_keys: Mapping[str, Ed25519PublicKey]) -> CheckpointReport:
    """Check every file's signature, the previous-file digests, contiguous numbering and that
    no tenant's head goes backwards from one checkpoint to the next. Older files may have
    been pruned (the first file's own predecessor is not required); a gap may not."""
    checkpoints: list[Checkpoint] = []
    pins: dict[str, dict[int, Pin]] = {}
    previous: tuple[int, Path] | None = None

    def fail(why: str) -> CheckpointReport:
        return CheckpointReport(checkpoints, pins, why)

    for number, path in store.files():
        raw = path.read_bytes()
        try:
            document = json.loads(raw)
            body, signature = document["body"], base64.b64decode(document["signature"], validate=True)
            checkpoint = Checkpoint.from_body(body)
        except (ValueError, KeyError, TypeError) as exc:
            return fail(f"{path.name}: unreadable ({exc})")
        key = public_keys.get(checkpoint.signing_key_id)
        if key is None:
            return fail(f"{path.name}: signed by unknown key {checkpoint.signing_key_id}")
        try:
            key.verify(signature, _canonical(body))
        except InvalidSignature:
            return fail(f"{path.name}: bad signature")
        if checkpoint.number != number:
            return fail(f"{path.name}: its body says checkpoint {checkpoint.number}")
        if previous is not None:
            prev_number, prev_path = previous
            if number != prev_number + 1:
                return fail(f"checkpoint {prev_number + 1} is missing (next found: {path.name})")
            if (
                checkpoint.previous_file != prev_path.name
                or checkpoint.previous_sha256 != hashlib.sha256(prev_path.read_bytes()).hexdigest()
            ):
                return fail(f"{path.name}: does not match the previous file {prev_path.name}")
        problem = _check_progress(checkpoints[-1] if checkpoints else None, checkpoint)
        if problem is not None:
            return fail(f"{path.name}: {problem}")
        for tenant, (seq, digest) in checkpoint.heads.items():
            if seq > 0:
                pins.setdefault(tenant, {}).setdefault(seq, Pin(digest, number))
        checkpoints.append(checkpoint)
        previous = (number, path)
    return CheckpointReport(checkpoints, pins, None)


def _check_progress(before: Checkpoint | None, after: Checkpoint) -> str | None:
    """A chain only grows: a head that went back or vanished between two checkpoints was rewritten
    in the database in between (the writer signs what it reads)."""
    if before is None:
        return None
    for tenant, (seq, digest) in before.heads.items():
        now = after.heads.get(tenant)
        if now is None:
            return f"tenant {tenant!r} vanished since checkpoint {before.number}"
        if now[0] < seq:
            return f"tenant {tenant!r} went back from seq {seq} (checkpoint {before.number}) to {now[0]}"
        if now[0] == seq and now[1] != digest:
            return f"tenant {tenant!r} seq {seq} changed its hash since checkpoint {before.number}"
    return None


class AuditCheckpointer:
    """Writes a checkpoint every `every_events` committed events, every `interval_s` seconds,
    and on demand (start-up and shutdown). Writes run one at a time, off the event loop, and
    never fail a call: a failed write is logged and reported through `on_failure`."""

    def __init__(
        self,
        read_heads: Callable[[], Awaitable[Mapping[str, tuple[int, str]]]],
        store: CheckpointStore,
        signer: Ed25519PrivateKey,
        chain_key_id: str,
        *,
        every_events: int = 1000,
        interval_s: float = 60.0,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self._read_heads = read_heads
        self._store = store
        self._signer = signer
        self._chain_key_id = chain_key_id
        self._every_events = every_events
        self._interval_s = interval_s
        self._on_failure = on_failure
        self._since_last = 0
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[Checkpoint | None]] = set()
        self._ticker: asyncio.Task[None] | None = None

    def events_committed(self, count: int) -> None:
        self._since_last += count
        if self._every_events and self._since_last >= self._every_events and not self._lock.locked():
            task = asyncio.get_running_loop().create_task(self.checkpoint())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def checkpoint(self) -> Checkpoint | None:
        async with self._lock:
            counted = self._since_last
            try:
                heads = await self._read_heads()
                written = await asyncio.to_thread(self._store.write, heads, self._signer, self._chain_key_id)
            except Exception as exc:  # the DB or the disk; the next trigger retries
                self._on_failure()
                log.error("audit checkpoint failed", extra={"error_type": type(exc).__name__})
                return None
            self._since_last -= counted
            return written

    def start(self) -> None:
        if self._interval_s > 0 and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.checkpoint()

    async def stop(self) -> Checkpoint | None:
        """Stop the timer, let a running write finish, and write the final checkpoint."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        return await self.checkpoint()
