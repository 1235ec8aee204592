"""Authenticate the bearer token and authorise the method (health and reflection stay open).

It runs when the call's headers arrive, before its message is read (interceptors/receive.py):
a caller without a valid token is refused without waiting for, or reading, anything more."""

from __future__ import annotations

from typing import Any

from grpc import aio

from healthai_server.auth.rbac import RbacPolicy, is_open_method
from healthai_server.auth.tokens import TokenVerifier
from healthai_server.domain.errors import AuthenticationFailed
from healthai_server.interceptors.audit_id import announce_audit_id, metadata_value
from healthai_server.interceptors.chain import CallInfo, Handler
from healthai_server.scope import current_scope


class AuthInterceptor:
    def __init__(self, verifier: TokenVerifier, policy: RbacPolicy) -> None:
        self._verifier = verifier
        self._policy = policy

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        if is_open_method(call.method):
            await announce_audit_id(context)
            return await proceed(request, context)
        header = metadata_value(context, "authorization")
        if not header:
            raise AuthenticationFailed("TOKEN_MISSING", "no bearer token: send 'authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("TOKEN_INVALID", "the authorization header must be 'Bearer <token>'")
        principal = self._verifier.verify(token.strip())
        current_scope().principal = principal
        self._policy.check(principal, call.method)
        await announce_audit_id(context)
        return await proceed(request, context)


class DevNoAuthInterceptor:
    """Used only when auth is explicitly disabled: every caller is a local admin."""

    async def intercept(
        self, call: CallInfo, request: Any, context: aio.ServicerContext[Any, Any], proceed: Handler
    ) -> Any:
        from healthai_server.auth.principal import Principal

        current_scope().principal = Principal(subject="local", tenant="local", roles=frozenset({"admin"}))
        await announce_audit_id(context)
        return await proceed(request, context)
