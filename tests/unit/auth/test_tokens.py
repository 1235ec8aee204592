from __future__ import annotations

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
    ],
)
def test_bad_tokens_are_rejected_with_their_reason(
    keys: tuple[bytes, bytes], overrides: dict[str, object], reason: str
) -> None:
    private, public = keys
    with pytest.raises(AuthenticationFailed) as caught:
        TokenVerifier(public, "iss", "aud", leeway_s=0).verify(_mint(private, **overrides))
    assert caught.value.reason == reason


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
