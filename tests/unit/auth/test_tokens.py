from __future__ import annotations

import time
from pathlib import Path

import pytest
from healthai_server.auth.principal import Principal
from healthai_server.auth.rbac import RbacPolicy, is_open_method
from healthai_server.auth.tokens import TokenVerifier, generate_signing_key, mint_token
from healthai_server.domain.errors import AuthenticationFailed, PermissionDenied

EXTRACT = "/healthai.v1.ClinicalExtractionService/ExtractClinicalData"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[bytes, bytes]:
    generate_signing_key(tmp_path / "k.pem", tmp_path / "k.pub")
    return (tmp_path / "k.pem").read_bytes(), (tmp_path / "k.pub").read_bytes()


def _mint(private: bytes, **overrides: object) -> str:
    claims: dict[str, object] = {
        "subject": "svc-1",
        "tenant": "hosp-a",
        "roles": ["clinician"],
        "issuer": "iss",
        "audience": "aud",
    }
    claims.update(overrides)
    return mint_token(private, **claims)  # type: ignore[arg-type]


def test_valid_token_becomes_principal(keys: tuple[bytes, bytes]) -> None:
    private, public = keys
    principal = TokenVerifier(public, "iss", "aud").verify(_mint(private))
    assert principal == Principal("svc-1", "hosp-a", frozenset({"clinician"}))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"ttl_s": -120}, "TOKEN_EXPIRED"),
        ({"audience": "other"}, "TOKEN_WRONG_AUDIENCE"),
        ({"issuer": "evil"}, "TOKEN_WRONG_AUDIENCE"),
        ({"tenant": "bad tenant!"}, "TOKEN_INVALID"),
        # The anonymous placeholder of unauthenticated audit rows, and its look-alikes (issue 12, item 8).
        ({"tenant": "-"}, "TOKEN_INVALID"),
        ({"tenant": "--"}, "TOKEN_INVALID"),
        ({"tenant": "-hosp"}, "TOKEN_INVALID"),
        ({"tenant": "hosp-"}, "TOKEN_INVALID"),
        ({"tenant": ""}, "TOKEN_INVALID"),
        ({"tenant": "a" * 129}, "TOKEN_INVALID"),
        ({"tenant": "hosp:a"}, "TOKEN_INVALID"),
    ],
)
def test_bad_tokens_are_rejected_with_their_reason(
    keys: tuple[bytes, bytes], overrides: dict[str, object], reason: str
) -> None:
    private, public = keys
    with pytest.raises(AuthenticationFailed) as caught:
        TokenVerifier(public, "iss", "aud", leeway_s=0).verify(_mint(private, **overrides))
    assert caught.value.reason == reason


@pytest.mark.parametrize("tenant", ["a", "hosp-a", "t1", "Clinic_B.north", "a" * 128])
def test_valid_tenant_ids_are_accepted(keys: tuple[bytes, bytes], tenant: str) -> None:
    private, public = keys
    assert TokenVerifier(public, "iss", "aud").verify(_mint(private, tenant=tenant)).tenant == tenant


def test_token_signed_by_another_key_is_invalid(keys: tuple[bytes, bytes], tmp_path: Path) -> None:
    _private, public = keys
    generate_signing_key(tmp_path / "other.pem", tmp_path / "other.pub")
    forged = _mint((tmp_path / "other.pem").read_bytes())
    with pytest.raises(AuthenticationFailed) as caught:
        TokenVerifier(public, "iss", "aud").verify(forged)
    assert caught.value.reason == "TOKEN_INVALID"


def test_garbage_token_is_invalid(keys: tuple[bytes, bytes]) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        TokenVerifier(keys[1], "iss", "aud").verify("not.a.jwt")
    assert caught.value.reason == "TOKEN_INVALID"


def test_rbac_policy_from_data_file() -> None:
    policy = RbacPolicy.from_file()
    policy.check(Principal("u", "t", frozenset({"coder"})), EXTRACT)
    with pytest.raises(PermissionDenied):
        policy.check(Principal("u", "t", frozenset({"deid"})), EXTRACT)
    with pytest.raises(PermissionDenied):  # unknown methods fail closed
        policy.check(Principal("u", "t", frozenset({"admin"})), "/healthai.v1.Nope/Nope")
    assert is_open_method("/grpc.health.v1.Health/Check")
    assert not is_open_method(EXTRACT)


def test_a_remembered_token_still_expires(keys: tuple[bytes, bytes]) -> None:
    private, public = keys
    verifier = TokenVerifier(public, "iss", "aud", leeway_s=0)
    token = _mint(private, ttl_s=1)
    assert verifier.verify(token).tenant == "hosp-a"
    time.sleep(2.1)  # past exp: the remembered success must not be reused
    with pytest.raises(AuthenticationFailed) as caught:
        verifier.verify(token)
    assert caught.value.reason == "TOKEN_EXPIRED"


def test_a_remembered_token_skips_the_signature_check_and_failures_are_never_remembered(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = keys
    verifier = TokenVerifier(public, "iss", "aud", cache_size=2)
    token = _mint(private)
    verifier.verify(token)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            verifier.verify(tampered)
    calls = 0
    original = verifier._verify_signed

    def counting(raw: str) -> tuple[Principal, float]:
        nonlocal calls
        calls += 1
        return original(raw)

    monkeypatch.setattr(verifier, "_verify_signed", counting)
    verifier.verify(token)
    assert calls == 0
    for n in range(3):  # evicts the first token from a cache of two
        verifier.verify(_mint(private, subject=f"other-{n}"))
    verifier.verify(token)
    assert calls == 4
