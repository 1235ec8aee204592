"""The review console end to end: a real server with review routing, the console calling it over
gRPC, and Debian's chromium driven by playwright-core through the keyboard (tests/e2e/browser).

The node test runner's TAP counts come back to pytest, so a browser test that fails, is skipped
or does not run fails CI.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import grpc
import pytest
from healthai.v1 import (
    extraction_service_pb2,
    extraction_service_pb2_grpc,
    review_service_pb2,
    review_service_pb2_grpc,
)

from tests.e2e.server import ROOT, ServerProcess, running_console, running_server

BROWSER_TEST = ROOT / "tests" / "e2e" / "browser" / "console.test.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NOTE = (
    "CHIEF COMPLAINT: follow-up of diabetes.\n"
    "HPI: 64 y/o with type 2 diabetes and hypertension. Denies chest pain. Reports knee swelling since May.\n"
    "MEDICATIONS: metformin 500 mg PO BID; lisinopril 10 mg daily.\n"
    "ALLERGIES: penicillin (rash).\n"
    "VITALS: BP 148/92, HR 88.\n"
)
MISSED = "knee swelling"


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("console-state"), review_routing="true", review_lease_s="120"
    ) as process:
        yield process


def token(server: ServerProcess, subject: str, roles: str = "reviewer") -> str:
    result = server.healthai_server("token", "--roles", roles, "--subject", subject, "--tenant", "dev")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def auth(value: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {value}"),)


def _tap_counts(output: str) -> dict[str, int]:
    return {key: int(value) for key, value in re.findall(r"^# (pass|fail|skipped|cancelled|todo) (\d+)$", output, re.M)}


def test_a_reviewer_works_a_task_in_the_browser_with_the_keyboard(review_server: ServerProcess, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("no chromium here; .ci/run installs it from Debian")
    assert (ROOT / "node_modules" / "playwright-core").is_dir(), "run `npm ci` at the repository root"
    alice, bob = token(review_server, "alice"), token(review_server, "bob")
    with grpc.insecure_channel(review_server.addr) as channel:
        extract = extraction_service_pb2_grpc.ClinicalExtractionServiceStub(channel)
        review = review_service_pb2_grpc.ReviewServiceStub(channel)
        names = []
        for note_id in ("console-1", "console-2"):
            response = extract.ExtractClinicalData(
                extraction_service_pb2.ExtractClinicalDataRequest(
                    text=NOTE, note_id=note_id, options=extraction_service_pb2.ExtractionOptions(request_review=True)
                ),
                metadata=auth(review_server.dev_token),
            )
            names.append(response.review_task)
        task, held = names
        review.ClaimReviewTask(review_service_pb2.ClaimReviewTaskRequest(name=held), metadata=auth(bob))

        with running_console(review_server) as console:
            screenshot = os.environ.get("CONSOLE_SCREENSHOT") or str(tmp_path / "review-console.png")
            ran = subprocess.run(
                ["node", "--test", "--test-reporter=tap", str(BROWSER_TEST)],
                cwd=ROOT,
                check=False,
                env={
                    **os.environ,
                    "CONSOLE_URL": console.url,
                    "REVIEWER_TOKEN": alice,
                    "TASK_NAME": task,
                    "HELD_TASK_NAME": held,
                    "MISSED_TEXT": MISSED,
                    "CONSOLE_SCREENSHOT": screenshot,
                    "CHROMIUM": CHROMIUM,
                },
                capture_output=True,
                text=True,
                timeout=300,
            )
            console_log = "\n".join(console.log_lines)
        counts = _tap_counts(ran.stdout)
        assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:] + console_log[-3000:]
        assert counts.get("fail") == 0 and counts.get("skipped") == 0 and counts.get("cancelled") == 0, counts
        assert counts.get("pass", 0) >= 6, counts
        assert Path(screenshot).stat().st_size > 10_000

        # The service recorded it: the task is completed, the held one still bob's.
        done = review.ListReviewTasks(
            review_service_pb2.ListReviewTasksRequest(state=review_service_pb2.REVIEW_TASK_STATE_COMPLETED),
            metadata=auth(alice),
        )
        assert [t.name for t in done.tasks] == [task]
        waiting = review.ListReviewTasks(review_service_pb2.ListReviewTasksRequest(), metadata=auth(alice))
        assert [(t.name, t.claimed_by) for t in waiting.tasks] == [(held, "bob")]
    # The console's log has requests and statuses, never the note or the token.
    assert "console request" in console_log
    for secret in ("metformin", "hypertension", MISSED, alice):
        assert secret not in console_log


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)
SESSION_COOKIE = "healthai_console_session"


def http(url: str, cookies: dict[str, str], form: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    """One request with these cookies; returns status, body and the cookies the response set."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data)
    if cookies:
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    try:
        with _OPENER.open(request, timeout=30) as response:
            status, body, headers = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, body, headers = error.code, error.read().decode(), error.headers
    jar: SimpleCookie = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or ():
        jar.load(header)
    return status, body, {name: morsel.value for name, morsel in jar.items()}


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def sign_in(url: str, reviewer_token: str) -> str:
    """Sign in on one console process; returns the session cookie's value."""
    status, html, set_cookies = http(url + "/login", {})
    assert status == 200
    status, body, session = http(url + "/login", set_cookies, {"csrf": csrf_in(html), "token": reviewer_token})
    assert status == 303, body[:2000]
    return session[SESSION_COOKIE]


