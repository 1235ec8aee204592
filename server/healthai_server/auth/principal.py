"""Who is calling: the result of authentication, carried through the request scope."""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS_TENANT = "-"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[str]

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(subject="anonymous", tenant=ANONYMOUS_TENANT, roles=frozenset())
