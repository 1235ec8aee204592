"""`healthai batch ...`: submit a directory or JSONL file as a job, follow it, export results.

`submit` derives the job's request id from the input, and remembers the operation it got in
the state directory: run the same command again after an interruption and it picks the job
up where it is (no second upload, no second job)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from google.protobuf import json_format

from healthai.batch import BatchClient, progress_of, read_notes, request_id_for
from healthai.errors import HealthAIError

WAIT_STEP_S = 2.0


def _state_file(request_id: str) -> Path:
    return Path(os.environ.get("HEALTHAI_STATE_DIR", ".healthai")) / "batch" / f"{request_id}.json"


def _follow(batch: BatchClient, name: str, out: TextIO) -> int:
    """Print a progress line until the job is done; 0 when every note has a result."""
    tty = out.isatty()
    while True:
        operation = batch.wait(name, WAIT_STEP_S)
        progress = progress_of(operation)
        out.write(("\r" if tty else "") + progress.line() + ("" if tty else "\n"))
        out.flush()
        if progress.done:
            if tty:
                out.write("\n")
            return 0 if progress.succeeded == progress.total else 3


def cmd_submit(args: argparse.Namespace, batch: BatchClient) -> int:
    source = Path(args.source)
    notes = read_notes(source)
    request_id = args.request_id or request_id_for(notes, args.fhir)
    state = _state_file(request_id)
    name = ""
    if state.is_file():
        name = json.loads(state.read_text(encoding="utf-8"))["name"]
        try:
            batch.get(name)
            print(f"resuming {name} (request id {request_id})", file=sys.stderr)
        except HealthAIError as error:
            if error.code.name != "NOT_FOUND":
                raise
            name = ""  # expired or deleted: submit again
    if not name:
        started = time.monotonic()
        operation = batch.submit(notes, request_id=request_id, display_name=source.name, include_fhir=args.fhir)
        name = operation.name
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"name": name, "source": str(source)}), encoding="utf-8")
        print(f"submitted {len(notes):,} notes as {name} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(name)
    return _follow(batch, name, sys.stderr) if args.wait else 0


def cmd_status(args: argparse.Namespace, batch: BatchClient) -> int:
    if args.name:
        operation = batch.get(args.name)
        print(json_format.MessageToJson(operation) if args.format == "json" else progress_of(operation).line())
        return 0
    for operation in batch.list(done=None):
        print(f"{operation.name}  {progress_of(operation).line()}")
    return 0


def cmd_cancel(args: argparse.Namespace, batch: BatchClient) -> int:
    print(progress_of(batch.cancel(args.name, args.request_id or str(uuid.uuid4()))).line())
    return 0


def cmd_dead_letters(args: argparse.Namespace, batch: BatchClient) -> int:
    for letter in batch.dead_letters(args.name):
        error = letter.last_error
        print(f"{letter.note_id}\tattempts={letter.attempts}\t{error.reason}\t{error.message}")
    return 0


def cmd_replay(args: argparse.Namespace, batch: BatchClient) -> int:
    if not args.all and not args.note_id:
        print("error: name --note-id (repeatable) or --all", file=sys.stderr)
        return 2
    replayed = batch.replay(args.name, [] if args.all else args.note_id, args.request_id or str(uuid.uuid4()))
    print(f"replayed {replayed} dead letter(s)")
    return 0


def cmd_results(args: argparse.Namespace, batch: BatchClient) -> int:
    """JSONL of our messages (one BatchNoteResult a line), or FHIR Bulk Data style NDJSON: one
    file per resource type (Condition.ndjson, Observation.ndjson, ...) in --out."""
    if args.format == "jsonl":
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        try:
            for result in batch.results(args.name):
                out.write(json_format.MessageToJson(result, indent=None, preserving_proto_field_name=True) + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
        return 0
    if not args.out:
        print("error: --format fhir-ndjson writes one file per resource type: give --out DIR", file=sys.stderr)
        return 2
    counts = export_fhir_ndjson(batch.results(args.name), Path(args.out))
    if not counts:
        print("no FHIR bundles in the results: submit with --fhir", file=sys.stderr)
        return 3
    for resource_type, count in sorted(counts.items()):
        print(f"{resource_type}.ndjson\t{count}")
    return 0


def export_fhir_ndjson(results: object, out_dir: Path) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, TextIO] = {}
    counts: dict[str, int] = {}
    try:
        for result in results:  # type: ignore[attr-defined]
            if not result.result.fhir_bundle_json:
                continue
            for entry in json.loads(result.result.fhir_bundle_json).get("entry", []):
                resource = entry.get("resource") or {}
                kind = str(resource.get("resourceType", "Unknown"))
                if kind not in files:
                    files[kind] = open(out_dir / f"{kind}.ndjson", "w", encoding="utf-8")  # noqa: SIM115
                files[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
                counts[kind] = counts.get(kind, 0) + 1
    finally:
        for handle in files.values():
            handle.close()
    return counts


def add_batch_commands(sub: argparse._SubParsersAction, client_of: Callable[[argparse.Namespace], BatchClient]) -> None:  # type: ignore[type-arg]
    batch = sub.add_parser("batch", help="batch jobs: submit, status, results, cancel, dead-letters, replay")
    commands = batch.add_subparsers(dest="batch_command", required=True)

    def bind(parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace, BatchClient], int]) -> None:
        parser.set_defaults(handler=lambda args: handler(args, client_of(args)))

    submit = commands.add_parser("submit", help="submit a directory of .txt notes or a JSONL file as one job")
    submit.add_argument("source", help="a directory (*.txt, note id = file name) or a .jsonl of {note_id, text}")
    submit.add_argument("--wait", action="store_true", help="follow the job with a progress line until it is done")
    submit.add_argument(
        "--fhir", action="store_true", help="also build FHIR bundles (for results --format fhir-ndjson)"
    )
    submit.add_argument("--request-id", default="", help="idempotency key (default: derived from the input)")
    bind(submit, cmd_submit)
    status = commands.add_parser("status", help="a job's progress, or every job of your tenant")
    status.add_argument("name", nargs="?", default="")
    status.add_argument("--format", choices=["line", "json"], default="line")
    bind(status, cmd_status)
    results = commands.add_parser("results", help="export results: JSONL of messages or FHIR NDJSON per resource type")
    results.add_argument("name")
    results.add_argument("--format", choices=["jsonl", "fhir-ndjson"], default="jsonl")
    results.add_argument("--out", default="", help="a file (jsonl) or a directory (fhir-ndjson)")
    bind(results, cmd_results)
    cancel = commands.add_parser("cancel", help="cancel a job (notes not started are not processed)")
    cancel.add_argument("name")
    cancel.add_argument("--request-id", default="")
    bind(cancel, cmd_cancel)
    dead = commands.add_parser("dead-letters", help="notes that failed every attempt, with the last error")
    dead.add_argument("name")
    bind(dead, cmd_dead_letters)
    replay = commands.add_parser("replay", help="queue dead letters again (after a fix)")
    replay.add_argument("name")
    replay.add_argument("--note-id", action="append", default=[], help="a note id to replay (repeatable)")
    replay.add_argument("--all", action="store_true", help="replay every dead letter of the job")
    replay.add_argument("--request-id", default="")
    bind(replay, cmd_replay)
