"""`healthai`: the command-line client (health, extract, analyze, deidentify, usage, review, batch)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import Message

from healthai import review_cli
from healthai.batch import BatchClient
from healthai.batch_cli import add_batch_commands
from healthai.client import ENTITY_TYPES, HealthAIClient, HealthAIError
from healthai.render import render_analysis, render_extraction
from healthai.v1 import deidentification_service_pb2


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


def _json(message: Message) -> str:
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2)


def _client(args: argparse.Namespace) -> HealthAIClient:
    return HealthAIClient(
        args.addr,
        token=args.token,
        timeout_s=args.timeout,
        tls=True if args.tls else None,
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
        server_name=args.server_name,
    )


def _cmd_health(args: argparse.Namespace) -> int:
    with _client(args) as client:
        status = client.health(args.service)
    print(status)
    return 0 if status == "SERVING" else 1


def _cmd_extract(args: argparse.Namespace) -> int:
    kinds = [ENTITY_TYPES[name] for name in args.types.split(",") if name] if args.types else []
    with _client(args) as client:
        response = client.extract(
            _read(args.path),
            note_id=args.note_id,
            include_fhir=args.format == "fhir",
            entity_types=kinds,
            patient_reference=args.patient,
            encounter_reference=args.encounter,
            note_date=args.date,
            fhir_include_refuted=args.include_refuted,
            request_review=args.review,
        )
    if args.format == "json":
        print(_json(response))
    elif args.format == "fhir":
        print(response.fhir_bundle_json)
    else:
        print(render_extraction(response))
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.analyze(_read(args.path), note_id=args.note_id, include_summary=args.summary)
    print(_json(response) if args.format == "json" else render_analysis(response))
    return 0


def _cmd_deidentify(args: argparse.Namespace) -> int:
    with _client(args) as client:
        response = client.deidentify(
            _read(args.path), mode=args.mode, note_id=args.note_id, patient_ref=args.patient_ref, policy=args.policy
        )
    if args.format == "json":
        print(_json(response))
    else:
        sys.stdout.write(response.deidentified_text)
        if not response.deidentified_text.endswith("\n"):
            sys.stdout.write("\n")
        kinds = sorted({deidentification_service_pb2.PhiType.Name(f.type) for f in response.findings})
        print(
            f"# {len(response.findings)} identifiers replaced ({', '.join(kinds) or 'none'}); "
            f"audit id {response.audit_id}",
            file=sys.stderr,
        )
    return 0


def _cmd_usage(args: argparse.Namespace) -> int:
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    with _client(args) as client:
        response = client.usage(start, end, group_by=args.group_by, tenant=args.tenant)
    if args.format == "json":
        print(_json(response))
        return 0
    print(f"Usage for tenant {response.tenant}, last {args.days} day(s), by {args.group_by}")
    print(f"{'group':<32} {'requests':>8} {'in tok':>9} {'out tok':>9} {'cache hits':>10} {'cost USD':>10}")
    for group in [*response.groups, response.total]:
        print(
            f"{group.key:<32} {group.requests:>8} {group.tokens.input_tokens:>9} {group.tokens.output_tokens:>9} "
            f"{group.cache_hits:>10} {group.cost_micros / 1e6:>10.4f}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthai", description="HealthAI clinical-note service client")
    parser.add_argument("--addr", default=None, help="server address (default $HEALTHAI_ADDR or 127.0.0.1:50051)")
    parser.add_argument("--token", default=None, help="bearer token (default $HEALTHAI_TOKEN or the dev token)")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline per call in seconds")
    tls = parser.add_argument_group("TLS (any of these turns it on; default plaintext, for a loopback dev server)")
    tls.add_argument("--tls", action="store_true", help="use TLS with the system roots ($HEALTHAI_TLS=true)")
    tls.add_argument("--ca-file", default=None, help="CA bundle (PEM) that signed the server ($HEALTHAI_CA_FILE)")
    tls.add_argument("--cert-file", default=None, help="client certificate (PEM) for mTLS ($HEALTHAI_CERT_FILE)")
    tls.add_argument("--key-file", default=None, help="client private key (PEM) for mTLS ($HEALTHAI_KEY_FILE)")
    tls.add_argument(
        "--server-name", default=None, help="expect this name in the server certificate ($HEALTHAI_TLS_SERVER_NAME)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    health = sub.add_parser("health", help="check the server's health")
    health.add_argument("--service", default="", help="a fully-qualified service name (default: the server)")
    health.set_defaults(handler=_cmd_health)
    extract = sub.add_parser("extract", help="extract clinical data from a note file (or - for stdin)")
    extract.add_argument("path")
    extract.add_argument("--format", choices=["table", "json", "fhir"], default="table")
    extract.add_argument("--note-id", default="")
    extract.add_argument("--types", default="", help=f"comma-separated subset of: {', '.join(ENTITY_TYPES)}")
    extract.add_argument("--review", action="store_true", help="queue the answer for human review")
    fhir = extract.add_argument_group("FHIR (with --format fhir)")
    fhir.add_argument("--patient", default="", help="patient reference for subject, e.g. Patient/123")
    fhir.add_argument("--encounter", default="", help="encounter reference, e.g. Encounter/456")
    fhir.add_argument("--date", default="", help="clinical date of the note: YYYY-MM-DD or a FHIR dateTime")
    fhir.add_argument("--include-refuted", action="store_true", help="also emit negated findings as refuted Conditions")
    extract.set_defaults(handler=_cmd_extract)
    analyze = sub.add_parser("analyze", help="problem list and clinical alerts for a note")
    analyze.add_argument("path")
    analyze.add_argument("--format", choices=["table", "json"], default="table")
    analyze.add_argument("--note-id", default="")
    analyze.add_argument("--summary", action="store_true", help="ask for an LLM summary when one is enabled")
    analyze.set_defaults(handler=_cmd_analyze)
    deid = sub.add_parser("deidentify", help="remove HIPAA Safe Harbor identifiers from a note")
    deid.add_argument("path")
    deid.add_argument("--mode", choices=["redact", "mask", "surrogate"], default="redact")
    deid.add_argument("--format", choices=["text", "json"], default="text")
    deid.add_argument("--note-id", default="")
    deid.add_argument("--patient-ref", default="", help="pseudonymous patient id for consistent surrogates")
    deid.add_argument(
        "--policy",
        choices=["recall-first", "precision"],
        default="recall-first",
        help="recall-first (default) also removes every word it cannot show to be safe; precision only typed ones",
    )
    deid.set_defaults(handler=_cmd_deidentify)
    usage = sub.add_parser("usage", help="LLM usage and cost of a tenant (billing or admin role)")
    usage.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    usage.add_argument("--group-by", choices=["model", "prompt_version", "day"], default="model")
    usage.add_argument("--tenant", default="", help="another tenant (admin only); default: your own")
    usage.add_argument("--format", choices=["table", "json"], default="table")
    usage.set_defaults(handler=_cmd_usage)
    review_cli.add_parser(sub, _with_client)
    add_batch_commands(sub, _batch_client)
    return parser


def _with_client(command: Callable[[HealthAIClient, argparse.Namespace], int], args: argparse.Namespace) -> int:
    with _client(args) as client:
        return command(client, args)


def _batch_client(args: argparse.Namespace) -> BatchClient:
    # The CLI process ends after one command: the channel closes with it.
    return _client(args).batch()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except HealthAIError as error:
        print(error.describe(), file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: cannot read input ({type(error).__name__})", file=sys.stderr)
        return 2
    except KeyError as error:
        print(f"error: unknown entity type {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # TLS options that do not fit together
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