def test_a_session_made_by_one_console_process_works_on_another_and_after_a_restart(
    review_server: ServerProcess, tmp_path: Path
) -> None:
    """Two console processes with one session key are two replicas behind a load balancer without
    sticky routing; a third with another key is a foreign deployment."""
    key = tmp_path / "session.key"
    key.write_bytes(secrets.token_bytes(32))
    carol = token(review_server, "carol")
    shared = ("--session-key-file", str(key))
    with (
        running_console(review_server, *shared, "--metrics-listen", "127.0.0.1:0") as first,
        running_console(review_server, *shared) as second,
    ):
        signed_in = sign_in(first.url, carol)
        # The other process opens the session: the queue, as carol, with the CSRF token in the seal.
        status, html, resealed = http(second.url + "/", {SESSION_COOKIE: signed_in})
        assert status == 200 and "carol" in html and carol not in html
        cookie = resealed[SESSION_COOKIE]
        assert cookie and cookie != signed_in  # re-sealed with the new last-seen time
        status, _, _ = http(first.url + "/", {SESSION_COOKIE: cookie})
        assert status == 200  # and back: either process opens what the other sealed
        with urllib.request.urlopen(f"http://127.0.0.1:{first.metrics_port}/metrics", timeout=10) as response:
            exposition = response.read().decode()
        assert 'healthai_console_sign_ins_total{outcome="ok"} 1.0' in exposition
        assert 'healthai_console_requests_total{route="/login",status_class="3xx"} 1.0' in exposition
        assert "carol" not in exposition

        # A restart of the first process: nobody is signed out.
        first.stop()
        with running_console(review_server, *shared) as restarted:
            status, html, _ = http(restarted.url + "/", {SESSION_COOKIE: cookie})
            assert status == 200 and "carol" in html
            # A form post (CSRF token from the seal) on the restarted process signs out.
            status, _, cleared = http(restarted.url + "/logout", {SESSION_COOKIE: cookie}, {"csrf": csrf_in(html)})
            assert status == 303 and cleared[SESSION_COOKIE] == ""

    # A missing key file stops start-up; another key opens the cookie as signed out, and clears it.
    other = tmp_path / "other.key"
    with (
        pytest.raises(RuntimeError, match="did not start"),
        running_console(review_server, "--session-key-file", str(other)),
    ):
        pass
    other.write_bytes(secrets.token_bytes(32))
    with running_console(review_server, "--session-key-file", str(other)) as foreign:
        status, _, cleared = http(foreign.url + "/", {SESSION_COOKIE: cookie})
        assert status == 303 and cleared[SESSION_COOKIE] == ""


def test_node_and_chromium_are_what_ci_installs() -> None:
    """The browser test needs node (for playwright-core) and Debian's chromium; say which is missing."""
    assert shutil.which("node"), "node is needed for the browser test"
