"""Wiring: `build_console_app` puts the pieces together; `run_console` serves it on loopback."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

import grpc
import jinja2
from aiohttp import web
from healthai.tls import TlsOptions
from healthai.v1 import review_service_pb2_grpc
from markupsafe import Markup, escape

from healthai_server.console import views
from healthai_server.console.api import GrpcReviewApi, ReviewApi
from healthai_server.console.security import Handler, same_origin_posts, security_headers
from healthai_server.console.sessions import SessionStore

logger = logging.getLogger("healthai_server.console")
STATIC_DIR = Path(__file__).with_name("static")
MAX_FORM_BYTES = 1024 * 1024


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
    """One line per request with the route's pattern (no ids, no query, no body) and the status."""
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
        logger.info(
            "console request",
            extra={
                "method": f"{request.method} {route.canonical if route else '-'}",
                "code": status,
                "duration_ms": round((time.monotonic() - start) * 1000, 1),
            },
        )


def build_console_app(
    api: ReviewApi, *, sessions: SessionStore | None = None, config: views.ConsoleConfig | None = None
) -> web.Application:
    app = web.Application(middlewares=[access_log, security_headers, same_origin_posts], client_max_size=MAX_FORM_BYTES)
    app[views.API_KEY] = api
    app[views.SESSION_KEY] = sessions or SessionStore()
    app[views.TEMPLATES_KEY] = template_environment()
    app[views.CONFIG_KEY] = config or views.ConsoleConfig()
    app.add_routes(views.routes)
    app.router.add_static("/static/", STATIC_DIR, name="static")

    async def close_api(_app: web.Application) -> None:
        await api.close()

    async def plain_server_header(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = "healthai-console"  # not the framework and its version

    app.on_response_prepare.append(plain_server_header)
    app.on_cleanup.append(close_api)
    return app


async def serve_console(app: web.Application, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT; logs the bound port (0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
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


def run_console(
    listen: str, api_addr: str, *, tls: TlsOptions, secure_cookies: bool = False, idle_timeout_s: float = 1800
) -> None:
    """Serve the console until SIGTERM/SIGINT. Plain HTTP only on loopback: anywhere else it must sit
    behind HTTPS (a proxy or the mesh) and say so with secure_cookies."""
    host, port = split_listen(listen)
    if host not in LOOPBACK_HOSTS and not secure_cookies:
        raise ValueError(
            "the console serves plain HTTP: listen on loopback, or serve it behind HTTPS and pass --secure-cookies"
        )

    async def main() -> None:
        options = tls.channel_options()
        channel = (
            grpc.aio.secure_channel(api_addr, tls.credentials(), options=options)
            if tls.enabled
            else grpc.aio.insecure_channel(api_addr, options=options)
        )
        api = GrpcReviewApi(review_service_pb2_grpc.ReviewServiceStub(channel), channel)
        app = build_console_app(
            api,
            sessions=SessionStore(idle_timeout_s=idle_timeout_s),
            config=views.ConsoleConfig(secure_cookies=secure_cookies, api_addr=api_addr),
        )
        await serve_console(app, host, port)

    asyncio.run(main())
