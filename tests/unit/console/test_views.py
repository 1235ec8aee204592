"""The console's handlers through aiohttp's test client, over the real GrpcReviewApi with a fake stub."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator

import grpc
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from healthai.v1 import clinical_pb2, review_service_pb2
from healthai_server.console.api import GrpcReviewApi
from healthai_server.console.app import build_console_app, console_metrics
from healthai_server.console.security import CONTENT_SECURITY_POLICY
from healthai_server.console.sessions import SessionStore, load_key_ring
from healthai_server.console.views import LOGIN_CSRF_COOKIE, SESSION_COOKIE, ConsoleConfig, route_templates, task_url
from healthai_server.observability.console_metrics import ConsoleMetrics
from prometheus_client import CollectorRegistry

from tests.unit.console.fakes import NAME, NOTE, FakeReviewStub, clinical_data, review_task, rpc_error

TOKEN = jwt.encode(
    {"sub": "rev-1", "tenant": "dev", "roles": ["reviewer"], "exp": int(time.time()) + 3600},
    "k" * 32,
    algorithm="HS256",
)
TASK_PATH = task_url(NAME)
KEY = os.urandom(32)
Client = TestClient[web.Request, web.Application]


@pytest.fixture
def stub() -> FakeReviewStub:
    return FakeReviewStub()


@pytest.fixture
def metrics() -> ConsoleMetrics:
    return console_metrics(CollectorRegistry(), process_metrics=False)


def console(
    stub: FakeReviewStub, *keys: bytes, metrics: ConsoleMetrics | None = None, secure: bool = False
) -> web.Application:
    """A console app, as one process would build it; two apps with one key are two replicas."""
    api = GrpcReviewApi(stub, on_error=metrics.record_upstream_error if metrics else None)
    return build_console_app(
        api,
        sessions=SessionStore(load_key_ring(list(keys or (KEY,)))),
        metrics=metrics,
        config=ConsoleConfig(api_addr="x:1", secure_cookies=secure),
    )


@pytest.fixture
async def client(stub: FakeReviewStub, metrics: ConsoleMetrics) -> AsyncIterator[Client]:
    async with TestClient(TestServer(console(stub, metrics=metrics))) as test_client:
        yield test_client


def session_cookie(client: Client) -> str:
    (value,) = [c.value for c in client.session.cookie_jar if c.key == SESSION_COOKIE]
    return value


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def sign_in(client: Client, token: str = TOKEN) -> str:
    """Sign in; returns the CSRF token of the queue page."""
    page = await client.get("/login")
    response = await client.post(
        "/login", data={"csrf": csrf_of(await page.text()), "token": token}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    queue = await client.get("/")
    assert queue.status == 200
    return csrf_of(await queue.text())


async def open_task(client: Client) -> str:
    page = await client.get(TASK_PATH)
    assert page.status == 200, await page.text()
    return await page.text()


def decision_form(html: str, **values: str) -> dict[str, str]:
    """The task form's fields as the page renders them (radios unchecked), overridden by values."""
    form: dict[str, str] = {}
    for name, value in re.findall(r'<input type="(?:hidden|text)" name="([^"]+)" value="([^"]*)"', html):
        form.setdefault(name, value.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'"))
    form.update(values)
    return form


# -- sign-in, sessions and headers -----------------------------------------------------------------


async def test_sign_in_seals_the_token_into_an_opaque_cookie(client: Client, stub: FakeReviewStub) -> None:
    page = await client.get("/login")
    assert page.cookies[LOGIN_CSRF_COOKIE]["samesite"] == "Strict"
    response = await client.post(
        "/login", data={"csrf": csrf_of(await page.text()), "token": TOKEN}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"] and cookie["path"] == "/"
    assert TOKEN not in cookie.value and "rev-1" not in cookie.value and len(cookie.value) < 4000
    queue = await client.get("/")
    html = await queue.text()
    assert TOKEN not in html and "rev-1" in html and "tenant dev" in html
    # Every service call carries the reviewer's token, and only as the authorization header.
    assert all(metadata == {"authorization": f"Bearer {TOKEN}"} for _, _, metadata in stub.calls)


async def test_sign_in_refuses_a_token_without_the_reviewer_role(client: Client, stub: FakeReviewStub) -> None:
    stub.answer("ListReviewTasks", rpc_error(grpc.StatusCode.PERMISSION_DENIED, "role may not call this method"))
    page = await client.get("/login")
    response = await client.post("/login", data={"csrf": csrf_of(await page.text()), "token": TOKEN})
    assert response.status == 403
    assert "reviewer role" in await response.text()
    assert SESSION_COOKIE not in response.cookies


async def test_sign_in_refuses_an_expired_token_and_a_blank_one(client: Client, stub: FakeReviewStub) -> None:
    stub.answer("ListReviewTasks", rpc_error(grpc.StatusCode.UNAUTHENTICATED, "the bearer token has expired"))
    csrf = csrf_of(await (await client.get("/login")).text())
    blank = await client.post("/login", data={"csrf": csrf, "token": "two words"})
    assert blank.status == 400
    expired = await client.post("/login", data={"csrf": csrf, "token": TOKEN})
    assert expired.status == 401 and "refused or has expired" in await expired.text()


async def test_sign_in_without_the_login_cookie_is_refused(client: Client) -> None:
    response = await client.post("/login", data={"csrf": "guess", "token": TOKEN})
    assert response.status == 403


async def test_pages_need_a_session_and_carry_the_security_headers(client: Client) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    page = await client.get("/login")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Server"] == "healthai-console"
    assert "<script>" not in await page.text()  # no inline script: the CSP would block it
    static = await client.get("/static/console.js")
    assert static.status == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    assert (await client.post(TASK_PATH + "/submit", data={})).status == 403  # no session: no post


async def test_sign_out_ends_the_session(client: Client) -> None:
    csrf = await sign_in(client)
    response = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert response.cookies[SESSION_COOKIE].value == ""  # cleared in the browser
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_copy_of_the_cookie_outlives_sign_out_until_it_expires(client: Client) -> None:
    """The chosen bound, pinned so nobody mistakes it for revocation: without state shared by the
    replicas, sign-out clears the browser's cookie and a copy taken before keeps working until
    its idle timeout or expiry (the README explains the choice)."""
    csrf = await sign_in(client)
    copied = session_cookie(client)
    await client.post("/logout", data={"csrf": csrf})
    replay = await client.get("/", headers={"Cookie": f"{SESSION_COOKIE}={copied}"}, allow_redirects=False)
    assert replay.status == 200


async def test_every_page_reseals_the_session_and_a_restart_keeps_it(stub: FakeReviewStub) -> None:
    async with TestClient(TestServer(console(stub))) as first:
        await sign_in(first)
        signed_in = session_cookie(first)
        page = await first.get("/")
        assert page.cookies[SESSION_COOKIE].value not in ("", signed_in)  # re-sealed: last-seen moves on
        cookie = session_cookie(first)
    # A new process (a restart, or another replica) with the same key: still signed in, no sign-in.
    async with TestClient(TestServer(console(stub))) as second:
        queue = await second.get("/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, allow_redirects=False)
        assert queue.status == 200 and "rev-1" in await queue.text()
    # Another key (a foreign deployment, or a key dropped from the ring): signed out, cookie cleared.
    async with TestClient(TestServer(console(stub, os.urandom(32)))) as foreign:
        refused = await foreign.get("/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, allow_redirects=False)
        assert refused.status == 303 and refused.headers["Location"] == "/login"
        assert refused.cookies[SESSION_COOKIE].value == ""
        post = await foreign.post(TASK_PATH + "/claim", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
        assert post.status == 403 and stub.requests("ClaimReviewTask") == []


async def test_a_tampered_cookie_is_signed_out(client: Client) -> None:
    await sign_in(client)
    value = session_cookie(client)
    tampered = value[:-5] + ("AAAAA" if not value.endswith("AAAAA") else "BBBBB")
    client.session.cookie_jar.clear()
    response = await client.get("/", headers={"Cookie": f"{SESSION_COOKIE}={tampered}"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"


async def test_cookies_are_secure_behind_https(stub: FakeReviewStub) -> None:
    async with TestClient(TestServer(console(stub, secure=True))) as client:
        page = await client.get("/login")
        login = page.cookies[LOGIN_CSRF_COOKIE]
        assert login["secure"]
        # The test client is plain HTTP, so its jar keeps a Secure cookie back: send it by hand.
        response = await client.post(
            "/login",
            data={"csrf": csrf_of(await page.text()), "token": TOKEN},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={login.value}"},
            allow_redirects=False,
        )
        cookie = response.cookies[SESSION_COOKIE]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"


async def test_a_token_too_long_for_a_cookie_is_refused_at_sign_in(client: Client, stub: FakeReviewStub) -> None:
    page = await client.get("/login")
    response = await client.post("/login", data={"csrf": csrf_of(await page.text()), "token": "t" * 4000})
    assert response.status == 400 and "too long to keep in a browser session" in await response.text()
    assert SESSION_COOKIE not in response.cookies and stub.requests("ListReviewTasks") == []


async def test_an_expired_token_mid_session_signs_the_reviewer_out(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    stub.answer("GetReviewTask", rpc_error(grpc.StatusCode.UNAUTHENTICATED, "the bearer token has expired"))
    response = await client.get(TASK_PATH)
    assert response.status == 401 and "Reviewer token" in await response.text()
    assert (await client.get("/", allow_redirects=False)).status == 303


# -- CSRF --------------------------------------------------------------------------------------------


async def test_posts_without_the_session_csrf_token_are_refused(client: Client, stub: FakeReviewStub) -> None:
    csrf = await sign_in(client)
    assert (await client.post(TASK_PATH + "/claim", data={})).status == 403
    assert (await client.post(TASK_PATH + "/claim", data={"csrf": csrf + "x"})).status == 403
    cross_site = await client.post(TASK_PATH + "/claim", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403
    other_origin = await client.post(TASK_PATH + "/claim", data={"csrf": csrf}, headers={"Origin": "http://evil.test"})
    assert other_origin.status == 403
    null_origin = await client.post(TASK_PATH + "/claim", data={"csrf": csrf}, headers={"Origin": "null"})
    assert null_origin.status == 403
    assert stub.requests("ClaimReviewTask") == []
    ok = await client.post(TASK_PATH + "/claim", data={"csrf": csrf}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == TASK_PATH


# -- the queue ---------------------------------------------------------------------------------------


async def test_queue_lists_tasks_with_the_filters_sent_to_the_service(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    stub.answer(
        "ListReviewTasks",
        review_service_pb2.ListReviewTasksResponse(
            tasks=[review_task(review_service_pb2.REVIEW_TASK_STATE_PENDING)], next_page_token="p2"
        ),
    )
    page = await client.get("/?type=medication&reason=low_confidence&min_age=90&page_token=p1")
    html = await page.text()
    assert "task-1" in html and "low confidence" in html and "page_token=p2" in html
    request = stub.requests("ListReviewTasks")[-1]
    assert request.item_type == clinical_pb2.ENTITY_TYPE_MEDICATION
    assert request.reason == review_service_pb2.REVIEW_REASON_LOW_CONFIDENCE
    assert request.min_age.seconds == 90 * 60 and request.page_token == "p1"
    await client.get("/?type=<script>&reason=nope&min_age=-4")
    request = stub.requests("ListReviewTasks")[-1]
    assert (request.item_type, request.reason, request.HasField("min_age")) == (0, 0, False)


async def test_an_empty_queue_says_so(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    stub.answer("ListReviewTasks", review_service_pb2.ListReviewTasksResponse())
    assert "No task waits for review" in await (await client.get("/")).text()


async def test_next_claims_through_the_service_or_says_the_queue_is_empty(client: Client, stub: FakeReviewStub) -> None:
    csrf = await sign_in(client)
    response = await client.post("/next", data={"csrf": csrf, "type": "condition"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == TASK_PATH
    request = stub.requests("ClaimReviewTask")[-1]
    assert request.name == "" and request.item_type == clinical_pb2.ENTITY_TYPE_CONDITION
    stub.answer("ClaimReviewTask", rpc_error(grpc.StatusCode.NOT_FOUND, "no review task is waiting"))
    empty = await client.post("/next", data={"csrf": csrf})
    assert "The queue is empty" in await empty.text()


async def test_claim_of_a_task_another_reviewer_holds_says_so(client: Client, stub: FakeReviewStub) -> None:
    csrf = await sign_in(client)
    stub.answer(
        "ClaimReviewTask",
        rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION,
            "the review task is claimed by another reviewer",
            reason="REVIEW_TASK_CLAIMED",
        ),
    )
    response = await client.post(TASK_PATH + "/claim", data={"csrf": csrf})
    html = await response.text()
    assert response.status == 409 and "Another reviewer has claimed this task" in html and "audit-123" in html


# -- a task ------------------------------------------------------------------------------------------


async def test_task_page_shows_the_note_with_highlighted_spans_escaped(client: Client) -> None:
    await sign_in(client)
    html = await open_task(client)
    assert "&lt;b&gt;" in html and "<b>type 2" not in html  # note text is escaped
    assert "chest pain.&#13;\n" in html  # a carriage return survives into the DOM
    start = NOTE.index("hypertension")
    assert f'<span data-start="{start}" class="hl hl-condition" data-items="0">hypertension</span>' in html
    # Flagged items first and required; the others optional.
    assert html.index('data-key="condition/0"') < html.index('data-key="condition/1"')
    assert 'name="item-0-flagged"' in html and "not flagged · optional" in html
    assert 'name="etag" value="etag-1"' in html and "claim ends in" in html


async def test_a_task_held_by_someone_else_is_read_only(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    held = review_task()
    held.claimed_by = "rev-2"
    stub.answer(
        "GetReviewTask", review_service_pb2.GetReviewTaskResponse(task=held, note_text=NOTE, data=clinical_data())
    )
    html = await open_task(client)
    assert "rev-2 holds this task" in html and "<fieldset disabled>" in html and "Claim this task" in html


async def test_a_completed_task_and_a_purged_note_say_so(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    stub.answer(
        "GetReviewTask",
        review_service_pb2.GetReviewTaskResponse(
            task=review_task(review_service_pb2.REVIEW_TASK_STATE_COMPLETED), note_text="", data=clinical_data()
        ),
    )
    html = await open_task(client)
    assert "This task is completed" in html and "no longer kept" in html and "Claim this task" not in html


async def test_submit_sends_accept_reject_correct_and_add_with_the_etag(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    html = await open_task(client)
    added_start = NOTE.index("penicillin")
    form = decision_form(
        html,
        **{
            "item-0-decision": "accept",
            "item-1-decision": "correct",
            "item-1-field-dose.value": "850",
            "item-1-field-route": "oral",
            "item-2-decision": "reject",
            "add-0-type": "allergy",
            "add-0-start": str(added_start),
            "add-0-end": str(added_start + len("penicillin")),
            "add-0-text": "penicillin",
            "add-0-allergy-substance": "penicillin",
            "add-0-allergy-category": "medication",
        },
    )
    response = await client.post(TASK_PATH + "/submit", data=form, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/", await response.text()
    request = stub.requests("SubmitReviewDecision")[-1]
    assert request.name == NAME and request.etag == "etag-1"
    kinds = [(d.kind, d.item_type, d.index) for d in request.decisions]
    assert kinds == [
        (review_service_pb2.REVIEW_DECISION_KIND_ACCEPT, clinical_pb2.ENTITY_TYPE_CONDITION, 0),
        (review_service_pb2.REVIEW_DECISION_KIND_CORRECT, clinical_pb2.ENTITY_TYPE_MEDICATION, 0),
        (review_service_pb2.REVIEW_DECISION_KIND_REJECT, clinical_pb2.ENTITY_TYPE_CONDITION, 1),
        (review_service_pb2.REVIEW_DECISION_KIND_ADD, clinical_pb2.ENTITY_TYPE_ALLERGY, 0),
    ]
    corrected = request.decisions[1]
    assert list(corrected.update_mask.paths) == ["dose.value"]  # route was unchanged
    medication = corrected.item.medication
    assert medication.dose.value == 850 and medication.dose.unit == "mg" and medication.span.text == "metformin"
    added = request.decisions[3].item.allergy
    assert (added.span.start, added.span.text, added.substance) == (added_start, "penicillin", "penicillin")
    assert added.category == clinical_pb2.ALLERGY_CATEGORY_MEDICATION
    queue = await client.get("/")
    assert "Task task-1 submitted: 1 accepted, 1 corrected, 1 rejected, 1 added." in await queue.text()
    assert len(stub.requests("GetReviewTask")) == 1  # the correction started from the page's copy


async def test_a_missing_decision_on_a_flagged_item_is_caught_before_the_service(
    client: Client, stub: FakeReviewStub
) -> None:
    await sign_in(client)
    form = decision_form(await open_task(client), **{"item-0-decision": "accept"})
    response = await client.post(TASK_PATH + "/submit", data=form)
    html = await response.text()
    assert response.status == 400 and "item 2 has no decision" in html
    assert 'value="accept" checked' in html  # what was entered stays
    assert stub.requests("SubmitReviewDecision") == []
    assert len(stub.requests("GetReviewTask")) == 1  # the page's copy: the note is not read again


async def test_a_stale_etag_shows_the_current_task_without_the_old_decisions(
    client: Client, stub: FakeReviewStub
) -> None:
    await sign_in(client)
    form = decision_form(await open_task(client), **{"item-0-decision": "accept", "item-1-decision": "reject"})
    stub.answer(
        "SubmitReviewDecision",
        rpc_error(grpc.StatusCode.ABORTED, "the review task changed since it was read (stale etag); read it again"),
    )
    response = await client.post(TASK_PATH + "/submit", data=form)
    html = await response.text()
    assert response.status == 409 and "This task changed since you opened it" in html
    assert 'data-kind="stale"' in html and " checked" not in html


async def test_an_expired_lease_and_refused_fields_are_explained(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    html = await open_task(client)
    form = decision_form(html, **{"item-0-decision": "accept", "item-1-decision": "reject"})
    stub.answer(
        "SubmitReviewDecision",
        rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION,
            "the lease on the review task has expired or was never taken; claim it again",
            reason="REVIEW_LEASE_EXPIRED",
        ),
        rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the review decision is invalid; nothing was recorded",
            reason="INVALID_ARGUMENT",
            violations=(("decisions[3].item.span", "the span's text is not the note's text there"),),
        ),
    )
    expired = await client.post(TASK_PATH + "/submit", data=form)
    assert expired.status == 409 and "Your claim on this task expired" in await expired.text()
    refused = await client.post(TASK_PATH + "/submit", data=form)
    text = await refused.text()
    assert refused.status == 400 and "decisions[3].item.span" in text and 'value="reject" checked' in text


async def test_values_that_cannot_be_sent_are_named(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    form = decision_form(
        await open_task(client),
        **{"item-0-decision": "accept", "item-1-decision": "correct", "item-1-field-dose.value": "a lot"},
    )
    response = await client.post(TASK_PATH + "/submit", data=form)
    assert response.status == 400 and "must be a number" in await response.text()
    assert stub.requests("SubmitReviewDecision") == []


async def test_unknown_and_gone_tasks(client: Client, stub: FakeReviewStub) -> None:
    await sign_in(client)
    stub.answer("GetReviewTask", rpc_error(grpc.StatusCode.NOT_FOUND, "no such review task"))
    response = await client.get(TASK_PATH)
    assert response.status == 404 and "No such task" in await response.text()
    stub.answer("ListReviewTasks", rpc_error(grpc.StatusCode.UNAVAILABLE, "storage unavailable"))
    assert (await client.get("/")).status == 503


async def test_logs_carry_neither_note_text_nor_token(
    client: Client, stub: FakeReviewStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await sign_in(client)
    html = await open_task(client)
    form = decision_form(html, **{"item-0-decision": "accept", "item-1-decision": "reject"})
    await client.post(TASK_PATH + "/submit", data=form)
    # aiohttp's own access log (with paths) is on in the test server; serve_console turns it off.
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "aiohttp.access")
    assert "GET /tenants/{tenant}/reviewTasks/{task}" in logged
    assert "hypertension" not in logged and "metformin" not in logged and TOKEN not in logged
    assert "task-1" not in logged  # route patterns, not paths


# -- metrics -----------------------------------------------------------------------------------------


def sample(metrics: ConsoleMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_metrics_count_routes_decisions_upstream_errors_and_sign_ins(
    client: Client, stub: FakeReviewStub, metrics: ConsoleMetrics
) -> None:
    await sign_in(client)
    html = await open_task(client)
    form = decision_form(
        html, **{"item-0-decision": "accept", "item-1-decision": "reject", "item-2-decision": "accept"}
    )
    assert (await client.post(TASK_PATH + "/submit", data=form, allow_redirects=False)).status == 303
    stub.answer("GetReviewTask", rpc_error(grpc.StatusCode.NOT_FOUND, "no such review task"))
    assert (await client.get(TASK_PATH)).status == 404
    await client.get("/no/such/page")

    task_route = "/tenants/{tenant}/reviewTasks/{task}"
    assert sample(metrics, "healthai_console_requests_total", route=task_route, status_class="2xx") == 1
    assert sample(metrics, "healthai_console_requests_total", route=task_route, status_class="4xx") == 1
    assert sample(metrics, "healthai_console_requests_total", route=task_route + "/submit", status_class="3xx") == 1
    assert sample(metrics, "healthai_console_requests_total", route="other", status_class="4xx") == 1
    assert sample(metrics, "healthai_console_decisions_total", kind="accept") == 2
    assert sample(metrics, "healthai_console_decisions_total", kind="reject") == 1
    assert sample(metrics, "healthai_console_decisions_total", kind="correct") == 0
    assert sample(metrics, "healthai_console_upstream_errors_total", method="GetReviewTask", code="NOT_FOUND") == 1
    assert sample(metrics, "healthai_console_sign_ins_total", outcome="ok") == 1
    assert sample(metrics, "healthai_console_active_sign_ins") == 1
    # Route templates, never paths: no task id, tenant, reviewer or note text in any label.
    text = metrics.render()
    for secret in ("task-1", "rev-1", "hypertension", "/no/such/page", TOKEN):
        assert secret not in text


async def test_route_labels_are_the_routes_the_app_serves(client: Client) -> None:
    served = {resource.canonical for resource in client.app.router.resources()} if client.app else set()
    assert served == route_templates()


async def test_health_probes_are_counted_but_not_logged(
    client: Client, metrics: ConsoleMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="healthai_server.console")
    for _ in range(3):
        assert (await client.get("/healthz")).status == 200
    assert sample(metrics, "healthai_console_requests_total", route="/healthz", status_class="2xx") == 3
    assert not [r for r in caplog.records if r.name == "healthai_server.console" and "/healthz" in str(r.__dict__)]
