"""The auth interceptor's choice between a bearer token and a mapped client certificate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from healthai_server.auth.peer import parse_peer_principals
from healthai_server.auth.principal import Principal
from healthai_server.auth.rbac import RbacPolicy
from healthai_server.auth.tokens import TokenVerifier, generate_signing_key, mint_token
from healthai_server.domain.errors import AuthenticationFailed, PermissionDenied
from healthai_server.interceptors.auth import AuthInterceptor
from healthai_server.interceptors.chain import CallInfo
from healthai_server.scope import RequestScope, current_scope, set_scope

SPIFFE = "spiffe://healthai.test/ns/reports/sa/exporter"
EXTRACT = CallInfo("/healthai.v1.ClinicalExtractionService/ExtractClinicalData", False, False)
USAGE = CallInfo("/healthai.v1.UsageService/GetUsage", False, False)


class Context:
    def __init__(self, metadata: tuple[tuple[str, str], ...] = (), auth: dict[str, list[bytes]] | None = None) -> None:
        self._metadata = metadata
        self._auth = auth or {}

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._auth

    async def send_initial_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.initial_metadata = metadata


async def _principal(request: Any, context: Any) -> Principal:
    return current_scope().principal


@pytest.fixture
def keys(tmp_path: Path) -> tuple[bytes, bytes]:
    generate_signing_key(tmp_path / "private.pem", tmp_path / "public.pem")
    return (tmp_path / "private.pem").read_bytes(), (tmp_path / "public.pem").read_bytes()


def _interceptor(public_key: bytes, with_peers: bool = True) -> AuthInterceptor:
    peers = parse_peer_principals({SPIFFE: {"tenant": "hosp-a", "roles": ["service"]}} if with_peers else {})
    return AuthInterceptor(TokenVerifier(public_key, "iss", "aud"), RbacPolicy.from_file(), peers)


async def _call(interceptor: AuthInterceptor, context: Context, call: CallInfo = EXTRACT) -> Principal:
    set_scope(RequestScope(audit_id="a", method=call.method))
    principal: Principal = await interceptor.intercept(call, None, context, _principal)  # type: ignore[arg-type]
    return principal


async def test_a_mapped_certificate_without_a_token_is_the_principal(keys: tuple[bytes, bytes]) -> None:
    principal = await _call(_interceptor(keys[1]), Context(auth={"peer_spiffe_id": [SPIFFE.encode()]}))
    assert (principal.subject, principal.tenant) == (SPIFFE, "hosp-a")


async def test_rbac_still_applies_to_a_peer(keys: tuple[bytes, bytes]) -> None:
    with pytest.raises(PermissionDenied):
        await _call(_interceptor(keys[1]), Context(auth={"peer_spiffe_id": [SPIFFE.encode()]}), USAGE)


async def test_a_token_decides_over_the_certificate(keys: tuple[bytes, bytes]) -> None:
    token = mint_token(keys[0], subject="nurse", tenant="hosp-b", roles=["clinician"], issuer="iss", audience="aud")
    context = Context((("authorization", f"Bearer {token}"),), {"peer_spiffe_id": [SPIFFE.encode()]})
    principal = await _call(_interceptor(keys[1]), context)
    assert (principal.subject, principal.tenant) == ("nurse", "hosp-b")


@pytest.mark.parametrize("with_peers", [True, False])
async def test_an_unmapped_or_unconfigured_peer_without_a_token_is_refused(
    keys: tuple[bytes, bytes], with_peers: bool
) -> None:
    context = Context(auth={"peer_spiffe_id": [b"spiffe://healthai.test/ns/x/sa/unknown"]})
    with pytest.raises(AuthenticationFailed) as caught:
        await _call(_interceptor(keys[1], with_peers), context)
    assert caught.value.reason == "TOKEN_MISSING"
    assert ("spiffe://healthai.test/ns/x/sa/unknown" in str(caught.value)) is with_peers
