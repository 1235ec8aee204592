"""Request handlers: sign-in, the queue, a task, claim, next, submit, sign-out; and the middleware
that writes the session back into its cookie.

Every handler that calls the service passes the session's token to `ReviewApi` and turns an
`ApiError` into a page that says what happened and what to do; none logs a note's text.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jinja2
import jwt
from aiohttp import web

from healthai_server.console.api import FIELD_SPECS, ITEM_KINDS, REASONS, ReviewApi
from healthai_server.console.forms import parse_decisions
from healthai_server.console.highlight import pieces
from healthai_server.console.model import ApiError, Decision, Reviewer, TaskDetail, TaskFilter
from healthai_server.console.recent import RecentSessions
from healthai_server.console.security import CsrfError, Handler, tokens_match
from healthai_server.console.sessions import Session, SessionStore, SessionTooLarge
from healthai_server.observability.console_metrics import ConsoleMetrics

SESSION_COOKIE = "healthai_console_session"
LOGIN_CSRF_COOKIE = "healthai_console_login"
PAGE_SIZE = 50
MAX_AGE_MINUTES = 366 * 24 * 60
MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    secure_cookies: bool = False  # set when the console is served over HTTPS (behind a proxy)
    api_addr: str = ""  # shown on the sign-in page


@dataclass(frozen=True, slots=True)
class ErrorText:
    status: int
    title: str
    advice: str


ERROR_TEXT: dict[str, ErrorText] = {
    "stale": ErrorText(
        409,
        "This task changed since you opened it",
        "Another decision was saved or the task went back to the queue. Reload the task to see its current state.",
    ),
    "lease_expired": ErrorText(
        409,
        "Your claim on this task expired",
        "The task went back to the queue. Claim it again from the queue to go on.",
    ),
    "claimed": ErrorText(
        409,
        "Another reviewer has claimed this task",
        "It stays with them until they submit or their claim expires. Pick another task.",
    ),
    "completed": ErrorText(409, "This task is already completed", "Another decision was recorded first."),
    "retention": ErrorText(
        409, "The note text of this task has been purged", "Its retention period has passed; it cannot be corrected."
    ),
    "precondition": ErrorText(409, "The service cannot do this now", "Reload the task and try again."),
    "not_found": ErrorText(
        404, "No such task", "It may have been completed, purged after its retention period, or be another tenant's."
    ),
    "invalid": ErrorText(400, "The service refused this decision", "Fix the fields named below and submit again."),
    "forbidden": ErrorText(
        403, "Your token may not do this", "Reviewing needs a token with the reviewer role for this tenant."
    ),
    "unauthenticated": ErrorText(401, "Please sign in again", "Your token was refused or has expired."),
    "unavailable": ErrorText(503, "The review service is unavailable", "Try again in a moment."),
    "empty": ErrorText(200, "The queue is empty", "No task matches these filters right now."),
    "error": ErrorText(502, "The review service failed", "Try again; if it keeps failing, tell the platform team."),
}

SESSION_KEY = web.AppKey("sessions", SessionStore)
RECENT_KEY = web.AppKey("recent", RecentSessions)
METRICS_KEY = web.AppKey("metrics", ConsoleMetrics)
API_KEY = web.AppKey("api", ReviewApi)
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)
CONFIG_KEY = web.AppKey("config", ConsoleConfig)

routes = web.RouteTableDef()


STATIC_PREFIX = "/static"


def route_templates() -> frozenset[str]:
    """Every route pattern the console serves (the metrics' `route` label values)."""
    return frozenset(route.path for route in routes if isinstance(route, web.RouteDef)) | {STATIC_PREFIX}


# -- the session cookie --------------------------------------------------------------------------


@dataclass
class _SessionSlot:
    """This request's session, opened on first use and written back by `session_cookie`."""

    cookie: str | None
    opened: bool = False
    session: Session | None = None
    ended: bool = False


SLOT_KEY = web.RequestKey("console_session", _SessionSlot)


@web.middleware
async def session_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Re-seal the session into its cookie on every response that used it: `last_seen` lives in the
    seal, so this is what keeps an active reviewer signed in and lets an idle one time out on any
    replica. A cookie that did not open (expired, idle, tampered, another key) is cleared."""
    slot = request[SLOT_KEY] = _SessionSlot(request.cookies.get(SESSION_COOKIE))
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _write_session(request, slot, exc)
        raise
    _write_session(request, slot, response)
    return response


def _write_session(request: web.Request, slot: _SessionSlot, response: web.StreamResponse) -> None:
    app = request.app
    if slot.session is not None and not slot.ended:
        response.set_cookie(
            SESSION_COOKIE,
            app[SESSION_KEY].seal(slot.session),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=app[CONFIG_KEY].secure_cookies,
        )
        app[RECENT_KEY].touch(slot.session.session_id)
    elif slot.cookie is not None and (slot.ended or slot.opened):
        response.del_cookie(SESSION_COOKIE, path="/")
    app[METRICS_KEY].set_active_sign_ins(app[RECENT_KEY].active())


def _current(request: web.Request) -> Session | None:
    """The request's live session, or None (opened once per request)."""
    slot = request[SLOT_KEY]
    if not slot.opened:
        slot.opened = True
        slot.session = request.app[SESSION_KEY].open(slot.cookie)
        if slot.session is None and slot.cookie is not None:
            request.app[METRICS_KEY].record_cookie_refused()
    return None if slot.ended else slot.session


def _begin(request: web.Request, session: Session) -> None:
    slot = request[SLOT_KEY]
    slot.opened, slot.session, slot.ended = True, session, False


def _end(request: web.Request, session: Session, reason: str) -> None:
    """Sign out: the cookie is cleared, and this process forgets the tasks the session opened."""
    request[SLOT_KEY].ended = True
    request.app[RECENT_KEY].forget(session.session_id)
    request.app[METRICS_KEY].record_sign_out(reason)


# -- helpers -----------------------------------------------------------------------------------


def _session(request: web.Request) -> Session:
    session = _current(request)
    if session is None:
        if request.method == "GET":
            raise web.HTTPSeeOther("/login")
        raise CsrfError
    return session


async def _form(request: web.Request, session: Session | None) -> dict[str, str]:
    """The posted form as str -> str (last value wins), after its CSRF token is checked."""
    data = await request.post()
    form = {key: value for key, value in data.items() if isinstance(value, str)}
    if session is not None and not tokens_match(session.csrf_token, form.get("csrf")):
        raise CsrfError
    return form


def _render(
    request: web.Request, template: str, context: Mapping[str, Any], *, session: Session | None, status: int = 200
) -> web.Response:
    env = request.app[TEMPLATES_KEY]
    body = env.get_template(template).render(
        **context,
        reviewer=session.reviewer if session else None,
        csrf=session.csrf_token if session else "",
        flashes=session.take_flashes() if session else [],
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _error_page(request: web.Request, session: Session | None, error: ApiError) -> web.Response:
    if error.kind == "unauthenticated":
        if session is not None:
            _end(request, session, "token_refused")
        return _login_page(request, ERROR_TEXT["unauthenticated"].advice, status=401)
    text = ERROR_TEXT.get(error.kind, ERROR_TEXT["error"])
    return _render(request, "error.html", {"error": error, "text": text}, session=session, status=text.status)


def _filters(query: Mapping[str, str]) -> TaskFilter:
    """Filters from a query or form; unknown values are dropped (they come from our own selects)."""
    age = query.get("min_age", "").strip()
    item_type, reason = query.get("type", "").strip(), query.get("reason", "").strip()
    return TaskFilter(
        item_type=item_type if item_type in ITEM_KINDS else "",
        reason=reason if reason in REASONS else "",
        min_age_minutes=min(int(age), MAX_AGE_MINUTES) if age.isdigit() and len(age) <= 6 else 0,
    )


def _redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


TASK_ROUTE = "/tenants/{tenant}/reviewTasks/{task}"


def task_url(name: str, action: str = "") -> str:
    """The console's path for a task: its resource name, each segment quoted."""
    path = "/" + "/".join(quote(part, safe="") for part in name.split("/"))
    return f"{path}/{action}" if action else path


def _task_name(request: web.Request) -> str:
    return f"tenants/{request.match_info['tenant']}/reviewTasks/{request.match_info['task']}"


# -- sign-in -----------------------------------------------------------------------------------


def _login_page(request: web.Request, message: str = "", *, status: int = 200) -> web.Response:
    login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    config = request.app[CONFIG_KEY]
    response = _render(
        request,
        "login.html",
        {"login_csrf": login_csrf, "message": message, "api_addr": config.api_addr},
        session=None,
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        login_csrf,
        path="/login",
        httponly=True,
        samesite="Strict",
        secure=config.secure_cookies,
    )
    return response


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.StreamResponse:
    if _current(request) is not None:
        raise _redirect("/")
    return _login_page(request)


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await _form(request, None)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get("csrf")):
        raise CsrfError
    token = form.get("token", "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS or any(c.isspace() for c in token):
        return _login_page(request, "Paste your reviewer token (one line, no spaces).", status=400)
    metrics = request.app[METRICS_KEY]
    reviewer, expires_at = reviewer_from_token(token)
    try:
        session = request.app[SESSION_KEY].create(token, reviewer, expires_at)
    except SessionTooLarge:
        metrics.record_sign_in("refused")
        return _login_page(request, TOO_LONG_FOR_A_COOKIE, status=400)
    try:
        await request.app[API_KEY].list_tasks(token, TaskFilter(), 1, "")
    except ApiError as error:
        if error.kind in ("unauthenticated", "forbidden"):
            metrics.record_sign_in("refused")
            return _login_page(request, ERROR_TEXT[error.kind].advice, status=ERROR_TEXT[error.kind].status)
        metrics.record_sign_in("error")
        return _login_page(request, ERROR_TEXT.get(error.kind, ERROR_TEXT["error"]).title, status=502)
    metrics.record_sign_in("ok")
    _begin(request, session)  # the session middleware seals it into the cookie
    response = web.HTTPSeeOther("/")
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


TOO_LONG_FOR_A_COOKIE = (
    "This token is too long to keep in a browser session. Ask for a token with fewer claims, or use the healthai CLI."
)


def reviewer_from_token(token: str) -> tuple[Reviewer, float | None]:
    """Who the token names, for display only: the service verifies it on every call."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return Reviewer(subject="reviewer", tenant=""), None
    exp = claims.get("exp")
    return (
        Reviewer(subject=str(claims.get("sub", "reviewer"))[:128], tenant=str(claims.get("tenant", ""))[:128]),
        float(exp) if isinstance(exp, int | float) else None,
    )


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    await _form(request, session)
    _end(request, session, "signed_out")
    raise web.HTTPSeeOther("/login")


# -- the queue ---------------------------------------------------------------------------------


@routes.get("/", name="queue")
async def queue(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    filters = _filters(request.query)
    page_token = request.query.get("page_token", "")[:512]
    try:
        page = await request.app[API_KEY].list_tasks(session.token, filters, PAGE_SIZE, page_token)
    except ApiError as error:
        return _error_page(request, session, error)
    now = datetime.now(UTC)
    return _render(
        request,
        "queue.html",
        {
            "page": page,
            "filters": filters,
            "now": now,
            "age": _age,
            "filter_types": tuple(ITEM_KINDS),
            "filter_reasons": tuple(REASONS),
            "task_url": task_url,
        },
        session=session,
    )


def _age(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} d"


@routes.post(TASK_ROUTE + "/claim", name="claim")
async def claim(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    await _form(request, session)
    name = _task_name(request)
    try:
        await request.app[API_KEY].claim(session.token, name)
    except ApiError as error:
        return _error_page(request, session, error)
    raise _redirect(task_url(name))


@routes.post("/next", name="next")
async def next_task(request: web.Request) -> web.StreamResponse:
    """Claim the oldest claimable task that matches the queue's filters (the service picks it)."""
    session = _session(request)
    form = await _form(request, session)
    try:
        task = await request.app[API_KEY].claim_next(session.token, _filters(form))
    except ApiError as error:
        return _error_page(request, session, error)
    if task is None:
        session.flash("info", ERROR_TEXT["empty"].title + ". " + ERROR_TEXT["empty"].advice)
        raise _redirect("/")
    raise _redirect(task_url(task.name))


# -- a task ------------------------------------------------------------------------------------


@routes.get(TASK_ROUTE, name="task")
async def task_page(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    try:
        task = await request.app[API_KEY].get(session.token, _task_name(request))
    except ApiError as error:
        return _error_page(request, session, error)
    request.app[RECENT_KEY].remember(session.session_id, task)
    return _render_task(request, session, task)


def _render_task(
    request: web.Request,
    session: Session,
    task: TaskDetail,
    *,
    posted: Mapping[str, str] | None = None,
    error: ApiError | None = None,
    problems: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> web.Response:
    lease_left_s = (
        int((task.summary.lease_expires_at - datetime.now(UTC)).total_seconds())
        if task.summary.lease_expires_at
        else None
    )
    mine = task.summary.state == "claimed" and task.summary.claimed_by == session.reviewer.subject
    return _render(
        request,
        "task.html",
        {
            "task": task,
            "pieces": pieces(task.note_text, task.items),
            "posted": posted or {},
            "added": _posted_additions(posted or {}),
            "error": error,
            "error_text": ERROR_TEXT.get(error.kind, ERROR_TEXT["error"]) if error else None,
            "problems": problems or [],
            "decisions": [d.value for d in Decision],
            "lease_left_s": lease_left_s,
            "mine": mine,
            "item_types": tuple(ITEM_KINDS),
            "field_specs": FIELD_SPECS,
            "task_url": task_url,
        },
        session=session,
        status=status,
    )


def _posted_additions(posted: Mapping[str, str]) -> list[dict[str, str]]:
    rows = []
    index = 0
    while f"add-{index}-type" in posted:
        prefix = f"add-{index}-"
        row = {key.removeprefix(prefix): value for key, value in posted.items() if key.startswith(prefix)}
        if any(row.values()):
            rows.append(row)
        index += 1
    return rows


@routes.post(TASK_ROUTE + "/submit", name="submit")
async def submit(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    form = await _form(request, session)
    name = _task_name(request)
    api, recent = request.app[API_KEY], request.app[RECENT_KEY]
    parsed = parse_decisions(form)
    if not parsed.problems:
        try:
            # The page's copy when this process served it; else (another replica did, or this one
            # restarted) the service's, and the form's etag still decides if the decision applies.
            task = recent.task(session.session_id, name) or await api.get(session.token, name)
            await api.submit(session.token, task, form.get("etag", ""), parsed.decisions, parsed.additions)
        except ApiError as error:
            return await _task_after_failure(request, session, name, form, error=error)
        recent.forget_task(session.session_id, name)
        counts = {d.value: sum(1 for x in parsed.decisions if x.decision is d) for d in Decision}
        request.app[METRICS_KEY].record_decisions({**counts, "add": len(parsed.additions)})
        session.flash(
            "success",
            f"Task {name.rsplit('/', 1)[-1]} submitted: {counts['accept']} accepted, {counts['correct']} corrected, "
            f"{counts['reject']} rejected, {len(parsed.additions)} added.",
        )
        raise _redirect("/")
    return await _task_after_failure(request, session, name, form, problems=parsed.problems)


async def _task_after_failure(
    request: web.Request,
    session: Session,
    name: str,
    form: Mapping[str, str],
    *,
    error: ApiError | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> web.Response:
    """The task again, with what the reviewer entered and what went wrong."""
    if error is not None and error.kind in ("unauthenticated",):
        return _error_page(request, session, error)
    # Keep what was entered only when the task is as it was: after a conflict the reviewer
    # decides again on the current version instead of resubmitting over someone else's work.
    # The task as it was is the one on the page: no second (audited) read of the note for it.
    keep = error is None or error.kind == "invalid"
    recent = request.app[RECENT_KEY]
    task = recent.task(session.session_id, name) if keep else None
    if task is None:
        try:
            task = await request.app[API_KEY].get(session.token, name)
        except ApiError as reload_error:
            return _error_page(request, session, error or reload_error)
        recent.remember(session.session_id, task)
    status = ERROR_TEXT.get(error.kind, ERROR_TEXT["error"]).status if error else 400
    return _render_task(
        request, session, task, posted=form if keep else None, error=error, problems=problems, status=status
    )


@routes.get("/favicon.ico")
async def favicon(_request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)  # none: browsers ask anyway


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")
