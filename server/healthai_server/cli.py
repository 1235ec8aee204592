"""`healthai-server`: serve, console, audit verify, compliance report, token, eval, eval-phi,
prompts, experiments report."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence

from healthai_server.config import ConfigError, Settings, load_settings


def _cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    from healthai_server.app import StartupError, serve
    from healthai_server.observability.logging import configure_logging
    from healthai_server.observability.tracing import configure_tracing

    configure_logging(settings.log_level)
    provider = configure_tracing(__import__("healthai_server").__version__)
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        print(f"startup error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # the TLS files are read when the port is bound
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        if provider is not None:
            provider.shutdown()
    return 0


def _cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from healthai_server.storage.audit_verify import TrailKeys, verify_trail

    keys = TrailKeys(
        Path(args.chain_key) if args.chain_key else settings.effective_audit_chain_key_file,
        tuple(Path(p) for p in (args.retired_chain_key or sorted(settings.audit_chain_retired_key_files))),
        tuple(Path(p) for p in (args.public_key or [settings.effective_audit_checkpoint_public_key_file])),
    )
    checkpoint_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else settings.effective_audit_checkpoint_dir
    try:
        trail = verify_trail(
            settings.effective_database_url, keys, checkpoint_dir, tenant=args.tenant, chain_only=args.chain_only
        )
    except (OSError, ValueError) as exc:
        print(f"audit verify: cannot load a key: {exc}", file=sys.stderr)
        return 2
    report, checkpoints = trail.chain, trail.checkpoints
    latest = checkpoints.latest
    if args.json:
        broken = report.first_break
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "events_checked": report.events_checked,
                    "tenants_checked": report.tenants_checked,
                    "checkpoints_checked": len(checkpoints.checkpoints),
                    "latest_checkpoint": None
                    if latest is None
                    else {"number": latest.number, "created_at": latest.created_at},
                    "first_break": None if broken is None else dataclasses.asdict(broken),
                }
            )
        )
    elif report.first_break is None:
        print(f"audit chain OK: {report.events_checked} events in {report.tenants_checked} tenant(s)", end="")
        if latest is not None:
            print(
                f"; {len(checkpoints.checkpoints)} signed checkpoint(s), latest #{latest.number} at {latest.created_at}"
            )
        else:
            print(" (no signed checkpoint checked)")
    else:
        b = report.first_break
        where = "checkpoints" if b.tenant == "-" else f"tenant {b.tenant} event #{b.seq} (audit id {b.audit_id or '-'})"
        print(f"audit chain BROKEN: {where}: {b.problem}")
    return 0 if report.ok else 1


def _cmd_compliance_report(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from healthai_server.compliance.controls import evaluate, exit_code
    from healthai_server.compliance.gather import gather
    from healthai_server.compliance.render import to_json, to_markdown

    evidence = gather(settings, os.environ)
    results = evaluate(evidence)
    print(to_json(evidence, results) if args.format == "json" else to_markdown(evidence, results), end="")
    return exit_code(results)


def _cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from healthai_server.auth.dev import ensure_dev_credentials, mint_dev_token

    if not settings.uses_dev_credentials:
        print("token: only the dev signing key can mint tokens; production tokens come from your IdP", file=sys.stderr)
        return 2
    ensure_dev_credentials(settings)
    roles = [r for r in args.roles.split(",") if r]
    print(mint_dev_token(settings, subject=args.subject, tenant=args.tenant, roles=roles, ttl_s=args.ttl))
    return 0


def _cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from healthai.tls import TlsOptions

    from healthai_server.console.app import run_console
    from healthai_server.observability.logging import configure_logging

    configure_logging(settings.log_level)
    api_addr = args.api_addr or os.environ.get("HEALTHAI_ADDR") or "127.0.0.1:50051"
    try:
        tls = TlsOptions.resolve(tls=True if args.tls else None, ca_file=args.ca_file, server_name=args.server_name)
        run_console(
            args.listen,
            api_addr,
            tls=tls,
            secure_cookies=args.secure_cookies,
            idle_timeout_s=args.idle_timeout,
            session_key_files=[Path(p) for p in args.session_key_file or ()],
            dev_key_file=settings.dev_dir / "console-session.key",
            metrics_listen=args.metrics_listen,
        )
    except ValueError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthai-server", description="HealthAI clinical-note service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve gRPC (config from HEALTHAI_* env and HEALTHAI_CONFIG_FILE)").set_defaults(
        handler=_cmd_serve
    )
    audit = sub.add_parser("audit", help="audit trail tools").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser(
        "verify", help="check the keyed hash chain against the signed checkpoints; exit 1 at the first break"
    )
    verify.add_argument("--tenant", default=None, help="check only this tenant")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--checkpoint-dir", default=None, help="signed checkpoints (default: from settings)")
    verify.add_argument(
        "--public-key", action="append", default=None, help="checkpoint signer's Ed25519 public key (repeatable)"
    )
    verify.add_argument("--chain-key", default=None, help="the current audit chain HMAC key file")
    verify.add_argument("--retired-chain-key", action="append", default=None, help="an older chain key (repeatable)")
    verify.add_argument(
        "--chain-only", action="store_true", help="skip the checkpoints (cannot see a dropped tail or a deleted tenant)"
    )
    verify.set_defaults(handler=_cmd_audit_verify)
    compliance = sub.add_parser("compliance", help="compliance evidence").add_subparsers(
        dest="compliance_command", required=True
    )
    report = compliance.add_parser(
        "report", help="HIPAA 164.312 technical safeguards with live evidence; exit 1 when a required control is off"
    )
    report.add_argument("--format", choices=["md", "json"], default="md")
    report.set_defaults(handler=_cmd_compliance_report)
    token = sub.add_parser("token", help="mint a dev token signed with the local dev key")
    token.add_argument("--tenant", default="dev")
    token.add_argument("--roles", default="clinician", help="comma-separated roles")
    token.add_argument("--subject", default="dev-user")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(handler=_cmd_token)
    console = sub.add_parser(
        "console", help="the web review console (loopback HTTP) calling ReviewService with each reviewer's token"
    )
    console.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT to serve on (port 0: any free port)")
    console.add_argument(
        "--api-addr", default=None, help="the gRPC service (default: HEALTHAI_ADDR or 127.0.0.1:50051)"
    )
    console.add_argument("--tls", action="store_true", help="call the service over TLS (also HEALTHAI_TLS)")
    console.add_argument("--ca-file", default=None, help="CA bundle for the service's certificate")
    console.add_argument("--server-name", default=None, help="name to check the service's certificate for")
    console.add_argument(
        "--secure-cookies", action="store_true", help="the console is served behind HTTPS: mark cookies Secure"
    )
    console.add_argument(
        "--idle-timeout", type=float, default=1800, help="sign a reviewer out after this idle time (s)"
    )
    console.add_argument(
        "--session-key-file",
        action="append",
        default=None,
        help="32-byte AES key that seals session cookies (repeatable: the first seals, all open; required off"
        " loopback, the same on every replica; default on loopback: STATE_DIR/dev/console-session.key)",
    )
    console.add_argument(
        "--metrics-listen", default=None, help="HOST:PORT for Prometheus /metrics on a side port (default: off)"
    )
    console.set_defaults(handler=_cmd_console)
    for name, text in (
        ("eval", "evaluate the local engine on the golden set (-v, --json, --update-baseline)"),
        ("eval-phi", "evaluate PHI detection on the PHI golden set (-v, --json, --golden FILE)"),
        ("prompts", "list, show and diff versioned prompts"),
        ("experiments", "experiments report: per-arm figures with 95% confidence intervals"),
    ):
        sub.add_parser(name, help=text, add_help=False)  # listed in --help; main() dispatches them
    return parser


_DELEGATED = {
    "eval": "healthai_server.evaluation.clinical",
    "eval-phi": "healthai_server.evaluation.phi",
    "prompts": "healthai_server.prompts",
    "experiments": "healthai_server.experiments.report",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:  # these own their flags, --help included
        import importlib

        return int(importlib.import_module(_DELEGATED[argv[0]]).main(argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    handler = args.handler
    return int(handler(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
