"""Sealed-cookie sessions (console/sessions.py) and the process-local memory beside them (console/recent.py)."""

from __future__ import annotations

import base64
import json
import os
from http.cookies import SimpleCookie

import pytest
from healthai_server.console.model import Reviewer, TaskDetail, TaskSummary
from healthai_server.console.recent import RecentSessions
from healthai_server.console.sessions import (
    MAX_COOKIE_CHARS,
    SESSION_AAD,
    Session,
    SessionStore,
    SessionTooLarge,
    load_key_ring,
)
from healthai_server.storage.crypto import FieldEncryptor, key_id

OLD, NEW, FOREIGN = os.urandom(32), os.urandom(32), os.urandom(32)
REVIEWER = Reviewer("alice", "hosp-a")
TOKEN = "eyJhbGciOiJSUzI1NiJ9." + "x" * 600 + ".sig"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def store(clock: Clock, *keys: bytes, idle: float = 60, lifetime: float = 600) -> SessionStore:
    return SessionStore(load_key_ring(list(keys or (OLD,))), idle_timeout_s=idle, max_lifetime_s=lifetime, clock=clock)


def test_a_session_round_trips_through_its_cookie_value(clock: Clock) -> None:
    sessions = store(clock)
    session = sessions.create(TOKEN, REVIEWER, token_expires_at=clock.now + 300)
    session.flash("success", "Task t-1 submitted: 2 accepted, 0 corrected, 0 rejected, 0 added.")
    value = sessions.seal(session)
    clock.now += 10
    opened = sessions.open(value)
    assert opened is not None
    assert (opened.session_id, opened.token, opened.reviewer, opened.csrf_token) == (
        session.session_id,
        TOKEN,
        REVIEWER,
        session.csrf_token,
    )
    assert opened.expires_at == pytest.approx(clock.now - 10 + 300)  # the token's exp, under the cap
    assert opened.last_seen == clock.now  # touched
    assert opened.take_flashes() == session.flashes and opened.take_flashes() == []


def test_the_cookie_value_is_opaque_and_needs_no_quoting(clock: Clock) -> None:
    sessions = store(clock)
    value = sessions.seal(sessions.create(TOKEN, REVIEWER, None))
    assert TOKEN[:20] not in value and "alice" not in value and "hosp-a" not in value
    assert value.startswith(key_id(OLD) + ":")
    cookie: SimpleCookie = SimpleCookie()
    cookie["s"] = value
    assert cookie.output(header="").strip() == f"s={value}"  # no quotes: every character is cookie-legal
    # Two seals of one session differ (a fresh nonce each time).
    session = sessions.create(TOKEN, REVIEWER, None)
    assert sessions.seal(session) != sessions.seal(session)


def test_a_tampered_cookie_is_signed_out(clock: Clock) -> None:
    sessions = store(clock)
    value = sessions.seal(sessions.create(TOKEN, REVIEWER, None))
    kid, nonce, sealed = value.split(":")
    flipped = sealed[:40] + ("A" if sealed[40] != "A" else "B") + sealed[41:]
    for bad in (
        f"{kid}:{nonce}:{flipped}",
        f"{kid}:{nonce}:{sealed[:-2]}",
        f"{kid}:{nonce[::-1]}:{sealed}",
        f"deadbeef:{nonce}:{sealed}",
        value + ":x",
        "not a cookie",
        "",
        None,
        "a" * (MAX_COOKIE_CHARS + 1),
    ):
        assert sessions.open(bad) is None, bad
    assert sessions.open(value) is not None


def test_a_forged_payload_under_another_purpose_does_not_open(clock: Clock) -> None:
    """The same key sealing something else (another associated data) never opens as a session."""
    ring = FieldEncryptor({key_id(OLD): OLD}, key_id(OLD))
    payload = json.dumps(
        {"v": 1, "sid": "s", "tok": "t", "sub": "x", "ten": "y", "csrf": "c", "exp": 2e9, "seen": clock.now, "fl": []}
    )
    other = ring.encrypt(payload.encode(), b"healthai-cache").translate(str.maketrans("+/", "-_")).replace("=", "")
    assert store(clock).open(other) is None
    same = ring.encrypt(payload.encode(), SESSION_AAD).translate(str.maketrans("+/", "-_")).replace("=", "")
    assert store(clock).open(same) is not None  # the format itself is what a seal of ours looks like


def test_a_well_sealed_payload_of_the_wrong_shape_is_signed_out(clock: Clock) -> None:
    ring = FieldEncryptor({key_id(OLD): OLD}, key_id(OLD))
    good = {
        "v": 1,
        "sid": "s",
        "tok": "t",
        "sub": "x",
        "ten": "y",
        "csrf": "c",
        "exp": 2e9,
        "seen": clock.now,
        "fl": [],
    }
    for change in ({"v": 2}, {"tok": ""}, {"exp": "soon"}, {"seen": True}, {"fl": [["one"]]}, {"sid": 7}):
        payload = json.dumps({**good, **change}).encode()
        value = ring.encrypt(payload, SESSION_AAD).translate(str.maketrans("+/", "-_")).replace("=", "")
        assert store(clock).open(value) is None, change
    for broken in (b"[]", b"not json"):
        value = ring.encrypt(broken, SESSION_AAD).translate(str.maketrans("+/", "-_")).replace("=", "")
        assert store(clock).open(value) is None


