"""Response headers every page carries, and the CSRF checks every form post passes.

CSRF: each session has a random token that every form carries in a hidden field; the sign-in
form, which comes before any session, uses a double-submit cookie instead. A post that the browser marks
as cross-origin (Sec-Fetch-Site), or whose Origin (else Referer) names another origin, is refused
before either check. The session
cookie is also SameSite=Strict, so a cross-site post does not even carry it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer the browser sends `Origin: null` on our own
    # form posts, and the origin check below could no longer tell them from a sandboxed attacker.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Pages hold note text: no browser or proxy may keep a copy.
NO_STORE = "no-store"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CsrfError(web.HTTPForbidden):
    def __init__(self) -> None:
        super().__init__(text="This form has expired or came from another site. Reload the page and try again.")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _decorate(request, response)
        raise
    _decorate(request, response)
    return response


def _decorate(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = NO_STORE


@web.middleware
async def same_origin_posts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a state-changing request that a browser says came from another origin."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if fetch_site is not None and fetch_site != "same-origin":
            raise CsrfError
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if source is not None and not same_origin(source, request):
            raise CsrfError
    return await handler(request)


def same_origin(source: str, request: web.Request) -> bool:
    if source == "null":
        return False
    parts = urlsplit(source)
    return parts.scheme == request.scheme and parts.netloc == request.host


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())
