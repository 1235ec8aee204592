"""Wiring: `build_console_app` puts the pieces together; `run_console` serves it (plain HTTP on
loopback, or behind HTTPS), with its metrics on a side port."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
import jinja2
from aiohttp import web
from healthai.tls import TlsOptions
from healthai.v1 import review_service_pb2_grpc
from markupsafe import Markup, escape
from prometheus_client import CollectorRegistry

from healthai_server.auth.tokens import ensure_secret_file
from healthai_server.console import views
from healthai_server.console.api import GrpcReviewApi, ReviewApi
from healthai_server.console.recent import RecentSessions
from healthai_server.console.security import Handler, same_origin_posts, security_headers
from healthai_server.console.sessions import SessionStore, load_key_ring
from healthai_server.observability.console_metrics import ConsoleMetrics
from healthai_server.observability.metrics import start_metrics_server

logger = logging.getLogger("healthai_server.console")
STATIC_DIR = Path(__file__).with_name("static")
MAX_FORM_BYTES = 1024 * 1024
HEALTH_ROUTE = "/healthz"
# After SIGTERM, requests in flight get this long to finish (each ReviewService call is bounded by
# api.CALL_TIMEOUT_S). deploy/k8s/base/console-deployment.yaml's grace period is preStop + this + margin.
SHUTDOWN_GRACE_S = 15.0
# Spread calls over every server address the target resolves to (the headless Service in
# Kubernetes), as the SDK does: one pinned HTTP/2 connection would send every call to one pod.
ROUND_ROBIN = ("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]}))


def note_text(value: str) -> Markup:
    """Escape note text for a <pre>, keeping carriage returns: the HTML parser folds a literal CR LF
    into LF, which would shift every offset the page computes from a selection after it."""
    return Markup(str(escape(value)).replace("\r", "&#13;"))  # noqa: S704 - escaped on this line


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("healthai_server.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["note_text"] = note_text
    return env


@web.middleware
async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One log line and one metrics observation per request, with the route's pattern (no ids, no
    query, no body) and the status."""
    start = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        seconds = time.monotonic() - start
        request.app[views.METRICS_KEY].observe_request(route.canonical if route else None, status, seconds)
        if route is None or route.canonical != HEALTH_ROUTE or status != 200:  # kubelet's probes: counted, not logged
            logger.info(
                "console request",
                extra={
                    "method": f"{request.method} {route.canonical if route else '-'}",
                    "code": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )


def build_console_app(
    api: ReviewApi,
    *,
    sessions: SessionStore,
    metrics: ConsoleMetrics | None = None,
    recent: RecentSessions | None = None,
    config: views.ConsoleConfig | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[access_log, security_headers, same_origin_posts, views.session_cookie],
        client_max_size=MAX_FORM_BYTES,
    )
    app[views.API_KEY] = api
    app[views.SESSION_KEY] = sessions
    app[views.RECENT_KEY] = recent or RecentSessions(idle_timeout_s=sessions.idle_timeout_s)
    app[views.METRICS_KEY] = metrics or console_metrics(CollectorRegistry(), process_metrics=False)
    app[views.TEMPLATES_KEY] = template_environment()
    app[views.CONFIG_KEY] = config or views.ConsoleConfig()
    app.add_routes(views.routes)
    app.router.add_static(views.STATIC_PREFIX + "/", STATIC_DIR, name="static")

    async def close_api(_app: web.Application) -> None:
        await api.close()

    async def plain_server_header(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = "healthai-console"  # not the framework and its version

    app.on_response_prepare.append(plain_server_header)
    app.on_cleanup.append(close_api)
    return app


async def serve_console(app: web.Application, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT; logs the bound port (0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    logger.info("console serving", extra={"listen": f"{host}:{bound}", "port": bound})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, not {listen!r}")
    return host, int(port)


def console_metrics(registry: CollectorRegistry, *, process_metrics: bool = True) -> ConsoleMetrics:
    return ConsoleMetrics(registry, routes=views.route_templates(), process_metrics=process_metrics)


SESSION_KEY_BYTES = 32


def session_keys(key_files: Sequence[Path], *, host: str, dev_key_file: Path) -> list[bytes]:
    """The session key ring: the first file seals, all open. Off loopback the keys must be given
    (every replica needs the same ones); on loopback a dev key is made once under the state folder,
    so a restarted console keeps its reviewers signed in."""
    if not key_files:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("off loopback every console replica must share the session key: pass --session-key-file")
        key_files = [dev_key_file]
        ensure_secret_file(dev_key_file, SESSION_KEY_BYTES)
    keys = []
    for path in key_files:
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"session key file {path}: {exc.strerror}") from None
        if len(key) != SESSION_KEY_BYTES:
            raise ValueError(
                f"session key file {path}: must hold exactly {SESSION_KEY_BYTES} random bytes"
                f" (e.g. head -c {SESSION_KEY_BYTES} /dev/urandom > FILE), not {len(key)}"
            )
        keys.append(key)
    return keys


def run_console(
    listen: str,
    api_addr: str,
    *,
    tls: TlsOptions,
    secure_cookies: bool = False,
    idle_timeout_s: float = 1800,
    session_key_files: Sequence[Path] = (),
    dev_key_file: Path = Path("console-session.key"),
    metrics_listen: str | None = None,
) -> None:
    """Serve the console until SIGTERM/SIGINT. Plain HTTP only on loopback: anywhere else it must sit
    behind HTTPS (a proxy or the mesh) and say so with secure_cookies."""
    host, port = split_listen(listen)
    if host not in LOOPBACK_HOSTS and not secure_cookies:
        raise ValueError(
            "the console serves plain HTTP: listen on loopback, or serve it behind HTTPS and pass --secure-cookies"
        )
    metrics_address = split_listen(metrics_listen) if metrics_listen else None
    sessions = SessionStore(
        load_key_ring(session_keys(session_key_files, host=host, dev_key_file=dev_key_file)),
        idle_timeout_s=idle_timeout_s,
    )
    metrics = console_metrics(CollectorRegistry())

    async def main() -> None:
        options = [*tls.channel_options(), ROUND_ROBIN]
        channel = (
            grpc.aio.secure_channel(api_addr, tls.credentials(), options=options)
            if tls.enabled
            else grpc.aio.insecure_channel(api_addr, options=options)
        )
        api = GrpcReviewApi(
            review_service_pb2_grpc.ReviewServiceStub(channel), channel, on_error=metrics.record_upstream_error
        )
        app = build_console_app(
            api,
            sessions=sessions,
            metrics=metrics,
            config=views.ConsoleConfig(secure_cookies=secure_cookies, api_addr=api_addr),
        )
        await serve_console(app, host, port)

    metrics_server = None
    if metrics_address is not None:
        metrics_server = start_metrics_server(metrics, metrics_address[1], metrics_address[0])
        logger.info("console metrics serving", extra={"port": metrics_server.port})
    try:
        asyncio.run(main())
    finally:
        if metrics_server is not None:
            metrics_server.close()
