"""Service principals from verified client certificates (mTLS).

gRPC has already verified the client's certificate chain against the configured CA before
any call reaches us; what is left is to name the peer and look it up. The name is the
certificate's SPIFFE id (the C core sets `peer_spiffe_id` when the certificate has exactly
one spiffe:// URI SAN, as SPIFFE requires), else its subject common name. Only identities
listed in the configured mapping become principals: a valid certificate alone grants nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from healthai_server.auth.principal import ANONYMOUS_TENANT, Principal

# The same alphabet tokens may use for tenants and roles; identities are URIs or CNs.
_NAME = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
MAX_IDENTITY_CHARS = 256  # the audit trail's principal column

AuthContext = Mapping[str, Iterable[bytes]]


def peer_identity(auth_context: AuthContext) -> str | None:
    """The verified client certificate's identity, or None when the peer sent no certificate."""
    for key in ("peer_spiffe_id", "x509_common_name"):
        values = list(auth_context.get(key, ()))
        if len(values) == 1:
            identity = values[0].decode("utf-8", errors="replace")
            # A common name is never taken for a SPIFFE id: only a URI SAN that gRPC validated is one.
            if identity and not (key == "x509_common_name" and identity.lower().startswith("spiffe:")):
                return identity
    return None


@dataclass(frozen=True, slots=True)
class PeerPrincipals:
    """The configured mapping from peer identity to tenant and roles."""

    by_identity: Mapping[str, Principal]

    def principal_for(self, identity: str | None) -> Principal | None:
        return None if identity is None else self.by_identity.get(identity)

    def __len__(self) -> int:
        return len(self.by_identity)


def parse_peer_principals(raw: Mapping[str, Any]) -> PeerPrincipals:
    """Validate `{"<identity>": {"tenant": "t", "roles": ["service"]}}`; ValueError says what is wrong."""
    mapped: dict[str, Principal] = {}
    for identity, entry in raw.items():
        if not isinstance(identity, str) or not identity or len(identity) > MAX_IDENTITY_CHARS:
            raise ValueError(f"identity {identity!r} must be 1 to {MAX_IDENTITY_CHARS} characters")
        if not isinstance(entry, Mapping) or set(entry) != {"tenant", "roles"}:
            raise ValueError(f"{identity}: expected exactly the keys tenant and roles")
        tenant, roles = entry["tenant"], entry["roles"]
        if not isinstance(tenant, str) or not _NAME.match(tenant) or tenant == ANONYMOUS_TENANT:
            raise ValueError(f"{identity}: tenant must be a name of letters, digits and ._:@-")
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and _NAME.match(r) for r in roles):
            raise ValueError(f"{identity}: roles must be a non-empty list of role names")
        mapped[identity] = Principal(subject=identity, tenant=tenant, roles=frozenset(roles))
    return PeerPrincipals(mapped)