def test_expiry_is_the_token_exp_capped_at_the_lifetime(clock: Clock) -> None:
    sessions = store(clock, idle=1e9, lifetime=600)
    short = sessions.seal(sessions.create(TOKEN, REVIEWER, token_expires_at=clock.now + 100))
    capped = sessions.seal(sessions.create(TOKEN, REVIEWER, token_expires_at=clock.now + 10_000))
    forever = sessions.seal(sessions.create(TOKEN, REVIEWER, token_expires_at=None))
    clock.now += 99
    assert sessions.open(short) is not None
    clock.now += 1
    assert sessions.open(short) is None  # the token expired: so did the session
    clock.now += 499
    assert sessions.open(capped) is not None and sessions.open(forever) is not None
    clock.now += 1
    assert sessions.open(capped) is None and sessions.open(forever) is None  # the lifetime cap


def test_idle_timeout_is_enforced_by_resealing(clock: Clock) -> None:
    sessions = store(clock, idle=60, lifetime=3600)
    value = sessions.seal(sessions.create(TOKEN, REVIEWER, None))
    for _ in range(5):  # in use: each request re-seals with the new last-seen time
        clock.now += 59
        session = sessions.open(value)
        assert session is not None
        value = sessions.seal(session)
    stale = value
    clock.now += 60
    assert sessions.open(stale) is None  # idle for the timeout: signed out on every replica


def test_a_cookie_from_the_future_is_refused(clock: Clock) -> None:
    sessions = store(clock)
    session = sessions.create(TOKEN, REVIEWER, None)
    session.last_seen = clock.now + 3600
    assert sessions.open(sessions.seal(session)) is None
    session.last_seen = clock.now + 5  # another replica's clock a little ahead: fine
    assert sessions.open(sessions.seal(session)) is not None


def test_key_rotation_keeps_sessions_across_the_switch(clock: Clock) -> None:
    before = store(clock, OLD)
    old_cookie = before.seal(before.create(TOKEN, REVIEWER, None))
    # Step 1: the new key is accepted but does not seal yet (every replica learns it first).
    learning = store(clock, OLD, NEW)
    assert learning.open(old_cookie) is not None
    # Step 2: the new key seals; the old one still opens cookies sealed before the switch.
    switched = store(clock, NEW, OLD)
    session = switched.open(old_cookie)
    assert session is not None
    new_cookie = switched.seal(session)
    assert new_cookie.startswith(key_id(NEW) + ":")
    assert learning.open(new_cookie) is not None  # a replica still at step 1 opens it too
    # Step 3: the old key leaves the ring: cookies it sealed are signed out, resealed ones live on.
    after = store(clock, NEW)
    assert after.open(old_cookie) is None and after.open(new_cookie) is not None
    # A console with another key entirely opens none of them.
    assert store(clock, FOREIGN).open(new_cookie) is None


def test_a_token_too_long_for_a_cookie_is_refused_and_flashes_never_overflow(clock: Clock) -> None:
    sessions = store(clock)
    with pytest.raises(SessionTooLarge):
        sessions.create("t" * 3000, REVIEWER, None)
    session = sessions.create("t" * 2000, REVIEWER, None)
    for i in range(10):
        session.flash("info", f"{i} " + "m" * 500)
    assert len(session.flashes) == 3 and all(len(m) <= 240 for _, m in session.flashes)
    value = sessions.seal(session)
    assert len(value) <= MAX_COOKIE_CHARS
    opened = sessions.open(value)
    assert opened is not None and opened.token == "t" * 2000
    # The oldest flashes gave way to the session; the latest ones made it.
    assert 1 <= len(opened.flashes) < 3 and opened.flashes == session.flashes[-len(opened.flashes) :]


def test_a_typical_jwt_leaves_room(clock: Clock) -> None:
    """A 1 KB RS256 token (what an IdP issues) seals into well under the browsers' 4 KB."""
    token = ".".join(base64.urlsafe_b64encode(os.urandom(n)).decode().rstrip("=") for n in (40, 400, 256))
    sessions = store(clock)
    session = sessions.create(token, REVIEWER, None)
    session.flash("success", "Task abc submitted: 3 accepted, 1 corrected, 0 rejected, 1 added.")
    assert len(sessions.seal(session)) < 2600


def test_an_empty_key_ring_and_a_short_key_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        load_key_ring([])
    with pytest.raises(ValueError, match="32 bytes"):
        load_key_ring([b"short"])


def task(name: str) -> TaskDetail:
    return TaskDetail(TaskSummary(name, "t", (), (), 0, None, "claimed"), "note text", ())


def test_recent_sessions_keep_a_few_tasks_and_count_the_active_ones(clock: Clock) -> None:
    recent = RecentSessions(idle_timeout_s=60, max_sessions=2, tasks_per_session=2, clock=clock)
    for name in ("a", "b", "c"):
        recent.remember("s1", task(name))
    assert recent.task("s1", "a") is None and recent.task("s1", "c") is not None
    recent.forget_task("s1", "c")
    assert recent.task("s1", "c") is None and recent.task("nobody", "b") is None
    recent.touch("s2")
    assert recent.active() == 2
    recent.touch("s3")  # at most two sessions: the least recently seen goes
    assert recent.active() == 2 and recent.task("s1", "b") is None
    clock.now += 61
    assert recent.active() == 0
    recent.touch("s4")
    recent.forget("s4")
    assert recent.active() == 0


def test_session_flash_keeps_the_latest() -> None:
    session = Session("s", "t", REVIEWER, "c", 0.0, 0.0)
    for i in range(5):
        session.flash("info", str(i))
    assert session.take_flashes() == [("info", "2"), ("info", "3"), ("info", "4")]
