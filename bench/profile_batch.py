"""CPU per batch note by stage: where a batch note's CPU goes, on a real server (SQLite, 2 engine
workers), one job of N notes (the bench-batch notes), nothing else running through the server.

Two measurements in one run:
- exact CPU per note of the serving process and of its engine workers, from /proc;
- the serving process's CPU split by stage, from py-spy samples of its busy threads (stacks
  classified by the first frame that names a stage); the split is a share of samples, scaled
  to the process's exact CPU.

`python bench/profile_batch.py --notes 3000` (py-spy from PyPI must be on PATH or in the venv).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "clients/python"), str(ROOT / "bench")]

from bench_batch import batch, load_notes  # noqa: E402

from tests.e2e.server import ServerProcess, engine_worker_pids, server_env  # noqa: E402

# A sample whose innermost frame is one of these is a thread waiting (py-spy still reports some
# threads blocked in C calls as busy), not working: selectors, condition waits, an idle thread
# pool's queue.get, the parent watch's sleep.
IDLE_LEAVES = ("select", "wait", "_worker", "Thread.run", "watch", "_wait_for_tstate_lock", "poll", "get")
# Serving process: a sample belongs to the first stage in this list that any of its frames names
# (so a claim's SQL counts as the claim, and the engine call under the pipeline as the engine call).
SERVER_STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("upload: stream, encode, encrypt, insert", ("CreateBatchJob", "JobBuilder", "stage_notes", "finalize")),
    ("claim + note decrypt (one transaction)", ("BatchStore.claim", "_work_item")),
    ("result encrypt + write (one transaction)", ("BatchStore.write", "_max_attempts")),
    ("audit event per chunk", ("_audit_chunk", "AuditRepository")),
    ("job bookkeeping (stats, lease, completion)", ("BatchStore.", "_stats_loop", "_heartbeat")),
    ("note fingerprint (HMAC)", ("fingerprint",)),
    ("protobuf in/out, result encode", ("BatchExtractor._encode", "BatchExtractor._request", "convert.py")),
    ("engine calls (submit, pickle, results)", ("futures/process.py", "multiprocessing", "workers.py")),
    ("pipeline stages (guard, validation, FHIR)", ("ExtractionPipeline",)),
    ("database (other)", ("sqlalchemy", "sqlite3", "psycopg", "storage/db.py")),
]
WORKER_STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("engine", ("ClinicalEngine.extract",)),
    ("validation (grounding, rules)", ("OutputValidator", "validation/")),
    ("encoding to protobuf", ("encode_clinical_data",)),
]


def stage_of(frames: list[str], stages: list[tuple[str, tuple[str, ...]]]) -> str:
    for stage, needles in stages:
        if any(needle in frame for frame in frames for needle in needles):
            return stage
    return "other (event loop, gRPC, threads, IPC)"


def classify(raw: Path) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Busy samples of the serving process and of its engine workers, by stage."""
    server: collections.Counter[str] = collections.Counter()
    workers: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or frames[-1].split(" (")[0].endswith(IDLE_LEAVES) or "_initialise" in stack:
            continue  # waiting, or a worker still starting up
        in_worker = sum(frame.startswith("process ") for frame in frames) > 1
        if in_worker:
            workers[stage_of(frames, WORKER_STAGES)] += int(count)
        else:
            server[stage_of(frames, SERVER_STAGES)] += int(count)
    return server, workers


def report(title: str, counts: collections.Counter[str], cpu_ms: float) -> None:
    total = sum(counts.values()) or 1
    print(f"{title:<48} {cpu_ms:5.2f} ms/note (/proc)")
    for stage, samples in counts.most_common():
        print(f"  {stage:<46} {samples / total * cpu_ms:5.2f} ms/note  ({samples / total:5.1%} of busy samples)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the server")
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw stacks here")
    args = parser.parse_args()
    notes = load_notes(args.notes)
    root = Path(tempfile.mkdtemp(prefix="profile-batch-"))
    extra = dict(item.split("=", 1) for item in args.env)
    server = ServerProcess(root / "s0", server_env(root / "s0", extra)).start()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    try:
        assert server.process is not None
        pid = server.process.pid
        workers = engine_worker_pids(pid)
        raw = root / "stacks.txt"
        ticks = os.sysconf("SC_CLK_TCK")

        def proc_cpu(p: int) -> float:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        main_before = proc_cpu(pid)
        workers_before = sum(proc_cpu(w) for w in workers)
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--output",
                str(raw),
                "--subprocesses",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        rate, _uploaded = batch(server.addr, server.dev_token, notes)
        main_ms = (proc_cpu(pid) - main_before) / len(notes) * 1000
        workers_ms = (sum(proc_cpu(w) for w in workers) - workers_before) / len(notes) * 1000
        spy.send_signal(2)
        spy.wait(30)
        if args.keep:
            shutil.copy(raw, args.keep)
        server_counts, worker_counts = classify(raw)
        print(f"{len(notes):,} notes, {rate:.1f} notes/s, load average {os.getloadavg()[0]:.1f}")
        report("serving process", server_counts, main_ms)
        report(f"engine workers ({len(workers)})", worker_counts, workers_ms)
        print(f"{'total':<48} {main_ms + workers_ms:5.2f} ms/note")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
