"""Role-based access: a policy (data in rbac.toml) mapping each RPC to allowed roles."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from healthai_server.auth.principal import Principal
from healthai_server.domain.errors import PermissionDenied

DEFAULT_POLICY_FILE = Path(__file__).with_name("rbac.toml")
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def is_open_method(method: str) -> bool:
    return method.startswith(OPEN_METHOD_PREFIXES)


class RbacPolicy:
    def __init__(self, allowed: Mapping[str, frozenset[str]]) -> None:
        self._allowed = dict(allowed)

    @classmethod
    def from_file(cls, path: Path = DEFAULT_POLICY_FILE) -> RbacPolicy:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls({method: frozenset(roles) for method, roles in raw.items()})

    def check(self, principal: Principal, method: str) -> None:
        allowed = self._allowed.get(method, frozenset())
        if not allowed & principal.roles:
            raise PermissionDenied("the caller's roles do not allow this method")

    def methods(self) -> list[str]:
        return sorted(self._allowed)

    def roles(self) -> frozenset[str]:
        return frozenset().union(*self._allowed.values())
