"""Authenticate the caller and authorise the method (health and reflection stay open).

A bearer token, when sent, decides who the caller is. Without one, a verified client
certificate (mTLS) whose identity is in the configured mapping is the principal: a service
calling on its own behalf. Either way RBAC then checks the principal's roles.

It runs when the call's headers arrive, before its message is read (interceptors/receive.py):
a caller without valid credentials is refused without waiting for, or reading, anything more.
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from healthai_server.auth.peer import PeerPrincipals, peer_identity
from healthai_server.auth.principal import Principal
from healthai_server.auth.rbac import RbacPolicy, is_open_method
from healthai_server.auth.tokens import TokenVerifier
from healthai_server.domain.errors import AuthenticationFailed
from healthai_server.interceptors.audit_id import announce_audit_id, metadata_value
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import current_scope


class AuthInterceptor:
    def __init__(self, verifier: TokenVerifier, policy: RbacPolicy, peers: PeerPrincipals | None = None) -> None:
        self._verifier = verifier
        self._policy = policy
        self._peers = peers if peers else None

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if is_open_method(call.method):
            await announce_audit_id(context)
            return await proceed(request, context)
        header = metadata_value(context, "authorization")
        principal = self._from_token(header) if header else self._from_peer(context)
        current_scope().principal = principal
        self._policy.check(principal, call.method)
        await announce_audit_id(context)
        return await proceed(request, context)

    def _from_token(self, header: str) -> Principal:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("TOKEN_INVALID", "the authorization header must be 'Bearer <token>'")
        return self._verifier.verify(token.strip())

    def _from_peer(self, context: aio.ServicerContext[Any, Any]) -> Principal:
        if self._peers is None:
            raise AuthenticationFailed("TOKEN_MISSING", "no bearer token: send 'authorization: Bearer <token>'")
        identity = peer_identity(context.auth_context())
        principal = self._peers.principal_for(identity)
        if principal is None:
            # The identity is configuration, not PHI: naming it tells an operator what to map.
            raise AuthenticationFailed(
                "TOKEN_MISSING",
                f"no bearer token, and the client certificate identity {identity or '(none)'!r} is not mapped "
                "to a principal (HEALTHAI_TLS_PEER_PRINCIPALS)",
            )
        return principal


class DevNoAuthInterceptor:
    """Used only when auth is explicitly disabled: every caller is a local admin."""

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        from healthai_server.auth.principal import Principal

        current_scope().principal = Principal(subject="local", tenant="local", roles=frozenset({"admin"}))
        await announce_audit_id(context)
        return await proceed(request, context)
